"""End-to-end proofs of the example AIRs: single and multi-table, different heights,
LogUp with a preprocessed table, hiding mode, byte encoding, verifying-key digests."""

from __future__ import annotations

import numpy as np
import pytest

from prover import proof as codec
from prover import pcs, stark
from prover.air import ConstraintError, System
from prover.errors import VerificationError
from prover.field import P
from prover.security import DEFAULT, INSECURE_FAST_TEST_PARAMS as FAST, FriParams
from tests.prover.stark_examples import (exchange_system, exchange_traces, fib_table, fib_trace, range_check_system,
                            range_check_traces)


def _roundtrip(pk, traces, publics=None, **kw) -> stark.Statement:
    proof = stark.prove(pk, traces, publics, **kw)
    data = codec.encode(proof, pk.vk.digest, pk.vk.hiding)
    return codec.verify_bytes(pk.vk, data, publics)


def test_fibonacci():
    tr, pub = fib_trace(64)
    pk = stark.setup(System([fib_table()]), FAST)
    st = _roundtrip(pk, {"fib": tr}, {"fib": pub})
    assert st.publics == {"fib": pub} and st.log_heights == {"fib": 6} and st.vk_digest == pk.vk.digest


def test_range_check_against_preprocessed_byte_table():
    pk = stark.setup(range_check_system(), FAST)
    assert pk.vk.pre_root is not None
    _roundtrip(pk, range_check_traces(64))


def test_two_tables_of_different_heights_exchange_over_a_bus():
    pk = stark.setup(exchange_system(), FAST)
    st = _roundtrip(pk, exchange_traces())
    assert st.log_heights == {"producer": 3, "consumer": 5}


@pytest.mark.parametrize("make", [
    lambda: (System([fib_table(private=True)]), {"fib": fib_trace(32)[0]}, {"fib": fib_trace(32)[1]}),
    lambda: (range_check_system(private=True), range_check_traces(32), None),
])
def test_hiding_mode(make):
    system, traces, publics = make()
    pk = stark.setup(system, FAST)
    assert pk.vk.hiding  # on by default for private tables
    _roundtrip(pk, traces, publics)


def test_hiding_openings_differ_between_runs():
    """Same witness, fresh randomness: the opened trace values at zeta change (they are
    values of a randomised polynomial), while both proofs verify."""
    tr, pub = fib_trace(32)
    pk = stark.setup(System([fib_table(private=True)]), FAST)
    p1 = stark.prove(pk, {"fib": tr}, {"fib": pub}, rng=np.random.default_rng(1))
    p2 = stark.prove(pk, {"fib": tr}, {"fib": pub}, rng=np.random.default_rng(2))
    assert not np.array_equal(p1.opened[0][0][0], p2.opened[0][0][0])
    stark.verify(pk.vk, p1, {"fib": pub})
    stark.verify(pk.vk, p2, {"fib": pub})


def test_default_preset_small_instance():
    tr, pub = fib_trace(16)
    pk = stark.setup(System([fib_table()]), DEFAULT)
    _roundtrip(pk, {"fib": tr}, {"fib": pub})


def test_verifying_key_digest_names_the_system():
    a = stark.setup(System([fib_table()]), FAST).vk.digest
    assert a == stark.setup(System([fib_table()]), FAST).vk.digest
    assert a != stark.setup(System([fib_table()]), DEFAULT).vk.digest
    changed = fib_table()
    changed.when_last(changed.public("extra") - stark.E.main_col(0))
    assert a != stark.setup(System([changed]), FAST).vk.digest
    pre1 = stark.setup(range_check_system(), FAST).vk
    sys2 = range_check_system()
    sys2.tables[0].preprocessed[5, 0] = 6
    assert pre1.digest != stark.setup(sys2, FAST).vk.digest


def test_prover_refuses_bad_witness_with_a_clear_error():
    tr, pub = fib_trace(16)
    tr[3, 0] += 1
    pk = stark.setup(System([fib_table()]), FAST)
    with pytest.raises(ConstraintError, match="fails at row"):
        stark.prove(pk, {"fib": tr}, {"fib": pub})
    traces = exchange_traces()
    traces["producer"][0, 2] += 1
    with pytest.raises(ConstraintError, match="bus 'kv' unbalanced"):
        stark.prove(stark.setup(exchange_system(), FAST), traces)
    with pytest.raises(ValueError, match="no trace"):
        stark.prove(pk, {}, {"fib": pub})


def test_verifier_returns_open_bus_sums():
    system = exchange_system()
    system.open_buses = frozenset({"kv"})
    traces = exchange_traces()
    traces["producer"][0, 2] += 1  # unbalanced inside the proof: fine for an open bus
    pk = stark.setup(system, FAST)
    st = _roundtrip(pk, traces, check=False)
    assert set(st.open_bus_sums) == {"kv"} and np.any(st.open_bus_sums["kv"])


def test_four_tables_two_buses_three_heights():
    """Byte table (256 rows), multiplier (64), producer (8), consumer (32) in one proof."""
    rc, ex = range_check_system(), exchange_system()
    pk = stark.setup(System(rc.tables + ex.tables), FAST)
    traces = {**range_check_traces(64), **exchange_traces()}
    st = _roundtrip(pk, traces)
    assert st.log_heights == {"bytes": 8, "mul": 6, "producer": 3, "consumer": 5}
    assert pk.vk.system.bus_names == ["byte", "kv"]


