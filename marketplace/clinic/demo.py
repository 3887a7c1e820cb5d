"""The demo model of `make run`: the demo operator also provides the ECG classifier, with the
weights in guests/ecg/model/ (its worker gets ``--model`` through ZKMIPS_WORKER_MODELS).
Nothing happens when the guest or the weights are missing: the rest of the stack runs."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

ELF = Path(settings.BASE_DIR) / "guests" / "build" / "ecg-O2.elf"
WEIGHTS = Path(settings.BASE_DIR) / "guests" / "ecg" / "model" / "weights.bin"
REPORT = Path(settings.BASE_DIR) / "guests" / "ecg" / "model" / "report.json"
NAME = "ecg-demo"


def ensure_demo_model(operator_user) -> dict | None:
    """The demo model (registered now if needed) as the registry shows it, or None without its files.
    A name taken by other weights (retrained) gets the commitment's first digits appended:
    a registered name always means the same weights."""
    from marketplace import services
    from marketplace.clinic import registry
    from marketplace.clinic.provider import commitment_of, measure_cycles
    from marketplace.models import MLModel
    if not (ELF.exists() and WEIGHTS.exists()):
        return None
    weights, elf = WEIGHTS.read_bytes(), ELF.read_bytes()
    commitment = commitment_of(weights)
    program = services.upload_program(operator_user, elf, ELF.name)
    operator = services.operator_of(operator_user)
    existing = MLModel.objects.filter(provider=operator, commitment=commitment, program=program).first()
    if existing is None:
        name = NAME if not MLModel.objects.filter(name=NAME).exists() else f"{NAME}-{commitment[:8]}"
        report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        existing = registry.register_model(operator, name, commitment, program, report,
                                           cycles=measure_cycles(elf, weights))
    return registry.model_view(registry.get_model(existing.name))


def worker_args() -> str:
    """The demo operator worker's ``--model`` arguments (empty without the weights)."""
    return f"--model {WEIGHTS}" if WEIGHTS.exists() and ELF.exists() else ""
