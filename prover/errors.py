"""The one exception a verifier raises.

Every check of untrusted bytes (proofs, receipts, openings) fails with
``VerificationError(reason)``; callers never see another exception type from a
verifier, whatever bytes they pass in.
"""


class VerificationError(Exception):
    """A proof, opening or receipt failed verification; ``str(e)`` says why."""
