"""The Lt table: honest SLT/SLTU rows (the VM computes every result) prove and verify; every
forged witness is rejected, for the reason the test names."""

from __future__ import annotations

import numpy as np
import pytest

from prover.zkmips.lt import OPS, TABLE_NAME, build_lt, lt_trace
from prover.zkmips.heights import table_height
from tests.prover.zkmips.alua_harness import (constraint_of, forge_rejected, register_op_events, sweep_pairs,
                                              unbalanced)
from tests.prover.zkmips.alub_harness import Prover, alu_driver, alu_driver_trace, edge_pairs, get_cell
from vm.isa import OP

TABLE = build_lt()
MNEMONICS = ("slt", "sltu")


def vm_events(pairs, mnemonics=MNEMONICS) -> dict[str, np.ndarray]:
    return register_op_events(pairs, mnemonics)


def _traces(ev) -> dict[str, np.ndarray]:
    return {TABLE_NAME: lt_trace(ev), "alu_driver": alu_driver_trace(ev)}


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, alu_driver()])


SMALL_PAIRS = [(0x80000000, 1), (5, 7), (7, 5), (0xFFFFFFFF, 0), (3, 3)]


@pytest.fixture(scope="module")
def small():
    ev = vm_events(SMALL_PAIRS)
    return ev, _traces(ev)


def _row(ev, mnemonic: str, a: int, b: int) -> int:
    return int(np.nonzero((ev["op"] == OP[mnemonic]) & (ev["a"] == a) & (ev["b"] == b))[0][0])


def test_honest_edges_and_random(prover):
    pairs = edge_pairs(np.random.default_rng(13), 60)
    pairs += [(b, a) for a, b in pairs[:64]] + [(a, a) for a, _ in pairs[:16]]
    ev = vm_events(pairs)
    assert len(ev["op"]) > 300 and 0 < ev["c"].sum() < len(ev["c"])
    prover.prove_verify(_traces(ev))


def test_signed_and_unsigned_differ_where_the_vm_says(small):
    ev, _ = small
    assert ev["c"][_row(ev, "slt", 0x80000000, 1)] == 1 and ev["c"][_row(ev, "sltu", 0x80000000, 1)] == 0


def test_padding_rows_are_zero(small):
    ev, traces = small
    assert traces[TABLE_NAME].shape[0] == table_height(len(ev["op"])) and not traces[TABLE_NAME][len(ev["op"]):].any()


def test_bad_events():
    with pytest.raises(ValueError, match="operation id 11 is not one of"):
        lt_trace({"op": [OP["addu"]], "a": [1], "b": [2], "c": [3]})
    with pytest.raises(ValueError, match="result 2 is not 0 or 1"):
        lt_trace({"op": [OP["slt"]], "a": [1], "b": [2], "c": [2]})


@pytest.mark.parametrize("mnemonic, a, b", [("sltu", 5, 7), ("slt", 0x80000000, 1), ("slt", 3, 3)])
def test_flipped_result_with_consistent_driver(prover, small, mnemonic, a, b):
    ev, traces = small
    r = _row(ev, mnemonic, a, b)
    flipped = 1 - get_cell(traces[TABLE_NAME], TABLE, r, "lt")
    forge_rejected(prover, traces, constraint_of(TABLE, "lt"), lt=[(r, "lt", flipped)], alu_driver=[(r, "c0", flipped)])


def test_flipped_result_balanced_by_a_non_byte_difference(prover, small):
    """7 < 5 claimed: d + 5 = 7 + 2^32 holds with d3 = 256 (d is 2 + 2^32)."""
    ev, traces = small
    r = _row(ev, "sltu", 7, 5)
    forge_rejected(prover, traces, unbalanced("byte"), lt=[(r, "lt", 1), (r, "d3", 256)], alu_driver=[(r, "c0", 1)])


def test_non_boolean_result(prover, small):
    ev, traces = small
    r = _row(ev, "sltu", 7, 5)
    forge_rejected(prover, traces, constraint_of(TABLE, "lt"), lt=[(r, "lt", 2), (r, "d3", 512)],
                   alu_driver=[(r, "c0", 2)])


def test_wrong_sign_bit(prover, small):
    """slt 0x80000000, 1 with sign_a = 0: a is read as 2^31 + 2^31, the adder balances
    with d = 0x7fffffff and lt = 0; only the sign lookup (2 * 0x80 - 0 = 256) fails."""
    ev, traces = small
    r = _row(ev, "slt", 0x80000000, 1)
    d = [0xFF, 0xFF, 0xFF, 0x7F]
    cells = [(r, "sign_a", 0), (r, "lt", 0), (r, "carry_lo", 1)] + [(r, f"d{i}", v) for i, v in enumerate(d)]
    forge_rejected(prover, traces, unbalanced("byte"), lt=cells, alu_driver=[(r, "c0", 0)])


def test_unsigned_answer_on_a_signed_row(prover):
    """SLT 0x80000000, 1 answered as SLTU would (0), driver agreeing."""
    honest = vm_events([(0x80000000, 1)], ("slt",))
    forged = _traces({**honest, "c": np.array([0])})
    forge_rejected(prover, _traces(honest), constraint_of(TABLE, "lt"), forged)


def test_result_word_with_high_limbs(prover, small):
    """The received c is [lt, 0, 0, 0]: a driver claiming c1 = 1 finds no receiver."""
    ev, traces = small
    forge_rejected(prover, traces, unbalanced("alu"), alu_driver=[(_row(ev, "sltu", 5, 7), "c1", 1)])


def test_op_outside_the_table(prover, small):
    ev, traces = small
    forge_rejected(prover, traces, unbalanced("alu"), alu_driver=[(_row(ev, "sltu", 5, 7), "op", OP["subu"])])


def test_two_selectors_on_one_row(prover, small):
    ev, traces = small
    r = _row(ev, "sltu", 5, 7)                     # both orders agree here: only booleanity can object
    forge_rejected(prover, traces, constraint_of(TABLE, "is_slt"), lt=[(r, "is_slt", 1)],
                   alu_driver=[(r, "op", OP["slt"] + OP["sltu"])])


def test_padding_row_receiving_an_unsent_tuple(prover, small):
    ev, traces = small
    forge_rejected(prover, traces, unbalanced("alu"), lt=[(len(ev["op"]), "is_sltu", 1)])


def test_ops_map_matches_the_spec():
    assert set(OPS.values()) == {OP[m] for m in MNEMONICS}


@pytest.mark.slow
def test_large_sweep(prover):
    """Every op on ~1500 pairs: random words, and words made of edge bytes."""
    ev = vm_events(sweep_pairs())
    prover.prove_verify(_traces(ev))
