"""The Mul table: honest products (results from the VM) prove and verify; forged
witnesses are rejected."""

from __future__ import annotations

import numpy as np
import pytest

from prover.zkmips.mul import build_mul, mul_trace
from tests.prover.zkmips.alub_harness import (RD, RS, RT, Prover, alu_driver, alu_driver_trace, edge_pairs, get_cell,
                                              hilo_driver, hilo_driver_trace, run_one, set_cell)
from tests.vm.mips_asm import encode
from vm.isa import OP

TABLE = build_mul()
HILO_OPS = ("mult", "multu", "madd", "maddu", "msub", "msubu")


def mul_events(pairs, seed: int = 3) -> dict[str, np.ndarray]:
    """MUL and every HI/LO op on each pair, with random HI/LO before; the VM computes."""
    rng = np.random.default_rng(seed)
    ev = {k: [] for k in ("op", "a", "b", "hi_in", "lo_in", "hi_out", "lo_out")}
    for a, b in pairs:
        for mn in ("mul",) + HILO_OPS:
            hi, lo = (int(v) for v in rng.integers(0, 1 << 32, 2))
            m = run_one(encode(mn, RD, RS, RT) if mn == "mul" else encode(mn, RS, RT), rs=a, rt=b, hi=hi, lo=lo)
            out = (0, m.get_reg(RD)) if mn == "mul" else (m.hi, m.lo)
            for k, v in zip(ev, (OP[mn], a, b, hi, lo) + out):
                ev[k].append(v)
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}


def split(ev: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """The alu-bus (MUL) and hilo-bus events, as the CPU would send them."""
    is_mul = ev["op"] == OP["mul"]
    alu = {"op": ev["op"][is_mul], "a": ev["a"][is_mul], "b": ev["b"][is_mul], "c": ev["lo_out"][is_mul]}
    hilo = {k: v[~is_mul] for k, v in ev.items()}
    return alu, hilo


def traces_for(ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mul rows sorted MUL first, so that row i of the alu driver is row i of the table."""
    order = np.argsort(ev["op"] != OP["mul"], kind="stable")
    ev = {k: v[order] for k, v in ev.items()}
    alu, hilo = split(ev)
    return {"mul": mul_trace(ev), "alu_driver": alu_driver_trace(alu), "hilo_driver": hilo_driver_trace(hilo)}


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, alu_driver(), hilo_driver()])


@pytest.fixture(scope="module")
def small():
    ev = mul_events([(0xFFFFFFFF, 0x80000000), (0x12345678, 0x9ABCDEF0)])
    order = np.argsort(ev["op"] != OP["mul"], kind="stable")
    ev = {k: v[order] for k, v in ev.items()}
    return ev, traces_for(ev)


def test_honest_edges_and_random(prover):
    ev = mul_events(edge_pairs(np.random.default_rng(7), 16))
    prover.prove_verify(traces_for(ev))


def test_bad_events():
    with pytest.raises(ValueError, match="operation id"):
        mul_trace({"op": [OP["div"]], "a": [1], "b": [2], "lo_out": [2]})
    with pytest.raises(ValueError, match="rows"):
        mul_trace({"op": [OP["mul"]], "a": [1, 2], "b": [2], "lo_out": [2]})


def _row(ev, op: str) -> int:
    return int(np.nonzero(ev["op"] == OP[op])[0][0])


def _forge(prover, small, edits, driver: str | None = None, driver_edits=()):
    ev, traces = small
    forged = dict(traces)
    for row, col, value in edits:
        forged["mul"] = set_cell(forged["mul"], TABLE, row, col, value)
    for row, col, value in driver_edits:
        forged[driver] = set_cell(forged[driver], next(t for t in prover.tables if t.name == driver), row, col, value)
    prover.rejects(forged, traces)


def _hilo_row(ev, op: str) -> int:
    """Row of the first ``op`` in the hilo driver (its rows follow the MUL rows)."""
    return _row(ev, op) - int(np.count_nonzero(ev["op"] == OP["mul"]))


SLOW = pytest.mark.slow


@pytest.mark.parametrize("op, word, limb", [("mul", "lo_out", 0), pytest.param("mult", "hi_out", 3, marks=SLOW),
                                            pytest.param("maddu", "lo_out", 2, marks=SLOW), ("msub", "hi_out", 1)])
def test_wrong_result_with_consistent_driver(prover, small, op, word, limb):
    ev, traces = small
    r = _row(ev, op)
    col = f"{word}{limb}"
    v = get_cell(traces["mul"], TABLE, r, col) ^ 4
    if op == "mul":
        _forge(prover, small, [(r, col, v)], "alu_driver", [(r, f"c{limb}", v)])
    else:
        _forge(prover, small, [(r, col, v)], "hilo_driver", [(_hilo_row(ev, op), col, v)])


def test_carry_moved_into_non_byte_limb(prover, small):
    """Same 64-bit value, limbs (lo0 + 256, lo1 - 1) and carry0 - 1: every chain equation
    still holds, only the byte lookup of lo_out0 catches it."""
    ev, traces = small
    rows = [r for r in np.nonzero(ev["op"] == OP["multu"])[0]
            if get_cell(traces["mul"], TABLE, r, "carry0") and get_cell(traces["mul"], TABLE, r, "lo_out1")]
    r = int(rows[0])
    lo0, lo1, c0 = (get_cell(traces["mul"], TABLE, r, n) for n in ("lo_out0", "lo_out1", "carry0"))
    hr = r - int(np.count_nonzero(ev["op"] == OP["mul"]))
    _forge(prover, small, [(r, "lo_out0", lo0 + 256), (r, "lo_out1", lo1 - 1), (r, "carry0", c0 - 1)],
           "hilo_driver", [(hr, "lo_out0", lo0 + 256), (hr, "lo_out1", lo1 - 1)])


def test_wrong_carry(prover, small):
    ev, traces = small
    r = _row(ev, "madd")
    c = get_cell(traces["mul"], TABLE, r, "carry2")
    _forge(prover, small, [(r, "carry2", c + 1)])


def test_wrong_sign_bit(prover, small):
    """(2^32 - 1) * 2^31 as if unsigned inside a signed mult: the sign lookup catches it."""
    ev, traces = small
    r = _row(ev, "mult")
    _forge(prover, small, [(r, "na", 0)])


def test_sign_bit_on_unsigned_op(prover, small):
    ev, traces = small
    r = _row(ev, "multu")
    _forge(prover, small, [(r, "na", 1)])


def test_operation_outside_the_table(prover, small):
    ev, _ = small
    _forge(prover, small, [], "hilo_driver", [(_hilo_row(ev, "mult"), "op", OP["div"])])


def test_padding_row_with_multiplicity(prover, small):
    ev, _ = small
    n = len(ev["op"])
    _forge(prover, small, [(n, "is_mult", 1)])


def test_signed_op_with_unsigned_product(prover, small):
    """A MULTU row relabelled MULT (selector and driver op): the chain is the unsigned one
    and holds; only the sign-bit lookup (a3 = 0xFF has its top bit set) rejects it."""
    ev, traces = small
    r = _row(ev, "multu")
    assert ev["a"][r] >> 31
    _forge(prover, small, [(r, "is_multu", 0), (r, "is_mult", 1)], "hilo_driver",
           [(_hilo_row(ev, "multu"), "op", OP["mult"])])


def test_sweep_random(prover):
    ev = mul_events(edge_pairs(np.random.default_rng(19), 300), seed=21)
    prover.check(traces_for(ev))
