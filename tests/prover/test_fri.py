"""FRI: folding algebra, honest proofs of several heights and arities, and every tampered part."""

import copy

import numpy as np
import pytest

from prover import field, fri
from prover.errors import VerificationError
from prover.field import GENERATOR, P
from prover.ntt import coset_dft
from prover.security import INSECURE_FAST_TEST_PARAMS, FriParams
from prover.transcript import Transcript

RNG = np.random.default_rng(2024)
PARAMS = INSECURE_FAST_TEST_PARAMS
ARITY8 = FriParams("test-arity-8", log_blowup=1, num_queries=6, pow_bits=2, log_final_poly_len=2,
                   max_log_arity=3, commit_pow_bits=2)


def rand_ext(n):
    return RNG.integers(0, P, size=(n, 4), dtype=np.uint64).astype(np.uint32)


def codeword(log_n, degree, shift=GENERATOR):
    """Bit-reversed evaluations on shift*H of a random extension polynomial of the given degree bound."""
    coeffs = np.zeros((1 << log_n, 4), dtype=np.uint32)
    coeffs[:degree] = rand_ext(degree)
    return coset_dft(coeffs, shift)[fri.bit_reverse_indices(log_n)], coeffs


def make_inputs(params, heights=(10, 7, 4), high_degree_at=None):
    inputs = {}
    for h in heights:
        degree = 1 << (h - params.log_blowup)
        if h == high_degree_at:
            degree = 1 << h
        inputs[h] = codeword(h, degree)[0]
    return inputs


def callback(inputs):
    log_max = max(inputs)
    return lambda idx: {h: v[np.asarray(idx) >> (log_max - h)] for h, v in inputs.items()}


def run(params, inputs, proof=None, label=b"fri-test", salt_bytes=0):
    if proof is None:
        proof, _ = fri.prove(params, inputs, Transcript(label))
    fri.verify(params, proof, Transcript(label), list(inputs), callback(inputs), salt_bytes=salt_bytes)
    return proof


def test_bit_reverse():
    assert list(fri.bit_reverse_indices(3)) == [0, 4, 2, 6, 1, 5, 3, 7]
    assert list(fri.bit_reverse_array(np.array([0b0011, 0b1000]), 4)) == [0b1100, 0b0001]


def test_fold_schedule():
    assert fri.fold_schedule([10], PARAMS) == ([1] * 8, 2)
    assert fri.fold_schedule([10, 7, 4], ARITY8) == ([3, 3, 1], 3)
    assert fri.fold_schedule([12, 11], ARITY8) == ([1, 3, 3, 2], 3)


def test_fold_matches_even_odd_decomposition():
    """Folding by 2^k with beta equals sum_m beta^m f_m where f(X) = sum_m X^m f_m(X^a)."""
    log_n, shift = 6, GENERATOR
    values, coeffs = codeword(log_n, 1 << log_n)
    beta = rand_ext(1)[0]
    for k in (1, 2, 3):
        a = 1 << k
        folded = fri.fold_codeword(values, k, beta, shift)
        expected = np.zeros((1 << (log_n - k), 4), dtype=np.uint32)
        beta_pow = field.ext_from_base(np.uint32(1))
        for m in range(a):
            expected = field.ext_add(expected, field.ext_mul(coeffs[m::a], beta_pow))
            beta_pow = field.ext_mul(beta_pow, beta)
        want = coset_dft(expected, pow(shift, a, P))[fri.bit_reverse_indices(log_n - k)]
        assert np.array_equal(folded, want)


@pytest.mark.parametrize("params", [PARAMS, ARITY8], ids=["binary", "arity8"])
def test_low_degree_inputs_verify(params):
    run(params, make_inputs(params))


def test_single_input_and_final_poly_length():
    params = FriParams("t", log_blowup=2, num_queries=5, pow_bits=0, log_final_poly_len=3, max_log_arity=2)
    proof = run(params, make_inputs(params, heights=(9,)))
    assert proof.final_poly.shape == (8, 4)
    assert len(proof.commit_roots) == 2  # 9 -> 7 -> 5 = 3 + 2


