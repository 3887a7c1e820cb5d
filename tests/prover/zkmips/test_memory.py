"""The memory argument, accesses side: the derived history, the image, honest runs, and
forged accesses (each must be named by the debug checker and refused by the verifier)."""

from __future__ import annotations

import numpy as np
import pytest

from prover.zkmips import lookup
from prover.zkmips import memory as M
from tests.prover.zkmips import memory_driver as D
from tests.prover.zkmips.memory_scenario import (
    IMAGE, KEY_POOL, REG, copy_events, history_of, rejected, scenario, verified,
)
from vm.layout import NPC, PC
from vm.memory import Memory


@pytest.fixture(scope="module")
def small():
    return scenario()


# ----------------------------------------------------------------------------- events
def test_access_events_derive_previous_initial_and_final_state():
    image = M.MemoryImage(np.array([3, 10, REG + 29]), np.array([5, 0xFFFFFFFF, 0x1000]))
    keys = np.array([3, 4, 3, 10, 3])          # not in time order: the function sorts
    ts = np.array([9, 6, 5, 7, 1])
    values = np.array([9, 0, 9, 0xFFFFFFFF, 5])
    writes = np.array([0, 0, 1, 0, 0])
    acc, cells = M.access_events(keys, ts, values, writes, image)
    assert acc["prev_value"].tolist() == [9, 0, 5, 0xFFFFFFFF, 5]
    assert acc["prev_ts"].tolist() == [5, 0, 1, 0, 0]
    assert cells["key"].tolist() == [3, 4, 10, REG + 29]
    assert cells["init"].tolist() == [5, 0, 0xFFFFFFFF, 0x1000]
    assert cells["from_image"].tolist() == [True, False, True, True]
    assert cells["final"].tolist() == [9, 0, 0xFFFFFFFF, 0x1000]
    assert cells["final_ts"].tolist() == [9, 6, 7, 0]


@pytest.mark.parametrize("change, message", [
    (lambda k, t, v, w: v.__setitem__(4, 6), "read at ts 1 returns 0x00000006 but the cell holds 0x00000005"),
    (lambda k, t, v, w: t.__setitem__(0, 5), "access at ts 5 follows ts 5"),
    (lambda k, t, v, w: t.__setitem__(4, 0), r"ts 0 is outside \[1,"),
    (lambda k, t, v, w: t.__setitem__(1, 1 << 25), "less than 2\\^24 apart"),
    (lambda k, t, v, w: k.__setitem__(1, M.KEY_LIMIT), "key 2013265920 is outside"),
    (lambda k, t, v, w: v.__setitem__(1, 1 << 32), "value 4294967296 is outside"),
])
def test_access_events_refuse_impossible_histories(change, message):
    image = M.MemoryImage(np.array([3]), np.array([5]))
    k, t, v, w = np.array([3, 4, 3, 4, 3]), np.array([9, 6, 5, 7, 1]), np.array([9, 0, 9, 0, 5]), np.array([0, 0, 1, 0, 0])
    change(k, t, v, w)
    with pytest.raises(ValueError, match=message):
        M.access_events(k, t, v, w, image)


def test_image_of_a_state_lists_every_nonzero_word_and_register():
    mem = Memory()
    mem.map_zero(0x10000, 0x3000)              # three pages, one never written
    mem.write(0x10004, (7).to_bytes(4, "little"))
    mem.write(0x12FFC, bytes([0, 0, 0, 0x80]))
    regs = np.zeros(72, np.int64)
    regs[29], regs[PC], regs[NPC] = 0x40000, 0x400000, 0x400004
    image = M.image_from_state(mem, regs)
    assert image.keys.tolist() == [0x10004 >> 2, 0x12FFC >> 2, REG + 29, REG + PC, REG + NPC]
    assert image.values.tolist() == [7, 0x80000000, 0x40000, 0x400000, 0x400004]


def test_image_digest_names_the_contents():
    values = IMAGE.values.copy()
    values[2] ^= 1
    other = M.MemoryImage(IMAGE.keys, values)
    assert M.image_digest(IMAGE) == M.image_digest(M.MemoryImage(IMAGE.keys.copy(), IMAGE.values.copy()))
    assert M.image_digest(IMAGE) != M.image_digest(other)
    with pytest.raises(ValueError, match="strictly increasing"):
        M.MemoryImage(IMAGE.keys[::-1], IMAGE.values)
    with pytest.raises(ValueError, match="non-zero"):
        M.MemoryImage(np.array([1]), np.array([0]))


# ----------------------------------------------------------------------------- honest
def test_honest_random_history_verifies(small):
    system, pk, events = small
    traces = D.all_traces(system, IMAGE, events)
    for table, columns in ((M.MEMORY_TABLE, M.MEMORY_COLUMNS), (M.GLOBAL_MEMORY_TABLE, M.GLOBAL_MEMORY_COLUMNS)):
        real = int(traces[table][:, columns.index("is_real")].sum())
        assert traces[table][:, columns.index("same_hi")].any()                     # both branches
        assert not traces[table][: real - 1, columns.index("same_hi")].all()
    assert traces[D.ACCESS_TABLE][:, D.COL["acc_gap_hi"]].any()
    verified(pk, traces)


