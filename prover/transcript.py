"""Keccak-256 Fiat-Shamir transcript, designed to be replayed cheaply by an EVM verifier.

Construction (all hashes keccak-256, ``||`` is concatenation):
  * start:   state = keccak("zkmips-transcript-v1" || label)
  * absorb:  bytes are appended to a pending buffer (field elements as 4-byte little-endian,
             the same bytes the Merkle leaves use).  Items are absorbed raw, without length
             prefixes: the protocol's shape fixes every length, so the verifier knows them.
  * squeeze: before the first sample after any absorb, state = keccak(state || 0x00 || pending)
             and a squeeze counter restarts at 0.  Sample words come from
             block_c = keccak(state || 0x01 || uint32_be(c)), c = 0, 1, ..., each block read as
             eight big-endian uint32 words, consumed in order.  The tag byte after the state
             keeps absorbing, squeezing and proof of work on distinct hash inputs.
  * base element: w & (2^31 - 1), rejected (next word) when >= p: exactly uniform, rejection
             rate 1/16.  Bits: w & (2^bits - 1), exactly uniform for bits <= 32.
  * proof of work: with the state after absorbing everything so far, a nonce is valid for
             ``bits`` when keccak(state || 0x02 || uint64_be(nonce)), read as a big-endian
             256-bit integer, is below 2^(256 - bits).  The nonce is then absorbed (8 bytes big-endian),
             so every later challenge depends on it.
"""

from __future__ import annotations

import struct

import numba
import numpy as np
from numba import njit, prange

from prover.field import EXT_DEGREE, P
from prover.keccak import LANES, keccak256, keccak_f1600_x8

_DOMAIN = b"zkmips-transcript-v1"
_MASK31 = (1 << 31) - 1
_ABSORB, _SQUEEZE, _POW = b"\x00", b"\x01", b"\x02"


class Transcript:
    """Absorb commitments and public values, then sample challenges that depend on all of them."""

    def __init__(self, label: bytes):
        self._state = keccak256(_DOMAIN + bytes(label))
        self._pending = bytearray()
        self._counter = 0
        self._words: list[int] = []

    # ------------------------------------------------------------------ absorbing
    def absorb_bytes(self, data: bytes) -> None:
        self._pending += bytes(data)

    def absorb_digest(self, digest: bytes) -> None:
        if len(digest) != 32:
            raise ValueError(f"a digest is 32 bytes, got {len(digest)}")
        self.absorb_bytes(digest)

    def absorb_field(self, values) -> None:
        """Absorb base-field elements (int, array or nested list), each as 4 bytes little-endian."""
        arr = np.asarray(values)
        if arr.dtype.kind not in "ui" or (arr.size and (arr.min() < 0 or arr.max() >= P)):
            raise ValueError("absorb_field takes canonical field elements in [0, P)")
        self.absorb_bytes(arr.astype("<u4").tobytes())

    def absorb_ext(self, values) -> None:
        """Absorb extension elements (trailing axis 4), coefficient by coefficient."""
        arr = np.asarray(values)
        if arr.ndim == 0 or arr.shape[-1] != EXT_DEGREE:
            raise ValueError(f"extension elements need a trailing axis of length 4, got shape {arr.shape}")
        self.absorb_field(arr)

    # ------------------------------------------------------------------ squeezing
    def _flush(self) -> None:
        if self._pending:
            self._state = keccak256(self._state + _ABSORB + bytes(self._pending))
            self._pending = bytearray()
            self._counter = 0
            self._words = []

    def _next_word(self) -> int:
        self._flush()
        if not self._words:
            block = keccak256(self._state + _SQUEEZE + struct.pack(">I", self._counter))
            self._counter += 1
            self._words = list(struct.unpack(">8I", block))[::-1]  # pop() takes them in order
        return self._words.pop()

    def sample_base(self) -> int:
        """A uniform element of BabyBear."""
        while True:
            x = self._next_word() & _MASK31
            if x < P:
                return x

    def sample_ext(self) -> np.ndarray:
        """A uniform extension element, uint32[4]."""
        return np.array([self.sample_base() for _ in range(EXT_DEGREE)], dtype=np.uint32)

    def sample_bits(self, bits: int) -> int:
        """A uniform integer in [0, 2^bits), 0 <= bits <= 32."""
        if not 0 <= bits <= 32:
            raise ValueError(f"sample_bits takes 0..32 bits, got {bits}")
        return self._next_word() & ((1 << bits) - 1)

    def sample_indices(self, count: int, bits: int) -> list[int]:
        """``count`` independent uniform indices in [0, 2^bits) (repeats are possible)."""
        return [self.sample_bits(bits) for _ in range(count)]

    # ------------------------------------------------------------------ grinding
    def _pow_prefix(self) -> bytes:
        self._flush()
        return self._state

    def grind(self, pow_bits: int) -> int:
        """Find the smallest valid proof-of-work nonce, absorb it (as check_pow does), return it."""
        _check_pow_bits(pow_bits)
        prefix = self._pow_prefix()
        nonce = _search_nonce(prefix, pow_bits)
        self._absorb_nonce(nonce)
        return nonce

    def check_pow(self, nonce: int, pow_bits: int) -> bool:
        """Whether ``nonce`` is a valid proof of work here; absorbs it either way so that
        prover and verifier transcripts stay in step.  A nonce that is not an unsigned 64-bit
        integer (untrusted proof data) is simply invalid: False, nothing absorbed."""
        _check_pow_bits(pow_bits)
        if isinstance(nonce, bool) or not isinstance(nonce, (int, np.integer)) or not 0 <= nonce < 1 << 64:
            return False
        ok = _pow_ok(self._pow_prefix(), int(nonce), pow_bits)
        self._absorb_nonce(int(nonce))
        return ok

    def _absorb_nonce(self, nonce: int) -> None:
        self.absorb_bytes(struct.pack(">Q", nonce))


