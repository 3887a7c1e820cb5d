"""The Shift table: honest shifts (the VM computes every result) prove and verify; every
kind of forged witness is rejected by the verifier."""

from __future__ import annotations

import numpy as np
import pytest

from prover.zkmips.shift import build_shift, shift_trace
from prover.zkmips.heights import table_height
from tests.prover.zkmips.alub_harness import (RD, RS, RT, Prover, alu_driver, alu_driver_trace, edge_pairs, get_cell,
                                              run_one, set_cell)
from tests.vm.mips_asm import encode
from vm.isa import OP

TABLE = build_shift()
VARIABLE = ("sllv", "srlv", "srav", "rotrv")
IMMEDIATE = ("sll", "srl", "sra", "rotr")


def shift_events(pairs, amounts=range(32)) -> dict[str, np.ndarray]:
    """Every op on every pair (variable forms: b is the whole rs word), plus the immediate
    forms for each amount on the first pairs; results from the VM."""
    ev = {"op": [], "a": [], "b": [], "c": []}

    def add(mnemonic: str, word: int, a: int, b: int, rs: int) -> None:
        ev["op"].append(OP[mnemonic.rstrip("v")])
        ev["a"].append(a)
        ev["b"].append(b)
        ev["c"].append(run_one(word, rs=rs, rt=a).get_reg(RD))

    for a, b in pairs:
        for mn in VARIABLE:
            add(mn, encode(mn, RD, RT, RS), a, b, b)
    for i, sa in enumerate(amounts):
        a = pairs[i % len(pairs)][0]
        for mn in IMMEDIATE:
            add(mn, encode(mn, RD, RT, sa), a, sa, 0)
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, alu_driver()])


@pytest.fixture(scope="module")
def small():
    """A few rows for the forgeries: a = 0 and negative a, every op."""
    ev = shift_events([(0, 3), (0x80000000, 13), (0x12345678, 0xFFFFFFE9)], amounts=(0, 9))
    return ev, {"shift": shift_trace(ev), "alu_driver": alu_driver_trace(ev)}


def test_honest_edges_and_random(prover):
    ev = shift_events(edge_pairs(np.random.default_rng(5), 24))
    assert len(ev["op"]) > 400
    prover.prove_verify({"shift": shift_trace(ev), "alu_driver": alu_driver_trace(ev)})


def test_padding_rows_are_zero(small):
    ev, traces = small
    tr = traces["shift"]
    n = len(ev["op"])
    assert tr.shape[0] == table_height(n) and not tr[n:, TABLE.main_names.index("is_sll")].any()


def test_bad_events():
    with pytest.raises(ValueError, match="operation id"):
        shift_trace({"op": [OP["addu"]], "a": [1], "b": [2], "c": [3]})
    with pytest.raises(ValueError, match="outside"):
        shift_trace({"op": [OP["sll"]], "a": [1 << 32], "b": [2], "c": [3]})
    with pytest.raises(ValueError, match="missing"):
        shift_trace({"op": [OP["sll"]], "a": [1], "b": [2]})


def _row(ev, op: str, a: int | None = None) -> int:
    rows = np.nonzero((ev["op"] == OP[op]) & ((ev["a"] == a) if a is not None else True))[0]
    return int(rows[0])


def _forge(prover, small, edits, driver_edits=()):
    ev, traces = small
    sh, dr = traces["shift"], traces["alu_driver"]
    for row, col, value in edits:
        sh = set_cell(sh, TABLE, row, col, value)
    for row, col, value in driver_edits:
        dr = set_cell(dr, prover.tables[1], row, col, value)
    prover.rejects({"shift": sh, "alu_driver": dr}, traces)


def test_wrong_result_with_consistent_driver(prover, small):
    ev, traces = small
    r = _row(ev, "sra", 0x80000000)
    c1 = get_cell(traces["shift"], TABLE, r, "c1")
    _forge(prover, small, [(r, "c1", c1 ^ 1)], [(r, "c1", c1 ^ 1)])


def test_wrong_amount_bits(prover, small):
    ev, traces = small
    r = _row(ev, "sll", 0x12345678)            # b0 = 0xE9: bit 0 cleared, b0 no longer matches
    _forge(prover, small, [(r, "bit0", 0)])


def test_byte_shift_selector_disagrees_with_bits(prover, small):
    ev, traces = small
    r = _row(ev, "srl", 0)                     # a = 0: every output is 0 whatever k says
    k = [get_cell(traces["shift"], TABLE, r, f"k{i}") for i in range(4)]
    _forge(prover, small, [(r, f"k{i}", k[(i + 1) % 4]) for i in range(4)])


def test_multiplier_not_a_power_of_the_amount(prover, small):
    ev, _ = small
    r = _row(ev, "srl", 0)                     # a = 0: lo = hi = 0 for any m
    _forge(prover, small, [(r, "m", 7)])


def test_power_of_two_column(prover, small):
    ev, _ = small
    r = _row(ev, "sll", 0)
    _forge(prover, small, [(r, "pw", 5), (r, "m", 5)])


def test_split_with_non_byte_limbs(prover, small):
    ev, traces = small
    r = _row(ev, "sll", 0x12345678)
    lo, hi = (get_cell(traces["shift"], TABLE, r, n) for n in ("lo1", "hi1"))
    _forge(prover, small, [(r, "lo1", lo + 256), (r, "hi1", hi - 1)])


def test_wrong_intermediate_word(prover, small):
    ev, traces = small
    r = _row(ev, "sll", 0x80000000)            # sllv by b = 13: j = 5, k = 1
    w0 = get_cell(traces["shift"], TABLE, r, "w0")
    c = [get_cell(traces["shift"], TABLE, r, f"c{i}") for i in range(4)]
    k = [get_cell(traces["shift"], TABLE, r, f"k{i}") for i in range(4)]
    j = k.index(1)                              # c_j = w_0 for sll by j bytes
    _forge(prover, small, [(r, "w0", w0 + 1), (r, f"c{j}", c[j] + 1)], [(r, f"c{j}", c[j] + 1)])


def test_wrong_sign_bit(prover, small):
    ev, _ = small
    r = _row(ev, "srl", 0x80000000)            # sign is unused by srl: only its lookup checks it
    _forge(prover, small, [(r, "sign", 0)])


def test_two_operations_on_one_row(prover, small):
    ev, _ = small
    r = _row(ev, "sll", 0)
    _forge(prover, small, [(r, "is_srl", 1)], [(r, "op", OP["sll"] + OP["srl"])])


def test_operation_outside_the_table(prover, small):
    ev, _ = small
    r = _row(ev, "sll", 0)
    _forge(prover, small, [], [(r, "op", OP["addu"])])


def test_padding_row_with_multiplicity(prover, small):
    ev, traces = small
    n = len(ev["op"])
    _forge(prover, small, [(n, "is_sll", 1), (n, "m", 1)])


def test_sweep_every_amount(prover):
    """Every amount 0..31 (immediate forms) and random full-word b (variable forms) on many
    random words: the honest trace satisfies every constraint and bus (debug checker)."""
    rng = np.random.default_rng(17)
    ev = shift_events(edge_pairs(rng, 400), amounts=list(range(32)) * 8)
    prover.check({"shift": shift_trace(ev), "alu_driver": alu_driver_trace(ev)})
