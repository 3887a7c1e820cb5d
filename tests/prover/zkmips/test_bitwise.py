"""The Bitwise table: honest AND/OR/XOR/NOR rows (the VM computes every result) prove and
verify; every forged witness is rejected, for the reason the test names."""

from __future__ import annotations

import numpy as np
import pytest

from prover.field import P
from prover.zkmips.bitwise import OPS, TABLE_NAME, bitwise_trace, build_bitwise
from prover.zkmips.heights import table_height
from tests.prover.zkmips.alua_harness import (constraint_of, forge_rejected, register_op_events, sweep_pairs,
                                              unbalanced)
from tests.prover.zkmips.alub_harness import Prover, alu_driver, alu_driver_trace, edge_pairs, get_cell
from vm.isa import OP

TABLE = build_bitwise()
MNEMONICS = ("and", "or", "xor", "nor")


def vm_events(pairs, mnemonics=MNEMONICS) -> dict[str, np.ndarray]:
    return register_op_events(pairs, mnemonics)


def _traces(ev) -> dict[str, np.ndarray]:
    return {TABLE_NAME: bitwise_trace(ev), "alu_driver": alu_driver_trace(ev)}


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, alu_driver()])


@pytest.fixture(scope="module")
def small():
    ev = vm_events([(0xF0F0F0F0, 0x0FF00FF0), (0x12345678, 0xFFFFFFFF), (0, 0x80000001)])
    return ev, _traces(ev)


def _row(ev, mnemonic: str, a: int) -> int:
    return int(np.nonzero((ev["op"] == OP[mnemonic]) & (ev["a"] == a))[0][0])


def test_honest_edges_and_random(prover):
    ev = vm_events(edge_pairs(np.random.default_rng(11), 40))
    assert len(ev["op"]) > 300
    prover.prove_verify(_traces(ev))


def test_padding_rows_are_zero(small):
    ev, traces = small
    assert traces[TABLE_NAME].shape[0] == table_height(len(ev["op"])) and not traces[TABLE_NAME][len(ev["op"]):].any()


def test_bad_events():
    with pytest.raises(ValueError, match="operation id 11 is not one of"):
        bitwise_trace({"op": [OP["addu"]], "a": [1], "b": [2], "c": [3]})
    with pytest.raises(ValueError, match="must be a 1-d integer array"):
        bitwise_trace({"op": [OP["and"]], "a": [1.0], "b": [2], "c": [0]})


@pytest.mark.parametrize("mnemonic", MNEMONICS)
def test_wrong_result_with_consistent_driver(prover, small, mnemonic):
    ev, traces = small
    r = _row(ev, mnemonic, 0xF0F0F0F0)
    c2 = get_cell(traces[TABLE_NAME], TABLE, r, "c2")
    cells = [(r, "c2", c2 ^ 0x10)]
    forge_rejected(prover, traces, unbalanced("byte"), bitwise=cells, alu_driver=cells)


def test_nor_without_the_complement(prover, small):
    """A NOR row claiming c = a | b (the OR lookup it makes would hold for z = c)."""
    ev, traces = small
    r = _row(ev, "nor", 0xF0F0F0F0)
    cells = [(r, f"c{i}", 255 - get_cell(traces[TABLE_NAME], TABLE, r, f"c{i}")) for i in range(4)]
    forge_rejected(prover, traces, unbalanced("byte"), bitwise=cells, alu_driver=cells)


def test_and_row_relabelled_as_or(prover, small):
    ev, traces = small
    r = _row(ev, "and", 0xF0F0F0F0)
    forge_rejected(prover, traces, unbalanced("byte"), bitwise=[(r, "is_and", 0), (r, "is_or", 1)],
                   alu_driver=[(r, "op", OP["or"])])


def test_non_byte_operand_limbs(prover, small):
    """a0 + 256, a1 - 1: the same integer; the Byte table has no row for a0 + 256."""
    ev, traces = small
    r = _row(ev, "xor", 0x12345678)
    a0, a1 = (get_cell(traces[TABLE_NAME], TABLE, r, f"a{i}") for i in (0, 1))
    cells = [(r, "a0", a0 + 256), (r, "a1", a1 - 1)]
    forge_rejected(prover, traces, unbalanced("byte"), bitwise=cells, alu_driver=cells)


def test_op_outside_the_table(prover, small):
    ev, traces = small
    forge_rejected(prover, traces, unbalanced("alu"), alu_driver=[(_row(ev, "and", 0), "op", OP["addu"])])


def test_two_selectors_on_one_row(prover, small):
    """AND and XOR at once: kind 2, op and + xor; the boolean sum stops it."""
    ev, traces = small
    r = _row(ev, "and", 0)                  # a = 0: a & b = 0, and c = b = a ^ b is what XOR needs
    forge_rejected(prover, traces, constraint_of(TABLE, "is_xor"), bitwise=[(r, "is_xor", 1)],
                   alu_driver=[(r, "op", OP["and"] + OP["xor"])])


def test_selector_scaled_to_another_op(prover, small):
    ev, traces = small
    r = _row(ev, "or", 0)
    scale = OP["addu"] * pow(OP["or"], P - 2, P) % P
    forge_rejected(prover, traces, constraint_of(TABLE, "is_or"), bitwise=[(r, "is_or", scale)],
                   alu_driver=[(r, "op", OP["addu"])])


def test_padding_row_receiving_an_unsent_tuple(prover, small):
    ev, traces = small
    forge_rejected(prover, traces, unbalanced("alu"), bitwise=[(len(ev["op"]), "is_and", 1)])


def test_ops_map_matches_the_spec():
    assert set(OPS.values()) == {OP[m] for m in MNEMONICS}


@pytest.mark.slow
def test_large_sweep(prover):
    """Every op on ~1500 pairs: random words, and words made of edge bytes."""
    ev = vm_events(sweep_pairs())
    prover.prove_verify(_traces(ev))
