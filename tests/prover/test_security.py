"""Soundness numbers of the FRI presets, checked against the formulas worked by hand."""

import math

import pytest

from prover import security as S
from prover.security import (
    COMPACT, DEFAULT, INSECURE_FAST_TEST_PARAMS, FriParams, InsecureParametersError, InstanceShape,
    conjectured_bits, params_report, proven_bits, require_secure,
)

LOG2_P = math.log2(2**31 - 2**27 + 1)


def test_extension_field_size():
    assert S.EXT_FIELD_BITS == pytest.approx(4 * LOG2_P)
    assert S.EXT_FIELD_BITS == pytest.approx(123.6276, abs=1e-4)


def test_default_query_term_by_hand():
    # rho = 1/2, eta = (log2 e + 1) * rho / (4 log2 p); bits = 100 * -log2(rho + eta) + 16.
    eta = (1 / math.log(2) + 1) * 0.5 / (4 * LOG2_P)
    expected = 100 * -math.log2(0.5 + eta) + 16
    assert S.random_words_query_bits(DEFAULT) == pytest.approx(expected)
    assert expected == pytest.approx(113.18, abs=0.01)
    # The older ethSTARK figure is more generous: 100 * 1 + 16.
    assert S.ethstark_query_bits(DEFAULT) == 116


def test_default_field_terms_by_hand():
    shape = S.DEFAULT_SHAPE  # 2^22 rows, 4096 batched openings, degree 3
    n = 2 ** (22 + 1)
    # Folding by 8: 7 (n + 1) bad betas, 3 bits of grinding before each.
    assert S.commit_phase_bits(DEFAULT, shape) == pytest.approx(4 * LOG2_P - math.log2(7 * (n + 1)) + 3)
    assert S.batching_bits(DEFAULT, shape) == pytest.approx(4 * LOG2_P - math.log2(4095 * n) + 12)
    assert S.deep_bits(shape) == pytest.approx(4 * LOG2_P - math.log2(3 * 2**22))


def test_default_levels():
    assert conjectured_bits(DEFAULT) == 100  # min(113.18, 100.82, 100.63, 100.04, 128)
    # Unique decoding: alpha = (1 + (2^22 + 2) / 2^23) / 2, 100 queries + 16 bits of PoW.
    alpha = (1 + (2**22 + 2) / 2**23) / 2
    assert proven_bits(DEFAULT) == math.floor(100 * -math.log2(alpha) + 16) == 57
    assert conjectured_bits(DEFAULT) >= S.TARGET_CONJECTURED_BITS
    assert conjectured_bits(COMPACT) >= S.TARGET_CONJECTURED_BITS


def test_smaller_instances_get_more_field_bits():
    small = InstanceShape(log_trace_len=16, num_batched_columns=64, max_constraint_degree=3)
    terms = S.conjectured_terms(DEFAULT, small)
    assert conjectured_bits(DEFAULT, small) == math.floor(min(terms.values())) == 106
    assert conjectured_bits(DEFAULT, small) > conjectured_bits(DEFAULT)


def test_more_queries_or_grinding_give_more_bits():
    base = FriParams("x", log_blowup=2, num_queries=30, pow_bits=0)
    more_q = FriParams("x", log_blowup=2, num_queries=40, pow_bits=0)
    more_pow = FriParams("x", log_blowup=2, num_queries=30, pow_bits=8)
    assert S.random_words_query_bits(more_q) > S.random_words_query_bits(base)
    assert S.random_words_query_bits(more_pow) == pytest.approx(S.random_words_query_bits(base) + 8)
    assert S.random_words_query_bits(base) < S.ethstark_query_bits(base)


def test_higher_arity_costs_commit_phase_bits():
    binary = FriParams("x", 1, 100, 16, max_log_arity=1)
    octal = FriParams("x", 1, 100, 16, max_log_arity=3)
    assert S.commit_phase_bits(binary) - S.commit_phase_bits(octal) == pytest.approx(math.log2(7))


def test_require_secure():
    assert require_secure(DEFAULT) is DEFAULT
    with pytest.raises(InsecureParametersError, match="insecure"):
        require_secure(INSECURE_FAST_TEST_PARAMS)
    weak = FriParams("weak", log_blowup=1, num_queries=50, pow_bits=16)
    with pytest.raises(InsecureParametersError, match="below the required"):
        require_secure(weak)


def test_insecure_preset_is_not_default():
    assert INSECURE_FAST_TEST_PARAMS.insecure and not DEFAULT.insecure
    assert "INSECURE" in INSECURE_FAST_TEST_PARAMS.name
    assert conjectured_bits(INSECURE_FAST_TEST_PARAMS) < 20


def test_params_report_keys():
    report = params_report()
    for key, value in [("field", "BabyBear"), ("extension_degree", 4), ("log_blowup", 1),
                       ("num_queries", 100), ("pow_bits", 16), ("conjectured_bits", 100),
                       ("proven_bits", 57)]:
        assert report[key] == value


@pytest.mark.parametrize("kwargs", [
    dict(log_blowup=0), dict(num_queries=0), dict(pow_bits=40), dict(max_log_arity=0),
    dict(log_final_poly_len=-1),
])
def test_bad_params_rejected(kwargs):
    args = dict(name="x", log_blowup=1, num_queries=10, pow_bits=0) | kwargs
    with pytest.raises(ValueError):
        FriParams(**args)
