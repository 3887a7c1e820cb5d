"""The memory argument, MemoryInit/Final and Image side: every way of initialising a cell
other than from the image (or 0 for a fresh one), or twice, is rejected.

A whole run in one proof has two MemoryInit/Final tables (prover.zkmips.memory): the
segment's (``memory``: the cells it touches, chained on ``mem`` to its accesses) and the
global one (``memory_global``: every image or touched cell, fed by the Image table), joined
on ``gmem``. A cheater forging a cell's start must keep ``gmem`` balanced, so the forged
rows below go into whichever of the two tables the lie needs."""

from __future__ import annotations

import numpy as np
import pytest

from prover import field
from prover.air import ConstraintError, bus_tally, check_constraints
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


def _traces(system, events, claimed: M.MemoryImage = IMAGE, *, segment=None, global_memory=None, accesses=None):
    """Every trace for ``events``, the global table filled as if ``claimed`` were the
    image (the Image table itself always sends the real IMAGE)."""
    if global_memory is None:
        global_memory = D.global_memory_trace(claimed, events.cells)
    return D.all_traces(system, IMAGE, events, memory=segment, global_memory=global_memory, accesses=accesses)


def _range16_sends(system, traces, table: str) -> set[int]:
    t = next(t for t in system.tables if t.name == table)
    keys, mults = bus_tally(t, traces[table], D.PUBLICS.get(table, ()))["range16"]
    return set(keys[mults > 0, 0].tolist())


def _second_chain(events, key: int) -> tuple[dict[str, np.ndarray], int]:
    """The honest accesses plus a final read of ``key`` returning 0 as if the cell had
    just been initialised (prev = (0, 0)): it needs a second Init row for ``key``."""
    acc, _ = copy_events(events)
    assert events.cells["final"][events.cells["key"] == key][0] != 0      # so reading 0 is a lie
    ts = int(acc["ts"].max()) + 5
    extra = {"key": key, "ts": ts, "value": 0, "is_write": False, "prev_value": 0, "prev_ts": 0}
    return {k: np.append(v, extra[k]) for k, v in acc.items()}, ts


def test_a_key_initialised_twice_is_rejected(small):
    """Two chains for cell 4: the honest one, and a second one starting at 0 again. The
    second needs a row in both MemoryInit/Final tables (its gmem tuples: received from the
    global table, sent back to it), so every bus but range16 balances: only the key order
    (diff = -1, in both tables) catches it."""
    system, pk, events = small
    acc, ts = _second_chain(events, 4)
    _, cells = copy_events(events)
    at = int(np.searchsorted(cells["key"], 4)) + 1
    cells = _insert(cells, at, key=4, init=0, from_image=False, final=0, final_ts=ts)
    traces = _traces(system, events, segment=D.segment_memory_trace(cells, check=False),
                     global_memory=D.global_memory_trace(IMAGE, cells, check=False), accesses=D.accesses_trace(acc))
    for table in (M.MEMORY_TABLE, M.GLOBAL_MEMORY_TABLE):
        assert field.P - 1 in _range16_sends(system, traces, table), table
    rejected(system, pk, traces, "range16")
    for table, columns, keys in ((M.MEMORY_TABLE, M.MEMORY_COLUMNS, D.segment_cells(cells)["key"]),
                                 (M.GLOBAL_MEMORY_TABLE, M.GLOBAL_MEMORY_COLUMNS, cells["key"])):
        mem = traces[table]
        row = int(np.argmax(keys == 4))           # the first of the two rows of cell 4
        mem[row, columns.index("same_hi")] = 0    # the other branch: key_hi' - key_hi - 1 = -1
        assert mem[row, columns.index("diff")] == field.P - 1
    rejected(system, pk, traces, "range16")


def test_an_image_cell_listed_twice_in_the_global_table_is_rejected(small):
    """Image cell 3 (0xFFFFFFFF) gets two global rows: one takes the image entry and
    hands nothing on (final = init, final_seg 0: its gmem tuples cancel), the other starts
    the cell at 0 for the segment. The segment's own rows are those of a run in which 3
    started at 0; every bus but range16 balances: only the global key order catches it."""
    system, pk, events = small
    forged = _restarted(events, 3, None)
    cells = {k: v.copy() for k, v in forged.cells.items()}
    at = int(np.searchsorted(cells["key"], 3))
    cells = _insert(cells, at, key=3, init=0xFFFFFFFF, from_image=True, final=0xFFFFFFFF, final_ts=0)
    glob = M.global_memory_trace(cells["key"], IMAGE, cells["final"], (cells["final_ts"] > 0).astype(np.int64),
                                 check=False)
    col = M.GLOBAL_MEMORY_COLUMNS.index
    glob[at + 1, col("from_image")] = 0          # the second row: a fresh cell at 0
    glob[at + 1, col("init0"): col("init3") + 1] = 0
    traces = _traces(system, forged, global_memory=glob)
    assert field.P - 1 in _range16_sends(system, traces, M.GLOBAL_MEMORY_TABLE)
    assert field.P - 1 not in _range16_sends(system, traces, M.MEMORY_TABLE)
    rejected(system, pk, traces, "range16")


