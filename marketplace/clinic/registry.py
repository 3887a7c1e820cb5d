"""The model registry: which ML models the clinic offers, who provides each, and the
commitment (SHA-256 of the weights) that every diagnosis of that model must carry.

Only the commitment is registered: the weights stay with the provider's worker. A job that
names a model is proven by the model's provider alone, with the model's program, and settles
only when its journal carries the registered commitment (marketplace.services.settle).
"""

from __future__ import annotations

import json
import re

from django.db import IntegrityError, transaction

from marketplace.errors import Conflict, Forbidden, MarketError, NotFound
from marketplace.models import MLModel, Operator, Program

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
#: The accuracy report is shown on the clinic's page: a JSON object of modest size.
MAX_REPORT_BYTES = 64 << 10


def default_classes() -> list[str]:
    """The class names the ECG guest scores, in its order."""
    from marketplace.clinic.ecg_format import CLASSES
    return list(CLASSES)


def register_model(provider: Operator, name: str, commitment: str, program: Program, report: dict | None = None,
                   classes: list[str] | None = None, cycles: int | None = None) -> MLModel:
    """Record ``name`` as ``provider``'s model with weights committed to by ``commitment``."""
    commitment = (commitment or "").strip().lower()
    if not NAME.match(name or ""):
        raise MarketError("a model name is 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if not HEX64.match(commitment):
        raise MarketError("the commitment is the SHA-256 of the weights: 64 hex digits")
    report = report or {}
    if not isinstance(report, dict) or len(json.dumps(report)) > MAX_REPORT_BYTES:
        raise MarketError(f"the report is a JSON object of at most {MAX_REPORT_BYTES:,} bytes")
    classes = list(classes) if classes else default_classes()
    if not classes or not all(isinstance(c, str) and 0 < len(c) <= 80 for c in classes):
        raise MarketError("class names are 1-80 characters each")
    if cycles is not None and not 0 < cycles <= 1 << 28:
        raise MarketError("the model's cycles are between 1 and 2^28")
    try:
        with transaction.atomic():
            return MLModel.objects.create(name=name, provider=provider, commitment=commitment, program=program,
                                          classes=classes, report=report, cycles=cycles)
    except IntegrityError:
        raise Conflict(f"a model named {name!r} is registered already") from None


def get_model(name: str) -> MLModel:
    try:
        return MLModel.objects.select_related("provider", "program").get(name=name)
    except MLModel.DoesNotExist:
        raise NotFound(f"no model named {name!r}") from None


def list_models() -> list[MLModel]:
    return list(MLModel.objects.select_related("provider", "program"))


def model_view(model: MLModel) -> dict:
    """The model as the API and the clinic's pages show it (nothing private: no weights exist here)."""
    return {"name": model.name, "provider": model.provider.name, "commitment": model.commitment,
            "image_id": model.program.image_id, "program": model.program.name, "classes": list(model.classes),
            "report": model.report, "cycles": model.cycles, "created": model.created.isoformat()}


def check_provider(model: MLModel, operator: Operator) -> None:
    """Only the model's provider holds its weights, so only it may lock the model's jobs."""
    if model.provider_id != operator.pk:
        raise Forbidden(f"only {model.provider.name}, the provider of model {model.name}, proves its jobs")
