"""Verify any zkMIPS receipt: the format is told by its magic bytes.

``ZKMS`` is a segmented receipt (:mod:`prover.zkmips.segment_receipt`, what ``zkmips prove``
writes); ``ZKMR`` a whole run in one proof (:mod:`prover.zkmips.receipt`, at most 2^21
cycles). Both establish the same :class:`~prover.zkmips.claim.Claim`.
"""

from __future__ import annotations

from prover.errors import VerificationError
from prover.zkmips import receipt, segment_receipt
from prover.zkmips.claim import Claim


def verify(data: bytes, expected_image_id: bytes | None = None, *, allow_insecure: bool = False) -> Claim:
    """The claim of a valid receipt of either format; VerificationError otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise VerificationError("a receipt is bytes")
    magic = bytes(data[:4])
    if magic == segment_receipt.MAGIC:
        return segment_receipt.verify_segmented(data, expected_image_id, allow_insecure=allow_insecure)
    if magic == receipt.MAGIC:
        return receipt.verify_receipt(data, expected_image_id, allow_insecure=allow_insecure)
    raise VerificationError("not a zkMIPS receipt (bad magic)")
