"""The doctor's checks of a diagnosis: pure functions (no Django), used by settlement, by the
clinic's diagnosis page, by the standalone "check a diagnosis" page and by the tests.

A diagnosis is a receipt of the model's classifier program whose journal is
``ecg_format.encode_journal(Diagnosis)``. Each check says what it proves:

1. the receipt verifies: the journal is the output of a real run of the program it names
   (nothing in it was edited after proving);
2. that program is the registered model's classifier (its image id);
3. the journal's model commitment is the registered one: the run read exactly the
   published weights (the guest hashes the weights it reads into the journal);
4. the journal's ECG digest is the SHA-256 of this ECG: the run read exactly this ECG.

Together: this published model, and no other, produced this diagnosis from this ECG, and
the check never needed the weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from marketplace.clinic import ecg_format


class RegisteredModel(Protocol):
    """What the checks need of a registry entry (marketplace.models.MLModel has both)."""
    commitment: str          # hex
    image_id: str            # hex


@dataclass(frozen=True)
class Check:
    key: str                 # stable name (pages and tests find each check by it)
    title: str
    ok: bool
    detail: str              # one line: what was compared, or why not


@dataclass
class DiagnosisCheck:
    """The checks, and the diagnosis the journal states (None when the journal is not one)."""
    checks: list[Check] = field(default_factory=list)
    diagnosis: ecg_format.Diagnosis | None = None
    cycles: int | None = None

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def by_key(self) -> dict[str, Check]:
        return {c.key: c for c in self.checks}


TITLES = {
    "receipt": "The receipt verifies",
    "program": "The classifier is the registered model's program",
    "commitment": "The model commitment in the journal matches the registry",
    "ecg": "The ECG digest matches this ECG file",
}


def journal_problem(journal: bytes, commitment_hex: str, ecg: bytes) -> str | None:
    """Why a verified journal does not settle a job of the model committed to by
    ``commitment_hex`` on ``ecg`` (one line), or None when it does."""
    try:
        diagnosis = ecg_format.decode_journal(journal)
    except ecg_format.FormatError as e:
        return f"the journal is not a diagnosis: {e}"
    if diagnosis.model_commitment.hex() != commitment_hex.lower():
        return (f"the receipt claims another model commitment ({diagnosis.model_commitment.hex()[:16]}…, "
                f"the registry's is {commitment_hex[:16]}…)")
    if diagnosis.ecg_digest != ecg_format.ecg_digest(ecg):
        return "the receipt claims another ECG (its digest differs from the job's ECG)"
    return None


def check_diagnosis(receipt: bytes, ecg: bytes, model: RegisteredModel, *,
                    allow_insecure: bool = False) -> DiagnosisCheck:
    """Every check of ``receipt`` as a diagnosis of ``ecg`` by ``model``; never raises for a bad
    receipt or ECG (each check then says no, with the reason)."""
    from prover.errors import VerificationError
    from prover.zkmips.verify import verify
    out = DiagnosisCheck()
    try:
        claim = verify(receipt, allow_insecure=allow_insecure)
    except VerificationError as e:
        why = "the receipt does not verify, so nothing it states is proven"
        out.checks = [Check("receipt", TITLES["receipt"], False, f"invalid receipt: {str(e).splitlines()[0]}")]
        out.checks += [Check(k, TITLES[k], False, why) for k in ("program", "commitment", "ecg")]
        return out
    except Exception as e:                          # noqa: BLE001 - not a receipt at all
        why = "no receipt, so nothing is proven"
        out.checks = [Check("receipt", TITLES["receipt"], False, f"not a receipt: {type(e).__name__}")]
        out.checks += [Check(k, TITLES[k], False, why) for k in ("program", "commitment", "ecg")]
        return out
    out.cycles = claim.cycles
    out.checks.append(Check("receipt", TITLES["receipt"], True,
                            f"a valid proof of {claim.cycles:,} cycles, exit code {claim.exit_code}"))
    same_program = claim.image_id.hex() == model.image_id.lower()
    out.checks.append(Check("program", TITLES["program"], same_program,
                            f"receipt {claim.image_id.hex()[:16]}…, registry {model.image_id[:16]}…"
                            + ("" if same_program else ": another program produced this journal")))
    try:
        diagnosis = ecg_format.decode_journal(claim.journal)
    except ecg_format.FormatError as e:
        why = f"the journal is not a diagnosis: {e}"
        out.checks += [Check(k, TITLES[k], False, why) for k in ("commitment", "ecg")]
        return out
    out.diagnosis = diagnosis
    claimed = diagnosis.model_commitment.hex()
    same_model = claimed == model.commitment.lower()
    out.checks.append(Check("commitment", TITLES["commitment"], same_model,
                            f"journal {claimed[:16]}…, registry {model.commitment[:16]}…"
                            + ("" if same_model else ": other weights produced this diagnosis")))
    digest = ecg_format.ecg_digest(ecg)
    same_ecg = diagnosis.ecg_digest == digest
    out.checks.append(Check("ecg", TITLES["ecg"], same_ecg,
                            f"journal {diagnosis.ecg_digest.hex()[:16]}…, file {digest.hex()[:16]}…"
                            + ("" if same_ecg else ": the diagnosis is of another ECG")))
    return out
