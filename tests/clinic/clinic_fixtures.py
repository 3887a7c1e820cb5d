"""What the clinic's tests share: the ECG guest, the demo weights, sample ECGs, a registered
model, and real receipts at the default preset, each proven once and kept on disk between
test sessions (keyed by the prover's circuit, the guest and the inputs), like
tests/conftest.py's chain_receipt."""

from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

import pytest

from marketplace.clinic import ecg_format
from prover.zkmips.segment_receipt import prove_segmented as _prove_segmented  # the real one, even when patched
from tests.conftest import ROOT, guest

MODEL_DIR = ROOT / "guests" / "ecg" / "model"
SAMPLES_DIR = ROOT / "guests" / "ecg" / "samples"
MODEL_NAME = "ecg-test"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"{path} is missing: the ECG guest's model and samples come with guests/ecg/")
    return path


def ecg_elf() -> bytes:
    return guest("ecg").read_bytes()


def weights() -> bytes:
    return _need(MODEL_DIR / "weights.bin").read_bytes()


def report() -> dict:
    import json
    path = MODEL_DIR / "report.json"
    return json.loads(path.read_text()) if path.exists() else {}


def sample_paths() -> list[Path]:
    paths = sorted(_need(SAMPLES_DIR).glob("*.ecg"))
    if len(paths) < 2:
        pytest.fail(f"{SAMPLES_DIR} has fewer than two sample ECGs")
    return paths


def sample(i: int = 0) -> bytes:
    """Sample ECGs with different bytes (the tests need two that differ)."""
    return sample_paths()[i].read_bytes()


def swapped_weights() -> bytes:
    """The demo weights with one weight byte changed: still a valid weights file, another model."""
    w = bytearray(weights())
    w[ecg_format.WEIGHTS_HEADER] ^= 1                   # W1[0][0], an int8: any value is valid
    ecg_format.check_weights(bytes(w))
    return bytes(w)


_memo: dict[str, bytes] = {}


def _cache_dir() -> Path:
    import tempfile
    path = Path(tempfile.gettempdir()) / f"zkmips-clinic-receipts-{__import__('os').getuid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def prove_cached(elf: bytes, public_input: bytes, private_input: bytes, *, progress=None) -> bytes:
    """A receipt at the default preset of this run, proven once: in memory, then on disk (a
    file lock keeps two test processes from proving it twice)."""
    from prover import stark
    from prover.security import DEFAULT
    from prover.zkmips import segment_receipt as SR
    from prover.zkmips.segments import LocalRunner
    version = stark.circuit_digest(SR.segment_verifier_system(), DEFAULT, True).hex()[:12]
    key = hashlib.sha256(b"|".join([version.encode(), hashlib.sha256(elf).digest(),
                                    hashlib.sha256(public_input).digest(),
                                    hashlib.sha256(private_input).digest()])).hexdigest()[:24]
    if key in _memo:
        return _memo[key]
    cache = _cache_dir()
    path = cache / f"{key}.zkm"
    with open(cache / "prove.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            runner = LocalRunner(1)
            try:
                data = _prove_segmented(elf, public_input, private_input, params=DEFAULT, runner=runner,
                                        progress=progress).encode()
            finally:
                runner.close()
            path.write_bytes(data)
    _memo[key] = path.read_bytes()
    return _memo[key]


def diagnosis_receipt(w: bytes, ecg: bytes) -> bytes:
    """A real receipt of the ECG guest run by weights ``w`` on ``ecg``."""
    return prove_cached(ecg_elf(), b"", ecg_format.private_input(w, ecg))


@pytest.fixture
def model(market):
    """The ECG guest uploaded and registered as the model of ``market.operator``."""
    from marketplace import services
    from marketplace.clinic import registry
    program = services.upload_program(market.op_user, ecg_elf(), "ecg-O2.elf")
    commitment = ecg_format.weights_commitment(weights()).hex()
    return registry.register_model(market.operator, MODEL_NAME, commitment, program, report())