def test_hiding_refuses_traces_too_short_to_hide():
    pk = stark.setup(System([fib_table(private=True)]), FAST)
    tr, pub = fib_trace(4)
    with pytest.raises(ValueError, match="hiding needs at least"):
        stark.prove(pk, {"fib": tr}, {"fib": pub})


def test_hiding_blinds_the_exposed_bus_sums():
    """A table's LogUp sum is a fingerprint of its private multiset: in hiding mode it is
    offset by a random value (the offsets cancel over the bus), so it changes per proof."""
    pk = stark.setup(range_check_system(private=True), FAST)
    traces = range_check_traces(32)
    p1 = stark.prove(pk, traces, rng=np.random.default_rng(1))
    p2 = stark.prove(pk, traces, rng=np.random.default_rng(2))
    assert not np.array_equal(p1.bus_sums[1], p2.bus_sums[1])
    stark.verify(pk.vk, p1)
    stark.verify(pk.vk, p2)


def test_default_preset_hiding_small_instance():
    tr, pub = fib_trace(stark.min_hiding_rows(DEFAULT))
    pk = stark.setup(System([fib_table(private=True)]), DEFAULT)
    _roundtrip(pk, {"fib": tr}, {"fib": pub})


def _coefficients(committed, shift: int = 1) -> np.ndarray:
    """The coefficients of what a helper hands to the PCS: pcs.Coefficients, or
    evaluations on a coset (``shift``) of the domain."""
    from prover.ntt import coset_idft
    if isinstance(committed, pcs.Coefficients):
        buf = np.empty((committed.rows, committed.width), dtype=np.uint32)
        committed.write(buf)
        return buf
    return coset_idft(committed, shift)


@pytest.mark.parametrize("mask", [5, 16])
def test_randomised_columns_agree_on_the_trace_and_have_the_promised_degree(mask):
    """f' = f + Z_H r: equal to the trace on H (even rows of H_{2n}), degree below n + mask
    (so the quotient fits its chunks), and different from the plain extension off H."""
    from prover.ntt import dft
    n = 16
    trace = np.random.default_rng(4).integers(0, P, (n, 3), dtype=np.uint32)
    coeffs = _coefficients(stark._randomise(trace, mask, np.random.default_rng(5)))
    assert np.array_equal(dft(coeffs)[0::2], trace)
    assert not np.any(coeffs[n + mask:]) and np.any(coeffs[n:n + mask])
    q = np.random.default_rng(6).integers(0, P, (4 * n, 4), dtype=np.uint32)
    for (domain, committed) in stark._chunks(q, 4, 4, mask, np.random.default_rng(7)):
        assert domain.log_n == 5
        assert not np.any(_coefficients(committed, domain.shift)[n + mask:])


def test_hiding_with_fully_masked_short_tables():
    params = FriParams(name="INSECURE_TEST_5Q", log_blowup=1, num_queries=5, pow_bits=1,
                       log_final_poly_len=1, insecure=True)
    assert stark.mask_degree(3, params, True) == 8  # the whole table is randomised
    tr, pub = fib_trace(8)
    pk = stark.setup(System([fib_table(private=True)]), params)
    _roundtrip(pk, {"fib": tr}, {"fib": pub})


@pytest.mark.parametrize("hiding", [False, True])
def test_high_degree_table_needs_a_bigger_quotient_domain(hiding):
    """Degree 5: 4 quotient chunks (8 with hiding), more points than the rate-1/2
    extension holds, so the quotient domain is evaluated anew."""
    from prover.air import Table
    t = Table("pow5")
    x, y = t.mains("x", "y")
    t.assert_eq(y, x * x * x * x * x)
    t.when_transition(x.next - x - 1)
    xs = np.arange(16, dtype=np.uint64)
    trace = np.stack([xs, xs ** 5 % P], axis=1).astype(np.uint32)
    pk = stark.setup(System([t]), FAST, hiding=hiding)
    assert stark.num_chunks(5, 4, stark.mask_degree(4, FAST, hiding)) == (8 if hiding else 4)
    _roundtrip(pk, {"pow5": trace})


@pytest.mark.parametrize("hiding", [False, True])
def test_selectors_are_values_not_only_gates(hiding):
    """is_first_row / is_last_row are 1 on their row and 0 elsewhere, in the debug
    checker, the prover and the verifier alike: they can define a column and scale a
    multiplicity."""
    from prover import expr as E
    from prover.air import Table
    a = Table("a")
    x, first, last = a.mains("x", "first", "last")
    a.assert_eq(first, E.is_first_row())
    a.assert_eq(last, E.is_last_row())
    a.send("end", [x], E.is_last_row())  # only the last row's value goes out
    b = Table("b")
    y, m = b.mains("y", "m")
    b.receive("end", [y], m)
    n = 16
    ta = np.zeros((n, 3), dtype=np.uint32)
    ta[:, 0] = np.arange(n) * 3
    ta[0, 1] = ta[-1, 2] = 1
    tb = np.array([[45, 1]] + [[0, 0]] * 7, dtype=np.uint32)
    pk = stark.setup(System([a, b]), FAST, hiding=hiding)
    _roundtrip(pk, {"a": ta, "b": tb})
    tb[0, 0] = 42  # not the last value
    proof = stark.prove(pk, {"a": ta, "b": tb}, check=False)
    with pytest.raises(VerificationError):
        stark.verify(pk.vk, proof)