def test_lookup_counter_agrees_on_honest_traces(small):
    """What integrators will call (``LookupCounter.add_table``) counts the same lookups."""
    system, _, events = small
    traces = D.all_traces(system, IMAGE, events)
    counter = lookup.LookupCounter()
    for table in system.tables[:4]:
        counter.add_table(table, traces[table.name], D.PUBLICS.get(table.name, ()))
    assert np.array_equal(lookup.byte_trace(counter), traces[lookup.BYTE_TABLE])
    assert np.array_equal(lookup.range16_trace(counter), traces[lookup.RANGE16_TABLE])


def test_dummy_accesses_cost_nothing(small):
    """Rows with multiplicity 0 (a CPU's unused slot) may hold any key, ts and value."""
    system, pk, events = small
    acc, _ = copy_events(events)
    dummy = {"key": 5, "ts": 3, "value": 0xABCDEF01, "is_write": False, "prev_value": 7, "prev_ts": 9}
    acc = {k: np.insert(v, [10, 20, 20], dummy[k]) for k, v in acc.items()}
    active = np.ones(acc["key"].size, dtype=bool)
    active[[10, 21, 22]] = False
    traces = D.all_traces(system, IMAGE, events, accesses=D.accesses_trace(acc, active))
    verified(pk, traces)


def test_empty_history_verifies_with_the_image_alone(small):
    system, pk, _ = small
    events = M.access_events([], [], [], [], IMAGE)
    assert events.cells["key"].tolist() == IMAGE.keys.tolist()
    verified(pk, D.all_traces(system, IMAGE, events))


# ----------------------------------------------------------------------------- forged accesses
def test_a_read_returning_a_stale_value_is_rejected(small):
    system, pk, events = small
    acc, _ = copy_events(events)
    # a read right after a write that changed the cell: it answers with the value before
    a, i = next((a, b) for k in KEY_POOL for h in [history_of(acc, k)] for a, b in zip(h[:-1], h[1:])
                if acc["is_write"][a] and not acc["is_write"][b] and acc["prev_value"][a] != acc["value"][a])
    stale = acc["prev_value"][a]
    acc["value"][i] = stale                       # the read returns the older value...
    rejected(system, pk, D.all_traces(system, IMAGE, events, accesses=D.accesses_trace(acc)), "constraint")
    acc["prev_value"][i] = stale                  # ... and claims to have received it
    rejected(system, pk, D.all_traces(system, IMAGE, events, accesses=D.accesses_trace(acc)), "mem")


def test_a_forged_read_value_is_rejected(small):
    """A read returns a value nobody wrote. Recomputing the history around it (check off)
    breaks "a read keeps the value"; claiming to have received it breaks the bus."""
    system, pk, events = small
    k, t, v, w = (events.accesses[n].copy() for n in ("key", "ts", "value", "is_write"))
    i = int(np.nonzero(~w & (events.accesses["prev_ts"] > 0))[0][0])
    v[i] ^= 0x00010000
    forged = M.access_events(k, t, v, w, IMAGE, check=False)
    rejected(system, pk, D.all_traces(system, IMAGE, forged), "constraint")
    forged.accesses["prev_value"][i] = v[i]
    rejected(system, pk, D.all_traces(system, IMAGE, forged), "mem")


def test_a_store_to_another_key_is_rejected(small):
    system, pk, events = small
    acc, _ = copy_events(events)
    i = int(np.nonzero(acc["is_write"] & (acc["key"] == 3))[0][0])
    acc["key"][i] = 4                             # the write lands elsewhere; the chain of 3 breaks
    rejected(system, pk, D.all_traces(system, IMAGE, events, accesses=D.accesses_trace(acc)), "mem")


def test_a_timestamp_going_backwards_is_rejected(small):
    """Time travel: read B returns the value of the *next* write C. The cheater reorders
    the chain as ... -> C -> B -> ..., which balances the mem bus exactly; only B's gap
    ts_B - ts_C - 1 < 0, which has no 16 + 8 bit decomposition, gives it away."""
    system, pk, events = small
    acc, cells = copy_events(events)
    b, c, d = next((h[q], h[q + 1], h[q + 2] if q + 2 < len(h) else None)
                   for key in KEY_POOL for h in [history_of(acc, key)] for q in range(len(h) - 1)
                   if not acc["is_write"][h[q]] and acc["is_write"][h[q + 1]]
                   and acc["value"][h[q + 1]] != acc["value"][h[q]])
    vc, tb, tc = acc["value"][c], acc["ts"][b], acc["ts"][c]
    acc["prev_value"][c], acc["prev_ts"][c] = acc["prev_value"][b], acc["prev_ts"][b]
    acc["prev_value"][b], acc["prev_ts"][b], acc["value"][b] = vc, tc, vc
    if d is not None:
        acc["prev_value"][d], acc["prev_ts"][d] = vc, tb
    else:
        row = np.searchsorted(cells["key"], acc["key"][b])
        cells["final"][row], cells["final_ts"][row] = vc, tb
    traces = D.all_traces(system, IMAGE, events, memory=D.segment_memory_trace(cells),
                          global_memory=D.global_memory_trace(IMAGE, cells), accesses=D.accesses_trace(acc))
    rejected(system, pk, traces, "byte")


