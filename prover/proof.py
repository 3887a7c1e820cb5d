"""Byte encoding of STARK proofs: compact, versioned, and safe to decode.

The format is in docs/proof-format.md.  In short: a header (magic ``ZKMS``, version,
flags, the verifying-key digest), then the proof's fields in a fixed order, every
variable-length item preceded by its count, all integers little-endian, every field
element a 4-byte word that must be canonical.

Decoding untrusted bytes either returns a :class:`prover.stark.StarkProof` or raises
:class:`VerificationError`: every count is checked against the bytes that remain before
anything is allocated (so a tiny input cannot ask for gigabytes), nesting is fixed by
the grammar (no recursion on input), and trailing bytes are an error.
"""

from __future__ import annotations

import struct
from typing import Callable, TypeVar

import numpy as np

from prover.errors import VerificationError
from prover.field import P
from prover.fri import FriLayerOpening, FriProof, FriQueryProof
from prover.merkle import MerkleProof
from prover.pcs import BatchOpening, OpeningProof, QueryOpening
from prover.stark import Statement, StarkProof, VerifyingKey, verify

MAGIC = b"ZKMS"
VERSION = 1
FLAG_HIDING = 1
MAX_PROOF_BYTES = 64 << 20
DIGEST = 32

T = TypeVar("T")


# ----------------------------------------------------------------------------- writer
class ByteWriter:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def u8(self, v: int) -> None:
        self.parts.append(struct.pack("<B", v))

    def u16(self, v: int) -> None:
        self.parts.append(struct.pack("<H", v))

    def u32(self, v: int) -> None:
        self.parts.append(struct.pack("<I", v))

    def u64(self, v: int) -> None:
        self.parts.append(struct.pack("<Q", int(v)))

    def digest(self, d: bytes) -> None:
        if len(d) != DIGEST:
            raise ValueError("digests are 32 bytes")
        self.parts.append(bytes(d))

    def blob(self, b: bytes) -> None:
        self.u32(len(b))
        self.parts.append(bytes(b))

    def felts(self, a: np.ndarray) -> None:
        """A vector of field elements: count, then 4-byte words."""
        a = np.asarray(a, dtype=np.uint32).reshape(-1)
        self.u32(a.size)
        self.parts.append(a.astype("<u4").tobytes())

    def matrix(self, a: np.ndarray) -> None:
        """A 2-D matrix of field elements: rows, cols, then row-major words."""
        a = np.asarray(a, dtype=np.uint32)
        if a.ndim != 2:
            raise ValueError("expected a matrix")
        self.u32(a.shape[0])
        self.u32(a.shape[1])
        self.parts.append(a.astype("<u4").tobytes())

    def seq(self, items, put: Callable) -> None:
        self.u32(len(items))
        for it in items:
            put(it)

    def opt(self, item, put: Callable) -> None:
        self.u8(0 if item is None else 1)
        if item is not None:
            put(item)


# ----------------------------------------------------------------------------- reader
class ByteReader:
    """Reads the grammar's items from untrusted bytes; ``what`` names them in errors."""

    def __init__(self, data: bytes, what: str = "proof") -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.what = what

    def raw(self, n: int) -> bytes:
        return bytes(self._take(n))

    def _take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise VerificationError(f"{self.what} bytes end early")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self._take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self._take(4))[0]

    def u64(self) -> int:
        return struct.unpack("<Q", self._take(8))[0]

    def digest(self) -> bytes:
        return bytes(self._take(DIGEST))

    def count(self, min_item_bytes: int) -> int:
        """A count whose items need at least ``min_item_bytes`` each of what remains."""
        n = self.u32()
        if n * max(min_item_bytes, 1) > len(self.data) - self.pos:
            raise VerificationError(f"{self.what} declares more items than its bytes can hold")
        return n

    def blob(self) -> bytes:
        return bytes(self._take(self.count(1)))

    def _words(self, n: int) -> np.ndarray:
        arr = np.frombuffer(self._take(4 * n), dtype="<u4").astype(np.uint32)
        if arr.size and int(arr.max()) >= P:
            raise VerificationError(f"non-canonical field element in {self.what}")
        return arr

    def felts(self) -> np.ndarray:
        return self._words(self.count(4))

    def matrix(self) -> np.ndarray:
        rows = self.u32()
        cols = self.u32()
        if rows * cols * 4 > len(self.data) - self.pos or (cols == 0 and rows > 1 << 16):
            raise VerificationError(f"{self.what} declares a matrix larger than its bytes")
        return self._words(rows * cols).reshape(rows, cols)

    def seq(self, get: Callable[[], T], min_item_bytes: int = 1) -> list[T]:
        return [get() for _ in range(self.count(min_item_bytes))]

    def opt(self, get: Callable[[], T]) -> T | None:
        flag = self.u8()
        if flag > 1:
            raise VerificationError(f"bad option flag in {self.what}")
        return get() if flag else None

    def done(self) -> None:
        if self.pos != len(self.data):
            raise VerificationError(f"trailing bytes after {self.what}")


# ----------------------------------------------------------------------------- grammar
def _put_merkle(w: ByteWriter, m: MerkleProof) -> None:
    w.seq(m.siblings, w.digest)
    w.seq(m.salts, w.blob)


