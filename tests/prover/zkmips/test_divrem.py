"""The DivRem table: honest divisions (results from the VM, including b = 0 and
INT_MIN / -1) prove and verify; forged quotients, remainders, flags and signs are rejected."""

from __future__ import annotations

import numpy as np
import pytest

from prover.zkmips.divrem import build_divrem, divrem_trace
from tests.prover.zkmips.alub_harness import (RS, RT, Prover, edge_pairs, get_cell, hilo_driver, hilo_driver_trace,
                                              run_one, set_cell)
from tests.vm.mips_asm import encode
from vm.isa import OP

TABLE = build_divrem()
M32 = 0xFFFFFFFF


def div_events(pairs) -> dict[str, np.ndarray]:
    """DIV and DIVU on each pair; q = LO, r = HI from the VM."""
    ev = {k: [] for k in ("op", "a", "b", "hi_in", "lo_in", "hi_out", "lo_out")}
    for a, b in pairs:
        for mn in ("div", "divu"):
            m = run_one(encode(mn, RS, RT), rs=a, rt=b, hi=0x5555, lo=0xAAAA)
            for k, v in zip(ev, (OP[mn], a, b, 0x5555, 0xAAAA, m.hi, m.lo)):
                ev[k].append(v)
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}


def traces_for(ev):
    return {"divrem": divrem_trace(ev), "hilo_driver": hilo_driver_trace(ev)}


SPECIAL = [(7, 0), (0, 0), (0x80000000, M32), (0x80000000, 1), (M32, M32), (0x80000000, 0x80000000),
           (7, (-2) & M32), ((-7) & M32, 2), ((-7) & M32, (-2) & M32), (6, 3), ((-6) & M32, 3), (5, 7),
           ((-5) & M32, 7), (0x7FFFFFFF, 0x80000000)]


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, hilo_driver()])


@pytest.fixture(scope="module")
def small():
    ev = div_events(SPECIAL)
    return ev, traces_for(ev)


def test_honest_edges_and_random(prover):
    rng = np.random.default_rng(11)
    pairs = SPECIAL + edge_pairs(rng, 24)
    pairs += [(int(x), int(y)) for x, y in zip(rng.integers(0, 1 << 32, 16), rng.integers(1, 300, 16))]
    prover.prove_verify(traces_for(div_events(pairs)))


def test_bad_events():
    with pytest.raises(ValueError, match="operation id"):
        divrem_trace({"op": [OP["mult"]], "a": [1], "b": [2], "hi_out": [0], "lo_out": [0]})


def _row(ev, op: str, a: int, b: int) -> int:
    return int(np.nonzero((ev["op"] == OP[op]) & (ev["a"] == a) & (ev["b"] == b))[0][0])


def _set_word(traces, row: int, name: str, value: int, driver_name: str | None = None):
    """Change word ``name`` in the table (and the same word in the driver when given)."""
    out = dict(traces)
    for i in range(4):
        out["divrem"] = set_cell(out["divrem"], TABLE, row, f"{name}{i}", (value >> (8 * i)) & 0xFF)
        if driver_name:
            out["hilo_driver"] = set_cell(out["hilo_driver"], hilo_driver(), row, f"{driver_name}{i}",
                                          (value >> (8 * i)) & 0xFF)
    return out


def _recomputed(prover, small, row: int, q: int, r: int):
    """A forgery that claims (q, r) for ``row`` with every helper witness recomputed by the
    honest trace builder: only a constraint about q or r can reject it."""
    ev, traces = small
    forged_ev = {k: v.copy() for k, v in ev.items()}
    forged_ev["lo_out"][row], forged_ev["hi_out"][row] = q, r
    try:
        forged = traces_for(forged_ev)
    except ValueError:
        pytest.fail("forged events should still produce a trace")
    prover.rejects(forged, traces)


