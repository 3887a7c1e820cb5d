"""Number-theoretic transforms over BabyBear on row-major matrices (one column = one polynomial).

All domains are in NATURAL order: row i of an evaluation matrix on the coset shift*H
(|H| = n) is the value at shift * omega_n^i, so x_{i + n/2} = -x_i.  Coefficient matrices
hold the coefficient of x^i in row i.

How it is fast (numba, all cores):
  * radix-2 butterflies act on whole rows, so the inner loop runs over contiguous columns and
    vectorises; twiddles are precomputed per size in Montgomery form (``field.montmul``);
  * forward transforms are decimation-in-time (bit-reversed input, natural output), inverse
    transforms decimation-in-frequency (natural input, bit-reversed output); the one
    bit-reversal pass between them also applies coset shifts and the 1/n factor;
  * the first stages run block by block on cache-sized groups of contiguous rows, each later
    stage as one parallel streaming sweep (grouping later stages over strided rows was
    measured slower: power-of-two strides alias in the cache);
  * a coset LDE never transforms the zero padding: after the inverse transform each
    coefficient row is copied 2^log_blowup times, which is what the first log_blowup forward
    stages would compute from the padded input (in bit-reversed output order, each block of
    n rows is instead one coset transform of the scaled coefficients);
  * narrow matrices (rows under a cache line, e.g. one column) go through the four-step
    decomposition instead, which turns one narrow transform into two passes of wide ones
    (measured 85 -> 760 M butterflies/s per core for one column of 2^20).

Inputs must hold canonical values (< P); this is not re-checked on the hot path.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit, prange

from prover import field
from prover.field import P, addmod, montmul, submod

_LOG_BLOCK_BYTES = 16  # the first stages run on blocks of rows of about 64 KiB


def _as_matrix(a) -> tuple[np.ndarray, bool]:
    """Accept uint32[n] or uint32[n, w]; return a 2-D uint32 array and whether input was 1-D."""
    arr = np.asarray(a)
    if arr.ndim not in (1, 2):
        raise ValueError(f"expected a vector or a matrix, got shape {arr.shape}")
    n = arr.shape[0]
    if n == 0 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {n}")
    if n.bit_length() - 1 > field.TWO_ADICITY:
        raise ValueError(f"NTT size 2^{n.bit_length() - 1} exceeds BabyBear's two-adicity")
    if arr.dtype.kind not in "ui":
        raise ValueError(f"NTT input must be integer field elements, got dtype {arr.dtype}")
    flat = arr.ndim == 1
    m = arr.reshape(n, 1) if flat else arr
    return np.ascontiguousarray(m, dtype=np.uint32), flat


def _finish(a: np.ndarray, flat: bool) -> np.ndarray:
    return a[:, 0] if flat else a


@lru_cache(maxsize=64)
def _twiddles(log_n: int, inverse: bool) -> np.ndarray:
    """[r^0, ..., r^(n/2 - 1)] in Montgomery form, r = omega_n or its inverse."""
    root = field.two_adic_generator(log_n)
    if inverse:
        root = pow(root, P - 2, P)
    tw = field.to_mont(field.powers(root, max(1, (1 << log_n) >> 1)))
    tw.flags.writeable = False
    return tw


@lru_cache(maxsize=32)
def _bit_reverse(log_n: int) -> np.ndarray:
    idx = np.arange(1 << log_n, dtype=np.int64)
    rev = np.zeros_like(idx)
    for b in range(log_n):
        rev |= ((idx >> b) & 1) << (log_n - 1 - b)
    rev.flags.writeable = False
    return rev


# ----------------------------------------------------------------------------- kernels


@njit(inline="always", cache=True)
def _dit_butterfly(a, i0, i1, t):
    for c in range(a.shape[1]):
        x = np.uint64(a[i0, c])
        y = montmul(np.uint64(a[i1, c]), t)
        a[i0, c] = addmod(x, y)
        a[i1, c] = submod(x, y)


@njit(inline="always", cache=True)
def _dif_butterfly(a, i0, i1, t):
    for c in range(a.shape[1]):
        x = np.uint64(a[i0, c])
        y = np.uint64(a[i1, c])
        a[i0, c] = addmod(x, y)
        a[i1, c] = montmul(submod(x, y), t)


@njit(cache=True)
def _log2(n):
    k = 0
    while (1 << k) < n:
        k += 1
    return k


# Each kernel below is an inline body plus a serial and a parallel driver: a parallel launch
# costs more than a small transform (and far more on a busy machine, where it waits for every
# thread to be scheduled), so arrays under _PARALLEL_ELEMENTS run serially.

_PARALLEL_ELEMENTS = 1 << 15


def _pick(serial, parallel, a: np.ndarray):
    return parallel if a.size >= _PARALLEL_ELEMENTS else serial


@njit(inline="always", cache=True)
def _dit_block(a, tw, base, first_stage, lb):
    """DIT stages first_stage..lb on the 2^lb contiguous rows from ``base`` (stay in cache).
    ``tw`` holds root^j for j < n/2 (Montgomery form); stage s uses root_(2^s)^j = tw[j * n/2^s]."""
    n = a.shape[0]
    for s in range(first_stage, lb + 1):
        half = 1 << (s - 1)
        stride = n >> s
        for start in range(base, base + (1 << lb), 2 * half):
            for j in range(half):
                _dit_butterfly(a, start + j, start + j + half, np.uint64(tw[j * stride]))


@njit(inline="always", cache=True)
def _dit_stage_butterfly(a, tw, s, k):
    """Butterfly k (of n/2) of DIT stage s over the whole matrix."""
    half = 1 << (s - 1)
    j = k & (half - 1)
    i0 = ((k >> (s - 1)) << s) + j
    _dit_butterfly(a, i0, i0 + half, np.uint64(tw[j * (a.shape[0] >> s)]))


@njit(cache=True)
def _dit_serial(a, tw, first_stage, log_block):
    n = a.shape[0]
    lb = min(log_block, _log2(n))
    if first_stage <= lb:
        for blk in range(n >> lb):
            _dit_block(a, tw, blk << lb, first_stage, lb)
    for s in range(max(first_stage, lb + 1), _log2(n) + 1):
        for k in range(n >> 1):
            _dit_stage_butterfly(a, tw, s, k)


@njit(parallel=True, cache=True)
def _dit_parallel(a, tw, first_stage, log_block):
    n = a.shape[0]
    lb = min(log_block, _log2(n))
    if first_stage <= lb:
        for blk in prange(n >> lb):
            _dit_block(a, tw, blk << lb, first_stage, lb)
    for s in range(max(first_stage, lb + 1), _log2(n) + 1):
        for k in prange(n >> 1):
            _dit_stage_butterfly(a, tw, s, k)


def _dit(a: np.ndarray, tw: np.ndarray, first_stage: int, log_block: int) -> None:
    """In-place forward DIT, bit-reversed rows -> natural order, running stages first_stage..log_n:
    stages up to ``log_block`` block by block on contiguous rows, each later one as a sweep."""
    _pick(_dit_serial, _dit_parallel, a)(a, tw, first_stage, log_block)


@njit(inline="always", cache=True)
def _dif_block(a, tw, base, lb):
    """DIF stages lb..1 on the 2^lb contiguous rows from ``base``."""
    n = a.shape[0]
    for s in range(lb, 0, -1):
        half = 1 << (s - 1)
        stride = n >> s
        for start in range(base, base + (1 << lb), 2 * half):
            for j in range(half):
                _dif_butterfly(a, start + j, start + j + half, np.uint64(tw[j * stride]))


@njit(inline="always", cache=True)
def _dif_stage_butterfly(a, tw, s, k):
    half = 1 << (s - 1)
    j = k & (half - 1)
    i0 = ((k >> (s - 1)) << s) + j
    _dif_butterfly(a, i0, i0 + half, np.uint64(tw[j * (a.shape[0] >> s)]))


@njit(cache=True)
def _dif_serial(a, tw, log_block):
    n = a.shape[0]
    lb = min(log_block, _log2(n))
    for s in range(_log2(n), lb, -1):
        for k in range(n >> 1):
            _dif_stage_butterfly(a, tw, s, k)
    for blk in range(n >> lb):
        _dif_block(a, tw, blk << lb, lb)


@njit(parallel=True, cache=True)
def _dif_parallel(a, tw, log_block):
    n = a.shape[0]
    lb = min(log_block, _log2(n))
    for s in range(_log2(n), lb, -1):
        for k in prange(n >> 1):
            _dif_stage_butterfly(a, tw, s, k)
    for blk in prange(n >> lb):
        _dif_block(a, tw, blk << lb, lb)


def _dif(a: np.ndarray, tw: np.ndarray, log_block: int) -> None:
    """In-place DIF, natural rows -> bit-reversed order, all stages (the mirror image of _dit)."""
    _pick(_dif_serial, _dif_parallel, a)(a, tw, log_block)


def _log_block(width: int, log_n: int) -> int:
    """Rows per cache block (log2): about 2^_LOG_BLOCK_BYTES bytes of rows."""
    return max(1, min(log_n, _LOG_BLOCK_BYTES - max(0, (4 * width - 1).bit_length())))


@njit(inline="always", cache=True)
def _copy_scaled(src, row, f, scaled, dst, base, spread):
    """dst[base + r] = src[row] * f (Montgomery, when scaled) for r < spread; row <= base
    may be the same row of the same array (scaling in place)."""
    if scaled:
        for c in range(src.shape[1]):
            dst[base, c] = montmul(np.uint64(src[row, c]), np.uint64(f))
    else:
        for c in range(src.shape[1]):
            dst[base, c] = src[row, c]
    for r in range(1, spread):
        for c in range(src.shape[1]):
            dst[base + r, c] = dst[base, c]


@njit(cache=True)
def _gather_serial(src, src_rows, factors, scaled, spread, dst):
    for d in range(src_rows.shape[0]):
        _copy_scaled(src, src_rows[d], factors[d] if scaled else factors[0], scaled, dst, d * spread, spread)


@njit(parallel=True, cache=True)
def _gather_parallel(src, src_rows, factors, scaled, spread, dst):
    for d in prange(src_rows.shape[0]):
        _copy_scaled(src, src_rows[d], factors[d] if scaled else factors[0], scaled, dst, d * spread, spread)


def _gather(src, src_rows, factors, scaled: bool, spread: int, dst) -> None:
    """dst[d*spread + r] = src[src_rows[d]] * factors[d] (Montgomery, when scaled), r < spread."""
    _pick(_gather_serial, _gather_parallel, dst)(src, src_rows, factors, scaled, spread, dst)


@njit(cache=True)
def _spread_serial(buf, n, factors, spread):
    for k in range(n - 1, -1, -1):
        _copy_scaled(buf, k, factors[k], True, buf, k * spread, spread)


@njit(parallel=True, cache=True)
def _spread_parallel(buf, n, factors, spread):
    hi = n
    while hi > 0:
        lo = hi >> 1
        for k in prange(lo, hi):
            _copy_scaled(buf, k, factors[k], True, buf, k * spread, spread)
        hi = lo


def _spread_in_place(buf: np.ndarray, n: int, factors: np.ndarray, spread: int) -> None:
    """buf[k*spread + r] = buf[k] * factors[k] (Montgomery) for k < n, r < spread, in place.

    Serially, k goes downwards.  In parallel, rows k in [hi/2, hi) form one round, for
    hi = n, n/2, ..., 1: a round writes rows >= (hi/2)*spread >= hi, which no later round reads
    (spread >= 2; with spread == 1 each row is only scaled onto itself)."""
    _pick(_spread_serial, _spread_parallel, buf)(buf, n, factors, spread)


@njit(parallel=True, cache=True)
def _twiddle_transpose(y, t, z):
    """z[i1, k2, c] = y[k2, i1, c] * t[k2, i1] (t in Montgomery form): the middle steps of the
    four-step transform, in tiles of 16 x 16 index pairs for locality."""
    n2, n1, w = y.shape
    for tile in prange((n1 + 15) // 16):
        lo = tile * 16
        hi = min(n1, lo + 16)
        for k2 in range(n2):
            for i1 in range(lo, hi):
                f = np.uint64(t[k2, i1])
                for c in range(w):
                    z[i1, k2, c] = montmul(np.uint64(y[k2, i1, c]), f)


# ----------------------------------------------------------------------------- drivers
# Two paths compute the same transforms.  Wide matrices (rows of a cache line or more) use the
# radix-2 kernels directly.  Narrow ones (a few columns, where the row-wise butterflies cannot
# vectorise) use the four-step decomposition n = n1 * n2, i = i1 + n1*i2, k = k2 + n2*k1:
#   X[k2 + n2*k1] = sum_i1 r_n1^(i1*k1) * r^(i1*k2) * sum_i2 r_n2^(i2*k2) * x[i1 + n1*i2]
# i.e. column transforms of size n2 on x viewed as [n2, n1*w], a twiddle and transpose pass,
# and column transforms of size n1 on a [n1, n2*w] matrix: both wide.

_NARROW_ROW_BYTES = 64
_FOUR_STEP_MIN_LOG = 14


def _is_narrow(n: int, w: int) -> bool:
    return 4 * w < _NARROW_ROW_BYTES and n >= 1 << _FOUR_STEP_MIN_LOG


@lru_cache(maxsize=8)
def _row_factors(const: int, gen: int, n: int) -> np.ndarray:
    """Montgomery form of const * gen^i for i < n, read-only: per-row multipliers (cached:
    the same sizes and shifts recur across a proof)."""
    out = field.to_mont(field.mul(const % P, field.powers(gen % P, n)))
    out.flags.writeable = False
    return out


def _frozen(a: np.ndarray) -> np.ndarray:
    """Read-only view: every index/factor table handed to a kernel is read-only, so each
    kernel compiles one specialisation instead of one per writeable flag."""
    a = a.view()
    a.flags.writeable = False
    return a


def _scale_rows(a: np.ndarray, factors: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    _gather(a, _frozen(np.arange(a.shape[0])), factors, True, 1, out)
    return out


_NO_FACTORS = _frozen(np.zeros(1, dtype=np.uint32))


@lru_cache(maxsize=16)
def _four_step_twiddles(log_n: int, log_n1: int, inverse: bool) -> np.ndarray:
    """T[k2, i1] = r^(k2 * i1) in Montgomery form, r = omega_n or its inverse."""
    root = field.two_adic_generator(log_n)
    if inverse:
        root = pow(root, P - 2, P)
    table = field.powers(root, 1 << log_n)
    n1, n2 = 1 << log_n1, 1 << (log_n - log_n1)
    t = field.to_mont(table[np.outer(np.arange(n2), np.arange(n1))])
    t.flags.writeable = False
    return t


def _four_step(a: np.ndarray, inverse: bool) -> np.ndarray:
    """Natural-order transform (root omega_n or its inverse, no 1/n) of a narrow matrix."""
    n, w = a.shape
    log_n = n.bit_length() - 1
    log_n1 = log_n // 2
    n1, n2 = 1 << log_n1, n >> log_n1
    column_transform = _inverse_natural if inverse else _forward_natural
    y = column_transform(a.reshape(n2, n1 * w), None)
    z = np.empty((n1, n2 * w), dtype=np.uint32)
    _twiddle_transpose(y.reshape(n2, n1, w), _four_step_twiddles(log_n, log_n1, inverse), z.reshape(n1, n2, w))
    return column_transform(z, None).reshape(n, w)


def _forward_natural(a: np.ndarray, pre: np.ndarray | None) -> np.ndarray:
    """Natural-order evaluations (root omega_n) of the coefficient rows a, each row first
    multiplied by pre[i] (Montgomery form) when given."""
    n, w = a.shape
    if _is_narrow(n, w):
        return _four_step(a if pre is None else _scale_rows(a, pre), inverse=False)
    log_n = n.bit_length() - 1
    rev = _bit_reverse(log_n)
    out = np.empty((n, w), dtype=np.uint32)
    _gather(a, rev, _NO_FACTORS if pre is None else _frozen(pre[rev]), pre is not None, 1, out)
    _dit(out, _twiddles(log_n, False), 1, _log_block(w, log_n))
    return out


def _inverse_natural(a: np.ndarray, post: np.ndarray | None, out: np.ndarray | None = None) -> np.ndarray:
    """The transform with root omega_n^-1 (n times the coefficients), natural order, each
    output row then multiplied by post[i] (Montgomery form) when given; into ``out`` if
    given (uint32[n, w], C-contiguous, not overlapping ``a``).

    Wide matrices: a bit-reversed copy of the rows, a DIT with the inverse root and the
    scaling in place: the output is the only buffer (an in-place bit-reversal, random row
    swaps, measured 2.5x slower than this copy)."""
    n, w = a.shape
    if _is_narrow(n, w):
        res = _four_step(a, inverse=True)
        res = res if post is None else _scale_rows(res, post)
        if out is None:
            return res
        np.copyto(out, res)
        return out
    log_n = n.bit_length() - 1
    out = np.empty((n, w), dtype=np.uint32) if out is None else out
    _gather(a, _bit_reverse(log_n), _NO_FACTORS, False, 1, out)
    _dit(out, _twiddles(log_n, True), 1, _log_block(w, log_n))
    if post is not None:
        _gather(out, _identity_rows(n), post, True, 1, out)
    return out


@lru_cache(maxsize=8)
def _identity_rows(n: int) -> np.ndarray:
    return _frozen(np.arange(n))


def dft(coeffs) -> np.ndarray:
    """Evaluations on H = <omega_n> (natural order) of the polynomials whose coefficients are
    the columns of ``coeffs`` (uint32[n, w] or uint32[n])."""
    a, flat = _as_matrix(coeffs)
    return _finish(_forward_natural(a, None), flat)


def coset_dft(coeffs, shift: int) -> np.ndarray:
    """Evaluations on shift*H: row i is the value at shift * omega_n^i."""
    a, flat = _as_matrix(coeffs)
    pre = None if shift % P == 1 else _row_factors(1, shift, a.shape[0])
    return _finish(_forward_natural(a, pre), flat)


def coset_idft(evals, shift: int, out: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of the polynomials whose values on shift*H are the given columns
    (written into ``out``, a C-contiguous uint32 matrix of the same shape, if given)."""
    if shift % P == 0:
        raise ValueError("a coset shift must be nonzero")
    a, flat = _as_matrix(evals)
    n = a.shape[0]
    post = _row_factors(pow(n, P - 2, P), pow(shift, P - 2, P), n)
    if out is not None:
        if out.shape != np.shape(evals) or out.dtype != np.uint32 or not out.flags.c_contiguous \
                or np.may_share_memory(out, a):
            raise ValueError("out must be a separate C-contiguous uint32 array of the input's shape")
        out = out.reshape(a.shape)
    return _finish(_inverse_natural(a, post, out), flat)


