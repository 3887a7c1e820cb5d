"""Our keccak-256 against pycryptodome's (Ethereum keccak, not SHA3)."""

import hashlib

import numpy as np
import pytest
from Crypto.Hash import keccak as ref_keccak

from prover import keccak

LENGTHS = [0, 1, 31, 32, 64, 135, 136, 137, 271, 272, 273, 512, 513, 1000]


def ref(data: bytes) -> bytes:
    return ref_keccak.new(digest_bits=256, data=data).digest()


def test_known_vectors():
    assert keccak.keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak.keccak256(b"abc").hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    assert keccak.keccak256(b"abc") != hashlib.sha3_256(b"abc").digest()


@pytest.mark.parametrize("length", LENGTHS)
def test_hash_rows_matches_reference(length):
    rng = np.random.default_rng(length)
    rows = rng.integers(0, 256, size=(5, length), dtype=np.uint8)
    got = keccak.hash_rows(rows)
    assert got.shape == (5, 32) and got.dtype == np.uint8
    for i in range(5):
        assert got[i].tobytes() == ref(rows[i].tobytes())
        assert keccak.keccak256(rows[i].tobytes()) == ref(rows[i].tobytes())


def test_hash_rows_non_contiguous():
    rng = np.random.default_rng(3)
    big = rng.integers(0, 256, size=(8, 300), dtype=np.uint8)
    view = big[::2, 7:207]
    got = keccak.hash_rows(view)
    for i in range(4):
        assert got[i].tobytes() == ref(view[i].tobytes())


def test_hash_pairs():
    rng = np.random.default_rng(4)
    left = rng.integers(0, 256, size=(9, 32), dtype=np.uint8)
    right = rng.integers(0, 256, size=(9, 32), dtype=np.uint8)
    got = keccak.hash_pairs(left, right)
    for i in range(9):
        assert got[i].tobytes() == ref(left[i].tobytes() + right[i].tobytes())


def test_empty_batch():
    assert keccak.hash_rows(np.zeros((0, 40), np.uint8)).shape == (0, 32)


def test_bad_shapes():
    with pytest.raises(ValueError):
        keccak.hash_rows(np.zeros(5, np.uint8))
    with pytest.raises(ValueError):
        keccak.hash_pairs(np.zeros((2, 32), np.uint8), np.zeros((3, 32), np.uint8))


def test_many_rows_in_parallel_groups():
    """Enough rows for the parallel kernel (8-row groups, ragged tail) with a suffix part, and
    the same rows through the serial kernel."""
    rng = np.random.default_rng(9)
    n = 4 * keccak._ROWS_PER_TASK + 43
    rows = rng.integers(0, 256, size=(n, 141), dtype=np.uint8)
    salt = rng.integers(0, 256, size=(n, 5), dtype=np.uint8)
    got = keccak.hash_rows(rows, salt)
    for i in list(range(0, n, 37)) + [n - 2, n - 1]:
        assert got[i].tobytes() == ref(rows[i].tobytes() + salt[i].tobytes())
    assert (keccak.hash_rows(rows[:1000], salt[:1000]) == got[:1000]).all()


def test_suffix_row_count_must_match():
    with pytest.raises(ValueError):
        keccak.hash_rows(np.zeros((3, 4), np.uint8), np.zeros((2, 4), np.uint8))


@pytest.mark.parametrize("widths,salt", [([1], 0), ([5, 7], 16), ([3, 34, 1], 5), ([0, 2], 0), ([35], 16)])
def test_hash_matrix_rows_matches_the_concatenated_rows(widths, salt):
    """Hashing uint32 matrices in place (Merkle leaves) gives the digests of their rows
    side by side as little-endian bytes, through the serial and the parallel kernel."""
    rng = np.random.default_rng(len(widths) * 100 + salt)
    for n in (3, 4 * keccak._ROWS_PER_TASK + 11):
        mats = [rng.integers(0, 2**32, (n, w), dtype=np.uint32) for w in widths]
        suffix = rng.integers(0, 256, (n, salt), dtype=np.uint8) if salt else None
        joined = np.concatenate(mats, axis=1).astype("<u4").view(np.uint8)
        got = keccak.hash_matrix_rows(mats, suffix)
        assert (got == keccak.hash_rows(joined, suffix)).all()
        tail = suffix[n - 1].tobytes() if salt else b""
        assert got[n - 1].tobytes() == ref(joined[n - 1].tobytes() + tail)


def test_hash_matrix_rows_rejects_mismatched_heights():
    with pytest.raises(ValueError):
        keccak.hash_matrix_rows([np.zeros((4, 2), np.uint32), np.zeros((8, 2), np.uint32)])
    with pytest.raises(ValueError):
        keccak.hash_matrix_rows([np.zeros((4, 2), np.uint32)], np.zeros((3, 16), np.uint8))


def test_hash_pairs_of_merkle_layers():
    """Strided halves of a layer (serial and parallel kernels) and unaligned digests."""
    rng = np.random.default_rng(6)
    for n in (6, 8 * keccak._ROWS_PER_TASK + 6):
        layer = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
        got = keccak.hash_pairs(layer[0::2], layer[1::2])
        assert (got == keccak.hash_rows(layer.reshape(n // 2, 64))).all()
        assert got[-1].tobytes() == ref(layer[-2].tobytes() + layer[-1].tobytes())
    raw = rng.integers(0, 256, size=3 * 32 + 1, dtype=np.uint8)
    left = raw[1:].reshape(3, 32)  # not 8-byte aligned
    assert (keccak.hash_pairs(left, left[::-1]) == keccak.hash_rows(np.hstack([left, left[::-1]]))).all()
