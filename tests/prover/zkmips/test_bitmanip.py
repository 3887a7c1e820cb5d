"""The BitManip table (with the Shift table it sends its shifts to): honest operations
(results from the VM) prove and verify; forged witnesses are rejected."""

from __future__ import annotations

import numpy as np
import pytest

from prover.zkmips.bitmanip import bitmanip_shift_events, bitmanip_trace, build_bitmanip
from prover.zkmips.shift import build_shift, shift_trace
from tests.prover.zkmips.alub_harness import (EDGES, RD, RS, RT, Prover, alu_driver, alu_driver_trace, get_cell,
                                              run_one, set_cell)
from tests.vm.mips_asm import encode
from vm.isa import OP

TABLE = build_bitmanip()
SHIFT = build_shift()


def bitmanip_events(values, fields) -> dict[str, np.ndarray]:
    """Every unary op on each value; EXT and INS for each (pos, size) in ``fields`` on
    rotating values. Results from the VM."""
    ev = {k: [] for k in ("op", "a", "b", "c", "aux")}

    def add(mn, a, b, c, aux=0):
        for k, v in zip(ev, (OP[mn], a, b, c, aux)):
            ev[k].append(v)

    for x in values:
        for mn in ("clz", "clo"):
            add(mn, x, 0, run_one(encode(mn, RD, RS), rs=x).get_reg(RD))
        for mn in ("seb", "seh", "wsbh"):
            add(mn, x, 0, run_one(encode(mn, RD, RT), rt=x).get_reg(RD))
    for i, (pos, size) in enumerate(fields):
        x, old = values[i % len(values)], values[(3 * i + 1) % len(values)]
        add("ext", x, 0, run_one(encode("ext", RD, RS, pos, size), rs=x).get_reg(RD), pos + 32 * size)
        add("ins", x, old, run_one(encode("ins", RT, RS, pos, size), rs=x, rt=old).get_reg(RT),
            pos + 32 * (pos + size - 1))
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}


def traces_for(ev):
    return {"bitmanip": bitmanip_trace(ev), "shift": shift_trace(bitmanip_shift_events(ev)),
            "alu_driver": alu_driver_trace(ev)}


FIELDS = [(0, 1), (0, 32), (31, 1), (0, 8), (8, 8), (4, 16), (16, 16), (1, 31), (5, 3), (13, 19), (30, 2)]


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, SHIFT, alu_driver()])


@pytest.fixture(scope="module")
def small():
    ev = bitmanip_events([0, 0x80, 0xFFFF8001, 0x00F0F000, 0xFFFFFFFF], [(4, 8), (0, 32), (3, 29)])
    return ev, traces_for(ev)


def test_honest_edges_and_random(prover):
    rng = np.random.default_rng(13)
    values = list(EDGES) + [int(v) for v in rng.integers(0, 1 << 32, 12)] + [1 << i for i in range(0, 32, 3)]
    fields = FIELDS + [(int(p), int(rng.integers(1, 33 - p))) for p in rng.integers(0, 32, 12)]
    prover.prove_verify(traces_for(bitmanip_events(values, fields)))


def test_bad_events():
    with pytest.raises(ValueError, match="operation id"):
        bitmanip_trace({"op": [OP["sll"]], "a": [1], "b": [2], "c": [3]})
    with pytest.raises(ValueError, match="bit field"):
        bitmanip_trace({"op": [OP["ext"]], "a": [1], "b": [2], "c": [3], "aux": [20 + 32 * 20]})


def _row(ev, op: str, a: int) -> int:
    return int(np.nonzero((ev["op"] == OP[op]) & (ev["a"] == a))[0][0])


def _forge(prover, small, edits, driver_edits=(), shift=None):
    ev, traces = small
    forged = dict(traces)
    for row, col, value in edits:
        forged["bitmanip"] = set_cell(forged["bitmanip"], TABLE, row, col, value)
    for row, col, value in driver_edits:
        forged["alu_driver"] = set_cell(forged["alu_driver"], prover.tables[2], row, col, value)
    if shift is not None:
        forged["shift"] = shift
    prover.rejects(forged, traces)


def _claim(prover, small, row: int, c: int):
    """Claim result ``c`` on ``row`` with every helper witness (shift rows included)
    recomputed by the honest builders: only the table's constraints can object."""
    ev, traces = small
    forged_ev = {k: v.copy() for k, v in ev.items()}
    forged_ev["c"][row] = c
    try:
        forged = traces_for(forged_ev)
    except ValueError:                      # e.g. no shift amount for that clz: keep the honest shifts
        forged = {**traces, "bitmanip": bitmanip_trace(forged_ev), "alu_driver": alu_driver_trace(forged_ev)}
    prover.rejects(forged, traces)


SLOW = pytest.mark.slow


@pytest.mark.parametrize("op, a, c", [("clz", 0x00F0F000, 9), pytest.param("clz", 0x00F0F000, 7, marks=SLOW),
                                      pytest.param("clz", 0, 31, marks=SLOW), ("clo", 0xFFFF8001, 32),
                                      ("seb", 0x80, 0x80), pytest.param("seh", 0xFFFF8001, 0x8001, marks=SLOW),
                                      ("wsbh", 0x00F0F000, 0x00F0F000)])
def test_wrong_result(prover, small, op, a, c):
    ev, _ = small
    _claim(prover, small, _row(ev, op, a), c)


def test_wrong_ext_and_ins_results(prover, small):
    ev, traces = small
    for op in ("ext", "ins"):
        row = int(np.nonzero(ev["op"] == OP[op])[0][0])
        c0 = get_cell(traces["bitmanip"], TABLE, row, "c0")
        _forge(prover, small, [(row, "c0", c0 ^ 1)], [(row, "c0", c0 ^ 1)])


def test_zero_flag_on_non_zero_operand(prover, small):
    """clz(0x80) = 24 claimed as 32 with the zero flag (no shift row needed)."""
    ev, traces = small
    row = _row(ev, "clz", 0x80)
    _forge(prover, small, [(row, "is_zero", 1), (row, "c0", 32)], [(row, "c0", 32)],
           shift=shift_trace(bitmanip_shift_events({**ev, "c": np.where(np.arange(len(ev["c"])) == row, 32, ev["c"])})))


def test_lsb_not_below_32(prover, small):
    """ext with aux = 4 + 32 * 8 read as lsb = 36, high = 7 (since 36 + 32 * 7 = aux)."""
    ev, _ = small
    row = int(np.nonzero(ev["op"] == OP["ext"])[0][0])
    _forge(prover, small, [(row, "lsb", 36)])


def test_wrong_sign_bit(prover, small):
    ev, _ = small
    row = _row(ev, "seb", 0x00F0F000)
    _forge(prover, small, [(row, "sign", 1)])


def test_operation_outside_the_table(prover, small):
    ev, _ = small
    _forge(prover, small, [], [(_row(ev, "wsbh", 0x80), "op", OP["sll"])])


def test_padding_row_with_multiplicity(prover, small):
    ev, _ = small
    _forge(prover, small, [(len(ev["op"]), "is_wsbh", 1)])


def test_sweep_every_field(prover):
    """Every (pos, size) of EXT and INS, and the unary ops on random words (debug checker)."""
    rng = np.random.default_rng(29)
    values = [int(v) for v in rng.integers(0, 1 << 32, 64)] + [(1 << i) - 1 for i in range(33)]
    fields = [(p, s) for p in range(32) for s in range(1, 33 - p)]
    prover.check(traces_for(bitmanip_events(values, fields)))
