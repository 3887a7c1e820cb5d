"""Local settlement: the marketplace's trusted check of a worker's receipt, in Python.

A receipt settles a job only if (1) it verifies — every segment, their joins and the memory
proof, at a sound preset — and (2) its claim is the job's: the same program (image id), the
same public input (keccak-256 digest) and no more cycles than the client allowed. Nothing a
worker sends is trusted until this returns; verifying never re-executes the program.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prover.errors import VerificationError
from prover.zkmips.claim import Claim
from prover.zkmips.verify import verify


class ReceiptRejected(Exception):
    """The receipt does not settle the job; ``str(e)`` is the one-line reason shown to all sides."""


@dataclass(frozen=True)
class JobTerms:
    """What a receipt must claim to settle a job."""
    image_id: bytes
    input_digest: bytes
    max_cycles: int


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    seconds: float


def check_receipt(receipt: bytes, terms: JobTerms, *, allow_insecure: bool = False) -> Verdict:
    """The verified claim of ``receipt`` if it settles a job with ``terms``; ReceiptRejected otherwise."""
    start = time.perf_counter()
    try:
        claim = verify(receipt, allow_insecure=allow_insecure)
    except VerificationError as e:
        raise ReceiptRejected(f"invalid receipt: {e}") from None
    if claim.image_id != terms.image_id:
        raise ReceiptRejected(f"the receipt proves another program (image id {claim.image_id.hex()[:16]}…, "
                              f"the job's is {terms.image_id.hex()[:16]}…)")
    if claim.input_digest != terms.input_digest:
        raise ReceiptRejected("the receipt proves a run on another public input (input digest differs)")
    if claim.cycles > terms.max_cycles:
        raise ReceiptRejected(f"the run took {claim.cycles:,} cycles, over the job's limit of {terms.max_cycles:,}")
    return Verdict(claim, time.perf_counter() - start)
