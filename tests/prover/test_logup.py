"""LogUp: batching within the degree budget, the permutation trace satisfying its own
constraints, and the running sums that must close."""

from __future__ import annotations

import math

import numpy as np
import pytest

from prover import expr as E
from prover import field, logup
from prover.air import System, Table, trace_env
from prover.errors import VerificationError
from tests.prover.stark_examples import exchange_system, exchange_traces, range_check_system, range_check_traces

RNG = np.random.default_rng(11)


def challenges() -> list[np.ndarray]:
    return [RNG.integers(0, field.P, 4, dtype=np.uint32) for _ in range(logup.NUM_CHALLENGES)]


def _sums(system: System, traces: dict[str, np.ndarray], ch) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for t in system.tables:
        lay = logup.layout(system, t)
        perm, finals = logup.permutation_trace(system, t, lay, traces[t.name], [], ch)
        env = trace_env(traces[t.name], t.preprocessed, [], perm, ch, finals)
        for i, (values, _) in enumerate(E.evaluate(lay.constraints, env)):
            assert not np.any(values), f"{t.name}: LogUp constraint {i} fails"
        out[t.name] = dict(zip(lay.sums, finals))
    return out


@pytest.mark.parametrize("make", [lambda: (range_check_system(), range_check_traces()),
                                  lambda: (exchange_system(), exchange_traces())])
def test_permutation_trace_satisfies_constraints_and_buses_close(make):
    system, traces = make()
    sums = _sums(system, traces, challenges())
    assert logup.check_bus_sums(system, sums) == {}


def test_wrong_multiplicity_leaves_bus_open():
    system, traces = range_check_system(), range_check_traces()
    traces["bytes"][7, 0] += 1
    sums = _sums(system, traces, challenges())
    with pytest.raises(VerificationError, match="a closed bus does not balance"):
        logup.check_bus_sums(system, sums)


def test_closed_buses_share_one_running_sum_and_stay_apart():
    """Two closed buses share a table's running sum (and a helper column), yet a tuple sent
    on one and received on the other does not balance: the bus id is in the fingerprint."""
    t = Table("cross")
    a, b = t.mains("a", "b")
    t.assert_zero(a * a * b - a * a * b)  # degree 3: two interactions per helper
    t.send("left", [a])
    t.receive("right", [b])
    system = System([t])
    lay = logup.layout(system, t)
    assert lay.sums == (logup.CLOSED_SUM,) and len(lay.batches) == 1
    same = np.arange(8, dtype=np.uint32)[:, None].repeat(2, axis=1)
    with pytest.raises(VerificationError, match="a closed bus does not balance"):
        logup.check_bus_sums(system, _sums(system, {"cross": same}, challenges()))
    u = Table("both")
    x, y = u.mains("x", "y")
    for bus in ("left", "right"):
        u.send(bus, [x])
        u.receive(bus, [y])
    balanced = System([u])
    assert logup.check_bus_sums(balanced, _sums(balanced, {"both": same}, challenges())) == {}


def test_open_bus_sums_are_returned_not_rejected():
    t = Table("half")
    a = t.main("a")
    t.send("out", [a])
    system = System([t], open_buses=frozenset({"out"}))
    sums = _sums(system, {"half": np.arange(8, dtype=np.uint32)[:, None]}, challenges())
    opened = logup.check_bus_sums(system, sums)
    assert set(opened) == {"out"} and np.any(opened["out"])


def test_batches_respect_the_degree_budget():
    t = Table("many")
    cols = t.mains(*"abcdef")
    t.assert_zero(cols[0] * cols[1] * cols[2] - cols[3])  # degree 3 -> budget 3
    for c in cols:
        t.send("bus", [c])
    lay = logup.layout(System([t]), t)
    assert len(lay.batches) == 3  # two interactions per helper column
    assert max(c.degree for c in lay.constraints) <= 3
    t2 = Table("few")
    x, y = t2.mains("x", "y")
    t2.send("bus", [x])
    t2.send("bus", [y])
    assert len(logup.layout(System([t2]), t2).batches) == 2  # budget 2: one per column


def test_blinding_values_cancel_per_bus():
    system = System(range_check_system().tables + exchange_system().tables)
    layouts = {t.name: logup.layout(system, t, hiding=True) for t in system.tables}
    rng = np.random.default_rng(5)
    blinds = logup.blinding_values(system, layouts, lambda shape: rng.integers(0, field.P, shape, dtype=np.uint32))
    for bus in logup.system_sums(system):
        total = np.zeros(4, dtype=np.uint32)
        for name, lay in layouts.items():
            if bus in lay.sums:
                v = blinds[name][lay.sums.index(bus)]
                assert np.any(v)
                total = field.ext_add(total, v)
        assert not np.any(total)
    assert layouts["mul"].blind_width == 4 and logup.layout(system, system.tables[1]).blind_width == 0


def test_long_hiding_trace_satisfies_its_constraints():
    """A trace over several scan blocks (the parallel running sums), in hiding mode (the
    sums start at the blinding values), with a closed and an open bus and batches of two."""
    n = 4 * logup._SCAN_ROWS
    t = Table("long")
    a, b, m = t.mains("a", "b", "m")
    t.assert_zero(a * b * m - a * b * m)
    t.send("x", [a, b], m)
    t.receive("x", [b], 1)
    t.send("y", [a + 1], m)
    t.receive("y", [a * 3], b)
    system = System([t], open_buses=frozenset({"y"}))
    lay = logup.layout(system, t, hiding=True)
    assert [len(b.interactions) for b in lay.batches] == [2, 2] and lay.sums == (logup.CLOSED_SUM, "y")
    main = RNG.integers(0, field.P, (n, 3), dtype=np.uint32)
    blinds = RNG.integers(0, field.P, (2, 4), dtype=np.uint32)
    full = np.hstack([main, logup.blind_columns(blinds, n)])
    ch = challenges()
    perm, finals = logup.permutation_trace(system, t, lay, full, [], ch, blinds)
    env = trace_env(full, None, [], perm, ch, finals)
    for i, (values, _) in enumerate(E.evaluate(lay.constraints, env)):
        assert not np.any(values), f"LogUp constraint {i} fails"


def test_vanishing_denominator_is_reported():
    t = Table("t")
    a = t.main("a")
    t.send("bus", [a])
    system = System([t])
    lay = logup.layout(system, t)
    main = np.arange(16, dtype=np.uint32)[:, None]
    z, beta = challenges()
    # z = fp(main[9]) = bus_id + beta * 9 makes row 9's denominator zero
    z = field.ext_add(field.ext_from_base(np.uint32(system.bus_id("bus"))), field.ext_mul_base(beta, np.uint32(9)))
    with pytest.raises(ValueError, match="vanished"):
        logup.permutation_trace(system, t, lay, main, [], [z, beta])


def test_error_bits_count_every_fraction_by_its_fingerprints_degree():
    """2 * sum over rows and interactions of max(1, arity) bad challenge values, against
    the field's size (docs/audit-stark.md F7)."""
    t = Table("pairs")
    a, b = t.mains("a", "b")
    t.send("wide", [a, b, a + b])        # degree 3 in beta
    t.receive("wide", [b, a, a])
    t.send("one", [a])                   # degree 1
    system = System([t])
    assert logup.error_bits(system, [5], 100.0) == pytest.approx(100.0 - math.log2(2 * 32 * (3 + 3 + 1)))
    quiet = Table("quiet")
    quiet.main("x")
    assert logup.error_bits(System([quiet]), [5], 100.0) == math.inf
    with pytest.raises(ValueError, match="a height per table"):
        logup.error_bits(system, [5, 6], 100.0)