def test_a_segment_continuing_itself_is_rejected(small):
    """Image cell 3 (0xFFFFFFFF) only read by the segment, every read returning
    0x12345678: the segment's row says the cell comes from segment 1 (itself, prev_seg =
    seg), so its gmem receive and send are the same tuple and cancel; the global row keeps
    the image value and hands nothing on (final_seg 0). Every bus but range16 balances:
    only prev_seg < seg (seg - prev_seg - 1 in range16) catches it."""
    system, pk, events = small
    k, t, v, w = (events.accesses[n].copy() for n in ("key", "ts", "value", "is_write"))
    mine = k == 3
    assert mine.any()
    w[mine], v[mine] = False, 0x12345678
    forged = M.access_events(k, t, v, w, _image_with(3, 0x12345678))      # consistent from that start
    cells = D.segment_cells(forged.cells)
    cells["prev_seg"][int(np.searchsorted(cells["key"], 3))] = 1
    final, final_seg = forged.cells["final"].copy(), (forged.cells["final_ts"] > 0).astype(np.int64)
    at = int(np.searchsorted(forged.cells["key"], 3))
    final[at], final_seg[at] = 0xFFFFFFFF, 0
    glob = M.global_memory_trace(forged.cells["key"], IMAGE, final, final_seg)
    traces = _traces(system, forged, segment=M.memory_trace(cells), global_memory=glob)
    assert field.P - 1 in _range16_sends(system, traces, M.MEMORY_TABLE)
    rejected(system, pk, traces, "range16")


def test_a_key_aliased_beyond_p_is_rejected(small):
    """The second chain of cell 4 initialised by rows (in both MemoryInit/Final tables)
    with the limbs of 4 + p (key_hi = KEY_HI_LIMIT): they sort after every key yet are
    the same field element."""
    system, pk, events = small
    acc, ts = _second_chain(events, 4)
    alias = 4 + field.P
    assert alias >> 16 == M.KEY_HI_LIMIT and events.cells["key"][-1] >> 16 == M.KEY_HI_LIMIT - 1
    seg = D.segment_memory_trace(events.cells)
    glob = D.global_memory_trace(IMAGE, events.cells)
    for mem, columns, last in ((seg, M.MEMORY_COLUMNS, "final_ts"), (glob, M.GLOBAL_MEMORY_COLUMNS, "final_seg")):
        col = columns.index
        n = int(mem[:, col("is_real")].sum())
        mem[n, [col("key_lo"), col("key_hi"), col("is_real"), col(last)]] = [alias & 0xFFFF, alias >> 16, 1,
                                                                               ts if last == "final_ts" else 1]
        mem[n - 1, [col("same_hi"), col("diff")]] = [0, 0]
    traces = _traces(system, events, segment=seg, global_memory=glob, accesses=D.accesses_trace(acc))
    rejected(system, pk, traces, "range16")


def test_an_image_word_initialised_with_another_value_is_rejected(small):
    """Cell 3 claimed to start at 0x12345678: the global row receives that from the image."""
    system, pk, events = small
    forged = _restarted(events, 3, 0x12345678)
    rejected(system, pk, _traces(system, forged, _image_with(3, 0x12345678)), "image")


def test_an_image_cell_started_at_zero_is_rejected(small):
    """The top cell (image value 0xDEADBEEF) claimed as a fresh cell: init 0, not from the image."""
    system, pk, events = small
    forged = _restarted(events, M.KEY_LIMIT - 1, None)
    assert not forged.cells["from_image"][forged.cells["key"] == M.KEY_LIMIT - 1].any()
    rejected(system, pk, _traces(system, forged, _image_with(M.KEY_LIMIT - 1, None)), "image")


def test_a_skipped_image_entry_is_rejected(small):
    """An image cell nobody touches left out of the global table (the segment's never lists it)."""
    system, pk, events = small
    _, cells = copy_events(events)
    keep = cells["key"] != (1 << 29)
    assert not keep.all()
    assert (1 << 29) not in D.segment_cells(cells)["key"]
    cells = {k: v[keep] for k, v in cells.items()}
    rejected(system, pk, _traces(system, events, global_memory=D.global_memory_trace(IMAGE, cells, check=False)),
             "image")


