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
        w = write_head(MAGIC, VERSION, self.claim)
        w.blob(self.preset.encode())
        write_key(w, self.pre_root, self.pre_log_heights)
        w.u32(self.entry)
        w.u32(self.input_read)
        w.blob(self.proof)
        return b"".join(w.parts)

    @property
    def proof_shape(self) -> dict:
        """The proof's shape without verifying it (for ``zkmips inspect``)."""
        return {"preset": self.preset, "proof_bytes": len(self.proof),
                **table_shapes(self.proof, keys.verifier_system())}


def decode(data: bytes) -> Receipt:
    """Parse a receipt (no verification); raises VerificationError on malformed bytes."""
    try:
        r = receipt_reader(data, MAX_RECEIPT_BYTES)
        claim = read_head(r, MAGIC, VERSION, "zkMIPS receipt")
        preset = r.blob().decode("ascii")
        pre_root, heights = read_key(r)
        entry, input_read = r.u32(), r.u32()
        proof = r.blob()
        r.done()
    except (ValueError, UnicodeDecodeError, struct.error) as e:
        raise VerificationError(f"malformed receipt ({e})") from None
    return Receipt(claim, preset, pre_root, heights, entry, input_read, proof)


def receipt_reader(data: bytes, limit: int) -> ByteReader:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise VerificationError("a receipt is bytes")
    if len(data) > limit:
        raise VerificationError("receipt too large")
    return ByteReader(bytes(data), "receipt")


def table_shapes(proof_bytes: bytes, system) -> dict:
    """A proof's hiding flag and its tables' heights and public-value counts, unverified
    (for ``zkmips inspect``)."""
    proof, _, hiding = stark_bytes.decode(proof_bytes)
    names = [t.name for t in system.tables]
    return {"hiding": hiding, "tables": {n: {"log_height": lh, "publics": len(pv)}
                                         for n, lh, pv in zip(names, proof.log_heights, proof.publics)}}


def write_head(magic: bytes, version: int, claim: Claim) -> ByteWriter:
    """A receipt's first fields, shared by both formats: magic, version, flags (0) and
    the claim."""
    w = ByteWriter()
    w.parts.append(magic)
    w.u16(version)
    w.u16(0)
    w.digest(claim.image_id)
    w.digest(claim.input_digest)
    w.blob(claim.input)
    w.blob(claim.journal)
    w.u8(claim.exit_code)
    w.u64(claim.cycles)
    return w


def read_head(r: ByteReader, magic: bytes, version: int, what: str) -> Claim:
    """Parse :func:`write_head`'s fields; the input digest must match the input."""
    if r.raw(4) != magic:
        raise VerificationError(f"not a {what} (bad magic)")
    got = r.u16()
    if got != version:
        raise VerificationError(f"unsupported {what} version {got}")
    if r.u16() != 0:
        raise VerificationError("unknown receipt flags")
    image_id, input_digest = r.digest(), r.digest()
    public_input, journal = r.blob(), r.blob()
    if len(public_input) > MAX_IO_BYTES or len(journal) > MAX_IO_BYTES:
        raise VerificationError("receipt input or journal too large")
    exit_code, cycles = r.u8(), r.u64()
    claim = Claim(image_id, public_input, journal, exit_code, cycles)
    if claim.input_digest != input_digest:
        raise VerificationError("the input digest does not match the input")
    return claim


def write_key(w: ByteWriter, pre_root: bytes, heights: tuple[int | None, ...]) -> None:
    """A verifying key by reference: its preprocessed root and heights (0: none)."""
    w.digest(pre_root)
    w.u16(len(heights))
    for h in heights:
        w.u8(0 if h is None else h)


def read_key(r: ByteReader) -> tuple[bytes, tuple[int | None, ...]]:
    root = r.digest()
    return root, tuple(None if h == 0 else h for h in (r.u8() for _ in range(r.u16())))


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
