"""NTTs against a naive O(n^2) DFT, round trips, and coset LDE against direct evaluation."""

import numpy as np
import pytest

from prover import field as F
from prover import ntt
from prover.field import P

RNG = np.random.default_rng(11)


def rand(shape):
    return RNG.integers(0, P, size=shape, dtype=np.uint64).astype(np.uint32)


def eval_poly(coeffs, xs):
    """Horner with Python ints: coeffs uint32[n, w], xs list of ints -> uint32[len(xs), w]."""
    out = np.zeros((len(xs), coeffs.shape[1]), dtype=np.uint32)
    for r, x in enumerate(xs):
        for c in range(coeffs.shape[1]):
            acc = 0
            for a in coeffs[::-1, c]:
                acc = (acc * x + int(a)) % P
            out[r, c] = acc
    return out


def domain(n, shift=1):
    g = F.two_adic_generator(n.bit_length() - 1)
    return [shift * pow(g, i, P) % P for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 32])
def test_dft_matches_naive(n):
    c = rand((n, 3))
    assert (ntt.dft(c) == eval_poly(c, domain(n))).all()


@pytest.mark.parametrize("log_n", [0, 1, 3, 10, 13])
def test_roundtrip(log_n):
    c = rand((1 << log_n, 5))
    assert (ntt.idft(ntt.dft(c)) == c).all()
    assert (ntt.dft(ntt.idft(c)) == c).all()


def test_vector_input():
    c = rand(16)
    e = ntt.dft(c)
    assert e.shape == (16,)
    assert (e == ntt.dft(c[:, None])[:, 0]).all()


