"""The ``syscall_io`` table: one row per guest-memory word a transfer moves bytes through,
a link of the ``sysio`` chain a header or kernel-table row starts. Why one row per word
and not per byte, and why the chain is one path, is in the package docstring
(:mod:`prover.zkmips.syscall`)."""

from __future__ import annotations

from prover.air import Table
from prover.expr import Expr, lift
from prover.zkmips import memory as M
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL, BUS_RANGE16, SLOT_MEMORY, range_check_bytes
from prover.zkmips.syscall.cells import (
    BUS_BLOB, BUS_PRIVATE, BUS_SYSIO, IO_TABLE, KIND_BLOB, KIND_CMP, KIND_JOURNAL, KIND_PRIVATE, KIND_PUBLIC,
)

IO_FLAGS = ("k_pub", "k_priv", "k_jour", "k_blob", "k_cmp")
IO_KINDS = (KIND_PUBLIC, KIND_PRIVATE, KIND_JOURNAL, KIND_BLOB, KIND_CMP)


def build_syscall_io() -> Table:
    """One row per guest word a transfer moves bytes through: a link of the ``sysio``
    chain its header (or kernel-table) row starts (package docstring). Kinds: public and
    private input (memory written at ``ts + SLOT_MEMORY``), journal (memory read there),
    kernel blob (memory written there, bytes looked up in the blob table) and compare
    (memory read at ``ts + SLOT_MEMORY - 1``, bytes looked up in the blob table: a path
    argument must equal a fixed string)."""
    t = Table(IO_TABLE)
    real, ts = t.mains("is_real", "ts")
    k_pub, k_priv, k_jour, k_blob, k_cmp = t.mains(*IO_FLAGS)
    wkey, wk_lo, wk_hi, rem, pos, last = t.mains("wkey", "wk_lo", "wk_hi", "rem", "pos", "last")
    first = t.mains("f0", "f1", "f2", "f3")
    end = t.mains("e0", "e1", "e2", "e3")
    w = t.mains("w0", "w1", "w2", "w3")
    t.assert_bool(real)
    for x in (k_pub, k_priv, k_jour, k_blob, k_cmp, last, *first, *end):
        t.assert_bool(x)
    t.assert_zero(k_pub + k_priv + k_jour + k_blob + k_cmp - real)
    t.assert_zero(sum(first[1:], lift(first[0])) - real)
    t.assert_zero(sum(end[1:], lift(end[0])) - real)
    # the selected bytes: a contiguous run from the first flag to the last flag
    sel: list[Expr] = []
    for j in range(4):
        s = sum((lift(first[i]) for i in range(j + 1)), lift(0)) - sum((lift(end[i]) for i in range(j)), lift(0))
        t.assert_bool(s)
        t.assert_zero(end[j] * (1 - s))
        sel.append(s)
    n = sel[0] + sel[1] + sel[2] + sel[3]
    lo2 = first[1] + first[2] * 2 + first[3] * 3
    # word key < 2^30 (RAM, never a register), so the end tuple (key 0) is no link
    t.assert_zero(wkey - wk_lo - wk_hi * 65536)
    for v in (wk_lo, wk_hi, wk_hi * 4):
        t.send(BUS_RANGE16, [v], real)
    # the chain
    t.assert_zero(last * (1 - real))
    t.assert_zero(last * (rem - n))
    t.assert_zero((real - last) * (1 - end[3]))
    kind = k_pub * KIND_PUBLIC + k_priv * KIND_PRIVATE + k_jour * KIND_JOURNAL + k_blob * KIND_BLOB + k_cmp * KIND_CMP
    t.receive(BUS_SYSIO, [ts, kind, wkey, lo2, rem, pos], real)
    t.send(BUS_SYSIO, [ts, kind, (wkey + 1) * (1 - last), 0, rem - n, pos + n], real)
    # the word: written by read() and blob copies, read by write() and compares (one slot
    # earlier, so a path is read before a buffer that overlaps it is written); unselected
    # bytes unchanged
    acc = M.memory_access(t, "w", wkey, w, ts + SLOT_MEMORY - k_cmp, k_pub + k_priv + k_blob, real,
                          check_gap_hi=False)
    for j in range(4):
        t.assert_zero((1 - sel[j]) * (w[j] - acc.prev[j]))
    range_check_bytes(t, [acc.gap_hi], real)
    # the bytes, at consecutive positions
    before = lift(0)
    for j in range(4):
        p = pos + before
        t.send(BUS_INPUT, [p, w[j]], k_pub * sel[j])
        t.send(BUS_JOURNAL, [p, w[j]], k_jour * sel[j])
        t.receive(BUS_PRIVATE, [p, w[j], 0], k_priv * sel[j])
        t.receive(BUS_BLOB, [p, w[j]], (k_blob + k_cmp) * sel[j])
        before = before + sel[j]
    return t
