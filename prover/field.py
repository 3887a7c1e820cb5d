"""BabyBear arithmetic: p = 2^31 - 2^27 + 1 and its degree-4 extension F_p[X]/(X^4 - 11).

Why this field: p - 1 = 2^27 * 15, so NTT domains of size up to 2^27 exist, and a
product of two elements fits in 62 bits, so every kernel can multiply in uint64 and
reduce with ``% P`` (LLVM turns a constant modulus into a multiply-shift).  Challenges
are drawn from the extension (about 124 bits) so that soundness does not rely on 31 bits.

Representation (shared by the whole prover):
  * a base element is a canonical ``np.uint32`` in [0, P); arrays of them are vectors;
  * an extension element is a ``np.uint32`` array with a trailing axis of length 4,
    the coefficients of 1, X, X^2, X^3.

The vectorised functions accept Python ints or arrays (broadcasting like numpy) and
return ``np.uint32`` arrays (0-d for scalar inputs).  The ``@njit`` scalar kernels at the
bottom (``addmod``, ``mulmod``, ``ext_mul4`` ...) work on uint64 values inside other
numba kernels (NTT, FRI folding, constraint evaluation).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

P: int = 2013265921  # 2^31 - 2^27 + 1
W: int = 11  # X^4 = W defines the extension; X^4 - 11 is irreducible over BabyBear
GENERATOR: int = 31  # generates the multiplicative group F_p^*
TWO_ADICITY: int = 27  # largest k with 2^k | p - 1
EXT_DEGREE: int = 4

_P64 = np.uint64(P)
_W64 = np.uint64(W)


def two_adic_generator(log_n: int) -> int:
    """A generator of the subgroup of order 2^log_n.

    Derived from GENERATOR so that ``two_adic_generator(k)**2 == two_adic_generator(k-1)``:
    domains of different sizes nest, which FRI folding and multi-height trees rely on.
    """
    if not 0 <= log_n <= TWO_ADICITY:
        raise ValueError(f"BabyBear has no subgroup of order 2^{log_n} (max 2^{TWO_ADICITY})")
    return pow(GENERATOR, (P - 1) >> log_n, P)


def _u64(a) -> np.ndarray:
    """Widen ints/arrays to uint64 so that products of two canonical values cannot overflow."""
    return np.asarray(a, dtype=np.uint64)


def canonical(a) -> np.ndarray:
    """Check that every value is in [0, P) and return it as uint32 (a new array); rejects
    untrusted junk early.  A large contiguous matrix (a trace built as int64) is checked
    and converted in one parallel pass instead of numpy's three (min, max, astype)."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "ui":
        raise ValueError(f"field elements must be integers, got dtype {arr.dtype}")
    if arr.size >= _CANONICAL_PARALLEL and arr.flags.c_contiguous and arr.dtype.itemsize in (4, 8):
        out = np.empty(arr.shape, dtype=np.uint32)
        if not _canonical_parallel(arr.reshape(-1), out.reshape(-1)):
            raise ValueError("field element out of range [0, P)")
        return out
    if arr.size and (arr.min() < 0 or arr.max() >= P):
        raise ValueError("field element out of range [0, P)")
    return arr.astype(np.uint32)


_CANONICAL_PARALLEL = 1 << 20


@njit(parallel=True, cache=True)
def _canonical_parallel(a, out):
    """out = a as uint32 if every value is in [0, P) (else returns False)."""
    n = a.shape[0]
    chunk = 1 << 16
    nchunks = (n + chunk - 1) // chunk
    ok = np.ones(nchunks, dtype=np.bool_)
    for c in prange(nchunks):
        bad = False
        for i in range(c * chunk, min(n, (c + 1) * chunk)):
            v = a[i]
            bad |= (v < 0) | (v >= P)
            out[i] = v & 0xFFFFFFFF
        ok[c] = not bad
    return ok.all()


# ----------------------------------------------------------------------------- base field


_P32 = np.uint32(P)


def _u32(a) -> np.ndarray:
    return np.asarray(a, dtype=np.uint32)


def _reduce_once(s: np.ndarray) -> np.ndarray:
    """s mod P for s in [0, 2P) held in uint32 (2P < 2^32): when s < P, s - P wraps above s."""
    return np.minimum(s, s - _P32)


def add(a, b) -> np.ndarray:
    return _reduce_once(_u32(a) + _u32(b))


def sub(a, b) -> np.ndarray:
    return _reduce_once(_u32(a) + (_P32 - _u32(b)))


