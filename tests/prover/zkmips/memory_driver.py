"""Test scaffolding for the memory argument: an "Accesses" table playing the CPU, lookup
multiplicities that tolerate forged witnesses, and accesses derived from a real guest run.

The Accesses table does per access what the CPU will do per operand slot, through
``memory.memory_access``: receive the cell's previous (value, ts) on ``mem``, send the
new (value, ts), check ``ts - prev_ts - 1 in [0, 2^24)`` (range16 + byte), keep the value
on reads; and it range-checks the limbs it produces.
"""

from __future__ import annotations

import numpy as np

from prover.air import System, Table, bus_tally
from prover.zkmips import lookup
from prover.zkmips import memory as M
from prover.zkmips.spec import BUS_BYTE, BUS_RANGE16, BYTE_RANGE, REGISTER_KEY_BASE, range_check_bytes
from vm import isa
from vm.executor import Executor
from vm.layout import HI, LO, LLBIT, META_CODE_BASE, NPC, PC
from vm.memory import Memory

ACCESS_TABLE = "accesses"
ACCESS_COLUMNS = ("key", "ts", "is_write", "is_real", "v0", "v1", "v2", "v3",
                  *(f"acc_{c}" for c in M.ACCESS_WITNESS))
COL = {name: i for i, name in enumerate(ACCESS_COLUMNS)}


def build_accesses() -> Table:
    """One access per row through :func:`memory.memory_access`; the driver produces the
    values it writes, so it range-checks their limbs (paired with the gap's high byte)."""
    t = Table(ACCESS_TABLE)
    key, ts, write, real, *v = t.mains(*ACCESS_COLUMNS[:8])
    t.assert_bool(real)
    t.assert_bool(write)
    acc = M.memory_access(t, "acc", key, v, ts, write, real, check_gap_hi=False)
    range_check_bytes(t, [*v, acc.gap_hi], real)
    return t


def accesses_trace(acc: dict[str, np.ndarray], active: np.ndarray | None = None) -> np.ndarray:
    """One row per access (``active``: which are real; the others are dummies, like a
    CPU's unused operand slot)."""
    n = acc["key"].size
    active = np.ones(n, dtype=bool) if active is None else active
    out = np.zeros((M.table_height(n), len(ACCESS_COLUMNS)), dtype=np.uint32)
    out[:n, COL["key"]] = acc["key"]
    out[:n, COL["ts"]] = acc["ts"]
    out[:n, COL["is_write"]] = acc["is_write"]
    out[:n, COL["is_real"]] = active
    out[:n, COL["v0"]: COL["v3"] + 1] = M.word_limbs_array(acc["value"])
    out[:n, COL["acc_prev0"]:] = M.access_witness(acc, active)
    return out


#: The memory tables' public values: the (only) segment is number 1.
PUBLICS = {M.MEMORY_TABLE: [1]}


def memory_tables(image: M.MemoryImage) -> list[Table]:
    """The memory argument of a whole run in one proof: the Image table, the segment's
    MemoryInit/Final and the global MemoryInit/Final (the ``gmem`` bus closed between them)."""
    return [M.build_image(image), M.build_memory(), M.build_global_memory()]


def memory_system(image: M.MemoryImage) -> System:
    return System([*memory_tables(image), build_accesses(), lookup.build_byte(), lookup.build_range16()])


