"""The memory argument, MemoryInit/Final and Image side: every way of initialising a cell
other than from the image (or 0 for a fresh one), or twice, is rejected."""

from __future__ import annotations

import numpy as np
import pytest

from prover import field
from prover.zkmips import memory as M
from tests.prover.zkmips import memory_driver as D
from tests.prover.zkmips.memory_scenario import IMAGE, copy_events, rejected, scenario


@pytest.fixture(scope="module")
def small():
    return scenario()


# ----------------------------------------------------------------------------- forged Init/Final
def _insert(cells, at: int, **row) -> dict[str, np.ndarray]:
    return {k: np.insert(v, at, row[k]) for k, v in cells.items()}


def _image_with(key: int, value: int | None) -> M.MemoryImage:
    """IMAGE with ``key`` set to ``value`` (None: removed)."""
    table = dict(zip(IMAGE.keys.tolist(), IMAGE.values.tolist()))
    table.pop(key, None)
    if value is not None:
        table[key] = value
    keys = sorted(table)
    return M.MemoryImage(np.array(keys), np.array([table[k] for k in keys]))


def _restarted(events, key: int, value: int | None) -> M.MemoryEvents:
    """The honest history, except that ``key`` starts at ``value`` (None: 0, no image
    entry): the reads before its first write return that value. Consistent in every
    other respect (checked)."""
    k, t, v, w = (events.accesses[n].copy() for n in ("key", "ts", "value", "is_write"))
    early = (k == key) & (t < t[(k == key) & w].min())
    assert early.any()                            # some read really sees the forged start
    v[early] = 0 if value is None else value
    return M.access_events(k, t, v, w, _image_with(key, value), check=True)


def _second_chain(events, key: int) -> tuple[dict[str, np.ndarray], int]:
    """The honest accesses plus a final read of ``key`` returning 0 as if the cell had
    just been initialised (prev = (0, 0)): it needs a second Init row for ``key``."""
    acc, _ = copy_events(events)
    assert events.cells["final"][events.cells["key"] == key][0] != 0      # so reading 0 is a lie
    ts = int(acc["ts"].max()) + 5
    extra = {"key": key, "ts": ts, "value": 0, "is_write": False, "prev_value": 0, "prev_ts": 0}
    return {k: np.append(v, extra[k]) for k, v in acc.items()}, ts


def test_a_key_initialised_twice_is_rejected(small):
    """Two chains for cell 4: the honest one, and a second one starting at 0 again.
    Every bus but range16 balances: only the key order (diff = -1) catches it."""
    system, pk, events = small
    acc, ts = _second_chain(events, 4)
    _, cells = copy_events(events)
    at = int(np.searchsorted(cells["key"], 4)) + 1
    cells = _insert(cells, at, key=4, init=0, from_image=False, final=0, final_ts=ts)
    traces = D.all_traces(system, IMAGE, events, memory=M.memory_trace(cells, check=False),
                          accesses=D.accesses_trace(acc))
    rejected(system, pk, traces, "range16")
    mem = traces[M.MEMORY_TABLE]
    col = M.MEMORY_COLUMNS.index
    mem[at - 1, col("same_hi")] = 0               # the other branch: key_hi' - key_hi - 1 = -1
    assert mem[at - 1, col("diff")] == field.P - 1
    rejected(system, pk, traces, "range16")


def test_a_key_aliased_beyond_p_is_rejected(small):
    """The second chain of cell 4 initialised by a row with the limbs of 4 + p
    (key_hi = KEY_HI_LIMIT): it sorts after every key yet is the same field element."""
    system, pk, events = small
    acc, ts = _second_chain(events, 4)
    n = len(events.cells["key"])
    mem = M.memory_trace(events.cells)
    col = M.MEMORY_COLUMNS.index
    alias = 4 + field.P
    assert alias >> 16 == M.KEY_HI_LIMIT and events.cells["key"][-1] >> 16 == M.KEY_HI_LIMIT - 1
    mem[n, [col("key_lo"), col("key_hi"), col("is_real"), col("final_ts")]] = [alias & 0xFFFF, alias >> 16, 1, ts]
    mem[n - 1, [col("same_hi"), col("diff")]] = [0, 0]
    traces = D.all_traces(system, IMAGE, events, memory=mem, accesses=D.accesses_trace(acc))
    rejected(system, pk, traces, "range16")


