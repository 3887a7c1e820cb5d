"""Polynomial commitments from FRI over keccak Merkle trees (Plonky3's TwoAdicFriPcs shape).

``commit`` takes evaluation matrices on their domains (trace domains ``H``, or
cosets ``s*H`` for quotient chunks), interpolates every column, extends it by
the blowup onto the shared coset ``GENERATOR * H'`` (disjoint from every
two-adic subgroup), stores the extension in bit-reversed row order and commits
all matrices in one multi-height Merkle tree (MMCS).

``open`` proves the values of committed columns at out-of-domain points:

1. it evaluates every requested (matrix, point) from the original evaluations
   (barycentric formula on the matrix's domain) and absorbs the values;
2. it draws ``alpha`` (after ``batch_pow_bits`` of grinding) and batches every
   column ``f_c`` opened at point ``z`` with value ``v_c`` into one DEEP quotient
   per height: ``sum alpha^k (f_c(X) - v_c) / (X - z)``, where ``k`` counts
   (round, matrix, point, column) in order. Each term is a polynomial of degree
   below the matrix's degree bound exactly when the claimed value is right;
3. FRI (``prover.fri``) proves the per-height quotients low-degree, shorter
   heights rolling in at their own layer; the PCS opens its trees at the FRI
   query indices so the verifier can recompute the quotients there.

Hiding mode (``FriPcs(params, hiding=True)``), after Plonky3's HidingFriPcs:

* every Merkle leaf is salted (16 random bytes), so sibling hashes reveal
  nothing about the rows that were not opened;
* before ``alpha`` the prover commits (salted) to a uniformly random
  polynomial ``R`` of the largest degree bound and adds its codeword to the
  tallest FRI input. Every FRI layer and the final polynomial are then
  uniformly random codewords, independent of the committed data; ``R`` is
  fixed before ``alpha`` so it cannot cancel a bad batch.

What hiding does *not* do: the rows opened at the queries and the values at
the out-of-domain points are evaluations of the committed polynomials. The
AIR layer must randomise what it commits (extra random trace rows or masking
polynomials, randomised quotient chunks) so that those few evaluations are
independent of private data.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
from numba import njit, prange

from prover import field, fri
from prover.errors import VerificationError
from prover.field import GENERATOR, P, ext_mul4, powmod
from prover.merkle import SALT_BYTES, MerkleProof, MerkleTree, commit_matrices, make_salts, verify_opening
from prover.ntt import coset_dft, coset_lde, coset_lde_bit_reversed, extend_in_place
from prover.security import FriParams
from prover.transcript import Transcript

_P64 = np.uint64(P)

# ----------------------------------------------------------------------------
# Domains and committed data
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """The coset ``shift * H`` with ``|H| = 2^log_n`` on which a matrix's rows
    are given, in natural order (row ``i`` at ``shift * omega^i``), or with
    ``bit_reversed`` in bit-reversed order (row ``i`` at ``shift *
    omega^rev(i)``: how extensions are stored; :func:`evaluate_at` reads a
    stored extension's head in place through such a domain)."""

    log_n: int
    shift: int = 1
    bit_reversed: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.log_n <= field.TWO_ADICITY:
            raise ValueError(f"domain log-size must be in 0..{field.TWO_ADICITY}, got {self.log_n}")
        if not 0 < self.shift < P:
            raise ValueError(f"domain shift must be a non-zero field element, got {self.shift}")

    @property
    def size(self) -> int:
        return 1 << self.log_n

    def points(self) -> np.ndarray:
        """The domain's points in its row order, uint32[n]."""
        if self.bit_reversed:
            return _bitrev_coset_points(self.log_n, self.shift)
        return _coset_points(self.log_n, self.shift)


@lru_cache(maxsize=16)
def _coset_points(log_n: int, shift: int) -> np.ndarray:
    omega = field.two_adic_generator(log_n)
    points = (field.powers(omega, 1 << log_n).astype(np.uint64) * np.uint64(shift) % _P64).astype(np.uint32)
    points.flags.writeable = False  # cached: shared by every caller
    return points


@lru_cache(maxsize=8)
def _bitrev_coset_points(log_n: int, shift: int) -> np.ndarray:
    points = _coset_points(log_n, shift)[fri.bit_reverse_indices(log_n)]
    points.flags.writeable = False
    return points


@dataclass(frozen=True)
class Coefficients:
    """Polynomials in coefficient form, produced on demand: ``write(out)`` fills every
    row of ``out`` (uint32[rows, width]) with the coefficients of X^0..X^(rows-1), one
    polynomial per column (degree < rows).

    :meth:`FriPcs.commit` takes one in place of a matrix of evaluations on a domain of
    ``rows`` points.  It writes the coefficients straight into the first rows of the
    extension's buffer and extends them there: no interpolation (a caller that builds
    polynomials from coefficients, like a zero-knowledge mask, saves two transforms),
    and neither evaluations nor a coefficient matrix is held besides the extension
    while many matrices wait for one commitment (fresh memory is slow to touch)."""

    rows: int
    width: int
    write: Callable[[np.ndarray], None]

    @classmethod
    def of(cls, coeffs: np.ndarray) -> "Coefficients":
        """An existing coefficient matrix (copied when committed)."""
        coeffs = np.asarray(coeffs, dtype=np.uint32)
        return cls(coeffs.shape[0], coeffs.shape[1], lambda out: np.copyto(out, coeffs))


@dataclass
class CommittedData:
    """The prover's side of one commitment: the tree (which holds the
    bit-reversed extensions) and the domains.

    The original evaluations are not kept: the extension's first ``n`` rows (``n``
    = the domain's size, which bounds the degree) determine each polynomial as well,
    so keeping both would double the prover's largest allocation for nothing."""

    root: bytes
    tree: MerkleTree
    domains: list[Domain]
    log_blowup: int

    def lde_log_height(self, i: int) -> int:
        return self.domains[i].log_n + self.log_blowup

    def lde(self, i: int) -> np.ndarray:
        """Matrix ``i`` extended onto ``GENERATOR * H'`` in natural order
        (a copy; the tree keeps the bit-reversed original)."""
        return _permute_rows(self.tree.matrices[i], fri.bit_reverse_indices(self.lde_log_height(i)))

    def evaluations_on(self, i: int, domain: Domain, bit_reversed: bool = False) -> np.ndarray:
        """Matrix ``i``'s polynomials evaluated on ``domain`` (natural order, or
        bit-reversed on request), e.g. for computing quotients.

        A subgroup coset ``GENERATOR * H_M`` no larger than the extension costs
        no arithmetic: in bit-reversed storage its points are the first ``M``
        rows. Any other domain is computed from the original evaluations."""
        lde = self.tree.matrices[i]
        if domain.shift == GENERATOR and domain.size <= lde.shape[0]:
            head = lde[:domain.size]
            return head.copy() if bit_reversed else _permute_rows(head, fri.bit_reverse_indices(domain.log_n))
        values, src = self.interpolation_rows(i)
        out = coset_lde(values, domain.log_n - src.log_n, domain.shift * pow(src.shift, P - 2, P) % P) \
            if domain.log_n >= src.log_n else None
        if out is None:
            raise ValueError(f"domain of size {domain.size} is smaller than the polynomials' degree bound")
        return _permute_rows(out, fri.bit_reverse_indices(domain.log_n)) if bit_reversed else out

    def interpolation_rows(self, i: int) -> tuple[np.ndarray, Domain]:
        """Matrix ``i``'s polynomials on ``GENERATOR * H_n`` (natural order, a copy),
        ``n`` its domain's size: enough points to interpolate them."""
        log_n = self.domains[i].log_n
        head = self.tree.matrices[i][:1 << log_n]
        return _permute_rows(head, fri.bit_reverse_indices(log_n)), Domain(log_n, GENERATOR)


@dataclass
class BatchOpening:
    """Rows of every matrix of one commitment at one query, with the path."""

    rows: list[np.ndarray]
    proof: MerkleProof


@dataclass
class QueryOpening:
    """One query: a :class:`BatchOpening` per round, plus the mask's (hiding)."""

    rounds: list[BatchOpening]
    mask: BatchOpening | None = None


@dataclass
class OpeningProof:
    """Everything ``open`` adds besides the opened values themselves."""

    batch_pow_nonce: int
    query_openings: list[QueryOpening]
    fri_proof: fri.FriProof
    mask_root: bytes | None = None


# Opened values: opened[round][matrix][point] -> uint32[width, 4].
OpenedValues = list[list[list[np.ndarray]]]


# ----------------------------------------------------------------------------
# Kernels
# ----------------------------------------------------------------------------


@njit(parallel=True, cache=True)
def _inv_x_minus_z(xs, z0, z1, z2, z3):
    """1 / (x - z) for every base point x (z in the extension, off the domain);
    uint32[n, 4].

    With a = x - z = (d, -z1, -z2, -z3) and conj(a) = (d, z1, -z2, z3),
    a * conj(a) = c0 + c2 X^2 with c0 = d^2 + K0 and c2 = 2 a2 d - K1, whose
    norm N = c0^2 - 11 c2^2 lies in the base field. So
    1/a = conj(a) (c0 - c2 X^2) / N: about 20 base multiplications per point,
    the N inverted by Montgomery's trick over independent chunks."""
    n = xs.shape[0]
    a1, a2, a3 = (_P64 - z1) % _P64, (_P64 - z2) % _P64, (_P64 - z3) % _P64
    w = np.uint64(field.W)
    k0 = (w * (a2 * a2 % _P64) % _P64 + _P64 - np.uint64(2) * w % _P64 * (a1 * a3 % _P64) % _P64) % _P64
    k1 = (a1 * a1 % _P64 + w * (a3 * a3 % _P64) % _P64) % _P64
    two_a2 = np.uint64(2) * a2 % _P64
    out = np.empty((n, 4), dtype=np.uint32)
    chunk = 2048
    nchunks = (n + chunk - 1) // chunk
    for c in prange(nchunks):
        lo = c * chunk
        hi = min(n, lo + chunk)
        norms = np.empty(hi - lo, dtype=np.uint64)
        prefix = np.empty(hi - lo, dtype=np.uint64)
        acc = np.uint64(1)
        for i in range(lo, hi):
            d = (np.uint64(xs[i]) + _P64 - z0) % _P64
            c0 = (d * d % _P64 + k0) % _P64
            c2 = (two_a2 * d % _P64 + _P64 - k1) % _P64
            nn = (c0 * c0 % _P64 + _P64 - w * (c2 * c2 % _P64) % _P64) % _P64
            norms[i - lo] = nn
            prefix[i - lo] = acc
            acc = acc * nn % _P64
        inv = powmod(acc, P - 2)
        for i in range(hi - 1, lo - 1, -1):
            ninv = inv * prefix[i - lo] % _P64
            inv = inv * norms[i - lo] % _P64
            d = (np.uint64(xs[i]) + _P64 - z0) % _P64
            c0 = (d * d % _P64 + k0) % _P64
            g = (_P64 - (two_a2 * d % _P64 + _P64 - k1) % _P64) % _P64          # -c2
            e0, e1, e2, e3 = d, z1, a2, z3                        # conj(a)
            wg = w * g % _P64
            out[i, 0] = (c0 * e0 % _P64 + wg * e2 % _P64) % _P64 * ninv % _P64
            out[i, 1] = (c0 * e1 % _P64 + wg * e3 % _P64) % _P64 * ninv % _P64
            out[i, 2] = (c0 * e2 % _P64 + g * e0 % _P64) % _P64 * ninv % _P64
            out[i, 3] = (c0 * e3 % _P64 + g * e1 % _P64) % _P64 * ninv % _P64
    return out


def _split16(coeffs: np.ndarray) -> np.ndarray:
    """Extension coefficients uint32[w, 4] as uint64[8, w]: rows 0-3 the low 16
    bits of each coordinate, rows 4-7 the high 15. A 31-bit value times a half
    is below 2^47, so the kernels below can sum 2^16 such products with no
    modular reduction in their inner loop (which then vectorises)."""
    c = np.ascontiguousarray(np.asarray(coeffs, dtype=np.uint64).T)
    return np.ascontiguousarray(np.concatenate([c & np.uint64(0xFFFF), c >> np.uint64(16)]))


@njit(inline="always", cache=True)
def _join16(lo, hi):
    p = np.uint64(P)
    return (lo % p + (hi % p) * np.uint64(1 << 16)) % p


@njit(parallel=True, cache=True)
def _rows_dot_ext_into(acc, mat, halves):
    """acc[i] += sum_c mat[i, c] * coeffs[c] for a base matrix uint32[n, w] and
    extension coefficients given as ``_split16(coeffs)``; acc is uint32[n, 4]."""
    n, w = mat.shape
    for i in prange(n):
        for j in range(4):
            lo = np.uint64(acc[i, j])
            hi = np.uint64(0)
            for c in range(w):
                m = np.uint64(mat[i, c])
                lo += m * halves[j, c]
                hi += m * halves[4 + j, c]
            acc[i, j] = _join16(lo, hi)


@njit(parallel=True, cache=True)
def _barycentric_sums(mat, xs, inv):
    """out[c] = sum_i mat[i, c] * x_i / (z - x_i), given inv[i] = 1 / (x_i - z):
    uint32[w, 4], summed in row chunks so that the threads share the work."""
    n, w = mat.shape
    chunk = 4096
    nchunks = (n + chunk - 1) // chunk
    partial = np.zeros((nchunks, 4, w), dtype=np.uint64)
    for k in prange(nchunks):
        acc = np.zeros((8, w), dtype=np.uint64)
        for i in range(k * chunk, min(n, (k + 1) * chunk)):
            mx = (_P64 - np.uint64(xs[i])) % _P64                      # -x
            g0 = mx * np.uint64(inv[i, 0]) % _P64
            g1 = mx * np.uint64(inv[i, 1]) % _P64
            g2 = mx * np.uint64(inv[i, 2]) % _P64
            g3 = mx * np.uint64(inv[i, 3]) % _P64
            l0, h0 = g0 & np.uint64(0xFFFF), g0 >> np.uint64(16)
            l1, h1 = g1 & np.uint64(0xFFFF), g1 >> np.uint64(16)
            l2, h2 = g2 & np.uint64(0xFFFF), g2 >> np.uint64(16)
            l3, h3 = g3 & np.uint64(0xFFFF), g3 >> np.uint64(16)
            for c in range(w):
                m = np.uint64(mat[i, c])
                acc[0, c] += m * l0
                acc[1, c] += m * l1
                acc[2, c] += m * l2
                acc[3, c] += m * l3
                acc[4, c] += m * h0
                acc[5, c] += m * h1
                acc[6, c] += m * h2
                acc[7, c] += m * h3
        for j in range(4):
            for c in range(w):
                partial[k, j, c] = _join16(acc[j, c], acc[4 + j, c])
    out = np.zeros((w, 4), dtype=np.uint32)
    for c in range(w):
        for j in range(4):
            s = np.uint64(0)
            for k in range(nchunks):
                s = (s + partial[k, j, c]) % _P64
            out[c, j] = s
    return out


@njit(parallel=True, cache=True)
def _bit_reverse_rows_inplace(mat, rev):
    """Swap rows i and rev[i] (an involution) in place: no second copy of a
    large extension, so the prover's peak memory does not double."""
    for i in prange(mat.shape[0]):
        j = rev[i]
        if i < j:
            for c in range(mat.shape[1]):
                t = mat[i, c]
                mat[i, c] = mat[j, c]
                mat[j, c] = t


@njit(parallel=True, cache=True)
def _permute_rows(src, rows):
    """dst[i] = src[rows[i]] for a uint32 matrix, in parallel."""
    dst = np.empty((rows.shape[0], src.shape[1]), dtype=np.uint32)
    for i in prange(rows.shape[0]):
        dst[i, :] = src[rows[i], :]
    return dst


@njit(parallel=True, cache=True)
def _add_quotient(out, numer, value, dinv):
    """out[i] += (numer[i] - value) * dinv[i] in the extension (in place)."""
    for i in prange(out.shape[0]):
        n0 = (np.uint64(numer[i, 0]) + _P64 - np.uint64(value[0])) % _P64
        n1 = (np.uint64(numer[i, 1]) + _P64 - np.uint64(value[1])) % _P64
        n2 = (np.uint64(numer[i, 2]) + _P64 - np.uint64(value[2])) % _P64
        n3 = (np.uint64(numer[i, 3]) + _P64 - np.uint64(value[3])) % _P64
        t0, t1, t2, t3 = ext_mul4(n0, n1, n2, n3, np.uint64(dinv[i, 0]), np.uint64(dinv[i, 1]),
                                  np.uint64(dinv[i, 2]), np.uint64(dinv[i, 3]))
        out[i, 0] = (np.uint64(out[i, 0]) + t0) % _P64
        out[i, 1] = (np.uint64(out[i, 1]) + t1) % _P64
        out[i, 2] = (np.uint64(out[i, 2]) + t2) % _P64
        out[i, 3] = (np.uint64(out[i, 3]) + t3) % _P64


# ----------------------------------------------------------------------------
# Shared arithmetic
# ----------------------------------------------------------------------------


def _ext_powers(alpha: np.ndarray, n: int) -> np.ndarray:
    """[1, alpha, ..., alpha^(n-1)] as uint32[n, 4] (doubling)."""
    out = field.ext_from_base(np.ones(max(n, 1), dtype=np.uint32))
    filled, step_pow = 1, np.asarray(alpha, dtype=np.uint32)
    while filled < n:
        step = min(filled, n - filled)
        out[filled:filled + step] = field.ext_mul(out[:step], step_pow)
        filled += step
        step_pow = field.ext_mul(step_pow, step_pow)
    return out[:n]


def _owned(result: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``result`` if this module may permute it in place (a fresh, writable,
    contiguous array that does not alias ``source``), else a copy."""
    if result.flags.writeable and result.flags.c_contiguous and not np.may_share_memory(result, source):
        return result
    return np.array(result, dtype=np.uint32, order="C")


def _check_point(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z)
    if z.shape != (4,) or z.dtype.kind not in "ui" or z.min() < 0 or z.max() >= P:
        raise ValueError("an opening point is a canonical extension element, uint32[4]")
    return z.astype(np.uint32)


class _InverseCache:
    """``1 / (x - z)`` over a domain, computed once per (domain, point) within
    one ``open``: every table of the same height opened at the same point
    shares it. A point ``z * omega`` (the next row) reuses ``z``'s array: on a
    coset ``x_i - z omega = omega (x_{i-1} - z)``, so it is a rotation by one
    row times ``omega^-1``."""

    def __init__(self) -> None:
        self._cache: dict[tuple[Domain, bytes], np.ndarray] = {}

    def get(self, domain: Domain, z: np.ndarray) -> np.ndarray:
        key = (domain, z.tobytes())
        if key not in self._cache and domain.bit_reversed:
            # the natural order's array (rotation trick included), permuted: n x 4 values
            natural = self.get(Domain(domain.log_n, domain.shift), z)
            self._cache[key] = natural[fri.bit_reverse_indices(domain.log_n)]
        if key not in self._cache:
            omega = field.two_adic_generator(domain.log_n)
            prev = field.ext_mul_base(z, pow(omega, P - 2, P)).tobytes()  # z / omega
            if domain.log_n and (domain, prev) in self._cache:
                rotated = np.roll(self._cache[(domain, prev)], 1, axis=0)
                self._cache[key] = field.ext_mul_base(rotated, pow(omega, P - 2, P))
            else:
                self._cache[key] = _inv_x_minus_z(domain.points(), *(np.uint64(c) for c in z))
        return self._cache[key]


def evaluate_at(evals: np.ndarray, domain: Domain, z: np.ndarray,
                inverses: _InverseCache | None = None) -> np.ndarray:
    """Values at ``z`` of the interpolants of the columns of ``evals`` (given on
    ``domain``), by the barycentric formula
    ``f(z) = (z^n - s^n) / (n s^n) * sum_i f_i x_i / (z - x_i)``; uint32[w, 4]."""
    z = _check_point(z)
    inv = (inverses or _InverseCache()).get(domain, z)                  # 1 / (x - z)
    sums = _barycentric_sums(np.ascontiguousarray(evals, dtype=np.uint32), domain.points(), inv)
    n, s_n = domain.size, pow(domain.shift, domain.size, P)
    zn = field.ext_pow(z, n)
    zn[0] = (int(zn[0]) + P - s_n) % P
    scale = field.ext_mul_base(zn, pow(n * s_n % P, P - 2, P))
    return field.ext_mul(sums, scale)


def _evaluate_matrix(data: CommittedData, i: int, points: Sequence[np.ndarray],
                     inverses: _InverseCache) -> list[np.ndarray]:
    """Matrix ``i``'s values at ``points``, from its stored extension's first n rows
    read in place: they are ``GENERATOR * H_n`` in bit-reversed order, and the
    barycentric sum does not depend on the order of the points (no reordered copy
    of the matrix)."""
    log_n = data.domains[i].log_n
    head = data.tree.matrices[i][:1 << log_n]
    domain = Domain(log_n, GENERATOR, bit_reversed=True)
    return [evaluate_at(head, domain, z, inverses) for z in points]


def _absorb_round(transcript: Transcript, root: bytes, values: Sequence[Sequence[np.ndarray]]) -> None:
    transcript.absorb_digest(root)
    for per_matrix in values:
        for v in per_matrix:
            transcript.absorb_ext(v)


# ----------------------------------------------------------------------------
# The PCS
# ----------------------------------------------------------------------------


class _PointSum:
    """``sum_k alpha^k (f_k(x) - v_k)`` over the columns opened at one point z
    on one height: the numerators of every DEEP term with denominator ``x - z``."""

    def __init__(self, z: np.ndarray, height: int):
        self.z = z
        self.numer = np.zeros((height, 4), dtype=np.uint32)
        self.value = np.zeros(4, dtype=np.uint32)

    def add(self, lde: np.ndarray, coeffs: np.ndarray, values: np.ndarray) -> None:
        """Add column c of ``lde`` with coefficient ``coeffs[c]`` (and its claimed
        value ``values[c]``): one pass over the matrix, no temporary."""
        _rows_dot_ext_into(self.numer, lde, _split16(coeffs))
        self.value = field.ext_add(self.value, _ext_dot_ext(values, coeffs))

    def divide_into(self, out: np.ndarray, xs: np.ndarray) -> None:
        """out += (numer - value) / (x - z) at every (bit-reversed) point x."""
        _add_quotient(out, self.numer, self.value, _inv_x_minus_z(xs, *(np.uint64(c) for c in self.z)))


class FriPcs:
    """FRI-based polynomial commitment scheme; ``hiding`` salts leaves and
    masks FRI with a random codeword. ``rng`` (numpy Generator) only makes the
    randomness reproducible in tests; without it randomness comes from the OS."""

    def __init__(self, params: FriParams, hiding: bool = False, rng: np.random.Generator | None = None):
        self.params = params
        self.hiding = hiding
        self.rng = rng
        self.salt_bytes = SALT_BYTES if hiding else 0

    # ------------------------------------------------------------------ commit
    def _random_ext(self, n: int) -> np.ndarray:
        """n uniform extension elements: from the OS's CSPRNG (64 random bits
        reduced mod p, bias below 2^-32 per element) unless a test rng is set."""
        if self.rng is not None:
            return self.rng.integers(0, P, size=(n, 4), dtype=np.uint64).astype(np.uint32)
        raw = np.frombuffer(os.urandom(8 * 4 * n), dtype=np.uint64).reshape(n, 4)
        return (raw % _P64).astype(np.uint32)

    def _salts(self, heights: Sequence[int]) -> list[np.ndarray] | None:
        return make_salts(heights, self.rng) if self.hiding else None

    def commit(self, items: Sequence[tuple[Domain, np.ndarray | Coefficients]]) -> tuple[bytes, CommittedData]:
        """Commit to matrices of evaluations, each on its domain (natural order), or to
        :class:`Coefficients` of as many rows as their domain has points."""
        if not items:
            raise ValueError("commit needs at least one matrix")
        domains, ldes = [], []
        lb = self.params.log_blowup
        for domain, matrix in items:
            if isinstance(matrix, Coefficients):
                if matrix.rows != domain.size:
                    raise ValueError(f"{matrix.rows} coefficients do not match a domain of size {domain.size}")
                lde = np.empty((domain.size << lb, matrix.width), dtype=np.uint32)
                matrix.write(lde[:domain.size])
                extend_in_place(lde, domain.size, GENERATOR)
                ldes.append(lde)
                domains.append(domain)
                continue
            matrix = np.asarray(matrix)
            if matrix.ndim != 2 or matrix.shape[0] != domain.size:
                raise ValueError(f"matrix of shape {matrix.shape} does not match a domain of size {domain.size}")
            if matrix.dtype != np.uint32:
                raise ValueError(f"matrices hold canonical uint32 field elements, got {matrix.dtype}")
            if domain.bit_reversed:
                raise ValueError("commit takes evaluations in natural order")
            ldes.append(coset_lde_bit_reversed(matrix, lb, GENERATOR * pow(domain.shift, P - 2, P) % P))
            domains.append(domain)
        root, tree = commit_matrices(ldes, self._salts([m.shape[0] for m in ldes]))
        return root, CommittedData(root, tree, domains, lb)

    # ------------------------------------------------------------------ open
    def open(self, rounds: Sequence[tuple[CommittedData, Sequence[Sequence[np.ndarray]]]],
             transcript: Transcript, check_degree: bool = True) -> tuple[OpenedValues, OpeningProof]:
        """Open round ``r``'s matrix ``m`` at each point of ``rounds[r][1][m]``.

        Returns ``opened[r][m][j]`` (uint32[w, 4], the value of every column at
        point ``j``) and the proof. ``check_degree=False`` disables the prover's
        sanity check (for tests that build bad proofs)."""
        opened: OpenedValues = []
        inverses = _InverseCache()
        for data, points in rounds:
            if len(points) != len(data.domains):
                raise ValueError(f"need a point list per committed matrix ({len(data.domains)}), got {len(points)}")
            if any(len(pts) == 0 for pts in points):
                raise ValueError("every committed matrix needs at least one opening point (the verifier reads widths from them)")
            per_round = [_evaluate_matrix(data, m, pts, inverses) for m, pts in enumerate(points)]
            opened.append(per_round)
            _absorb_round(transcript, data.root, per_round)

        log_max = max(data.lde_log_height(i) for data, _ in rounds for i in range(len(data.domains)))
        mask_root, mask_tree, mask_lde = None, None, None
        if self.hiding:
            coeffs = np.zeros((1 << log_max, 4), dtype=np.uint32)
            coeffs[: 1 << (log_max - self.params.log_blowup)] = self._random_ext(1 << (log_max - self.params.log_blowup))
            mask_lde = _owned(coset_dft(coeffs, GENERATOR), coeffs)
            _bit_reverse_rows_inplace(mask_lde, fri.bit_reverse_indices(log_max))
            mask_root, mask_tree = commit_matrices([mask_lde], self._salts([1 << log_max]))
            transcript.absorb_digest(mask_root)

        batch_nonce = transcript.grind(self.params.batch_pow_bits)
        alpha = transcript.sample_ext()
        reduced = self._reduce(rounds, opened, alpha)
        if mask_lde is not None:
            reduced[log_max] = field.ext_add(reduced[log_max], mask_lde)

        fri_proof, indices = fri.prove(self.params, reduced, transcript, GENERATOR,
                                       salted=self.hiding, rng=self.rng, check_degree=check_degree)
        queries = []
        for index in indices:
            per_round = []
            for data, _ in rounds:
                rows, proof = data.tree.open(index >> (log_max - data.tree.log_max))
                per_round.append(BatchOpening(rows, proof))
            mask = None
            if mask_tree is not None:
                rows, proof = mask_tree.open(index)
                mask = BatchOpening(rows, proof)
            queries.append(QueryOpening(per_round, mask))
        return opened, OpeningProof(batch_nonce, queries, fri_proof, mask_root)

    def _reduce(self, rounds, opened: OpenedValues, alpha: np.ndarray) -> dict[int, np.ndarray]:
        """The batched DEEP quotient of every height, bit-reversed on
        ``GENERATOR * H``: ``sum alpha^k (f_c(x) - v_c) / (x - z)``.

        Terms sharing a height and a point share one denominator, so they are
        summed first (``_PointSum``) and divided once."""
        max_width = max(m.shape[1] for data, _ in rounds for m in data.tree.matrices)
        alpha_pows = _ext_powers(alpha, max_width)
        sums: dict[tuple[int, bytes], _PointSum] = {}
        offset = field.ext_from_base(np.uint32(1))
        for (data, points), values in zip(rounds, opened):
            for i, (pts, vals) in enumerate(zip(points, values)):
                lde = data.tree.matrices[i]
                w = lde.shape[1]
                step = field.ext_pow(alpha, w)
                for z, v in zip(pts, vals):
                    z = _check_point(z)
                    key = (data.lde_log_height(i), z.tobytes())
                    if key not in sums:
                        sums[key] = _PointSum(z, lde.shape[0])
                    sums[key].add(lde, field.ext_mul(alpha_pows[:w], offset), v)
                    offset = field.ext_mul(offset, step)
        reduced: dict[int, np.ndarray] = {}
        for (log_h, _), point_sum in sums.items():
            if log_h not in reduced:
                reduced[log_h] = np.zeros((1 << log_h, 4), dtype=np.uint32)
            point_sum.divide_into(reduced[log_h], _bitrev_coset_points(log_h, GENERATOR))
        return reduced

    # ------------------------------------------------------------------ verify
    def verify(self, rounds: Sequence[tuple[bytes, Sequence[tuple[Domain, Sequence[tuple[np.ndarray, np.ndarray]]]]]],
               proof: OpeningProof, transcript: Transcript) -> None:
        """Check that every claimed value is the committed column's value at its
        point. ``rounds[r] = (root, [(domain, [(point, values uint32[w, 4]), ...]), ...])``
        lists every matrix of the commitment in commit order, each with at least
        one opening. Each matrix's width is read from its values, and the Merkle
        leaf binds only the concatenation of same-height rows, so the caller
        must size the values from its verifying key, not from the proof.
        Raises VerificationError."""
        try:
            self._verify(rounds, proof, transcript)
        except VerificationError:
            raise
        except (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError) as exc:
            raise VerificationError(f"pcs: malformed opening proof ({exc})") from None

    def _verify(self, rounds, proof: OpeningProof, transcript: Transcript) -> None:
        if not isinstance(proof, OpeningProof):
            raise VerificationError("pcs: proof has the wrong type")
        lb = self.params.log_blowup
        shapes = []  # per round: list of (log lde height, width)
        for root, mats in rounds:
            dims = []
            for domain, openings in mats:
                if not openings:
                    raise VerificationError("pcs: every committed matrix needs at least one opening")
                widths = {np.asarray(v).shape for _, v in openings}
                if len(widths) != 1:
                    raise VerificationError("pcs: openings of one matrix have different widths")
                (shape,) = widths
                if len(shape) != 2 or shape[1] != 4:
                    raise VerificationError("pcs: opened values must be uint32[width, 4]")
                for z, v in openings:
                    _canonical(z, (4,), "opening point")
                    _canonical(v, shape, "opened value")
                dims.append((domain.log_n + lb, shape[0]))
            shapes.append(dims)
            transcript.absorb_digest(root)
            for _, openings in mats:
                for _, v in openings:
                    transcript.absorb_ext(np.asarray(v, dtype=np.uint32))
        log_max = max(h for dims in shapes for h, _ in dims)
        if self.hiding:
            if not isinstance(proof.mask_root, bytes) or len(proof.mask_root) != 32:
                raise VerificationError("pcs: hiding proof lacks the mask commitment")
            transcript.absorb_digest(proof.mask_root)
        elif proof.mask_root is not None:
            raise VerificationError("pcs: unexpected mask commitment in a non-hiding proof")
        fri.check_pow_nonce(transcript, proof.batch_pow_nonce, self.params.batch_pow_bits, "batching")
        alpha = transcript.sample_ext()
        heights = sorted({h for dims in shapes for h, _ in dims})

        def reduced_openings(indices: list[int]) -> dict[int, np.ndarray]:
            return self._reduced_at(rounds, shapes, proof, indices, alpha, log_max)

        fri.verify(self.params, proof.fri_proof, transcript, heights, reduced_openings,
                   GENERATOR, self.salt_bytes)

    def _reduced_at(self, rounds, shapes, proof: OpeningProof, indices: list[int], alpha: np.ndarray,
                    log_max: int) -> dict[int, np.ndarray]:
        """Authenticate the opened rows at every query and recompute the batched
        DEEP quotient of every height there, uint32[Q, 4] per height."""
        queries = proof.query_openings
        if not isinstance(queries, list) or len(queries) != len(indices):
            raise VerificationError(f"pcs: expected {len(indices)} query openings")
        nq = len(indices)
        index = np.array(indices, dtype=np.int64)
        rows_by = [[[] for _ in dims] for dims in shapes]  # rows_by[r][m][q]
        for q, (idx, opening) in enumerate(zip(indices, queries)):
            if not isinstance(opening, QueryOpening) or not isinstance(opening.rounds, list) \
                    or len(opening.rounds) != len(rounds):
                raise VerificationError(f"pcs: query {q} does not open every round")
            for r, ((root, _), dims, batch) in enumerate(zip(rounds, shapes, opening.rounds)):
                if not isinstance(batch, BatchOpening):
                    raise VerificationError(f"pcs: query {q} round {r} is malformed")
                tree_log = max(h for h, _ in dims)
                verify_opening(root, [(1 << h, w) for h, w in dims], idx >> (log_max - tree_log),
                               batch.rows, batch.proof, self.salt_bytes)
                for m, row in enumerate(batch.rows):
                    rows_by[r][m].append(np.asarray(row, dtype=np.uint32))
        reduced: dict[int, np.ndarray] = {}
        xs_by_height: dict[int, np.ndarray] = {}
        offset = field.ext_from_base(np.uint32(1))
        max_width = max(w for dims in shapes for _, w in dims)
        alpha_pows = _ext_powers(alpha, max_width)
        for (root, mats), dims, rows_r in zip(rounds, shapes, rows_by):
            for (domain, openings), (log_h, w), rows in zip(mats, dims, rows_r):
                if log_h not in xs_by_height:
                    xs_by_height[log_h] = _query_points(index >> (log_max - log_h), log_h)
                    reduced[log_h] = np.zeros((nq, 4), dtype=np.uint32)
                xs = xs_by_height[log_h]
                combined = _base_dot_ext(np.stack(rows), alpha_pows[:w])       # [Q, 4]
                step = field.ext_pow(alpha, w)
                for z, v in openings:
                    z = np.asarray(z, dtype=np.uint32)
                    value = _ext_dot_ext(np.asarray(v, dtype=np.uint32), alpha_pows[:w])
                    denom = field.ext_sub(field.ext_from_base(xs), z[None, :])
                    term = field.ext_mul(field.ext_sub(combined, value[None, :]), field.ext_inv(denom))
                    reduced[log_h] = field.ext_add(reduced[log_h], field.ext_mul(term, offset))
                    offset = field.ext_mul(offset, step)
        if self.hiding:
            mask_rows = []
            for q, (idx, opening) in enumerate(zip(indices, queries)):
                if not isinstance(opening.mask, BatchOpening):
                    raise VerificationError(f"pcs: query {q} lacks the mask opening")
                verify_opening(proof.mask_root, [(1 << log_max, 4)], idx, opening.mask.rows,
                               opening.mask.proof, self.salt_bytes)
                mask_rows.append(np.asarray(opening.mask.rows[0], dtype=np.uint32))
            reduced[log_max] = field.ext_add(reduced[log_max], np.stack(mask_rows))
        elif any(o.mask is not None for o in queries):
            raise VerificationError("pcs: unexpected mask opening in a non-hiding proof")
        return reduced


def _base_dot_ext(rows: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """sum_c rows[..., c] * coeffs[c]: base rows (..., w) times extension
    coefficients uint32[w, 4], giving uint32[..., 4]."""
    prods = np.asarray(rows, dtype=np.uint64)[..., :, None] * np.asarray(coeffs, dtype=np.uint64) % _P64
    return (prods.sum(axis=-2) % _P64).astype(np.uint32)


def _ext_dot_ext(values: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """sum_c values[c] * coeffs[c] for extension vectors uint32[w, 4]; uint32[4]."""
    prods = field.ext_mul(values, coeffs).astype(np.uint64)
    return (prods.sum(axis=0) % _P64).astype(np.uint32)


def _query_points(positions: np.ndarray, log_h: int) -> np.ndarray:
    """The LDE points ``GENERATOR * omega^bitrev(pos)`` of bit-reversed positions."""
    return fri.coset_powers(GENERATOR, field.two_adic_generator(log_h), fri.bit_reverse_array(positions, log_h))


def _canonical(value: object, shape: tuple[int, ...], what: str) -> None:
    arr = np.asarray(value)
    if arr.shape != shape or arr.dtype.kind not in "ui" or (arr.size and (arr.min() < 0 or arr.max() >= P)):
        raise VerificationError(f"pcs: {what} must be canonical field elements of shape {shape}")