def segment_cells(cells: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The segment's MemoryInit/Final rows from :func:`memory.access_events`' ``cells``:
    the touched cells (as the machine lists them), each first listed here (prev_seg 0)."""
    touched = np.asarray(cells["final_ts"]) > 0
    out = {k: np.asarray(v)[touched] for k, v in cells.items()}
    out["prev_seg"] = np.zeros(int(touched.sum()), np.int64)
    return out


def segment_memory_trace(cells: dict[str, np.ndarray], *, check: bool = True) -> np.ndarray:
    """The segment's MemoryInit/Final trace (:func:`segment_cells`)."""
    return M.memory_trace(segment_cells(cells), check=check)


def global_memory_trace(image: M.MemoryImage, cells: dict[str, np.ndarray], *, check: bool = True) -> np.ndarray:
    """The global MemoryInit/Final trace from ``cells`` (every cell, touched or in the
    image): final values as the segment leaves them, final_seg 1 for a touched cell."""
    touched = np.asarray(cells["final_ts"]) > 0
    return M.global_memory_trace(cells["key"], image, cells["final"], touched.astype(np.int64), check=check)


def lookup_traces(system: System, traces: dict[str, np.ndarray],
                  publics: dict[str, list[int]] | None = None) -> dict[str, np.ndarray]:
    """Byte and Range16 multiplicities for every in-range lookup the tables send. Lookups
    of values the tables do not hold are left uncounted (they leave the bus unbalanced,
    which is what forged-witness tests want the verifier to see)."""
    publics = PUBLICS if publics is None else publics
    counter = lookup.LookupCounter()
    for t in system.tables:
        if t.name in (lookup.BYTE_TABLE, lookup.RANGE16_TABLE):
            continue
        for bus, (keys, mults) in bus_tally(t, traces[t.name], publics.get(t.name, ())).items():
            send = mults > 0
            if bus == BUS_RANGE16:
                ok = send & (keys[:, 0] < lookup.RANGE16_ROWS)
                counter.add_range16(keys[ok, 0], mults[ok])
            elif bus == BUS_BYTE:
                ok = send & (keys[:, 0] == BYTE_RANGE) & (keys[:, 1] < 256) & (keys[:, 2] < 256) & (keys[:, 3] == 0)
                counter.add_byte(BYTE_RANGE, keys[ok, 1], keys[ok, 2], mults[ok])
    return {lookup.BYTE_TABLE: lookup.byte_trace(counter), lookup.RANGE16_TABLE: lookup.range16_trace(counter)}


def all_traces(system: System, image: M.MemoryImage, events: M.MemoryEvents,
               memory: np.ndarray | None = None, accesses: np.ndarray | None = None,
               global_memory: np.ndarray | None = None) -> dict[str, np.ndarray]:
    traces = {M.IMAGE_TABLE: M.image_trace(image),
              M.MEMORY_TABLE: segment_memory_trace(events.cells) if memory is None else memory,
              M.GLOBAL_MEMORY_TABLE: global_memory_trace(image, events.cells) if global_memory is None
              else global_memory,
              ACCESS_TABLE: accesses_trace(events.accesses) if accesses is None else accesses}
    traces.update(lookup_traces(system, traces))
    return traces


# ----------------------------------------------------------------------------- a real guest
def guest_accesses(executor: Executor, max_cycles: int) -> tuple[np.ndarray, ...]:
    """Run ``executor`` one cycle at a time and list its register/memory accesses as
    (key, ts, value, is_write), ts = 4 (cycle + 1) + slot.

    The VM is the oracle: which cells an instruction touches comes from its trace row
    and ``vm.isa.OPERANDS``; values come from the machine state before and after the
    cycle (reads) or the trace row (memory). Slots: 0 rs / HI, 1 rt / LO, 2 memory or
    rd read (movz/movn), 3 writes. State changes the flags do not name (syscall results,
    the LL bit, FPU moves, TLS) become writes in slot 3 (memory: slot 2), found by
    comparing the state before and after. Reads nobody declares (FPU sources, the
    syscall's arguments) are left out: fewer reads keep the history honest."""
    keys: list[int] = []
    tss: list[int] = []
    vals: list[int] = []
    writes: list[bool] = []

    def add(key: int, ts: int, value: int, is_write: bool) -> None:
        keys.append(key)
        tss.append(ts)
        vals.append(int(value) & M.MASK32)
        writes.append(is_write)

    row = np.zeros((1, 12), dtype=np.int64)
    base = int(executor.meta[META_CODE_BASE])
    for cycle in range(max_cycles):
        if executor.halted:
            break
        before = executor.regs.copy()
        pc = int(before[PC])
        peek = int(executor.code_ops[(pc - base) >> 2])
        mem_before = executor.memory.copy() if peek == isa.OP_SYSCALL else None
        executor.run(1, trace=row)
        after = executor.regs
        _, _, w, op, rs_v, rt_v, _, _, addr, mem_v, _, _ = (int(x) for x in row[0])
        assert rs_v == before[(w >> 21) & 31] and rt_v == before[(w >> 16) & 31]
        flags = int(isa.OPERANDS[op])
        rs, rt, rd = (w >> 21) & 31, (w >> 16) & 31, (w >> 11) & 31
        ts = 4 * (cycle + 1)
        reg = REGISTER_KEY_BASE
        if flags & isa.READS_RS:
            add(reg + rs, ts, before[rs], False)
        if flags & isa.READS_RT:
            add(reg + rt, ts + 1, before[rt], False)
        if flags & isa.READS_HI:
            add(reg + HI, ts, before[HI], False)
        if flags & isa.READS_LO:
            add(reg + LO, ts + 1, before[LO], False)
        if flags & isa.READS_RD:
            add(reg + rd, ts + 2, before[rd], False)
        if flags & (isa.LOADS | isa.STORES):
            stored = bool(flags & isa.STORES) and not (op == isa.OP_SC and before[LLBIT] == 0)
            add(addr >> 2, ts + 2, mem_v, stored)
            if op in (isa.OP_LDC1, isa.OP_SDC1):
                add((addr >> 2) + 1, ts + 2, executor.memory.read_u32(addr + 4), stored)
        written = set()
        for flag, index in ((isa.WRITES_RD, rd), (isa.WRITES_RT, rt), (isa.WRITES_RA, 31),
                            (isa.WRITES_HI, HI), (isa.WRITES_LO, LO)):
            if flags & flag and index != 0:
                written.add(index)
        written.update(int(i) for i in np.nonzero(after != before)[0] if i not in (PC, NPC))
        for index in sorted(written):
            add(reg + index, ts + 3, after[index], True)
        if mem_before is not None:
            for key, value in _changed_words(mem_before, executor.memory):
                add(key, ts + 2, value, True)
    return (np.array(keys, np.int64), np.array(tss, np.int64), np.array(vals, np.int64),
            np.array(writes, bool))


def _changed_words(before: Memory, after: Memory) -> list[tuple[int, int]]:
    out = []
    for page in np.nonzero((before.ptab >= 0) | (after.ptab >= 0))[0]:
        def words(m: Memory) -> np.ndarray:
            slot = int(m.ptab[page])
            return m.pages[slot] if slot >= 0 else np.zeros(1024, np.uint32)
        old, new = words(before), words(after)
        for i in np.nonzero(old != new)[0]:
            out.append(((int(page) << 10) + int(i), int(new[i])))
    return out