def idft(evals, out: np.ndarray | None = None) -> np.ndarray:
    """Coefficients of the polynomials of degree < n whose values on H are the columns of
    ``evals`` (written into ``out`` if given, see :func:`coset_idft`)."""
    return coset_idft(evals, 1, out)


def coset_lde(evals, log_blowup: int, shift: int) -> np.ndarray:
    """Low-degree extension: interpolate each column of ``evals`` (values on H, |H| = n) and
    evaluate the interpolant on shift*H' with |H'| = n << log_blowup (natural order);
    :func:`coset_lde_bit_reversed` gives the bit-reversed order directly."""
    if shift % P == 0:
        raise ValueError("a coset shift must be nonzero")
    if not 0 <= log_blowup <= field.TWO_ADICITY:
        raise ValueError(f"log_blowup must be in 0..{field.TWO_ADICITY}, got {log_blowup}")
    a, flat = _as_matrix(evals)
    n, w = a.shape
    log_n = n.bit_length() - 1
    log_big = log_n + log_blowup
    if log_big > field.TWO_ADICITY:
        raise ValueError(f"LDE size 2^{log_big} exceeds BabyBear's two-adicity")
    if _is_narrow(n << log_blowup, w):
        coeffs = _inverse_natural(a, _row_factors(pow(n, P - 2, P), shift, n))
        padded = np.zeros((n << log_blowup, w), dtype=np.uint32)
        padded[:n] = coeffs
        return _finish(_forward_natural(padded, None), flat)
    # wide: bit-reversed coefficients, computed in the output's first n rows and then each
    # copied 2^log_blowup times in place of the zero padding (no other buffer of that size)
    out = np.empty((n << log_blowup, w), dtype=np.uint32)
    head = out[:n]
    np.copyto(head, a)
    _dif(head, _twiddles(log_n, True), _log_block(w, log_n))
    factors = _frozen(_row_factors(pow(n, P - 2, P), shift, n)[_bit_reverse(log_n)])
    _spread_in_place(out, n, factors, 1 << log_blowup)
    _dit(out, _twiddles(log_big, False), log_blowup + 1, _log_block(w, log_big))
    return _finish(out, flat)