@pytest.mark.parametrize("where", [10, 7], ids=["tallest", "rolled-in"])
def test_high_degree_input_rejected(where):
    inputs = make_inputs(PARAMS, high_degree_at=where)
    with pytest.raises(ValueError, match="not of low degree"):
        fri.prove(PARAMS, inputs, Transcript(b"fri-test"))
    proof, _ = fri.prove(PARAMS, inputs, Transcript(b"fri-test"), check_degree=False)
    with pytest.raises(VerificationError):
        run(PARAMS, inputs, proof)


def test_wrong_input_values_rejected():
    """The verifier's own input values (what the PCS recomputes) must match what was folded."""
    inputs = make_inputs(PARAMS)
    proof, _ = fri.prove(PARAMS, inputs, Transcript(b"fri-test"))
    other = dict(inputs)
    other[7] = make_inputs(PARAMS)[7]
    with pytest.raises(VerificationError):
        run(PARAMS, other, proof)


@pytest.fixture(scope="module")
def honest():
    params = ARITY8
    inputs = make_inputs(params)
    proof, _ = fri.prove(params, inputs, Transcript(b"fri-test"))
    run(params, inputs, proof)
    return params, inputs, proof


def _flip(arr, pos=(0, 0)):
    arr = arr.copy()
    arr[pos] = (int(arr[pos]) + 1) % P
    return arr


def _tamper_layer_value(p):
    p.query_proofs[0].layers[1].values = _flip(p.query_proofs[0].layers[1].values)


def _tamper_first_layer_value(p):
    p.query_proofs[2].layers[0].values = _flip(p.query_proofs[2].layers[0].values, (1, 2))


def _tamper_sibling(p):
    proof = p.query_proofs[0].layers[0].proof
    siblings = list(proof.siblings)
    siblings[1] = bytes([siblings[1][0] ^ 1]) + siblings[1][1:]
    p.query_proofs[0].layers[0].proof = type(proof)(siblings, proof.salts)


def _tamper_root(p):
    p.commit_roots[1] = bytes(32)


def _tamper_final_poly(p):
    p.final_poly = _flip(p.final_poly, (0, 1))


def _tamper_query_nonce(p):
    p.query_pow_nonce += 1


def _tamper_commit_nonce(p):
    p.commit_pow_nonces[0] += 1


def _drop_query(p):
    p.query_proofs.pop()


def _drop_layer(p):
    p.query_proofs[0].layers.pop()


def _swap_queries(p):
    p.query_proofs[0], p.query_proofs[1] = p.query_proofs[1], p.query_proofs[0]


def _bad_shapes(p):
    p.query_proofs[0].layers[0].values = p.query_proofs[0].layers[0].values[:1]


def _non_canonical(p):
    v = p.query_proofs[0].layers[0].values.copy()
    v[0, 0] = P
    p.query_proofs[0].layers[0].values = v


def _garbage_types(p):
    p.final_poly = "not an array"


def _negative_nonce(p):
    p.query_pow_nonce = -1


@pytest.mark.parametrize("tamper", [
    _tamper_layer_value, _tamper_first_layer_value, _tamper_sibling, _tamper_root, _tamper_final_poly,
    _tamper_query_nonce, _tamper_commit_nonce, _drop_query, _drop_layer, _swap_queries, _bad_shapes,
    _non_canonical, _garbage_types, _negative_nonce,
])
def test_tampered_proof_rejected(honest, tamper):
    params, inputs, proof = honest
    bad = copy.deepcopy(proof)
    tamper(bad)
    with pytest.raises(VerificationError):
        run(params, inputs, bad)


def test_replay_under_another_transcript_rejected(honest):
    params, inputs, proof = honest
    with pytest.raises(VerificationError):
        run(params, inputs, proof, label=b"another statement")


def test_salted_layers():
    inputs = make_inputs(PARAMS)
    proof, _ = fri.prove(PARAMS, inputs, Transcript(b"s"), salted=True, rng=np.random.default_rng(1))
    run(PARAMS, inputs, proof, label=b"s", salt_bytes=fri.FRI_SALT_BYTES)
    with pytest.raises(VerificationError):
        run(PARAMS, inputs, proof, label=b"s", salt_bytes=0)