def test_image_entry_received_by_a_padding_row_is_rejected(small):
    """The cheater starts image cell 3 (0xFFFFFFFF) at 0 and swallows its image entry in a
    padding row of the global table (no gmem send there): every bus balances, only
    from_image => is_real catches it."""
    system, pk, events = small
    claimed = _image_with(3, None)
    forged = _restarted(events, 3, None)
    glob = D.global_memory_trace(claimed, forged.cells)
    n = len(forged.cells["key"])
    col = M.GLOBAL_MEMORY_COLUMNS.index
    assert glob.shape[0] > n and glob[n, col("is_real")] == 0
    glob[n, [col("key_lo"), col("from_image"), col("init0"), col("init1"), col("init2"), col("init3")]] = \
        [3, 1, 0xFF, 0xFF, 0xFF, 0xFF]
    rejected(system, pk, _traces(system, forged, global_memory=glob), "constraint")


def test_a_fresh_cell_with_a_nonzero_initial_value_is_rejected(small):
    """Cell 0 started at 0x77 as if that were in the image, but not received from it."""
    system, pk, events = small
    claimed = _image_with(0, 0x77)
    forged = _restarted(events, 0, 0x77)
    glob = D.global_memory_trace(claimed, forged.cells)
    col = M.GLOBAL_MEMORY_COLUMNS.index
    row = int(np.searchsorted(forged.cells["key"], 0))
    assert glob[row, col("key_lo")] == 0 and glob[row, col("from_image")] == 1 and glob[row, col("init0")] == 0x77
    glob[row, col("from_image")] = 0
    rejected(system, pk, _traces(system, forged, global_memory=glob), "constraint")


@pytest.mark.parametrize("hidden_in", [M.MEMORY_TABLE, M.GLOBAL_MEMORY_TABLE])
def test_a_real_row_after_padding_is_rejected(small, hidden_in):
    """The second chain of cell 4 initialised by real rows hidden behind a padding row
    (in both tables, to keep gmem balanced), whose ordering witness is made to look fine:
    only "real rows form a prefix" catches it. ``hidden_in``: the table whose hidden row
    is checked first (the other's is honest-looking in every other respect too)."""
    system, pk, events = small
    acc, ts = _second_chain(events, 4)
    seg = D.segment_memory_trace(events.cells)
    glob = D.global_memory_trace(IMAGE, events.cells)
    out = {}
    for name, mem, columns, last, value in ((M.MEMORY_TABLE, seg, M.MEMORY_COLUMNS, "final_ts", ts),
                                            (M.GLOBAL_MEMORY_TABLE, glob, M.GLOBAL_MEMORY_COLUMNS, "final_seg", 1)):
        mem = np.vstack([mem, np.zeros_like(mem)])  # any height will do: room for the hidden row
        col = columns.index
        n = int(mem[:, col("is_real")].sum())
        mem[n, [col("same_hi"), col("diff")]] = [1, 3]              # padding key 0 -> 4
        mem[n + 1, [col("key_lo"), col("is_real"), col(last)]] = [4, 1, value]
        out[name] = mem
    traces = _traces(system, events, segment=out[M.MEMORY_TABLE], global_memory=out[M.GLOBAL_MEMORY_TABLE],
                     accesses=D.accesses_trace(acc))
    with pytest.raises(ConstraintError, match=f"table {hidden_in}: constraint"):
        table = next(t for t in system.tables if t.name == hidden_in)
        check_constraints(table, traces[hidden_in], D.PUBLICS.get(hidden_in, ()))
    rejected(system, pk, traces, "constraint")


@pytest.mark.parametrize("table, columns", [(M.MEMORY_TABLE, M.MEMORY_COLUMNS),
                                            (M.GLOBAL_MEMORY_TABLE, M.GLOBAL_MEMORY_COLUMNS)])
def test_a_wrong_order_witness_is_rejected(small, table, columns):
    system, pk, events = small
    traces = D.all_traces(system, IMAGE, events)
    mem = traces[table]
    col = columns.index
    i = int(np.nonzero(mem[:, col("same_hi")] == 0)[0][0])     # a row whose successor changes key_hi
    mem[i, col("same_hi")] = 1
    traces.update(D.lookup_traces(system, traces))
    with pytest.raises(ConstraintError, match=f"table {table}: constraint"):
        check_constraints(next(t for t in system.tables if t.name == table), mem, D.PUBLICS.get(table, ()))
    rejected(system, pk, traces, "constraint")


def test_the_image_table_main_column_is_pinned(small):
    system, pk, events = small
    traces = D.all_traces(system, IMAGE, events)
    traces[M.IMAGE_TABLE][0, 0] = 1
    rejected(system, pk, traces, "constraint")
