"""BabyBear and its quartic extension against Python big-int arithmetic."""

import numpy as np
import pytest

from prover import field as F
from prover.field import P

RNG = np.random.default_rng(7)


def rand(shape):
    return RNG.integers(0, P, size=shape, dtype=np.uint64).astype(np.uint32)


def ext_mul_ref(a, b):
    """Polynomial product mod X^4 - 11 with Python ints."""
    prod = [0] * 7
    for i in range(4):
        for j in range(4):
            prod[i + j] += int(a[i]) * int(b[j])
    for k in range(6, 3, -1):
        prod[k - 4] += F.W * prod[k]
    return [c % P for c in prod[:4]]


def test_constants():
    assert P == 2**31 - 2**27 + 1
    assert (P - 1) % (1 << F.TWO_ADICITY) == 0 and ((P - 1) >> F.TWO_ADICITY) % 2 == 1
    # 31 generates F_p^*: its order is not a proper divisor of p - 1 = 2^27 * 3 * 5
    for q in (2, 3, 5):
        assert pow(F.GENERATOR, (P - 1) // q, P) != 1
    # X^4 - 11 is irreducible iff 11 is a non-square (p = 1 mod 4)
    assert pow(F.W, (P - 1) // 2, P) == P - 1


@pytest.mark.parametrize("log_n", [0, 1, 5, 20, 27])
def test_two_adic_generator(log_n):
    g = F.two_adic_generator(log_n)
    assert pow(g, 1 << log_n, P) == 1
    if log_n:
        assert pow(g, 1 << (log_n - 1), P) == P - 1
        assert pow(g, 2, P) == F.two_adic_generator(log_n - 1)


def test_two_adic_generator_rejects_too_big():
    with pytest.raises(ValueError):
        F.two_adic_generator(28)


def test_base_ops_match_python():
    a, b = rand(1000), rand(1000)
    a[:3] = [0, 1, P - 1]
    b[:3] = [P - 1, P - 1, P - 1]
    ai, bi = a.astype(object), b.astype(object)
    assert (F.add(a, b) == (ai + bi) % P).all()
    assert (F.sub(a, b) == (ai - bi) % P).all()
    assert (F.mul(a, b) == (ai * bi) % P).all()
    assert (F.neg(a) == (-ai) % P).all()
    assert F.add(a, b).dtype == np.uint32
    assert int(F.pow_(3, 10)) == 59049
    assert (F.pow_(a, 12345) == [pow(int(x), 12345, P) for x in a]).all()


def test_inverse():
    a = rand(500)
    a[a == 0] = 1
    assert (F.mul(a, F.inv(a)) == 1).all()
    assert (F.batch_inv(a) == F.inv(a)).all()
    assert int(F.mul(F.pow_(5, -3), 125)) == 1
    with pytest.raises(ValueError):
        F.inv(np.array([3, 0], dtype=np.uint32))


def test_powers():
    assert (F.powers(7, 13) == [pow(7, i, P) for i in range(13)]).all()
    assert F.powers(7, 0).shape == (0,)


def test_canonical():
    assert F.canonical([1, 2]).dtype == np.uint32
    with pytest.raises(ValueError):
        F.canonical([P])
    with pytest.raises(ValueError):
        F.canonical([1.5])


def test_ext_mul_matches_reference():
    a, b = rand((200, 4)), rand((200, 4))
    a[0] = b[0] = P - 1  # largest products: the unreduced sums must not overflow
    a[1], b[1] = P - 1, P - 2
    got = F.ext_mul(a, b)
    for i in range(200):
        assert list(got[i]) == ext_mul_ref(a[i], b[i])


def test_ext_x4_is_11():
    x = np.array([0, 1, 0, 0], dtype=np.uint32)
    assert list(F.ext_pow(x, 4)) == [11, 0, 0, 0]


def test_ext_field_laws():
    a, b, c = rand((50, 4)), rand((50, 4)), rand((50, 4))
    assert (F.ext_mul(a, b) == F.ext_mul(b, a)).all()
    assert (F.ext_mul(F.ext_mul(a, b), c) == F.ext_mul(a, F.ext_mul(b, c))).all()
    assert (F.ext_mul(a, F.ext_add(b, c)) == F.ext_add(F.ext_mul(a, b), F.ext_mul(a, c))).all()
    assert (F.ext_sub(F.ext_add(a, b), b) == a).all()
    assert (F.ext_add(a, F.ext_neg(a)) == 0).all()
    s = rand(50)
    assert (F.ext_mul_base(a, s) == F.ext_mul(a, F.ext_from_base(s))).all()


def test_ext_inverse():
    a = rand((300, 4))
    a[0] = [5, 0, 0, 0]
    a[1] = [0, 0, 7, 0]
    one = F.ext_mul(a, F.ext_inv(a))
    assert (one == np.array([1, 0, 0, 0], dtype=np.uint32)).all()
    assert (F.ext_batch_inv(a) == F.ext_inv(a)).all()
    with pytest.raises(ValueError):
        F.ext_inv(np.zeros(4, dtype=np.uint32))


def test_ext_frobenius_order():
    """a^(p^4 - 1) = 1 for nonzero a: the extension really is a field of size p^4."""
    a = rand((4, 4))
    assert (F.ext_pow(a, P**4 - 1) == np.array([1, 0, 0, 0])).all()


def test_ext_shape_errors():
    with pytest.raises(ValueError):
        F.ext_mul(np.zeros(3, dtype=np.uint32), np.zeros(3, dtype=np.uint32))


def test_numba_kernels_match_numpy():
    from numba import njit

    @njit
    def run(a, b, out):
        for i in range(a.shape[0]):
            c = F.ext_mul4(a[i, 0], a[i, 1], a[i, 2], a[i, 3], b[i, 0], b[i, 1], b[i, 2], b[i, 3])
            for k in range(4):
                out[i, k] = c[k]
            out[i, 4] = F.mulmod(a[i, 0], b[i, 0])
            out[i, 5] = F.addmod(a[i, 0], b[i, 0])
            out[i, 6] = F.submod(a[i, 0], b[i, 0])
            out[i, 7] = F.powmod(a[i, 0], 1000)

    a, b = rand((100, 4)), rand((100, 4))
    out = np.zeros((100, 8), dtype=np.uint64)
    run(a.astype(np.uint64), b.astype(np.uint64), out)
    assert (out[:, :4] == F.ext_mul(a, b)).all()
    assert (out[:, 4] == F.mul(a[:, 0], b[:, 0])).all()
    assert (out[:, 5] == F.add(a[:, 0], b[:, 0])).all()
    assert (out[:, 6] == F.sub(a[:, 0], b[:, 0])).all()
    assert (out[:, 7] == F.pow_(a[:, 0], 1000)).all()


def test_large_arrays_use_the_parallel_kernels_correctly():
    n = 3 * 4096 + 17  # several chunks and a ragged tail
    a, b = rand(n), rand((n, 4))
    a[a == 0] = 1
    assert (F.mul(a, F.batch_inv(a)) == 1).all()
    inv_b = F.ext_inv(b)
    assert (F.ext_mul(b, inv_b) == np.array([1, 0, 0, 0], dtype=np.uint32)).all()
    idx = RNG.integers(0, n, 50)
    for i in idx:
        assert list(F.ext_mul(b, inv_b)[i]) == ext_mul_ref(b[i], inv_b[i])
    b[n - 5] = 0
    with pytest.raises(ValueError):
        F.ext_inv(b)
    a[4096 * 2 + 3] = 0
    with pytest.raises(ValueError):
        F.batch_inv(a)


def test_broadcasting():
    a, b = rand((3, 1, 4)), rand((5, 4))
    got = F.ext_mul(a, b)
    assert got.shape == (3, 5, 4)
    assert list(got[2, 4]) == ext_mul_ref(a[2, 0], b[4])
    assert F.ext_add(a, b).shape == (3, 5, 4)
    assert F.ext_mul_base(b, rand(5)).shape == (5, 4)


def test_ext_mul_base_broadcast_and_large():
    a = rand((5000, 4))
    s = rand(5000)
    expect = (a.astype(object) * s.astype(object)[:, None]) % P
    assert (F.ext_mul_base(a, s) == expect).all()
    assert (F.ext_mul_base(a, 3) == (a.astype(object) * 3) % P).all()
    one = F.ext_mul_base(np.array([1, 2, 3, 4], dtype=np.uint32), s[:7])
    assert one.shape == (7, 4) and (one[:, 1] == F.mul(s[:7], 2)).all()


def test_montgomery_helpers():
    """The interpreter's Montgomery arithmetic: wide reduction of any uint64, the
    accumulator fold, and the extension product in Montgomery form."""
    from numba import njit

    R = 1 << 32

    @njit
    def reduce_all(xs, out):
        for i in range(xs.shape[0]):
            out[i, 0] = F.montred_wide(xs[i])
            out[i, 1] = F.fold64(xs[i])

    edge = [0, 1, P, P * P, 4 * (P - 1) ** 2, 2**64 - 1, 2**63, (2**32 - 1) * P]
    xs = np.concatenate([np.array(edge, dtype=np.uint64), RNG.integers(0, 2**64 - 1, 500, dtype=np.uint64)])
    out = np.zeros((xs.size, 2), dtype=np.uint64)
    reduce_all(xs, out)
    r_inv = pow(R, P - 2, P)
    for x, (red, fold) in zip(xs.tolist(), out.tolist()):
        assert red == x * r_inv % P
        assert fold % P == x % P and fold < 2**60 + 2**32

    @njit
    def mul_all(a, b, w_mont, out):
        for i in range(a.shape[0]):
            c = F.ext_mul4_mont(a[i, 0], a[i, 1], a[i, 2], a[i, 3], b[i, 0], b[i, 1], b[i, 2], b[i, 3], w_mont)
            for k in range(4):
                out[i, k] = c[k]

    a, b = rand((200, 4)), rand((200, 4))
    a[0] = P - 1
    b[0] = P - 1
    got = np.zeros((200, 4), dtype=np.uint64)
    mul_all(F.to_mont(a).astype(np.uint64), F.to_mont(b).astype(np.uint64), np.uint64(F.W * R % P), got)
    assert (got == F.to_mont(F.ext_mul(a, b))).all()


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.int32, np.uint32])
def test_canonical_large_matrices_in_one_pass(dtype):
    """The parallel check-and-convert path: values kept, out-of-range values rejected."""
    a = RNG.integers(0, P, (F._CANONICAL_PARALLEL // 8 + 3, 8)).astype(dtype)
    got = F.canonical(a)
    assert got.dtype == np.uint32 and (got == a.astype(np.uint32)).all() and not np.shares_memory(got, a)
    bad = [P] + ([-1] if np.dtype(dtype).kind == "i" else [])
    for v in bad:
        b = a.copy()
        b[-1, -1] = v
        with pytest.raises(ValueError):
            F.canonical(b)
