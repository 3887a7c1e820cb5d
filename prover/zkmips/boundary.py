"""The Boundary table: a segment's program counter enters from memory and leaves to it.

The pc and next pc are state-vector registers (``vm.layout.PC``/``NPC``), hence memory
cells like the GPRs: the image holds the entry point, and each segment's end state is the
next segment's start through the global memory bus (docs/segments.md). So no pc is a
public value: a receipt does not reveal where the program was at a segment's edge.

One real row (padded to the minimum height):

* reads the PC and NPC cells at timestamp 1 (before the first cycle's ``8 + slot``) into
  ``pc0``/``npc0`` and sends ``(0, pc0, npc0, 0)`` on ``boundary``: the CPU's first row
  receives it as its ``pc``/``next_pc``;
* receives ``(1, pc1, npc1, clk)`` from the CPU's last real row (the state after it) and
  writes ``pc1``/``npc1`` to the cells at ``8 (clk + 1)``, after every access of the
  segment.

Values are four byte limbs; the table range-checks the limbs it writes and bounds every
top limb below ``0x78`` so ``b0 + 2^8 b1 + 2^16 b2 + 2^24 b3`` is the word exactly (below
p): the field value the CPU uses is the word in memory.
"""

from __future__ import annotations

import numpy as np

from prover.air import Table
from prover.expr import lift
from prover.zkmips import memory as M
from prover.zkmips.heights import table_height
from prover.zkmips.spec import (BUS_BOUNDARY, BUS_BYTE, BYTE_RANGE, REGISTER_KEY_BASE, TS_PER_CYCLE,
                                range_check_bytes, word_value)
from vm.layout import NPC, PC

TABLE_NAME = "boundary"
WORDS = ("pc0", "npc0", "pc1", "npc1")
#: The bound on a word's top limb that keeps its field value exact (as the CPU's).
TOP_LIMB_LIMIT = 0x78
#: Timestamp of the start reads (the first cycle's accesses are at 8 + slot).
START_TS = 1


def build_boundary() -> Table:
    t = Table(TABLE_NAME)
    is_real, clk = t.mains("is_real", "clk")
    w = {n: t.mains(*(f"{n}_{j}" for j in range(4))) for n in WORDS}
    t.assert_bool(is_real)
    t.when_first(is_real - 1)
    t.when_transition(is_real.next)
    end_ts = (lift(clk) + 1) * TS_PER_CYCLE
    accesses = [M.memory_access(t, "acc_pc0", REGISTER_KEY_BASE + PC, w["pc0"], START_TS, 0, is_real),
                M.memory_access(t, "acc_npc0", REGISTER_KEY_BASE + NPC, w["npc0"], START_TS, 0, is_real),
                M.memory_access(t, "acc_pc1", REGISTER_KEY_BASE + PC, w["pc1"], end_ts, 1, is_real),
                M.memory_access(t, "acc_npc1", REGISTER_KEY_BASE + NPC, w["npc1"], end_ts, 1, is_real)]
    del accesses
    range_check_bytes(t, [*w["pc1"], *w["npc1"]], is_real)
    for n in WORDS:
        t.send(BUS_BYTE, [BYTE_RANGE, w[n][3] + (256 - TOP_LIMB_LIMIT), 0, 0], is_real)
    t.send(BUS_BOUNDARY, [0, word_value(w["pc0"]), word_value(w["npc0"]), 0], is_real)
    t.receive(BUS_BOUNDARY, [1, word_value(w["pc1"]), word_value(w["npc1"]), clk], is_real)
    return t


def boundary_accesses(start: tuple[int, int], end: tuple[int, int], cycles: int) -> dict[str, np.ndarray]:
    """The table's four accesses (key, ts, value, is_write), in the order of its slots."""
    end_ts = (cycles + 1) * TS_PER_CYCLE
    return {"key": np.array([REGISTER_KEY_BASE + PC, REGISTER_KEY_BASE + NPC] * 2, np.int64),
            "ts": np.array([START_TS, START_TS, end_ts, end_ts], np.int64),
            "value": np.array([start[0], start[1], end[0], end[1]], np.int64),
            "is_write": np.array([False, False, True, True])}


def boundary_trace(accesses: dict[str, np.ndarray], cycles: int) -> np.ndarray:
    """The trace from :func:`boundary_accesses` with their derived prev_value/prev_ts."""
    t = build_boundary()
    col = {n: i for i, n in enumerate(t.main_names)}
    out = np.zeros((table_height(1), len(col)), np.uint32)
    out[0, col["is_real"]] = 1
    out[0, col["clk"]] = cycles
    limbs = M.word_limbs_array(accesses["value"])
    for i, n in enumerate(WORDS):
        for j in range(4):
            out[0, col[f"{n}_{j}"]] = limbs[i, j]
    wit = M.access_witness(accesses)
    for i, n in enumerate(("acc_pc0", "acc_npc0", "acc_pc1", "acc_npc1")):
        for j, c in enumerate(M.ACCESS_WITNESS):
            out[0, col[f"{n}_{c}"]] = wit[i, j]
    return out