def coset_lde_bit_reversed(evals, log_blowup: int, shift: int) -> np.ndarray:
    """:func:`coset_lde` with the rows in bit-reversed order (row p holds the value at
    shift * omega^rev(p)): how the PCS stores extensions, with no permutation pass.

    Wide matrices: n times the coefficients, in natural order, in the output's first n
    rows (the input gathered in bit-reversed order, then a DIT with the inverse root),
    then :func:`_extend_in_blocks`: the same arithmetic as the natural-order extension and
    no buffer besides the output."""
    a, flat, log_big = _lde_args(evals, log_blowup, shift)
    n, w = a.shape
    log_n = n.bit_length() - 1
    if _is_narrow(n << log_blowup, w):
        return _finish(_bit_reversed_copy(coset_lde(a, log_blowup, shift)), flat)
    out = np.empty((n << log_blowup, w), dtype=np.uint32)
    head = out[:n]
    _gather(a, _bit_reverse(log_n), _NO_FACTORS, False, 1, head)
    _dit(head, _twiddles(log_n, True), 1, _log_block(w, log_n))
    _extend_in_blocks(out, n, pow(n, P - 2, P), shift, log_blowup)
    return _finish(out, flat)


def coset_dft_bit_reversed(coeffs, log_blowup: int, shift: int) -> np.ndarray:
    """Values on shift*H' (|H'| = m << log_blowup), rows in bit-reversed order, of the
    polynomials whose coefficients are the columns of ``coeffs`` (uint32[m, w], degree <
    m): an extension from coefficient form, without the interpolation."""
    a, flat, _ = _lde_args(coeffs, log_blowup, shift)
    m, w = a.shape
    out = np.empty((m << log_blowup, w), dtype=np.uint32)
    np.copyto(out[:m], a)
    extend_in_place(out, m, shift)
    return _finish(out, flat)


