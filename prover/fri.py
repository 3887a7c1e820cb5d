"""FRI low-degree test over codewords of several heights (Plonky3's p3-fri shape).

What it proves: the codewords handed in by the PCS (one per height, already
batched) are close to Reed-Solomon codewords of rate ``2^-log_blowup``.

Layout and conventions:

* A codeword of log-height ``L`` holds the evaluations on the coset
  ``shift * H_{2^L}`` in **bit-reversed order**: position ``r`` holds the value
  at natural index ``bitrev_L(r)``. In natural order ``x_{i + n/2} = -x_i``, so
  the two points that a binary fold combines sit side by side (positions ``2r``
  and ``2r + 1``), a fold halves the index (``r -> r >> 1``), and a query index
  into the tallest codeword reaches a shorter one by a right shift, exactly as
  the Merkle trees (MMCS) index shorter matrices.
* Folding by ``a = 2^k`` with challenge ``beta`` equals ``k`` binary folds with
  ``beta, beta^2, beta^4, ...``: ``f'(y) = sum_m beta^m f_m(y)`` where
  ``f(X) = sum_{m<a} X^m f_m(X^a)``. A committed layer is the matrix
  ``uint32[n/a, 4a]`` whose row ``r`` holds the ``a`` values folded together.
* A codeword of a shorter height enters ("rolls in") at the layer of its
  height: ``folded += beta^a * input``. The fold schedule never jumps over an
  input height, so arities can shrink near one.
* Folding stops at log-height ``log_final_poly_len + log_blowup`` (or at the
  shortest input, if lower); the final polynomial's coefficients go in the
  clear, and each query checks the last folded value against it.
* Grinding: ``commit_pow_bits`` before each folding challenge,
  ``pow_bits`` before the query indices are drawn.

The prover and verifier derive everything (schedule, shifts, indices) from
the parameters, the input heights and the transcript; nothing structural is
read from the proof except what is then checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
from numba import njit, prange

from prover import field
from prover.errors import VerificationError
from prover.field import GENERATOR, P
from prover.merkle import SALT_BYTES, MerkleProof, commit_matrices, make_salts, verify_opening
from prover.ntt import coset_idft
from prover.security import FriParams
from prover.transcript import Transcript

_P64 = np.uint64(P)
_INV2 = (P + 1) // 2


# ----------------------------------------------------------------------------
# Proof objects
# ----------------------------------------------------------------------------


@dataclass
class FriLayerOpening:
    """One queried row of a committed layer: ``values`` is uint32[arity, 4]
    (the extension values folded together) and its Merkle path."""

    values: np.ndarray
    proof: MerkleProof


@dataclass
class FriQueryProof:
    """Everything one query needs from the commit phase, one entry per layer."""

    layers: list[FriLayerOpening]


@dataclass
class FriProof:
    """The commit phase (layer roots and their grinding nonces), the final
    polynomial's coefficients uint32[len, 4], the query grinding nonce and
    one :class:`FriQueryProof` per query."""

    commit_roots: list[bytes]
    commit_pow_nonces: list[int]
    final_poly: np.ndarray
    query_pow_nonce: int
    query_proofs: list[FriQueryProof]


# ----------------------------------------------------------------------------
# Shared helpers
# ----------------------------------------------------------------------------


@lru_cache(maxsize=32)
def bit_reverse_indices(log_n: int) -> np.ndarray:
    """``rev[i] = bitrev_{log_n}(i)`` as int64[2^log_n]; ``a[rev]`` permutes
    natural order to bit-reversed order and back (it is an involution).
    Cached and read-only: callers index with it, never write to it."""
    rev = np.zeros(1, dtype=np.int64)
    for _ in range(log_n):  # rev_{k+1} = [2 rev_k, 2 rev_k + 1]
        rev = np.concatenate([rev << 1, (rev << 1) | 1])
    rev.flags.writeable = False
    return rev


def fold_schedule(input_log_heights: Sequence[int], params: FriParams) -> tuple[list[int], int]:
    """Log-arities of the successive folds and the final log-height.

    Starts at the tallest input and never folds past another input's height
    (so that it can roll in) or past the final height."""
    heights = sorted(set(int(h) for h in input_log_heights), reverse=True)
    if not heights:
        raise ValueError("FRI needs at least one input codeword")
    final = min(params.log_final_poly_len + params.log_blowup, heights[-1])
    if final < params.log_blowup:
        raise ValueError(f"FRI input of log-height {heights[-1]} is shorter than the blowup")
    arities = []
    current = heights[0]
    while current > final:
        next_stop = max([h for h in heights if h < current] + [final])
        k = min(params.max_log_arity, current - next_stop)
        arities.append(k)
        current -= k
    return arities, final


def _layer_x_inv(log_n: int, shift: int) -> np.ndarray:
    """``1 / x`` for the first point of every binary pair of a bit-reversed
    codeword on ``shift * H_{2^log_n}``: pair ``r`` is at natural index
    ``bitrev_{log_n - 1}(r)``, uint32[2^(log_n-1)]."""
    half = 1 << (log_n - 1)
    omega_inv = pow(field.two_adic_generator(log_n), P - 2, P)
    natural = field.powers(omega_inv, half).astype(np.uint64) * np.uint64(pow(shift, P - 2, P)) % _P64
    return natural[bit_reverse_indices(log_n - 1)].astype(np.uint32)


@njit(parallel=True, cache=True)
def _fold_binary_kernel(vals, x_inv, b0, b1, b2, b3):
    """out[r] = ((e0 + e1) + beta * (e0 - e1) / x_r) / 2 with e0, e1 = vals[2r], vals[2r+1]."""
    w = np.uint64(field.W)
    inv2 = np.uint64(_INV2)
    half = vals.shape[0] // 2
    out = np.empty((half, 4), dtype=np.uint32)
    for r in prange(half):
        xi = np.uint64(x_inv[r])
        a0, a1 = np.uint64(vals[2 * r, 0]), np.uint64(vals[2 * r + 1, 0])
        c0, c1 = np.uint64(vals[2 * r, 1]), np.uint64(vals[2 * r + 1, 1])
        e0, e1 = np.uint64(vals[2 * r, 2]), np.uint64(vals[2 * r + 1, 2])
        g0, g1 = np.uint64(vals[2 * r, 3]), np.uint64(vals[2 * r + 1, 3])
        d0 = (a0 + _P64 - a1) * xi % _P64
        d1 = (c0 + _P64 - c1) * xi % _P64
        d2 = (e0 + _P64 - e1) * xi % _P64
        d3 = (g0 + _P64 - g1) * xi % _P64
        t0 = (b0 * d0 % _P64 + w * ((b1 * d3 % _P64 + b2 * d2 % _P64 + b3 * d1 % _P64) % _P64)) % _P64
        t1 = (b0 * d1 % _P64 + b1 * d0 % _P64 + w * ((b2 * d3 % _P64 + b3 * d2 % _P64) % _P64)) % _P64
        t2 = (b0 * d2 % _P64 + b1 * d1 % _P64 + b2 * d0 % _P64 + w * (b3 * d3 % _P64)) % _P64
        t3 = (b0 * d3 % _P64 + b1 * d2 % _P64 + b2 * d1 % _P64 + b3 * d0 % _P64) % _P64
        out[r, 0] = (a0 + a1 + t0) % _P64 * inv2 % _P64
        out[r, 1] = (c0 + c1 + t1) % _P64 * inv2 % _P64
        out[r, 2] = (e0 + e1 + t2) % _P64 * inv2 % _P64
        out[r, 3] = (g0 + g1 + t3) % _P64 * inv2 % _P64
    return out


def fold_codeword(values: np.ndarray, log_arity: int, beta: np.ndarray, shift: int) -> np.ndarray:
    """Fold a bit-reversed codeword uint32[n, 4] on ``shift * H_n`` by
    ``2^log_arity``; the result lies on ``shift^(2^log_arity) * H_{n/a}``."""
    log_n = values.shape[0].bit_length() - 1
    b = np.asarray(beta, dtype=np.uint32)
    for _ in range(log_arity):
        x_inv = _layer_x_inv(log_n, shift)
        values = _fold_binary_kernel(values, x_inv, *(np.uint64(c) for c in b))
        b = field.ext_mul(b, b)
        shift = shift * shift % P
        log_n -= 1
    return values


def bit_reverse_array(values: np.ndarray, bits: int) -> np.ndarray:
    """``bitrev_bits`` of every entry of an int64 array (no lookup table, so
    that a verifier's memory does not grow with the domain size)."""
    out = np.zeros_like(values)
    for b in range(bits):
        out |= ((values >> b) & 1) << (bits - 1 - b)
    return out


def coset_powers(shift: int, generator: int, exponents: np.ndarray) -> np.ndarray:
    """``shift * generator^e`` for every exponent, uint32 (the verifier's few points)."""
    flat = [shift * pow(generator, int(e), P) % P for e in exponents.ravel()]
    return np.array(flat, dtype=np.uint32).reshape(exponents.shape)


def _fold_rows(rows: np.ndarray, row_index: np.ndarray, log_n: int, log_arity: int,
               beta: np.ndarray, shift: int) -> np.ndarray:
    """Verifier's fold of queried rows uint32[Q, a, 4] (row ``row_index[q]`` of
    a layer of log-height ``log_n``) to one value per query, uint32[Q, 4]:
    the same binary folds as :func:`fold_codeword`, on the queried rows only."""
    vals = rows
    b = np.asarray(beta, dtype=np.uint32)
    for level in range(log_n, log_n - log_arity, -1):
        width = vals.shape[1] // 2
        pairs = row_index[:, None] * width + np.arange(width)[None, :]
        omega_inv = pow(field.two_adic_generator(level), P - 2, P)
        x_inv = coset_powers(pow(shift, P - 2, P), omega_inv, bit_reverse_array(pairs, level - 1))
        e0, e1 = vals[:, 0::2], vals[:, 1::2]
        d = field.ext_mul_base(field.ext_sub(e0, e1), x_inv)
        vals = field.ext_mul_base(field.ext_add(field.ext_add(e0, e1), field.ext_mul(d, b)), np.uint32(_INV2))
        b = field.ext_mul(b, b)
        shift = shift * shift % P
    return vals[:, 0]


def _eval_poly_at(coeffs: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Evaluate an extension polynomial (coefficients uint32[m, 4]) at base
    points uint32[Q]: Horner with base-field multiplications, uint32[Q, 4]."""
    acc = np.zeros((xs.shape[0], 4), dtype=np.uint32)
    for c in coeffs[::-1]:
        acc = field.ext_add(field.ext_mul_base(acc, xs), c[None, :])
    return acc


def _final_poly(values: np.ndarray, shift: int, num_coeffs: int, check_degree: bool) -> np.ndarray:
    """Coefficients of the final codeword (bit-reversed on ``shift * H``)."""
    log_n = values.shape[0].bit_length() - 1
    natural = values[bit_reverse_indices(log_n)]
    coeffs = coset_idft(natural, shift)
    if check_degree and np.any(coeffs[num_coeffs:]):
        raise ValueError("FRI input is not of low degree (final polynomial too long); "
                         "the committed data or the claimed openings are inconsistent")
    return np.ascontiguousarray(coeffs[:num_coeffs], dtype=np.uint32)


def _layer_matrix(values: np.ndarray, log_arity: int) -> np.ndarray:
    """A bit-reversed codeword uint32[n, 4] as the committed matrix uint32[n/a, 4a]."""
    return values.reshape(values.shape[0] >> log_arity, 4 << log_arity)


# ----------------------------------------------------------------------------
# Prover
# ----------------------------------------------------------------------------


def prove(params: FriParams, inputs: dict[int, np.ndarray], transcript: Transcript,
          shift: int = GENERATOR, salted: bool = False, rng: np.random.Generator | None = None,
          check_degree: bool = True) -> tuple[FriProof, list[int]]:
    """Commit phase, final polynomial, grinding and query phase.

    ``inputs`` maps a log-height to its bit-reversed codeword uint32[2^h, 4]
    on ``shift * H`` (every input shares ``shift``; see the module doc).
    Returns the proof and the query indices (into the tallest input) at which
    the caller must open its own commitments. ``check_degree=False`` skips
    the prover's sanity check so that tests can build proofs of bad inputs.
    """
    arities, final_log = fold_schedule(inputs.keys(), params)
    log_h = max(inputs)
    current = np.ascontiguousarray(inputs[log_h], dtype=np.uint32)
    trees, roots, nonces = [], [], []
    for k in arities:
        matrix = _layer_matrix(current, k)
        salts = make_salts([matrix.shape[0]], rng) if salted else None
        root, tree = commit_matrices([matrix], salts)
        transcript.absorb_digest(root)
        nonces.append(transcript.grind(params.commit_pow_bits))
        beta = transcript.sample_ext()
        current = fold_codeword(current, k, beta, shift)
        shift = pow(shift, 1 << k, P)
        log_h -= k
        if log_h in inputs:
            roll = field.ext_mul(np.asarray(inputs[log_h], dtype=np.uint32), field.ext_pow(beta, 1 << k))
            current = field.ext_add(current, roll)
        trees.append(tree)
        roots.append(root)
    final_poly = _final_poly(current, shift, 1 << (final_log - params.log_blowup), check_degree)
    transcript.absorb_ext(final_poly)
    query_nonce = transcript.grind(params.pow_bits)
    log_max = max(inputs)
    indices = transcript.sample_indices(params.num_queries, log_max)
    query_proofs = []
    for index in indices:
        layers, row = [], index
        for k, tree in zip(arities, trees):
            row >>= k
            (values,), proof = tree.open(row)
            layers.append(FriLayerOpening(values.reshape(1 << k, 4), proof))
        query_proofs.append(FriQueryProof(layers))
    return FriProof(roots, nonces, final_poly, query_nonce, query_proofs), indices


# ----------------------------------------------------------------------------
# Verifier
# ----------------------------------------------------------------------------


def check_pow_nonce(transcript: Transcript, nonce: object, bits: int, what: str) -> None:
    """Check an untrusted grinding nonce (type, range, work) against the transcript,
    absorbing it as the prover did; VerificationError names the grinding site."""
    if not isinstance(nonce, (int, np.integer)) or isinstance(nonce, bool) or not 0 <= nonce < 1 << 64:
        raise VerificationError(f"fri: {what} nonce is not a 64-bit unsigned integer")
    if not transcript.check_pow(int(nonce), bits):
        raise VerificationError(f"fri: {what} proof of work is invalid")


def _ext_array(value: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Validate an untrusted array of canonical field elements of a fixed shape."""
    if not isinstance(value, np.ndarray) or value.shape != shape or value.dtype.kind not in "ui":
        raise VerificationError(f"fri: {what} must be an integer array of shape {shape}")
    if value.size and (value.min() < 0 or value.max() >= P):
        raise VerificationError(f"fri: {what} holds a non-canonical field element")
    return value.astype(np.uint32)


def verify(params: FriParams, proof: FriProof, transcript: Transcript,
           input_log_heights: Sequence[int],
           reduced_openings: Callable[[list[int]], dict[int, np.ndarray]],
           shift: int = GENERATOR, salt_bytes: int = 0) -> None:
    """Replay the transcript, check grinding, every layer opening and the final
    polynomial; raise :class:`VerificationError` on any failure.

    ``reduced_openings(indices)`` is the PCS's callback: it authenticates its
    own openings at those indices (into the tallest input) and returns, for
    every input log-height ``h``, the batched input values uint32[Q, 4] at
    positions ``index >> (max_height - h)``.
    """
    if not isinstance(proof, FriProof):
        raise VerificationError("fri: proof has the wrong type")
    try:
        arities, final_log = fold_schedule(input_log_heights, params)
    except ValueError as exc:
        raise VerificationError(f"fri: {exc}") from None
    log_max = max(input_log_heights)
    if not isinstance(proof.commit_roots, list) or len(proof.commit_roots) != len(arities):
        raise VerificationError(f"fri: expected {len(arities)} layer commitments")
    if not isinstance(proof.commit_pow_nonces, list) or len(proof.commit_pow_nonces) != len(arities):
        raise VerificationError(f"fri: expected {len(arities)} commit-phase nonces")
    betas = []
    for root, nonce in zip(proof.commit_roots, proof.commit_pow_nonces):
        if not isinstance(root, bytes) or len(root) != 32:
            raise VerificationError("fri: a layer commitment is not a 32-byte digest")
        transcript.absorb_digest(root)
        check_pow_nonce(transcript, nonce, params.commit_pow_bits, "commit-phase")
        betas.append(transcript.sample_ext())
    final_len = 1 << (final_log - params.log_blowup)
    final_poly = _ext_array(proof.final_poly, (final_len, 4), "final polynomial")
    transcript.absorb_ext(final_poly)
    check_pow_nonce(transcript, proof.query_pow_nonce, params.pow_bits, "query")
    indices = transcript.sample_indices(params.num_queries, log_max)
    if not isinstance(proof.query_proofs, list) or len(proof.query_proofs) != len(indices):
        raise VerificationError(f"fri: expected {len(indices)} query proofs")

    reduced = reduced_openings(indices)
    index = np.array(indices, dtype=np.int64)
    current = reduced[log_max]
    log_h, layer_shift = log_max, shift
    for layer, (k, beta, root) in enumerate(zip(arities, betas, proof.commit_roots)):
        rows = []
        width = 4 << k
        for q, query in enumerate(proof.query_proofs):
            if not isinstance(query, FriQueryProof) or not isinstance(query.layers, list) \
                    or len(query.layers) != len(arities):
                raise VerificationError(f"fri: query {q} does not open {len(arities)} layers")
            opening = query.layers[layer]
            if not isinstance(opening, FriLayerOpening):
                raise VerificationError(f"fri: query {q} layer {layer} is malformed")
            values = _ext_array(opening.values, (1 << k, 4), f"query {q} layer {layer} values")
            verify_opening(root, [(1 << (log_h - k), width)], int(index[q] >> k),
                           [values.reshape(width)], opening.proof, salt_bytes)
            rows.append(values)
        rows_arr = np.stack(rows)
        position = index & ((1 << k) - 1)
        if not np.array_equal(rows_arr[np.arange(len(indices)), position], current):
            raise VerificationError(f"fri: layer {layer} disagrees with the folded value")
        index = index >> k
        current = _fold_rows(rows_arr, index, log_h, k, beta, layer_shift)
        layer_shift = pow(layer_shift, 1 << k, P)
        log_h -= k
        if log_h in reduced and log_h != log_max:
            current = field.ext_add(current, field.ext_mul(reduced[log_h], field.ext_pow(beta, 1 << k)))
    xs = coset_powers(layer_shift, field.two_adic_generator(log_h), bit_reverse_array(index, log_h))
    if not np.array_equal(_eval_poly_at(final_poly, xs), current):
        raise VerificationError("fri: final polynomial disagrees with the folded values")


#: Salt length FRI layers use in hiding mode (the Merkle module's default).
FRI_SALT_BYTES = SALT_BYTES