def neg(a) -> np.ndarray:
    return _reduce_once(_P32 - _u32(a))


def mul(a, b) -> np.ndarray:
    return ((_u64(a) * _u64(b)) % _P64).astype(np.uint32)


def pow_(a, e: int) -> np.ndarray:
    """a^e for a non-negative integer exponent e (same e for every element)."""
    if e < 0:
        return pow_(inv(a), -e)
    base = _u64(a) % _P64
    result = np.ones_like(base)
    while e:
        if e & 1:
            result = (result * base) % _P64
        base = (base * base) % _P64
        e >>= 1
    return result.astype(np.uint32)


def powers(base: int, n: int) -> np.ndarray:
    """[1, base, base^2, ..., base^(n-1)] as uint32[n] (doubling, O(log n) numpy passes)."""
    base = int(base) % P
    out = np.ones(max(n, 1), dtype=np.uint64)
    filled = 1
    while filled < n:
        step = min(filled, n - filled)
        out[filled:filled + step] = out[:step] * np.uint64(pow(base, filled, P)) % _P64
        filled += step
    return out[:n].astype(np.uint32)


def batch_inv(a) -> np.ndarray:
    """Inverse of every element (Montgomery's trick in numba: three multiplications per element
    and one exponentiation per chunk).  Zero has no inverse and raises ValueError."""
    arr = np.asarray(a)
    flat = np.ascontiguousarray(arr, dtype=np.uint32).reshape(-1)
    if flat.size and (flat % np.uint32(P) == 0).any():
        raise ValueError("inverse of zero in BabyBear")
    out = np.empty_like(flat)
    _serial_or_parallel(_batch_inv_serial, _batch_inv_parallel, flat.size)(flat, out)
    return out.reshape(arr.shape)


def inv(a) -> np.ndarray:
    """Multiplicative inverse of an element or of every element of an array."""
    return batch_inv(a)


# ----------------------------------------------------------------------------- extension


def _ext32(a) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 0 or arr.shape[-1] != EXT_DEGREE:
        raise ValueError(f"extension elements need a trailing axis of length 4, got shape {arr.shape}")
    if arr.dtype.kind not in "ui":
        raise ValueError(f"extension elements must be integers, got dtype {arr.dtype}")
    return arr.astype(np.uint32, copy=False)


def ext_from_base(a) -> np.ndarray:
    """Embed base elements as extension elements (a, 0, 0, 0)."""
    arr = np.asarray(a, dtype=np.uint32)
    out = np.zeros(arr.shape + (EXT_DEGREE,), dtype=np.uint32)
    out[..., 0] = arr
    return out


def ext_add(a, b) -> np.ndarray:
    return add(_ext32(a), _ext32(b))


def ext_sub(a, b) -> np.ndarray:
    return sub(_ext32(a), _ext32(b))


def ext_neg(a) -> np.ndarray:
    return neg(_ext32(a))


def ext_mul_base(a, b) -> np.ndarray:
    """Extension element times base element (b broadcasts against a's leading axes)."""
    a = _ext32(a)
    b = np.asarray(b, dtype=np.uint32)
    shape = np.broadcast_shapes(a.shape[:-1], b.shape) + (EXT_DEGREE,)
    fa = np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1, EXT_DEGREE)
    fb = np.ascontiguousarray(np.broadcast_to(b, shape[:-1])).reshape(-1)
    out = np.empty_like(fa)
    _serial_or_parallel(_ext_mul_base_serial, _ext_mul_base_parallel, fa.shape[0])(fa, fb, out)
    return out.reshape(shape)