def test_natural_order_negation():
    """x_{i + n/2} = -x_i: the evaluations of X itself."""
    n = 64
    c = np.zeros((n, 1), dtype=np.uint32)
    c[1] = 1
    x = ntt.coset_dft(c, F.GENERATOR)[:, 0]
    assert (x[n // 2:] == F.neg(x[: n // 2])).all()
    assert x[0] == F.GENERATOR


@pytest.mark.parametrize("shift", [1, F.GENERATOR, 12345])
def test_coset_dft_idft(shift):
    c = rand((16, 2))
    e = ntt.coset_dft(c, shift)
    assert (e == eval_poly(c, domain(16, shift))).all()
    assert (ntt.coset_idft(e, shift) == c).all()


@pytest.mark.parametrize("log_blowup", [0, 1, 3])
def test_coset_lde_matches_direct_evaluation(log_blowup):
    n = 16
    c = rand((n, 3))
    evals = ntt.dft(c)
    lde = ntt.coset_lde(evals, log_blowup, F.GENERATOR)
    assert lde.shape == (n << log_blowup, 3)
    assert (lde == eval_poly(c, domain(n << log_blowup, F.GENERATOR))).all()


def test_lde_large_consistency():
    """On a bigger size: the LDE restricted to every 2^k-th row is the coset evaluation of size n."""
    n, k = 1 << 12, 2
    evals = rand((n, 4))
    lde = ntt.coset_lde(evals, k, F.GENERATOR)
    assert (lde[:: 1 << k] == ntt.coset_dft(ntt.idft(evals), F.GENERATOR)).all()
    assert (ntt.coset_idft(lde, F.GENERATOR)[n:] == 0).all()


@pytest.mark.parametrize("bad", [np.zeros((3, 2), np.uint32), np.zeros((0, 2), np.uint32), np.zeros((2, 2, 2), np.uint32)])
def test_bad_shapes(bad):
    with pytest.raises(ValueError):
        ntt.dft(bad)


def horner_at(coeffs, x):
    """Values at x of every column (vectorised over columns)."""
    acc = np.zeros(coeffs.shape[1], dtype=np.uint64)
    for row in coeffs[::-1].astype(np.uint64):
        acc = (acc * np.uint64(x) + row) % np.uint64(P)
    return acc


@pytest.mark.parametrize("log_n,width", [(12, 64), (13, 5), (11, 1)])
def test_large_transforms_against_pointwise_evaluation(log_n, width):
    """Sizes past the cache-blocked stages, checked at sampled points of each domain."""
    n = 1 << log_n
    c = rand((n, width))
    g = F.two_adic_generator(log_n)
    e = ntt.coset_dft(c, F.GENERATOR)
    for i in (0, 1, n // 2 + 3, n - 1):
        assert (e[i] == horner_at(c, F.GENERATOR * pow(g, i, P) % P)).all()
    lde = ntt.coset_lde(ntt.dft(c), 2, 7)
    g4 = F.two_adic_generator(log_n + 2)
    for i in (0, 5, 2 * n + 1, 4 * n - 1):
        assert (lde[i] == horner_at(c, 7 * pow(g4, i, P) % P)).all()
    assert (ntt.coset_idft(e, F.GENERATOR) == c).all()


def test_bad_lde_arguments():
    with pytest.raises(ValueError):
        ntt.coset_lde(np.zeros((4, 1), np.uint32), -1, 3)
    with pytest.raises(ValueError):
        ntt.coset_idft(np.zeros((4, 1), np.uint32), 0)
    with pytest.raises(ValueError):
        ntt.dft(np.zeros((4, 1), np.float64))


@pytest.mark.parametrize("log_n,width", [(14, 1), (15, 3), (14, 8)])
def test_narrow_four_step_path_matches_wide_path(log_n, width):
    """Narrow matrices take the four-step path; padding them to 16 columns takes the radix-2
    path: every transform must agree column by column."""
    n = 1 << log_n
    narrow = rand((n, width))
    wide = np.concatenate([narrow, rand((n, 16 - width))], axis=1)
    assert ntt._is_narrow(n, width) and not ntt._is_narrow(n, 16)
    assert (ntt.dft(narrow) == ntt.dft(wide)[:, :width]).all()
    assert (ntt.idft(narrow) == ntt.idft(wide)[:, :width]).all()
    assert (ntt.coset_dft(narrow, 5) == ntt.coset_dft(wide, 5)[:, :width]).all()
    assert (ntt.coset_idft(narrow, 5) == ntt.coset_idft(wide, 5)[:, :width]).all()
    assert (ntt.coset_lde(narrow, 1, 7) == ntt.coset_lde(wide, 1, 7)[:, :width]).all()



@pytest.mark.parametrize("log_n,width,log_blowup", [(0, 16, 1), (3, 16, 3), (10, 20, 1), (12, 64, 2), (14, 3, 1),
                                                    (16, 30, 1), (1, 40, 0)])
def test_bit_reversed_lde_is_the_lde_in_bit_reversed_order(log_n, width, log_blowup):
    """The PCS's extension (wide: per-block coset transforms; narrow: a permuted copy)."""
    a = rand((1 << log_n, width))
    rev = np.array([int(format(i, f"0{log_n + log_blowup}b")[::-1] or "0", 2) for i in range(1 << (log_n + log_blowup))])
    assert (ntt.coset_lde_bit_reversed(a, log_blowup, 7) == ntt.coset_lde(a, log_blowup, 7)[rev]).all()


@pytest.mark.parametrize("log_m,width,log_blowup", [(0, 16, 1), (4, 16, 2), (10, 20, 1), (13, 3, 1)])
def test_bit_reversed_extension_of_coefficients(log_m, width, log_blowup):
    """coset_dft_bit_reversed: the zero-padded coefficients' coset DFT, bit-reversed rows."""
    m, log_big = 1 << log_m, log_m + log_blowup
    c = rand((m, width))
    padded = np.zeros((m << log_blowup, width), dtype=np.uint32)
    padded[:m] = c
    rev = np.array([int(format(i, f"0{log_big}b")[::-1] or "0", 2) for i in range(1 << log_big)])
    assert (ntt.coset_dft_bit_reversed(c, log_blowup, 7) == ntt.coset_dft(padded, 7)[rev]).all()


def test_inverse_transform_into_a_given_array():
    e = rand((1 << 12, 20))
    out = np.zeros((2 << 12, 20), dtype=np.uint32)
    got = ntt.coset_idft(e, 5, out=out[:1 << 12])
    assert np.shares_memory(got, out) and (out[:1 << 12] == ntt.coset_idft(e, 5)).all() and not out[1 << 12:].any()
    v = rand(64)
    o = np.empty(64, dtype=np.uint32)
    assert (ntt.idft(v, out=o) == ntt.idft(v)).all() and (o == ntt.idft(v)).all()
    with pytest.raises(ValueError):
        ntt.idft(e, out=np.zeros((1 << 12, 21), dtype=np.uint32))
    with pytest.raises(ValueError):
        ntt.idft(e, out=e)


def test_extend_in_place_rejects_bad_buffers():
    with pytest.raises(ValueError):
        ntt.extend_in_place(np.zeros((24, 16), dtype=np.uint32), 8, 7)  # 3 blocks
    with pytest.raises(ValueError):
        ntt.extend_in_place(np.zeros((32, 16), dtype=np.uint32)[:, :8], 8, 7)  # not contiguous