def _get_merkle(r: ByteReader) -> MerkleProof:
    return MerkleProof(r.seq(r.digest, DIGEST), r.seq(r.blob, 4))


def _put_batch(w: ByteWriter, b: BatchOpening) -> None:
    w.seq(b.rows, w.felts)
    _put_merkle(w, b.proof)


def _get_batch(r: ByteReader) -> BatchOpening:
    return BatchOpening(r.seq(r.felts, 4), _get_merkle(r))


def _put_opening(w: ByteWriter, p: OpeningProof) -> None:
    w.u64(p.batch_pow_nonce)
    w.opt(p.mask_root, w.digest)
    w.seq(p.query_openings, lambda q: (w.seq(q.rounds, lambda b: _put_batch(w, b)),
                                        w.opt(q.mask, lambda b: _put_batch(w, b))))
    f = p.fri_proof
    w.seq(f.commit_roots, w.digest)
    w.seq(f.commit_pow_nonces, w.u64)
    w.matrix(f.final_poly)
    w.u64(f.query_pow_nonce)
    w.seq(f.query_proofs, lambda q: w.seq(q.layers, lambda l: (w.matrix(l.values), _put_merkle(w, l.proof))))


def _get_opening(r: ByteReader) -> OpeningProof:
    nonce = r.u64()
    mask_root = r.opt(r.digest)
    queries = r.seq(lambda: QueryOpening(r.seq(lambda: _get_batch(r), 8), r.opt(lambda: _get_batch(r))), 5)
    roots = r.seq(r.digest, DIGEST)
    nonces = r.seq(r.u64, 8)
    final = r.matrix()
    qnonce = r.u64()
    qproofs = r.seq(lambda: FriQueryProof(r.seq(lambda: FriLayerOpening(r.matrix(), _get_merkle(r)), 16)), 4)
    return OpeningProof(nonce, queries, FriProof(roots, nonces, final, qnonce, qproofs), mask_root)


def encode(proof: StarkProof, vk_digest: bytes, hiding: bool) -> bytes:
    """The byte form of ``proof`` made under the verifying key ``vk_digest``."""
    w = ByteWriter()
    w.parts.append(MAGIC)
    w.u16(VERSION)
    w.u16(FLAG_HIDING if hiding else 0)
    w.digest(vk_digest)
    w.u16(len(proof.log_heights))
    for lh, pv, sums in zip(proof.log_heights, proof.publics, proof.bus_sums):
        w.u8(lh)
        w.felts(np.array(pv, dtype=np.uint32))
        w.matrix(np.asarray(sums, dtype=np.uint32).reshape(-1, 4))
    w.digest(proof.main_root)
    w.opt(proof.perm_root, w.digest)
    w.digest(proof.quotient_root)
    w.seq(proof.opened, lambda rnd: w.seq(rnd, lambda mat: w.seq(mat, w.matrix)))
    _put_opening(w, proof.opening_proof)
    return b"".join(w.parts)


def decode(data: bytes) -> tuple[StarkProof, bytes, bool]:
    """Parse bytes into ``(proof, vk_digest, hiding)``; raises VerificationError only."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise VerificationError("a proof is bytes")
    if len(data) > MAX_PROOF_BYTES:
        raise VerificationError("proof too large")
    r = ByteReader(bytes(data))
    if bytes(r._take(4)) != MAGIC:
        raise VerificationError("not a zkMIPS STARK proof (bad magic)")
    version = r.u16()
    if version != VERSION:
        raise VerificationError(f"unsupported proof version {version}")
    flags = r.u16()
    if flags & ~FLAG_HIDING:
        raise VerificationError("unknown proof flags")
    vk_digest = r.digest()
    nt = r.u16()
    heights, publics, sums = [], [], []
    for _ in range(nt):
        heights.append(r.u8())
        publics.append([int(x) for x in r.felts()])
        s = r.matrix()
        if s.shape[1] != 4 and s.size:
            raise VerificationError("bus sums are extension elements")
        sums.append(s.reshape(-1, 4))
    main_root = r.digest()
    perm_root = r.opt(r.digest)
    quotient_root = r.digest()
    opened = r.seq(lambda: r.seq(lambda: r.seq(r.matrix, 8), 4), 4)
    opening = _get_opening(r)
    r.done()
    proof = StarkProof(heights, publics, main_root, perm_root, sums, quotient_root, opened, opening)
    return proof, vk_digest, bool(flags & FLAG_HIDING)


def verify_bytes(vk: VerifyingKey, data: bytes, publics: dict[str, list[int]] | None = None) -> Statement:
    """Decode and verify; the one entry point for untrusted proof bytes."""
    try:
        proof, digest, hiding = decode(data)
    except VerificationError:
        raise
    except (ValueError, TypeError, IndexError, struct.error, MemoryError, OverflowError) as exc:
        raise VerificationError(f"malformed proof bytes ({exc})") from None
    if digest != vk.digest:
        raise VerificationError("proof was made for another verifying key")
    if hiding != vk.hiding:
        raise VerificationError("proof's hiding flag differs from the verifying key's")
    return verify(vk, proof, publics)
