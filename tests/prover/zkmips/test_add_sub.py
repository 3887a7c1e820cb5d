"""The AddSub table: honest ADDU/SUBU/ADD/SUB rows (the VM computes every result, and
refuses the overflowing ADD/SUB) prove and verify; every forged witness is rejected."""

from __future__ import annotations

import numpy as np
import pytest

import vm
from prover.zkmips.add_sub import OPS, TABLE_NAME, add_sub_trace, build_add_sub
from prover.field import P
from prover.zkmips.heights import table_height
from tests.prover.zkmips.alua_harness import constraint_of, forge_rejected, sweep_pairs, unbalanced
from tests.prover.zkmips.alub_harness import (RD, RS, RT, Prover, alu_driver, alu_driver_trace, edge_pairs, get_cell,
                                              run_one, set_cell)
from tests.vm.mips_asm import encode
from vm.isa import OP

TABLE = build_add_sub()
MNEMONICS = ("addu", "subu", "add", "sub")


def vm_events(pairs, mnemonics=MNEMONICS) -> tuple[dict[str, np.ndarray], list[tuple[str, int, int]]]:
    """Run every mnemonic on every pair on the VM: the events of the steps it completes,
    and the (mnemonic, a, b) it refuses (signed overflow)."""
    ev: dict[str, list[int]] = {"op": [], "a": [], "b": [], "c": []}
    refused = []
    for mn in mnemonics:
        word = encode(mn, RD, RS, RT)
        for a, b in pairs:
            try:
                c = run_one(word, rs=a, rt=b).get_reg(RD)
            except vm.InstructionError:
                refused.append((mn, a, b))
                continue
            for key, v in zip(("op", "a", "b", "c"), (OP[mn], a, b, c)):
                ev[key].append(v)
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}, refused


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, alu_driver()])


def _traces(ev) -> dict[str, np.ndarray]:
    return {TABLE_NAME: add_sub_trace(ev), "alu_driver": alu_driver_trace(ev)}


SMALL_PAIRS = [(0x7FFFFFFF, 1), (0x80000000, 1), (0x1234FFFF, 0x0000FF01), (5, 7), (0xFFFFFFFF, 0xFFFFFFFF)]


@pytest.fixture(scope="module")
def small():
    ev, _ = vm_events(SMALL_PAIRS)
    return ev, _traces(ev)


def test_honest_edges_and_random(prover):
    ev, refused = vm_events(edge_pairs(np.random.default_rng(7), 40))
    assert {mn for mn, _, _ in refused} == {"add", "sub"}  # the VM refuses overflow only there
    assert len(ev["op"]) > 300
    prover.prove_verify(_traces(ev))


def test_padding_rows_are_zero(small):
    ev, traces = small
    n = len(ev["op"])
    assert traces[TABLE_NAME].shape[0] == table_height(len(ev["op"])) and not traces[TABLE_NAME][n:].any()


def test_bad_events():
    with pytest.raises(ValueError, match="operation id 18 is not one of"):
        add_sub_trace({"op": [OP["slt"]], "a": [1], "b": [2], "c": [0]})
    with pytest.raises(ValueError, match="outside"):
        add_sub_trace({"op": [OP["addu"]], "a": [1 << 32], "b": [2], "c": [3]})
    with pytest.raises(ValueError, match="missing array 'c'"):
        add_sub_trace({"op": [OP["addu"]], "a": [1], "b": [2]})


def _row(ev, mnemonic: str, a: int, b: int) -> int:
    return int(np.nonzero((ev["op"] == OP[mnemonic]) & (ev["a"] == a) & (ev["b"] == b))[0][0])


def test_wrong_result_with_consistent_driver(prover, small):
    ev, traces = small
    r = _row(ev, "addu", 5, 7)
    forge_rejected(prover, traces, constraint_of(TABLE, "c0"), add_sub=[(r, "c0", 13)], alu_driver=[(r, "c0", 13)])


def test_wrong_low_carry(prover, small):
    ev, traces = small
    r = _row(ev, "addu", 0x1234FFFF, 0x0000FF01)     # the low halves carry: deny it
    forge_rejected(prover, traces, constraint_of(TABLE, "carry_lo"), add_sub=[(r, "carry_lo", 0)])