def test_quotient_one_too_small(prover, small):
    """6 / 3 claimed as q = 1, r = 3: a = q d + r holds, the remainder bound fails."""
    ev, _ = small
    _recomputed(prover, small, _row(ev, "divu", 6, 3), 1, 3)


def test_negative_remainder_for_positive_dividend(prover, small):
    """-7 / 2 claimed as q = -4, r = 1 (floor division): the sign rule rejects it."""
    ev, _ = small
    _recomputed(prover, small, _row(ev, "div", (-7) & M32, 2), (-4) & M32, 1)


def test_remainder_sign_of_positive_dividend(prover, small):
    """7 / -2 claimed as q = -4, r = -1: r < 0 with a >= 0."""
    ev, _ = small
    _recomputed(prover, small, _row(ev, "div", 7, (-2) & M32), (-4) & M32, M32)


def test_divide_by_zero_other_answer(prover, small):
    """7 / 0 must give (q, r) = (7, 0): claiming (0, 7) needs d = 0, which fails the bound."""
    ev, _ = small
    _recomputed(prover, small, _row(ev, "divu", 7, 0), 0, 7)


def test_flag_set_for_non_zero_divisor(prover, small):
    """6 / 3 with the b = 0 flag: q = 6, r = 0 would follow from d = 1."""
    ev, traces = small
    row = _row(ev, "divu", 6, 3)
    forged = _set_word(traces, row, "q", 6, "lo_out")
    forged["divrem"] = set_cell(forged["divrem"], TABLE, row, "bz", 1)
    forged["divrem"] = set_cell(forged["divrem"], TABLE, row, "d0", 1)
    prover.rejects(forged, traces)


def test_overflow_flag_on_divu(prover, small):
    ev, traces = small
    row = _row(ev, "divu", 0x80000000, M32)
    forged = _set_word(traces, row, "q", 0x80000000, "lo_out")
    forged = _set_word(forged, row, "d", 1)
    forged["divrem"] = set_cell(forged["divrem"], TABLE, row, "ovf", 1)
    prover.rejects(forged, traces)


def test_wrong_carry(prover, small):
    ev, traces = small
    row = _row(ev, "div", (-7) & M32, (-2) & M32)
    c = get_cell(traces["divrem"], TABLE, row, "carry1")
    prover.rejects({**traces, "divrem": set_cell(traces["divrem"], TABLE, row, "carry1", c + 1)}, traces)


def test_wrong_bound_carry(prover, small):
    ev, traces = small
    row = _row(ev, "divu", 5, 7)
    c = get_cell(traces["divrem"], TABLE, row, "bc0")
    prover.rejects({**traces, "divrem": set_cell(traces["divrem"], TABLE, row, "bc0", c + 1)}, traces)


def test_wrong_sign_bit(prover, small):
    ev, traces = small
    row = _row(ev, "div", 0x80000000, 1)
    prover.rejects({**traces, "divrem": set_cell(traces["divrem"], TABLE, row, "na", 0)}, traces)


def test_operation_outside_the_table(prover, small):
    ev, traces = small
    row = _row(ev, "divu", 6, 3)
    prover.rejects({**traces, "hilo_driver": set_cell(traces["hilo_driver"], hilo_driver(), row, "op",
                                                      OP["multu"])}, traces)


def test_padding_row_with_multiplicity(prover, small):
    ev, traces = small
    n = len(ev["op"])
    prover.rejects({**traces, "divrem": set_cell(traces["divrem"], TABLE, n, "is_divu", 1)}, traces)


def test_sweep_random(prover):
    """Random words, small divisors of both signs, and divisors near the dividend."""
    rng = np.random.default_rng(23)
    xs = rng.integers(0, 1 << 32, 300)
    small = rng.integers(-300, 300, 300) & M32
    near = (xs + rng.integers(-3, 4, 300)) & M32
    pairs = edge_pairs(rng, 300) + list(zip(xs.tolist(), small.tolist())) + list(zip(xs.tolist(), near.tolist()))
    prover.check(traces_for(div_events(pairs)))
