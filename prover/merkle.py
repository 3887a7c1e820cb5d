"""keccak-256 Merkle commitments to several matrices of different heights in one tree (MMCS).

Layout (Plonky3's MerkleTreeMmcs shape, with keccak everywhere):
  * heights are powers of two; the tallest matrices form the leaves:
      leaf[r] = keccak(row r of every tallest matrix, in the caller's order, as little-endian
                       uint32 bytes || salt[r])
  * one level up, node = keccak(left || right); when the level's size equals the height h of
    some shorter matrices, their rows are injected:
      node[r] = keccak(keccak(left || right) || keccak(rows r of the height-h matrices || salt))
  * an opening at index i (an index into the tallest height) reveals row i >> (log_max - log_h)
    of every matrix, one sibling per level and, when salted, one salt per distinct height.

Salts (hiding mode) make each leaf hash a commitment that reveals nothing about its rows: a
verifier learns only the opened rows.  The verifier must know the dims and salt length in
advance: they are part of the protocol, never read from the proof.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field as dc_field
from typing import Sequence

import numpy as np
from numba import njit

from prover.errors import VerificationError
from prover.field import P
from prover.keccak import DIGEST_BYTES, LANES, hash_matrix_rows, hash_pair_into, hash_pairs, keccak256

SALT_BYTES = 16  # 128 bits of randomness per leaf hash in hiding mode


@dataclass(frozen=True)
class MerkleProof:
    """Authentication path: ``siblings[k]`` is the sibling at level k (leaves are level 0);
    ``salts`` has one entry per distinct height, tallest first (empty when unsalted)."""

    siblings: list[bytes]
    salts: list[bytes] = dc_field(default_factory=list)


def _check_height(h: int) -> int:
    if h <= 0 or h & (h - 1):
        raise ValueError(f"matrix heights must be powers of two, got {h}")
    return h.bit_length() - 1


def _distinct_heights(heights: Sequence[int]) -> list[int]:
    return sorted(set(heights), reverse=True)


def make_salts(heights: Sequence[int], rng: np.random.Generator | None = None,
               salt_bytes: int = SALT_BYTES) -> list[np.ndarray]:
    """Random salts for ``commit_matrices``: one uint8[h, salt_bytes] per distinct height,
    tallest first.  Without ``rng`` they come from os.urandom (hiding needs real randomness;
    pass an rng only for reproducible tests)."""
    out = []
    for h in _distinct_heights(heights):
        if rng is None:
            raw = np.frombuffer(os.urandom(h * salt_bytes), dtype=np.uint8)
        else:
            raw = rng.integers(0, 256, size=h * salt_bytes, dtype=np.uint8)
        out.append(raw.reshape(h, salt_bytes).copy())
    return out


class MerkleTree:
    """A committed list of matrices; keeps every layer so that openings cost no hashing."""

    def __init__(self, matrices: Sequence[np.ndarray], salts: Sequence[np.ndarray] | None = None):
        if not matrices:
            raise ValueError("cannot commit to an empty list of matrices")
        self.matrices = [np.asarray(m) for m in matrices]
        for m in self.matrices:
            if m.ndim != 2:
                raise ValueError(f"matrices must be 2-D, got shape {m.shape}")
            _check_height(m.shape[0])
        self.dims = [(m.shape[0], m.shape[1]) for m in self.matrices]
        self.heights = _distinct_heights([h for h, _ in self.dims])
        self.log_max = self.heights[0].bit_length() - 1
        self.salts = None if salts is None else [np.asarray(s, dtype=np.uint8) for s in salts]
        if self.salts is not None:
            if len(self.salts) != len(self.heights):
                raise ValueError(f"need one salt array per distinct height ({len(self.heights)}), got {len(self.salts)}")
            for h, s in zip(self.heights, self.salts):
                if s.ndim != 2 or s.shape[0] != h:
                    raise ValueError(f"salt array for height {h} must be uint8[{h}, S], got shape {s.shape}")
        self.layers = self._build()
        self.root: bytes = self.layers[-1][0].tobytes()

    def _group(self, h: int) -> list[np.ndarray]:
        return [m for m in self.matrices if m.shape[0] == h]

    def _salt(self, h: int) -> np.ndarray | None:
        return None if self.salts is None else self.salts[self.heights.index(h)]

    def _hash_height(self, h: int) -> np.ndarray:
        return hash_matrix_rows(self._group(h), self._salt(h))

    def _build(self) -> list[np.ndarray]:
        layer = self._hash_height(self.heights[0])
        layers = [layer]
        while layer.shape[0] > 1:
            # sibling pairs are adjacent rows: hash the layer as half as many 64-byte rows
            layer = hash_matrix_rows([layer.view(np.uint32).reshape(-1, 2 * DIGEST_BYTES // 4)])
            if layer.shape[0] in self.heights:
                layer = hash_pairs(layer, self._hash_height(layer.shape[0]))
            layers.append(layer)
        return layers

    def open(self, index: int) -> tuple[list[np.ndarray], MerkleProof]:
        """Rows at ``index`` (into the tallest height) of every matrix, in commit order, and the path."""
        if not 0 <= index < self.heights[0]:
            raise ValueError(f"index {index} out of range for height {self.heights[0]}")
        rows = [m[index >> (self.log_max - (m.shape[0].bit_length() - 1))].astype(np.uint32) for m in self.matrices]
        siblings = [self.layers[k][(index >> k) ^ 1].tobytes() for k in range(self.log_max)]
        salts = [] if self.salts is None else [
            s[index >> (self.log_max - (h.bit_length() - 1))].tobytes() for h, s in zip(self.heights, self.salts)]
        return rows, MerkleProof(siblings, salts)


def commit_matrices(matrices: Sequence[np.ndarray], salts: Sequence[np.ndarray] | None = None
                    ) -> tuple[bytes, MerkleTree]:
    """Commit to matrices (uint32[h_i, w_i], heights powers of two); returns (root, tree)."""
    tree = MerkleTree(matrices, salts)
    return tree.root, tree


def _row_digest(rows: list[np.ndarray], salt: bytes | None) -> bytes:
    data = b"".join(r.astype("<u4").tobytes() for r in rows)
    return keccak256(data + (salt or b""))


def verify_opening(root: bytes, dims: Sequence[tuple[int, int]], index: int,
                   rows: Sequence[np.ndarray], proof: MerkleProof, salt_bytes: int = 0) -> None:
    """Check that ``rows`` are the rows at ``index`` of matrices of shapes ``dims`` under ``root``.

    ``salt_bytes`` is the salt length the protocol fixed (0: unsalted).  Raises
    VerificationError with a reason on any mismatch or malformed input; returns None otherwise.
    """
    try:
        if not isinstance(root, bytes) or len(root) != DIGEST_BYTES:
            # checked first: bytes(n) of an integer "root" would allocate n bytes
            raise VerificationError("merkle: root must be a 32-byte digest")
        dims = [(int(h), int(w)) for h, w in dims]
        heights = _distinct_heights([h for h, _ in dims])
        if not dims or any(h <= 0 or h & (h - 1) or w < 0 for h, w in dims):
            raise VerificationError("merkle: dims must be non-empty with power-of-two heights")
        log_max = heights[0].bit_length() - 1
        if not isinstance(index, (int, np.integer)) or not 0 <= index < heights[0]:
            raise VerificationError(f"merkle: index {index} out of range")
        index = int(index)
        if len(rows) != len(dims):
            raise VerificationError(f"merkle: expected {len(dims)} opened rows, got {len(rows)}")
        checked = []
        for (h, w), r in zip(dims, rows):
            arr = np.asarray(r)
            if arr.shape != (w,) or arr.dtype.kind not in "ui" or (w and (arr.min() < 0 or arr.max() >= P)):
                raise VerificationError(f"merkle: opened row must be {w} canonical field elements")
            checked.append(arr.astype(np.uint32))
        if not isinstance(proof, MerkleProof) or len(proof.siblings) != log_max:
            raise VerificationError(f"merkle: path must have {log_max} siblings")
        if any(not isinstance(s, bytes) or len(s) != DIGEST_BYTES for s in proof.siblings):
            raise VerificationError("merkle: siblings must be 32-byte digests")
        n_salts = len(heights) if salt_bytes else 0
        if len(proof.salts) != n_salts or any(not isinstance(s, bytes) or len(s) != salt_bytes for s in proof.salts):
            raise VerificationError(f"merkle: expected {n_salts} salts of {salt_bytes} bytes")

        def digest_for(h: int) -> bytes:
            group = [r for (hh, _), r in zip(dims, checked) if hh == h]
            return _row_digest(group, proof.salts[heights.index(h)] if salt_bytes else None)

        injections = np.zeros((log_max, DIGEST_BYTES), dtype=np.uint8)
        inject_at = np.zeros(log_max, dtype=np.bool_)
        for h in heights[1:]:
            level = log_max - h.bit_length()  # the level whose output has h nodes
            injections[level] = np.frombuffer(digest_for(h), dtype=np.uint8)
            inject_at[level] = True
        siblings = np.frombuffer(b"".join(proof.siblings), dtype=np.uint8).reshape(log_max, DIGEST_BYTES)
        leaf = np.frombuffer(digest_for(heights[0]), dtype=np.uint8)
        if _climb(leaf, siblings, index, injections, inject_at).tobytes() != root:
            raise VerificationError("merkle: root mismatch")
    except VerificationError:
        raise
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise VerificationError(f"merkle: malformed opening ({exc})") from None


@njit(cache=True)
def _climb(leaf, siblings, index, injections, inject_at):
    """Root recomputed from a leaf digest: at level k hash with siblings[k] (on the side given
    by bit k of index), then, where inject_at[k], with the row digest injections[k]."""
    state = np.empty(25 * LANES, dtype=np.uint64)
    node = leaf.copy()
    nxt = np.empty(DIGEST_BYTES, dtype=np.uint8)
    for k in range(siblings.shape[0]):
        if (index >> k) & 1:
            hash_pair_into(state, siblings[k], node, nxt)
        else:
            hash_pair_into(state, node, siblings[k], nxt)
        node[:] = nxt
        if inject_at[k]:
            hash_pair_into(state, node, injections[k], nxt)
            node[:] = nxt
    return node