def test_non_boolean_carry(prover, small):
    """5 - 7 = 0xfffffffe checked as c + 7 = 5: a low carry of 2 balances with c1 + 256 and
    c2 - 1, so the received word is the same integer, with a non-byte limb."""
    ev, traces = small
    r = _row(ev, "subu", 5, 7)
    c1, c2 = (get_cell(traces[TABLE_NAME], TABLE, r, f"c{i}") for i in (1, 2))
    cells = [(r, "c1", c1 + 256), (r, "c2", c2 - 1)]
    forge_rejected(prover, traces, constraint_of(TABLE, "carry_lo"), add_sub=cells + [(r, "carry_lo", 2)],
                   alu_driver=cells)


def test_non_byte_limbs_of_the_right_value(prover, small):
    """c0 + 256, c1 - 1: the same integer, a non-canonical word for the CPU; only the
    range check of c can tell."""
    ev, traces = small
    r = _row(ev, "addu", 0x1234FFFF, 0x0000FF01)
    c0, c1 = (get_cell(traces[TABLE_NAME], TABLE, r, f"c{i}") for i in (0, 1))
    assert c1 >= 1
    cells = [(r, "c0", c0 + 256), (r, "c1", c1 - 1)]
    forge_rejected(prover, traces, unbalanced("byte"), add_sub=cells, alu_driver=cells)


@pytest.mark.parametrize("mnemonic, a, b", [("add", 0x7FFFFFFF, 1), ("add", 0x80000000, 0xFFFFFFFF),
                                            ("sub", 0x80000000, 1), ("sub", 0x7FFFFFFF, 0xFFFFFFFF)])
def test_signed_overflow_is_rejected(prover, mnemonic, a, b):
    """The VM refuses these; the unsigned result with honest carries and signs must not prove."""
    _, refused = vm_events([(a, b)], (mnemonic,))
    assert refused == [(mnemonic, a, b)]
    unsigned, _ = vm_events([(a, b)], (mnemonic + "u",))
    forged = _traces({**unsigned, "op": np.array([OP[mnemonic]])})
    forge_rejected(prover, _traces(unsigned), constraint_of(TABLE, "sign_c"), forged)


def test_signed_overflow_hidden_by_a_wrong_sign_bit(prover):
    """0x7fffffff + 1 with sign_c claimed 0 (so k1 - sa - sb + sc = 0): the sign lookup fails."""
    ev, _ = vm_events([(0x7FFFFFFF, 1)], ("addu",))
    forged = _traces({**ev, "op": np.array([OP["add"]])})
    forged[TABLE_NAME] = set_cell(forged[TABLE_NAME], TABLE, 0, "sign_c", 0)
    forge_rejected(prover, _traces(ev), unbalanced("byte"), forged)


def test_op_outside_the_table(prover, small):
    ev, traces = small
    r = _row(ev, "addu", 5, 7)
    forge_rejected(prover, traces, unbalanced("alu"), alu_driver=[(r, "op", OP["slt"])])


def test_two_selectors_on_one_row(prover, small):
    ev, traces = small
    r = _row(ev, "addu", 5, 7)
    forge_rejected(prover, traces, constraint_of(TABLE, "is_subu"), add_sub=[(r, "is_subu", 1)],
                   alu_driver=[(r, "op", OP["addu"] + OP["subu"])])


def test_selector_scaled_to_another_op(prover, small):
    """is_addu = SLTU / ADDU in the field makes the received op SLTU: booleanity stops it."""
    ev, traces = small
    r = _row(ev, "addu", 5, 7)
    scale = OP["sltu"] * pow(OP["addu"], P - 2, P) % P
    forge_rejected(prover, traces, constraint_of(TABLE, "is_addu"), add_sub=[(r, "is_addu", scale)],
                   alu_driver=[(r, "op", OP["sltu"])])


def test_add_row_relabelled_as_sub(prover, small):
    """An ADDU row relabelled SUBU (driver agrees) is a wrong subtraction."""
    ev, traces = small
    r = _row(ev, "addu", 5, 7)
    forge_rejected(prover, traces, constraint_of(TABLE, "c0"), add_sub=[(r, "is_addu", 0), (r, "is_subu", 1)],
                   alu_driver=[(r, "op", OP["subu"])])


def test_padding_row_receiving_an_unsent_tuple(prover, small):
    ev, traces = small
    n = len(ev["op"])
    forge_rejected(prover, traces, unbalanced("alu"), add_sub=[(n, "is_addu", 1)])  # 0 + 0 = 0, never sent


def test_ops_map_matches_the_spec():
    assert set(OPS.values()) == {OP[m] for m in MNEMONICS}


@pytest.mark.slow
def test_large_sweep(prover):
    """Every op on ~1500 pairs: random words, and words made of edge bytes."""
    ev, _ = vm_events(sweep_pairs())
    prover.prove_verify(_traces(ev))
