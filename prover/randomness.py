"""Reproducible cryptographic randomness for the zero-knowledge masks of a proof.

A segment of a shared argument is committed twice: once to compute its binding (round 1,
which every segment must finish before the shared LogUp seed exists) and again when it is
proven, possibly in another process or on another machine. Both runs must draw the same
masks and salts, so the prover hands them a :class:`KeyedRandom` made from one secret
key instead of reading the OS's CSPRNG. It is a ChaCha20 keystream (pycryptodome): an
observer who sees some outputs (opened salts, masked values) learns nothing about the
others, unlike numpy's generators, whose state the outputs reveal.

It offers the one method of ``numpy.random.Generator`` that the engine calls,
``integers(low, high, size, dtype)``.
"""

from __future__ import annotations

import os

import numpy as np
from Crypto.Cipher import ChaCha20

KEY_BYTES = 32


class KeyedRandom:
    """A deterministic stream of uniform integers under a secret 32-byte ``key``."""

    def __init__(self, key: bytes | None = None):
        key = os.urandom(KEY_BYTES) if key is None else bytes(key)
        if len(key) != KEY_BYTES:
            raise ValueError(f"a randomness key is {KEY_BYTES} bytes, got {len(key)}")
        self._cipher = ChaCha20.new(key=key, nonce=b"\0" * 8)

    def bytes(self, n: int) -> bytes:
        return self._cipher.encrypt(b"\0" * n)

    def integers(self, low: int, high: int, size=None, dtype=np.int64) -> np.ndarray:
        """Integers in ``[low, high)``: one byte each when the range is 256 (exact), else
        a 64-bit word reduced mod the range (bias below ``range / 2^64``)."""
        shape = () if size is None else (tuple(size) if isinstance(size, (tuple, list)) else (int(size),))
        count = int(np.prod(shape, dtype=np.int64))
        span = int(high) - int(low)
        if span <= 0:
            raise ValueError("empty range")
        if span == 256:
            raw = np.frombuffer(self.bytes(count), dtype=np.uint8)
            if low == 0 and np.dtype(dtype) == np.uint8:       # salts: the keystream as it is
                return raw.copy().reshape(shape)
            raw = raw.astype(np.uint64)
        else:
            if span > 1 << 32:
                raise ValueError("KeyedRandom draws ranges of at most 2^32 values")
            raw = np.frombuffer(self.bytes(8 * count), dtype=np.uint64) % np.uint64(span)
        if low:
            raw = raw + np.uint64(low)
        return raw.astype(dtype, copy=False).reshape(shape)