def extend_in_place(buf: np.ndarray, rows: int, shift: int) -> None:
    """``buf`` (uint32[rows << k, w], C-contiguous) holds coefficient rows in its first
    ``rows`` rows (degree < rows); fill all of it with the polynomials' values on
    shift*H_{len(buf)} in bit-reversed order (:func:`coset_dft_bit_reversed` in place: a
    caller that writes the coefficients straight into the extension's buffer needs no
    other buffer)."""
    n_big, w = buf.shape
    if rows <= 0 or n_big % rows or (n_big // rows) & (n_big // rows - 1) or not buf.flags.c_contiguous:
        raise ValueError("the buffer must be a C-contiguous power-of-two multiple of the coefficient rows")
    log_blowup = (n_big // rows).bit_length() - 1
    _lde_args(buf[:rows], log_blowup, shift)
    if _is_narrow(n_big, w):
        padded = np.zeros_like(buf)
        padded[:rows] = buf[:rows]
        _gather(coset_dft(padded, shift), _bit_reverse(n_big.bit_length() - 1), _NO_FACTORS, False, 1, buf)
    else:
        _extend_in_blocks(buf, rows, 1, shift, log_blowup)


def _lde_args(evals, log_blowup: int, shift: int) -> tuple[np.ndarray, bool, int]:
    if shift % P == 0:
        raise ValueError("a coset shift must be nonzero")
    if not 0 <= log_blowup <= field.TWO_ADICITY:
        raise ValueError(f"log_blowup must be in 0..{field.TWO_ADICITY}, got {log_blowup}")
    a, flat = _as_matrix(evals)
    log_big = a.shape[0].bit_length() - 1 + log_blowup
    if log_big > field.TWO_ADICITY:
        raise ValueError(f"LDE size 2^{log_big} exceeds BabyBear's two-adicity")
    return a, flat, log_big


def _bit_reversed_copy(a: np.ndarray) -> np.ndarray:
    out = np.empty_like(a)
    _gather(a, _bit_reverse(a.shape[0].bit_length() - 1), _NO_FACTORS, False, 1, out)
    return out


def _extend_in_blocks(out: np.ndarray, m: int, const: int, shift: int, log_blowup: int) -> None:
    """``out[:m]`` holds coefficient rows in natural order (times 1/const); fill all of
    ``out`` with the polynomials' values on shift*H_{m 2^log_blowup} in bit-reversed order.

    In that order block k of m rows holds the coset shift * omega^rev(k) * H_m (in
    bit-reversed order), i.e. one DIF (natural in, bit-reversed out) of the coefficients
    scaled by const * (shift * omega^rev(k))^i.  Blocks run from the last to the first,
    which scales the coefficient rows in place."""
    w = out.shape[1]
    log_m = m.bit_length() - 1
    omega = field.two_adic_generator(log_m + log_blowup)
    rev_k = _bit_reverse(log_blowup)
    rows = _frozen(np.arange(m))
    for k in range((1 << log_blowup) - 1, -1, -1):
        block = out[k * m:(k + 1) * m]
        g = shift * pow(omega, int(rev_k[k]), P) % P
        _gather(out[:m], rows, _row_factors(const, g, m), True, 1, block)
        _dif(block, _twiddles(log_m, False), _log_block(w, log_m))
