"""Receipts: a claim plus the proof of it, in a versioned byte format.

docs/receipt-format.md is the byte-level specification. In short::

    "ZKMR" | u16 version | u16 flags (0)
    claim:  image_id[32] | input_digest[32] | blob input | blob journal | u8 exit_code | u64 cycles
    key:    blob preset name | pre_root[32] | u16 tables, u8 log-height each (0: none) | u32 entry
    proof:  u32 input_read | blob STARK proof (docs/proof-format.md)

Verifying needs the receipt only: :func:`verify_receipt` rebuilds the verifying key from
the preset, root and heights, recomputes the image id from it and the entry, checks the
input digest, verifies the STARK proof against the public values the claim implies, and
checks the open buses against the claim's input and journal. It never runs the program.
Every failure, malformed bytes included, is a :class:`VerificationError` with a one-line
reason.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from prover import proof as stark_bytes
from prover.errors import VerificationError
from prover.proof import ByteReader, ByteWriter
from prover.security import PRESETS, FriParams
from prover.zkmips import keys
from prover.zkmips.claim import MAX_IO_BYTES, Claim, check_statement, expected_publics

MAGIC = b"ZKMR"
VERSION = 1
#: Largest receipt accepted (the STARK proof is bounded separately, by prover.proof).
MAX_RECEIPT_BYTES = stark_bytes.MAX_PROOF_BYTES + 2 * MAX_IO_BYTES + 4096


@dataclass(frozen=True)
class Receipt:
    claim: Claim
    preset: str
    pre_root: bytes
    pre_log_heights: tuple[int | None, ...]
    entry: int
    input_read: int
    proof: bytes

    def encode(self) -> bytes:
        w = ByteWriter()
        w.parts.append(MAGIC)
        w.u16(VERSION)
        w.u16(0)
        c = self.claim
        w.digest(c.image_id)
        w.digest(c.input_digest)
        w.blob(c.input)
        w.blob(c.journal)
        w.u8(c.exit_code)
        w.u64(c.cycles)
        w.blob(self.preset.encode())
        w.digest(self.pre_root)
        w.u16(len(self.pre_log_heights))
        for h in self.pre_log_heights:
            w.u8(0 if h is None else h)
        w.u32(self.entry)
        w.u32(self.input_read)
        w.blob(self.proof)
        return b"".join(w.parts)

    @property
    def proof_shape(self) -> dict:
        """The proof's shape without verifying it (for ``zkmips inspect``)."""
        proof, _, hiding = stark_bytes.decode(self.proof)
        names = [t.name for t in keys.verifier_system().tables]
        return {"preset": self.preset, "hiding": hiding, "proof_bytes": len(self.proof),
                "tables": {n: {"log_height": lh, "publics": len(pv)}
                           for n, lh, pv in zip(names, proof.log_heights, proof.publics)}}


def decode(data: bytes) -> Receipt:
    """Parse a receipt (no verification); raises VerificationError on malformed bytes."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise VerificationError("a receipt is bytes")
    if len(data) > MAX_RECEIPT_BYTES:
        raise VerificationError("receipt too large")
    try:
        r = ByteReader(bytes(data), "receipt")
        if r.raw(4) != MAGIC:
            raise VerificationError("not a zkMIPS receipt (bad magic)")
        version = r.u16()
        if version != VERSION:
            raise VerificationError(f"unsupported receipt version {version}")
        if r.u16() != 0:
            raise VerificationError("unknown receipt flags")
        image_id, input_digest = r.digest(), r.digest()
        public_input, journal = r.blob(), r.blob()
        exit_code, cycles = r.u8(), r.u64()
        claim = Claim(image_id, public_input, journal, exit_code, cycles)
        if claim.input_digest != input_digest:
            raise VerificationError("the input digest does not match the input")
        preset = r.blob().decode("ascii")
        pre_root = r.digest()
        heights = tuple(None if h == 0 else h for h in (r.u8() for _ in range(r.u16())))
        entry, input_read = r.u32(), r.u32()
        proof = r.blob()
        r.done()
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        raise VerificationError(f"malformed receipt ({e})") from None
    if len(public_input) > MAX_IO_BYTES or len(journal) > MAX_IO_BYTES:
        raise VerificationError("receipt input or journal too large")
    return Receipt(claim, preset, pre_root, heights, entry, input_read, proof)


def params_of(preset: str, allow_insecure: bool) -> FriParams:
    params = PRESETS.get(preset)
    if params is None:
        raise VerificationError(f"unknown FRI preset {preset!r}")
    if params.insecure and not allow_insecure:
        raise VerificationError(f"receipt uses the insecure test preset {preset!r}")
    return params


def verify_receipt(data: bytes, expected_image_id: bytes | None = None, *, allow_insecure: bool = False) -> Claim:
    """The claim of a valid receipt; raises VerificationError with the reason otherwise.

    ``allow_insecure`` accepts receipts made with the insecure test preset (tests only)."""
    rec = decode(data)
    claim = rec.claim
    params = params_of(rec.preset, allow_insecure)
    if len(rec.pre_log_heights) != len(keys.verifier_system().tables):
        raise VerificationError("the receipt's key does not describe the zkMIPS tables")
    try:
        vk = keys.verifying_key(params, rec.pre_root, rec.pre_log_heights)
    except ValueError as e:
        raise VerificationError(f"the receipt's key is malformed ({e})") from None
    if keys.image_id_of(vk.digest, rec.entry) != claim.image_id:
        raise VerificationError("the image id does not match the receipt's verifying key")
    if expected_image_id is not None and claim.image_id != bytes(expected_image_id):
        raise VerificationError(f"image id {claim.image_id.hex()} is not the expected {bytes(expected_image_id).hex()}")
    if rec.input_read > len(claim.input):
        raise VerificationError("the receipt says more input was read than the claim holds")
    statement = stark_bytes.verify_bytes(vk, rec.proof, expected_publics(claim, rec.input_read))
    check_statement(vk.system, statement, claim, rec.input_read)
    return claim