def test_an_image_word_initialised_with_another_value_is_rejected(small):
    system, pk, events = small
    forged = _restarted(events, 3, 0x12345678)
    rejected(system, pk, D.all_traces(system, IMAGE, forged), "image")


def test_an_image_cell_started_at_zero_is_rejected(small):
    """The top cell (image value 0xDEADBEEF) claimed as a fresh cell: init 0, not from the image."""
    system, pk, events = small
    forged = _restarted(events, M.KEY_LIMIT - 1, None)
    assert not forged.cells["from_image"][forged.cells["key"] == M.KEY_LIMIT - 1].any()
    rejected(system, pk, D.all_traces(system, IMAGE, forged), "image")


def test_a_skipped_image_entry_is_rejected(small):
    system, pk, events = small
    _, cells = copy_events(events)
    keep = cells["key"] != (1 << 29)              # an image cell nobody touches
    assert not keep.all()
    cells = {k: v[keep] for k, v in cells.items()}
    rejected(system, pk, D.all_traces(system, IMAGE, events, memory=M.memory_trace(cells)), "image")


def test_image_entry_received_by_a_padding_row_is_rejected(small):
    """The cheater starts image cell 3 (0xFFFFFFFF) at 0 and swallows its image entry in a
    padding row (no mem send there): both buses balance, only from_image => is_real catches it."""
    system, pk, events = small
    forged = _restarted(events, 3, None)
    mem = M.memory_trace(forged.cells)
    n = len(forged.cells["key"])
    col = M.MEMORY_COLUMNS.index
    mem[n, [col("key_lo"), col("from_image"), col("init0"), col("init1"), col("init2"), col("init3")]] = \
        [3, 1, 0xFF, 0xFF, 0xFF, 0xFF]
    rejected(system, pk, D.all_traces(system, IMAGE, forged, memory=mem), "constraint")


def test_a_fresh_cell_with_a_nonzero_initial_value_is_rejected(small):
    system, pk, events = small
    forged = _restarted(events, 0, 0x77)          # as if 0 -> 0x77 were in the image...
    cells = forged.cells
    cells["from_image"] = cells["from_image"] & (cells["key"] != 0)   # ... but it is not received from it
    rejected(system, pk, D.all_traces(system, IMAGE, forged, memory=M.memory_trace(cells)), "constraint")


def test_a_real_row_after_padding_is_rejected(small):
    """The second chain of cell 4 initialised by a real row hidden behind a padding row,
    whose ordering witness is made to look fine: only "real rows form a prefix" catches it."""
    system, pk, events = small
    acc, ts = _second_chain(events, 4)
    mem = M.memory_trace(events.cells)
    mem = np.vstack([mem, np.zeros_like(mem)])    # any height will do: room for the hidden row
    n = len(events.cells["key"])
    col = M.MEMORY_COLUMNS.index
    mem[n, [col("same_hi"), col("diff")]] = [1, 3]              # padding key 0 -> 4
    mem[n + 1, [col("key_lo"), col("is_real"), col("final_ts")]] = [4, 1, ts]
    rejected(system, pk, D.all_traces(system, IMAGE, events, memory=mem, accesses=D.accesses_trace(acc)),
              "constraint")


def test_a_wrong_order_witness_is_rejected(small):
    system, pk, events = small
    traces = D.all_traces(system, IMAGE, events)
    mem = traces[M.MEMORY_TABLE]
    col = M.MEMORY_COLUMNS.index
    i = int(np.nonzero(mem[:, col("same_hi")] == 0)[0][0])     # a row whose successor changes key_hi
    mem[i, col("same_hi")] = 1
    traces.update(D.lookup_traces(system, traces))
    rejected(system, pk, traces, "constraint")


def test_the_image_table_main_column_is_pinned(small):
    system, pk, events = small
    traces = D.all_traces(system, IMAGE, events)
    traces[M.IMAGE_TABLE][0, 0] = 1
    rejected(system, pk, traces, "constraint")