def _ext_operands(a, b) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Broadcast two extension arrays and flatten them to contiguous uint32[m, 4]."""
    a, b = _ext32(a), _ext32(b)
    shape = np.broadcast_shapes(a.shape, b.shape)
    flat = [np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1, EXT_DEGREE) for x in (a, b)]
    return flat[0], flat[1], shape


def ext_mul(a, b) -> np.ndarray:
    """Product in F_p[X]/(X^4 - 11), broadcasting like numpy (numba kernel ``ext_mul4``)."""
    fa, fb, shape = _ext_operands(a, b)
    out = np.empty_like(fa)
    _serial_or_parallel(_ext_mul_serial, _ext_mul_parallel, fa.shape[0])(fa, fb, out)
    return out.reshape(shape)


def ext_square(a) -> np.ndarray:
    return ext_mul(a, a)


def ext_pow(a, e: int) -> np.ndarray:
    """a^e in the extension for a non-negative integer e (negative e inverts first)."""
    if e < 0:
        return ext_pow(ext_inv(a), -e)
    base = _ext32(a)
    result = ext_from_base(np.ones(base.shape[:-1], dtype=np.uint32))
    while e:
        if e & 1:
            result = ext_mul(result, base)
        base = ext_mul(base, base)
        e >>= 1
    return result


def ext_inv(a) -> np.ndarray:
    """Inverse via the norm tower: with b(X) = a(-X), a*b = c0 + c2*Y (Y = X^2, Y^2 = 11),
    and (c0 + c2*Y)^-1 = (c0 - c2*Y) / (c0^2 - 11*c2^2); the norms are inverted in batch."""
    arr = _ext32(a)
    flat = np.ascontiguousarray(arr).reshape(-1, EXT_DEGREE)
    out = np.empty_like(flat)
    if not _serial_or_parallel(_ext_inv_serial, _ext_inv_parallel, flat.shape[0])(flat, out):
        raise ValueError("inverse of zero in the BabyBear extension")
    return out.reshape(arr.shape)


def ext_batch_inv(a) -> np.ndarray:
    """Inverse of every extension element of an array (norm method, one batched base inversion)."""
    return ext_inv(a)


def ext_eq(a, b) -> bool:
    return bool(np.array_equal(np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)))


# ----------------------------------------------------------------------------- numba kernels
# Scalar helpers for other @njit code.  Inputs are canonical values held in uint64.


@njit(inline="always", cache=True)
def addmod(a, b):
    s = a + b
    return s - np.uint64(P) if s >= np.uint64(P) else s


@njit(inline="always", cache=True)
def submod(a, b):
    return a - b if a >= b else a + np.uint64(P) - b


@njit(inline="always", cache=True)
def mulmod(a, b):
    return (a * b) % np.uint64(P)


# Montgomery multiplication with R = 2^32: only 32x32->64-bit products, which vectorise on
# x86 (vpmuludq), unlike the 64-bit modulo.  montmul(a, b * R mod P) = a * b mod P, so kernels
# keep data canonical and precompute constants (twiddles) in Montgomery form.
MONT_R_MOD_P: int = (1 << 32) % P
_MONT_NEG_PINV = np.uint64((-pow(P, -1, 1 << 32)) % (1 << 32))


def to_mont(a) -> np.ndarray:
    """a * 2^32 mod P as uint32 (the Montgomery form of canonical values)."""
    return ((_u64(a) << np.uint64(32)) % _P64).astype(np.uint32)


@njit(inline="always", cache=True)
def montmul(a, b_mont):
    """a * b mod P for canonical uint64 a and b_mont = b * 2^32 mod P; canonical result."""
    prod = a * b_mont
    q = ((prod & np.uint64(0xFFFFFFFF)) * _MONT_NEG_PINV) & np.uint64(0xFFFFFFFF)
    t = (prod + q * np.uint64(P)) >> np.uint64(32)
    return t - np.uint64(P) if t >= np.uint64(P) else t


#: R^2 mod P: ``montmul(a, MONT_R2_MOD_P)`` puts a canonical ``a`` into Montgomery form.
MONT_R2_MOD_P: int = (1 << 64) % P
#: 2^32 mod P, the weight of a uint64's high word (see :func:`fold64`).
_TWO32_MOD_P = np.uint64((1 << 32) % P)


@njit(inline="always", cache=True)
def montred_wide(x):
    """x * 2^-32 mod P, canonical, for any uint64 x: a sum of up to four products of
    canonical values (montmul's REDC would overflow on more than two).

    REDC adds q*P (q < 2^32) to make the low word zero; instead of that possibly
    overflowing sum, add the high words and the carry, which is 1 exactly when x's low
    word is non-zero (the two low words then sum to 2^32).  The result is below
    2^32 + P < 4P; two conditional subtractions make it canonical (all of it
    vectorises: 32x32-bit products, shifts and selects)."""
    lo = x & np.uint64(0xFFFFFFFF)
    q = (lo * _MONT_NEG_PINV) & np.uint64(0xFFFFFFFF)
    t = (x >> np.uint64(32)) + ((q * np.uint64(P)) >> np.uint64(32)) + np.uint64(lo != np.uint64(0))
    t = t - np.uint64(2 * P) if t >= np.uint64(2 * P) else t
    return t - np.uint64(P) if t >= np.uint64(P) else t


@njit(inline="always", cache=True)
def fold64(x):
    """A value congruent to x mod P and below 2^60 + 2^32 (high word times 2^32 mod P,
    plus the low word): room for four more products of canonical values before a
    uint64 accumulator could overflow."""
    return (x >> np.uint64(32)) * _TWO32_MOD_P + (x & np.uint64(0xFFFFFFFF))


@njit(inline="always", cache=True)
def ext_mul4_mont(a0, a1, a2, a3, b0, b1, b2, b3, w_mont):
    """Extension product of two elements in Montgomery form (canonical uint64
    coefficients), in Montgomery form; ``w_mont`` = W * 2^32 mod P.

    The X^4 = W wrap-around terms are reduced first and multiplied by W in Montgomery
    form, so every sum handed to ``montred_wide`` holds at most four products."""
    u0 = montred_wide(a1 * b3 + a2 * b2 + a3 * b1)
    u1 = montred_wide(a2 * b3 + a3 * b2)
    u2 = montred_wide(a3 * b3)
    c0 = montred_wide(a0 * b0 + w_mont * u0)
    c1 = montred_wide(a0 * b1 + a1 * b0 + w_mont * u1)
    c2 = montred_wide(a0 * b2 + a1 * b1 + a2 * b0 + w_mont * u2)
    c3 = montred_wide(a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0)
    return c0, c1, c2, c3


@njit(cache=True)
def powmod(a, e):
    """a^e for uint64 a (canonical) and a non-negative integer e."""
    r = np.uint64(1)
    b = a
    while e > 0:
        if e & 1:
            r = (r * b) % np.uint64(P)
        b = (b * b) % np.uint64(P)
        e >>= 1
    return r


@njit(inline="always", cache=True)
def ext_add4(a0, a1, a2, a3, b0, b1, b2, b3):
    return addmod(a0, b0), addmod(a1, b1), addmod(a2, b2), addmod(a3, b3)


@njit(inline="always", cache=True)
def ext_sub4(a0, a1, a2, a3, b0, b1, b2, b3):
    return submod(a0, b0), submod(a1, b1), submod(a2, b2), submod(a3, b3)


@njit(inline="always", cache=True)
def ext_mul4(a0, a1, a2, a3, b0, b1, b2, b3):
    """Extension product on four canonical uint64 coefficients each; returns a 4-tuple.

    Products of canonical values are < P^2 and 4 * P^2 < 2^64, so up to four products are
    summed before reducing: 7 reductions instead of one per product."""
    p = np.uint64(P)
    w = np.uint64(W)
    c0 = (a0 * b0 + w * ((a1 * b3 + a2 * b2 + a3 * b1) % p)) % p
    c1 = (a0 * b1 + a1 * b0 + w * ((a2 * b3 + a3 * b2) % p)) % p
    c2 = (a0 * b2 + a1 * b1 + a2 * b0 + w * (a3 * b3 % p)) % p
    c3 = (a0 * b3 + a1 * b2 + a2 * b1 + a3 * b0) % p
    return c0, c1, c2, c3


@njit(inline="always", cache=True)
def ext_mul_base4(a0, a1, a2, a3, b):
    p = np.uint64(P)
    return a0 * b % p, a1 * b % p, a2 * b % p, a3 * b % p


# ----------------------------------------------------------------------------- array kernels
# Each operation is a "range" function over rows [lo, hi) plus two drivers: a serial one for
# small inputs (a parallel launch costs far more than a few field operations, which matters to
# the verifier) and a parallel one over chunks.

_CHUNK = 4096


@njit(inline="always", cache=True)
def _chunks(n):
    return (n + _CHUNK - 1) // _CHUNK


@njit(inline="always", cache=True)
def _batch_inv_range(a, out, lo, hi):
    """out[i] = a[i]^-1 on [lo, hi) by Montgomery's trick (one exponentiation for the range)."""
    p = np.uint64(P)
    acc = np.uint64(1)
    for i in range(lo, hi):
        out[i] = acc  # product of a[lo:i]
        acc = acc * np.uint64(a[i]) % p
    inv_acc = powmod(acc, P - 2)
    for i in range(hi - 1, lo - 1, -1):
        out[i] = np.uint64(out[i]) * inv_acc % p
        inv_acc = inv_acc * np.uint64(a[i]) % p


@njit(cache=True)
def _batch_inv_serial(a, out):
    for c in range(_chunks(a.shape[0])):
        _batch_inv_range(a, out, c * _CHUNK, min(a.shape[0], (c + 1) * _CHUNK))


@njit(parallel=True, cache=True)
def _batch_inv_parallel(a, out):
    for c in prange(_chunks(a.shape[0])):
        _batch_inv_range(a, out, c * _CHUNK, min(a.shape[0], (c + 1) * _CHUNK))


@njit(inline="always", cache=True)
def _ext_mul_range(a, b, out, lo, hi):
    for i in range(lo, hi):
        c0, c1, c2, c3 = ext_mul4(np.uint64(a[i, 0]), np.uint64(a[i, 1]), np.uint64(a[i, 2]), np.uint64(a[i, 3]),
                                  np.uint64(b[i, 0]), np.uint64(b[i, 1]), np.uint64(b[i, 2]), np.uint64(b[i, 3]))
        out[i, 0] = c0
        out[i, 1] = c1
        out[i, 2] = c2
        out[i, 3] = c3


@njit(cache=True)
def _ext_mul_serial(a, b, out):
    _ext_mul_range(a, b, out, 0, a.shape[0])


@njit(parallel=True, cache=True)
def _ext_mul_parallel(a, b, out):
    for c in prange(_chunks(a.shape[0])):
        _ext_mul_range(a, b, out, c * _CHUNK, min(a.shape[0], (c + 1) * _CHUNK))


@njit(inline="always", cache=True)
def _ext_mul_base_range(a, b, out, lo, hi):
    p = np.uint64(P)
    for i in range(lo, hi):
        f = np.uint64(b[i])
        for j in range(EXT_DEGREE):
            out[i, j] = np.uint64(a[i, j]) * f % p


@njit(cache=True)
def _ext_mul_base_serial(a, b, out):
    _ext_mul_base_range(a, b, out, 0, a.shape[0])


@njit(parallel=True, cache=True)
def _ext_mul_base_parallel(a, b, out):
    for c in prange(_chunks(a.shape[0])):
        _ext_mul_base_range(a, b, out, c * _CHUNK, min(a.shape[0], (c + 1) * _CHUNK))


@njit(inline="always", cache=True)
def ext_inv_range(a, out, lo, hi):
    """Norm method on [lo, hi): with b = a(-X), a*b = c0 + c2*X^2 and the norms
    c0^2 - 11*c2^2 are inverted together by Montgomery's trick.  Returns False on a zero."""
    p = np.uint64(P)
    m = hi - lo
    conj = np.empty((m, 4), dtype=np.uint64)
    c0s = np.empty(m, dtype=np.uint64)
    c2s = np.empty(m, dtype=np.uint64)
    norms = np.empty(m, dtype=np.uint32)
    for k in range(m):
        i = lo + k
        x0, x1, x2, x3 = np.uint64(a[i, 0]), np.uint64(a[i, 1]), np.uint64(a[i, 2]), np.uint64(a[i, 3])
        y0, y1, y2, y3 = x0, (p - x1) % p, x2, (p - x3) % p
        c0, _, c2, _ = ext_mul4(x0, x1, x2, x3, y0, y1, y2, y3)
        conj[k, 0], conj[k, 1], conj[k, 2], conj[k, 3] = y0, y1, y2, y3
        c0s[k] = c0
        c2s[k] = c2
        norms[k] = submod(c0 * c0 % p, np.uint64(W) * (c2 * c2 % p) % p)
        if norms[k] == 0:
            return False
    norm_inv = np.empty(m, dtype=np.uint32)
    _batch_inv_range(norms, norm_inv, 0, m)
    for k in range(m):
        t = np.uint64(norm_inv[k])
        d0 = c0s[k] * t % p
        d2 = (p - c2s[k]) % p * t % p
        r = ext_mul4(conj[k, 0], conj[k, 1], conj[k, 2], conj[k, 3], d0, np.uint64(0), d2, np.uint64(0))
        for j in range(4):
            out[lo + k, j] = r[j]
    return True


@njit(cache=True)
def _ext_inv_serial(a, out):
    ok = True
    for c in range(_chunks(a.shape[0])):
        ok &= ext_inv_range(a, out, c * _CHUNK, min(a.shape[0], (c + 1) * _CHUNK))
    return ok


@njit(parallel=True, cache=True)
def _ext_inv_parallel(a, out):
    n_chunks = _chunks(a.shape[0])
    ok = np.ones(n_chunks, dtype=np.bool_)
    for c in prange(n_chunks):
        ok[c] = ext_inv_range(a, out, c * _CHUNK, min(a.shape[0], (c + 1) * _CHUNK))
    return ok.all()


def _serial_or_parallel(serial, parallel, n: int):
    """The parallel driver only when there is more than one chunk of work."""
    return parallel if n > _CHUNK else serial
