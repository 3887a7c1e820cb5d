"""What a model provider computes on its own machine (no Django: the CLI and market_demo use
it): the commitment of its weights and the cycles of one inference. The weights are read
here and never sent anywhere; only these two numbers are registered."""

from __future__ import annotations

from marketplace.clinic import ecg_format


def commitment_of(weights: bytes) -> str:
    """The registry's commitment (SHA-256, hex) of well-formed weights; ValueError otherwise."""
    try:
        ecg_format.check_weights(weights)
    except ecg_format.FormatError as e:
        raise ValueError(f"not a model's weights: {e}") from None
    return ecg_format.weights_commitment(weights).hex()


def measure_cycles(elf: bytes, weights: bytes, ecg: bytes | None = None) -> int:
    """Cycles of one inference (the marketplace prices the model's jobs with it, since it can
    never dry-run them without the weights); on a flat ECG unless one is given."""
    import vm
    ecg = ecg if ecg is not None else bytes(ecg_format.ECG_BYTES)
    result = vm.execute(vm.load_elf(elf, name="classifier"), b"", ecg_format.private_input(weights, ecg))
    if result.exit_code != 0:
        raise ValueError(f"the classifier exits with code {result.exit_code} on this ECG")
    return result.cycles