def _check_pow_bits(pow_bits: int) -> None:
    if not 0 <= pow_bits <= 64:
        raise ValueError(f"pow_bits must be in 0..64, got {pow_bits}")


def _pow_ok(prefix: bytes, nonce: int, pow_bits: int) -> bool:
    digest = keccak256(prefix + _POW + struct.pack(">Q", nonce))
    return int.from_bytes(digest, "big") >> (256 - pow_bits) == 0 if pow_bits else True


# ----------------------------------------------------------------------------- grinding kernel
# The PoW message state || 0x02 || uint64_be(nonce) is 41 bytes, one keccak block: lanes 0..3
# hold the state, bytes 32..40 the tag and the nonce's big-endian bytes (lanes 4 and 5), and
# the padding bytes sit at offsets 41 and 135.

_BATCH_PER_THREAD = 1 << 16  # a multiple of LANES; about 4 ms of work per thread


@njit(inline="always", cache=True)
def _bswap64(x):
    r = np.uint64(0)
    for _ in range(8):
        r = (r << np.uint64(8)) | (x & np.uint64(0xFF))
        x >>= np.uint64(8)
    return r


@njit(parallel=True, cache=True)
def _search_batch(state_lanes, start, per_thread, threads, pow_bits):
    """Smallest valid nonce in [start, start + per_thread*threads), or -1; each thread scans
    its own contiguous slice, 8 nonces per permutation, and the minimum hit wins, so the answer
    never depends on timing.  ``per_thread`` is a multiple of 8."""
    best = np.full(threads, -1, dtype=np.int64)
    for t in prange(threads):
        s = np.empty(25 * LANES, dtype=np.uint64)
        lo = start + t * per_thread
        for first in range(lo, lo + per_thread, LANES):
            s[:] = 0
            for k in range(LANES):
                for j in range(4):
                    s[j * LANES + k] = state_lanes[j]
                be = _bswap64(np.uint64(first + k))  # memory order = big-endian nonce bytes
                s[4 * LANES + k] = np.uint64(0x02) | (be << np.uint64(8))
                s[5 * LANES + k] = (be >> np.uint64(56)) | np.uint64(0x0100)
                s[16 * LANES + k] = np.uint64(0x80) << np.uint64(56)
            keccak_f1600_x8(s)
            for k in range(LANES):
                head = _bswap64(s[k])  # first 8 digest bytes as a big-endian integer
                if pow_bits == 0 or (head >> np.uint64(64 - pow_bits)) == 0:
                    best[t] = first + k
                    break
            if best[t] >= 0:
                break
    found = -1
    for t in range(threads):
        if best[t] >= 0 and (found < 0 or best[t] < found):
            found = best[t]
    return found


def _search_nonce(prefix: bytes, pow_bits: int) -> int:
    """The smallest nonce whose PoW digest has ``pow_bits`` leading zero bits."""
    lanes = np.frombuffer(prefix, dtype="<u8").copy()
    threads = numba.get_num_threads()
    per_thread = _BATCH_PER_THREAD
    start = 0
    while True:
        found = _search_batch(lanes, start, per_thread, threads, pow_bits)
        if found >= 0:
            return int(found)
        start += per_thread * threads
