"""The Syscall tables: the effects of the system calls a proof can attest.

The CPU proves every instruction except what ``syscall`` does: for each executed
``syscall`` at cycle ``clk`` it sends ``(TS_PER_CYCLE * clk,)`` on the ``syscall`` bus and
nothing else. The tables here receive that tuple and make every register, memory and
kernel-cell access of the call through the memory argument (:mod:`prover.zkmips.memory`)
at timestamps ``ts + slot``. ``vm/syscalls.py`` is the semantics; the trace builder reads
what a run did from :mod:`vm.syscall_log` records and refuses, with one line, the calls
this module cannot prove yet.

Proven (everything else raises ``ValueError("syscall <name> (<n>) at cycle N is not
provable yet")`` in the builder, and has no selector in the AIR):

* ``exit``/``exit_group``: the ``halted`` kernel cell goes from 0 to ``[1, code, 0, 0]``
  (code = a0 & 0xFF) and ``code`` is the public value ``exit_code``; exactly one exit row
  per proof (a running count ``exits`` must end at 1); v0/a3 are not written.
* ``read`` from fd 0 (public input, the open ``input`` bus) and fd 3 (private input, the
  ``private`` bus closed against the :func:`build_private_input` table), ``write`` to fd 1
  (the journal, the open ``journal`` bus) and fd 2 (the log: only v0 = count, no bytes).
* ``brk`` (the ``brk`` cell, the request's validity against the ``brk_start`` cell and
  ``BRK_LIMIT``; a valid request below the current break - a shrink - is not provable).
* ``set_thread_area`` (the TLS register), and the calls that only answer a constant
  (``_ZERO``, ``_ENOSYS``, getpid/getuid-like): a lookup into a preprocessed table.
* The fd table is assumed to be the initial one (fds 0..3); dup/dup2/dup3/close/fcntl are
  not provable, so no provable run edits it.

Tables
    ``syscall`` (one row per call, :func:`build_syscall`), ``syscall_io`` (one row per
    guest-memory *word* a read/write moves bytes through, :func:`build_syscall_io`),
    ``private_input`` (private: one row per private byte plus an end marker,
    :func:`build_private_input`), ``syscall_const`` (preprocessed answers,
    :func:`build_syscall_const`).

Why one row per word and not per byte: a call owns only 8 timestamps, and a memory cell
can be accessed once per timestamp, so four byte rows cannot each access their word. A
word row accesses its word once (at ``ts + SLOT_MEMORY``), selects a contiguous run of its
bytes (first/last one-hot flags), and merges: unselected bytes keep their previous value,
which is how the partial first and last words of a read() are written.

Kernel cells (register space, keys ``REGISTER_KEY_BASE + index``, indices after the
``vm.layout`` state vector): ``brk``, ``brk_start`` (both start at the page-aligned end of
the program: :func:`kernel_image` adds them to the memory image, so the Image table fixes
them), the input cursors ``public_pos``/``private_pos``, ``journal_len`` and ``halted``.

Soundness argument (why the prover chooses no result)
    * The call is the one the CPU executed: the header row receives the CPU's ``(ts,)``
      and reads v0 (the number) and a0..a2 at ``ts`` through the memory argument, so they
      are the registers' current values. The number's high limbs are 0 and each
      selector pins the number (and, for read/write, the fd in a0) to constants; the
      selectors are one-hot, so a row implements exactly one handler.
    * Results: v0 and a3 are written at ``ts + SLOT_WRITE_D`` with values forced per
      handler (n, count, the new break, 0, or the constant table's entry for that
      number); a3 is 0 except for constant answers.
    * Moved bytes: the header reads the cursor cell (``public_pos``, ``private_pos``,
      ``journal_len``) as ``pos0`` and writes ``pos0 + n``. It starts a chain on the
      internal ``sysio`` bus, ``(ts, kind, word key, first byte, remaining, position)``,
      and receives its end ``(ts, kind, 0, 0, 0, pos0 + n)``. Each word row consumes one
      state and produces the next: ``remaining`` drops by the row's byte count (>= 1),
      ``position`` grows by it, the word key by one, and a row that is not the last must
      run to the end of its word. ``position`` strictly grows (and stays far below p), so
      the chain is one path from start to end: the words are ``buf, buf+4, ...``, each
      byte ``k`` of the transfer carries position ``pos0 + k``, and the total is ``n``.
      Cursors start at 0 (not in the image) and only this table writes them, so over
      the run the positions on a bus are ``0, 1, 2, ...`` each once: no byte skipped,
      reordered or duplicated. The open ``input`` bus then matches the claim's public
      input prefix of length ``input_read`` and the ``journal`` bus the claim's journal
      (:func:`expected_open_sums`).
    * read(): ``n = count`` unless the read is ``short``; a short read has ``n <= count``
      (24-bit difference check on ``min(count, 2^24 - 1)``) and ends exactly at the end
      of the input: for fd 0 ``pos0 + n = input_len`` (public value), for fd 3 the row
      looks up the private table's end marker ``(pos0 + n, 0, 1)``. The private table
      lists positions ``0..L`` with bytes, and exactly one end marker at ``L``, so all
      private reads are consistent with one private input of length ``L`` (the only
      free witness).
    * brk: ``ok = (brk_start <= addr) and (addr <= BRK_LIMIT)`` by exact 16-bit-limb
      comparisons; the cell becomes ``ok ? addr : old`` and v0 the cell's new value.
    * exit: the ``halted`` cell must be 0 before (no second exit) and the count of exit
      rows is 1, so ``exit_code`` is the low byte of a0 of the one exit.
    * Binding the claim: the open-bus totals are checked against values the verifier
      computes with the LogUp challenges, so the claim's input and journal must be fixed
      before those challenges are drawn. The header table's public values include
      ``io_digest`` (keccak of input and journal, :func:`io_digest_limbs`), which the
      engine absorbs before it commits to anything; the verifier checks them (otherwise a
      prover could fit a journal to the challenges, a k-sum problem).

Limits: a read/write moves fewer than 2^24 bytes and the cursors stay below 2^24 (the
builder refuses more). The memory model of the proof has every page mapped; the VM
faults on unmapped pages, a difference that belongs to the CPU/memory design (brk
shrinking, the one place where this module would let the two differ, is refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from prover import field as F
from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.keccak import keccak256
from prover.zkmips import memory as M
from prover.zkmips.alu_words import TraceFiller
from prover.zkmips.spec import (
    BUS_BYTE, BUS_INPUT, BUS_JOURNAL, BUS_MEM, BUS_RANGE16, BUS_SYSCALL, BYTE_RANGE, REGISTER_KEY_BASE,
    SLOT_MEMORY, SLOT_READ_A, SLOT_SYSTEM, SLOT_WRITE_D, TS_PER_CYCLE, range_check_bytes, word_value,
)
from vm.boot import page_align_up
from vm.layout import NUM_REGS, TLS
from vm.memory import Memory
from vm.syscall_log import SyscallRecord
from vm.syscalls import _ENOSYS, _ZERO, BRK_LIMIT, FD_JOURNAL, FD_LOG, FD_PRIVIN, FD_PUBLIN, SYSCALL_NAMES, Kernel

SYSCALL_TABLE = "syscall"
IO_TABLE = "syscall_io"
PRIVATE_TABLE = "private_input"
CONST_TABLE = "syscall_const"
BUS_SYSIO = "sysio"
BUS_PRIVATE = "private"
BUS_SYSCONST = "sysconst"

#: Kernel cells: state-vector indices after vm.layout's registers.
K_BRK, K_BRK_START, K_PUBLIC_POS, K_PRIVATE_POS, K_JOURNAL_LEN, K_HALTED = range(NUM_REGS, NUM_REGS + 6)
REG = REGISTER_KEY_BASE
V0, A0, A1, A2, A3 = 2, 4, 5, 6, 7
#: Bytes of one read/write, and every cursor, stay below this (24-bit checks).
IO_LIMIT = 1 << 24
#: sysio kinds.
KIND_PUBLIC, KIND_PRIVATE, KIND_JOURNAL = 1, 2, 3

SYS_EXIT = {4001, 4246}
SYS_READ, SYS_WRITE, SYS_BRK, SYS_SET_THREAD_AREA = 4003, 4004, 4045, 4283
_PID_LIKE = ("getpid", "gettid", "set_tid_address", "getuid", "geteuid", "getgid", "getegid")

SELECTORS = ("s_exit", "s_rpub", "s_rpriv", "s_wjour", "s_wlog", "s_brk", "s_tls", "s_const")
PUBLICS = ("exit_code", "input_len", "input_read", *(f"io_digest{i}" for i in range(16)))
IO_DIGEST_DOMAIN = b"zkmips-syscall-io-v1"


# ----------------------------------------------------------------------------- constants
def constant_syscalls() -> dict[int, tuple[int, int]]:
    """``{number: (v0, a3)}`` of the calls whose answer does not depend on arguments or
    state, computed by running vm.syscalls' own dispatcher (the one semantics)."""
    out = {}
    for number, name in sorted(SYSCALL_NAMES.items()):
        if name in _ENOSYS or name in _ZERO or name in _PID_LIKE:
            out[number] = Kernel().dispatch(number, [0] * 6, Memory(), 0, 0)
    return out


CONST_PRE = ("num", "r0", "r1", "r2", "r3", "err", "is_entry")


def build_syscall_const() -> Table:
    """Preprocessed ``(number, v0 limbs, a3)`` of :func:`constant_syscalls`; receives the
    header's lookups with the free multiplicity ``mult`` (0 on padding rows: ``is_entry``
    is fixed, so no zero tuple can be offered)."""
    t = Table(CONST_TABLE)
    num, r0, r1, r2, r3, err, is_entry = (t.pre(n) for n in CONST_PRE)
    mult = t.main("mult")
    t.assert_zero(mult * (1 - is_entry))
    consts = constant_syscalls()
    pre = np.zeros((M.table_height(len(consts)), len(CONST_PRE)), dtype=np.uint32)
    for i, (number, (v0, a3)) in enumerate(consts.items()):
        pre[i] = [number, *M.word_limbs_array(np.array([v0]))[0], a3, 1]
    t.set_preprocessed(pre)
    t.receive(BUS_SYSCONST, [num, r0, r1, r2, r3, err], mult)
    return t


# ----------------------------------------------------------------------------- image
def kernel_cells(program_end: int) -> dict[int, int]:
    """The kernel cells with a non-zero initial value: ``{key: value}``."""
    start = page_align_up(program_end)
    return {REG + K_BRK: start, REG + K_BRK_START: start}


def kernel_image(image: M.MemoryImage, program_end: int) -> M.MemoryImage:
    """``image`` plus the kernel cells (so the preprocessed Image table fixes brk_start)."""
    cells = {k: v for k, v in kernel_cells(program_end).items() if v}
    keys = np.concatenate([image.keys, np.array(sorted(cells), np.int64)])
    values = np.concatenate([image.values, np.array([cells[k] for k in sorted(cells)], np.int64)])
    order = np.argsort(keys, kind="stable")
    return M.MemoryImage(keys[order], values[order])


# ----------------------------------------------------------------------------- AIR helpers
def _read_access(t: Table, name: str, key: ExprLike, ts: ExprLike, mult: ExprLike) -> M.AccessColumns:
    """A read of ``key`` at ``ts``: the received value is sent back unchanged, so the
    ``prev`` columns *are* the value (no separate value columns). Same columns as
    :func:`memory.memory_access`, so :func:`memory.access_witness` fills them. The caller
    byte-checks ``gap_hi``."""
    cols = t.mains(*(f"{name}_{c}" for c in M.ACCESS_WITNESS))
    prev, prev_ts, gap_lo, gap_hi = cols[:4], cols[4], cols[5], cols[6]
    t.assert_zero(lift(mult) * (lift(ts) - prev_ts - 1 - gap_lo - gap_hi * 65536))
    t.send(BUS_RANGE16, [gap_lo], mult)
    t.receive(BUS_MEM, [key, *prev, prev_ts], mult)
    t.send(BUS_MEM, [key, *prev, ts], mult)
    return M.AccessColumns(prev, prev_ts, gap_lo, gap_hi)


def _less_than(t: Table, name: str, x: Sequence[ExprLike], y: Sequence[ExprLike], when: ExprLike) -> Expr:
    """``x < y`` for two words (byte limbs) as a boolean column ``{name}_lt``: with
    16-bit halves, ``x - y = d - 2^32 lt`` where ``d = d_lo + 2^16 d_hi`` and the borrow
    ``c`` between halves; d_lo, d_hi in range16 and c, lt boolean make it exact."""
    c, lt, d_lo, d_hi = t.mains(f"{name}_c", f"{name}_lt", f"{name}_dlo", f"{name}_dhi")
    x_lo, x_hi = lift(x[0]) + lift(x[1]) * 256, lift(x[2]) + lift(x[3]) * 256
    y_lo, y_hi = lift(y[0]) + lift(y[1]) * 256, lift(y[2]) + lift(y[3]) * 256
    t.assert_bool(c)
    t.assert_bool(lt)
    t.assert_zero(lift(when) * (x_lo - y_lo + c * 65536 - d_lo))
    t.assert_zero(lift(when) * (x_hi - y_hi - c + lt * 65536 - d_hi))
    t.send(BUS_RANGE16, [d_lo], when)
    t.send(BUS_RANGE16, [d_hi], when)
    return lt


# ----------------------------------------------------------------------------- header
def build_syscall() -> Table:
    """One row per executed syscall (see the module docstring for the argument)."""
    t = Table(SYSCALL_TABLE)
    real, ts = t.mains("is_real", "ts")
    sel = dict(zip(SELECTORS, t.mains(*SELECTORS)))
    s_exit, s_rpub, s_rpriv, s_wjour, s_wlog, s_brk, s_tls, s_const = (sel[s] for s in SELECTORS)
    pub = dict(zip(PUBLICS, (t.public(n) for n in PUBLICS)))
    t.assert_bool(real)
    total = lift(0)
    for s in sel.values():
        t.assert_bool(s)
        total = total + s
    t.assert_zero(total - real)
    s_read = s_rpub + s_rpriv
    s_mv = s_read + s_wjour                   # moves bytes through sysio
    s_kc = s_exit + s_mv + s_brk + s_tls      # writes a kernel cell
    s_res = real - s_exit                     # writes v0 and a3

    t.receive(BUS_SYSCALL, [ts], real)
    reads = [_read_access(t, nm, REG + reg, ts + SLOT_READ_A, real)
             for nm, reg in (("num", V0), ("a0", A0), ("a1", A1), ("a2", A2))]
    num, a0, a1, a2 = (a.prev for a in reads)

    # which call: the number (high limbs 0, so the value is exact) and the fd
    t.assert_zero(real * num[2])
    t.assert_zero(real * num[3])
    n_val = lift(num[0]) + lift(num[1]) * 256
    exits = sorted(SYS_EXIT)
    t.assert_zero(s_exit * (n_val - exits[0]) * (n_val - exits[1]))
    for s, number in ((s_rpub, SYS_READ), (s_rpriv, SYS_READ), (s_wjour, SYS_WRITE), (s_wlog, SYS_WRITE),
                      (s_brk, SYS_BRK), (s_tls, SYS_SET_THREAD_AREA)):
        t.assert_zero(s * (n_val - number))
    for s, fd in ((s_rpub, FD_PUBLIN), (s_rpriv, FD_PRIVIN), (s_wjour, FD_JOURNAL), (s_wlog, FD_LOG)):
        t.assert_zero(s * (a0[0] - fd))
    for j in (1, 2, 3):
        t.assert_zero((s_mv + s_wlog) * a0[j])

    # results: v0 = r, a3 = [err, 0, 0, 0]
    r = t.mains("r0", "r1", "r2", "r3")
    err = t.main("err")
    v0w = M.memory_access(t, "v0w", REG + V0, r, ts + SLOT_WRITE_D, 1, s_res, check_gap_hi=False)
    a3w = M.memory_access(t, "a3w", REG + A3, [err, 0, 0, 0], ts + SLOT_WRITE_D, 1, s_res, check_gap_hi=False)
    t.assert_zero((real - s_const) * err)
    t.send(BUS_SYSCONST, [num[0] + num[1] * 256, *r, err], s_const)

    # the kernel cell of this call
    knew = t.mains("knew0", "knew1", "knew2", "knew3")
    kkey = REG + s_exit * K_HALTED + s_rpub * K_PUBLIC_POS + s_rpriv * K_PRIVATE_POS + \
        s_wjour * K_JOURNAL_LEN + s_brk * K_BRK + s_tls * TLS
    kc = M.memory_access(t, "kc", kkey, knew, ts + SLOT_SYSTEM, 1, s_kc, check_gap_hi=False)
    kprev = kc.prev

    # exit
    for j in range(4):
        t.assert_zero(s_exit * kprev[j])
    for j, v in enumerate((1, a0[0], 0, 0)):
        t.assert_zero(s_exit * (knew[j] - v))
    t.assert_zero(s_exit * (a0[0] - pub["exit_code"]))
    n_exits = t.main("exits")
    t.when_first(n_exits - s_exit)
    t.when_transition(n_exits.next - n_exits - s_exit.next)
    t.when_last(n_exits - 1)

    # set_thread_area: TLS = a0, v0 = 0
    for j in range(4):
        t.assert_zero(s_tls * (knew[j] - a0[j]))
        t.assert_zero(s_tls * r[j])

    # write to the log: v0 = count
    for j in range(4):
        t.assert_zero((s_wlog + s_wjour) * (r[j] - a2[j]))

    # read / write(journal): the cursor, the count, the short read
    n, short, nz3, b3inv, d_lo, d_hi, has_io, n_inv = t.mains(
        "n", "short", "nz3", "b3inv", "d_lo", "d_hi", "has_io", "n_inv")
    pos0 = word_value(kprev)
    t.assert_zero(s_mv * (word_value(knew) - pos0 - n))
    t.assert_zero(s_mv * knew[3])
    t.assert_zero(s_read * (word_value(r) - n))
    t.assert_zero(s_read * r[3])
    c24 = lift(a2[0]) + lift(a2[1]) * 256 + lift(a2[2]) * 65536
    t.assert_bool(short)
    t.assert_bool(nz3)
    t.assert_zero(short * (1 - s_read))
    t.assert_zero(s_mv * (1 - short) * (n - c24))
    t.assert_zero(s_mv * (1 - short) * a2[3])
    t.assert_zero(nz3 * (lift(a2[3]) * b3inv - 1))
    capped = c24 + nz3 * (IO_LIMIT - 1 - c24)       # min(count, 2^24 - 1) when nz3 is honest
    t.assert_zero(short * (capped - n - d_lo - d_hi * 65536))
    t.send(BUS_RANGE16, [d_lo], short)
    t.assert_zero(s_rpub * short * (pub["input_len"] - pos0 - n))
    t.receive(BUS_PRIVATE, [pos0 + n, 0, 1], s_rpriv * short)
    # the transfer: started and ended on sysio when n != 0
    t.assert_bool(has_io)
    t.assert_zero(has_io * (1 - s_mv))
    t.assert_zero((s_mv - has_io) * n)
    t.assert_zero(has_io * (1 - n * n_inv))
    q, l0, l1 = t.mains("q", "l0", "l1")
    t.assert_bool(l0)
    t.assert_bool(l1)
    t.assert_zero(s_mv * (a1[0] - q * 4 - l0 - l1 * 2))
    key0 = q + lift(a1[1]) * 64 + lift(a1[2]) * 16384 + lift(a1[3]) * 4194304
    kind = s_rpub * KIND_PUBLIC + s_rpriv * KIND_PRIVATE + s_wjour * KIND_JOURNAL
    t.send(BUS_SYSIO, [ts, kind, key0, l0 + l1 * 2, n, pos0], has_io)
    t.receive(BUS_SYSIO, [ts, kind, 0, 0, 0, pos0 + n], has_io)

    # brk: ok = brk_start <= addr <= BRK_LIMIT; no shrink when ok; cell = ok ? addr : old
    bs = _read_access(t, "bs", REG + K_BRK_START, ts + SLOT_SYSTEM, s_brk)
    start = bs.prev
    limit = [(BRK_LIMIT >> (8 * j)) & 0xFF for j in range(4)]
    below = _less_than(t, "cmp_start", a0, start, s_brk)
    above = _less_than(t, "cmp_limit", limit, a0, s_brk)
    shrink = _less_than(t, "cmp_old", a0, kprev, s_brk)
    ok = t.main("brk_ok")
    t.assert_zero(s_brk * (ok - (1 - below) * (1 - above)))
    t.assert_zero(s_brk * ok * shrink)
    for j in range(4):
        t.assert_zero(s_brk * (knew[j] - kprev[j] - ok * (a0[j] - kprev[j])))
        t.assert_zero(s_brk * (r[j] - knew[j]))

    # byte checks: the limbs this table produces and the accesses' gap high bytes
    range_check_bytes(t, [a.gap_hi for a in reads], real)
    range_check_bytes(t, [v0w.gap_hi, a3w.gap_hi, *r], s_res)
    range_check_bytes(t, [kc.gap_hi, *knew], s_kc)
    range_check_bytes(t, [bs.gap_hi], s_brk)
    range_check_bytes(t, [q], s_mv)
    range_check_bytes(t, [d_hi], short)
    return t


# ----------------------------------------------------------------------------- word rows
IO_FLAGS = ("k_pub", "k_priv", "k_jour")


def build_syscall_io() -> Table:
    """One row per guest word a read()/write() moves bytes through: a link of the
    ``sysio`` chain its header starts (module docstring)."""
    t = Table(IO_TABLE)
    real, ts = t.mains("is_real", "ts")
    k_pub, k_priv, k_jour = t.mains(*IO_FLAGS)
    wkey, wk_lo, wk_hi, rem, pos, last = t.mains("wkey", "wk_lo", "wk_hi", "rem", "pos", "last")
    first = t.mains("f0", "f1", "f2", "f3")
    end = t.mains("e0", "e1", "e2", "e3")
    w = t.mains("w0", "w1", "w2", "w3")
    t.assert_bool(real)
    for x in (k_pub, k_priv, k_jour, last, *first, *end):
        t.assert_bool(x)
    t.assert_zero(k_pub + k_priv + k_jour - real)
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
    kind = k_pub * KIND_PUBLIC + k_priv * KIND_PRIVATE + k_jour * KIND_JOURNAL
    t.receive(BUS_SYSIO, [ts, kind, wkey, lo2, rem, pos], real)
    t.send(BUS_SYSIO, [ts, kind, (wkey + 1) * (1 - last), 0, rem - n, pos + n], real)
    # the word: written by read(), read by write(); unselected bytes unchanged
    acc = M.memory_access(t, "w", wkey, w, ts + SLOT_MEMORY, k_pub + k_priv, real, check_gap_hi=False)
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
        before = before + sel[j]
    return t


# ----------------------------------------------------------------------------- private input
def build_private_input() -> Table:
    """The private input (the one free witness): rows ``(pos, byte, eof)`` with positions
    ``0, 1, ..., L`` and exactly one end marker, at ``L`` (byte 0). Offered on the
    ``private`` bus with the free multiplicity ``mult`` (how often a row is read), zero on
    padding rows, so only these tuples can be looked up."""
    t = Table(PRIVATE_TABLE, private=True)
    real, eof, pos, byte, mult = t.mains("is_real", "eof", "pos", "byte", "mult")
    t.assert_bool(real)
    t.assert_bool(eof)
    t.assert_zero(eof * (1 - real))
    t.when_first(real - 1)
    t.when_first(pos)
    t.when_transition(real.next - real + eof)
    t.when_transition(real.next * (pos.next - pos - 1))
    t.when_last(real - eof)
    t.assert_zero(eof * byte)
    t.assert_zero((1 - real) * mult)
    range_check_bytes(t, [byte], real - eof)
    t.send(BUS_PRIVATE, [pos, byte, eof], mult)
    return t


# ----------------------------------------------------------------------------- claim
def io_digest(public_input: bytes, journal: bytes) -> bytes:
    return keccak256(IO_DIGEST_DOMAIN + len(public_input).to_bytes(8, "little") + bytes(public_input)
                     + len(journal).to_bytes(8, "little") + bytes(journal))


def io_digest_limbs(public_input: bytes, journal: bytes) -> list[int]:
    """The 16 public values ``io_digest0..15`` (16-bit limbs of :func:`io_digest`)."""
    d = io_digest(public_input, journal)
    return [int.from_bytes(d[2 * i: 2 * i + 2], "little") for i in range(16)]


def syscall_publics(public_input: bytes, journal: bytes, exit_code: int, input_read: int) -> list[int]:
    """The header table's public values for a claim (what the verifier must check)."""
    return [exit_code & 0xFF, len(public_input), input_read, *io_digest_limbs(public_input, journal)]


def expected_open_sums(public_input: bytes, journal: bytes, input_read: int, challenges: Sequence[np.ndarray],
                       bus_ids: dict[str, int]) -> dict[str, np.ndarray]:
    """The totals the open buses must show for a claim: ``input`` carries
    ``(i, input[i])`` for ``i < input_read`` and ``journal`` ``(i, journal[i])`` for every
    i, each sent once, so the LogUp total is ``sum 1 / (z - (id + beta i + beta^2 b_i))``.

    ``challenges`` = (z, beta) of the proof and ``bus_ids`` = ``System.bus_id`` of both
    buses. The engine's ``Statement`` exposes the open sums but not z, beta: a verifier
    needs them from the engine (see the report of this module's issue)."""
    if not 0 <= input_read <= len(public_input):
        raise ValueError(f"input_read {input_read} is outside [0, {len(public_input)}]")
    z, beta = (np.asarray(c, dtype=np.uint32) for c in challenges)
    beta2 = F.ext_mul(beta, beta)
    out = {}
    for bus, data in ((BUS_INPUT, bytes(public_input[:input_read])), (BUS_JOURNAL, bytes(journal))):
        if not data:
            out[bus] = np.zeros(4, np.uint32)
            continue
        pos = np.arange(len(data), dtype=np.int64)
        vals = np.frombuffer(data, np.uint8).astype(np.int64)
        fp = F.ext_add(F.ext_add(F.ext_from_base(np.full(len(data), bus_ids[bus], np.uint32)),
                                 F.ext_mul_base(np.broadcast_to(beta, (len(data), 4)), pos.astype(np.uint32))),
                       F.ext_mul_base(np.broadcast_to(beta2, (len(data), 4)), vals.astype(np.uint32)))
        inv = F.ext_batch_inv(F.ext_sub(np.broadcast_to(z, (len(data), 4)), fp))
        out[bus] = (inv.astype(np.uint64).sum(axis=0) % F.P).astype(np.uint32)
    return out


# ----------------------------------------------------------------------------- the witness
def not_provable(rec: SyscallRecord, why: str = "") -> ValueError:
    name = rec.name or "unknown"
    return ValueError(f"syscall {name} ({rec.number}) at cycle {rec.cycle} is not provable yet{why}")


@dataclass
class SyscallWitness:
    """What :func:`syscall_witness` derives from a run: per-table row values and the
    memory accesses the tables make (``accesses``: key, ts, value, is_write, in the order
    of ``slots``: (table, row, access name)), to be merged with the other tables' accesses
    in :func:`memory.access_events` and handed back to :func:`syscall_traces`."""

    header: list[dict] = field(default_factory=list)
    io: list[dict] = field(default_factory=list)
    private: bytes = b""
    private_reads: np.ndarray | None = None
    eof_reads: int = 0
    const_counts: dict[int, int] = field(default_factory=dict)
    publics: list[int] = field(default_factory=list)
    slots: list[tuple[str, int, str]] = field(default_factory=list)
    accesses: dict[str, np.ndarray] = field(default_factory=dict)


def _limbs(v: int) -> list[int]:
    return [(v >> (8 * j)) & 0xFF for j in range(4)]


def syscall_witness(records: Sequence[SyscallRecord], public_input: bytes, private_input: bytes,
                    program_end: int, journal: bytes | None = None) -> SyscallWitness:
    """Rows of every table from a run's syscall records (``vm.syscall_log``); raises the
    one-line ``not provable yet`` ValueError for a call outside the proven set."""
    consts = constant_syscalls()
    wit = SyscallWitness(private=bytes(private_input))
    wit.private_reads = np.zeros(len(private_input), np.int64)
    brk_start = page_align_up(program_end)
    state = {"brk": brk_start, "public_pos": 0, "private_pos": 0, "journal_len": 0}
    acc: list[tuple[int, int, int, bool]] = []
    exit_code, journal_out = None, bytearray()

    def access(row: int, name: str, key: int, ts: int, value: int, is_write: bool, table: str = SYSCALL_TABLE):
        wit.slots.append((table, row, name))
        acc.append((key, ts, value & 0xFFFFFFFF, is_write))

    for rec in records:
        if rec.fds_changed:
            raise not_provable(rec, " (it changes the fd table)")
        ts = TS_PER_CYCLE * rec.cycle
        a0, a1, a2 = rec.args[0], rec.args[1], rec.args[2]
        row = {"ts": ts, "num": rec.number, "a0": a0, "a1": a1, "a2": a2, "sel": None, "r": 0, "err": 0,
               "knew": 0, "n": 0, "short": 0, "nz3": 0, "b3inv": 0, "d": 0, "has_io": 0, "n_inv": 0,
               "q": 0, "l0": 0, "l1": 0, "cmp": {}, "brk_ok": 0, "kkey": None}
        name = rec.name
        kkey = None
        if rec.number in SYS_EXIT:
            row["sel"], kkey = "s_exit", K_HALTED
            row["knew"] = 1 | ((a0 & 0xFF) << 8)
            exit_code = a0 & 0xFF
        elif rec.number == SYS_READ and a0 in (FD_PUBLIN, FD_PRIVIN) and rec.a3 == 0:
            public = a0 == FD_PUBLIN
            row["sel"], kkey = ("s_rpub", K_PUBLIC_POS) if public else ("s_rpriv", K_PRIVATE_POS)
            data = rec.public_read if public else rec.private_read
            cursor = "public_pos" if public else "private_pos"
            _transfer(rec, row, data, a1, a2, state[cursor], True, wit, access)
            if not public:
                wit.private_reads[state[cursor]: state[cursor] + len(data)] += 1
                wit.eof_reads += row["short"]
            state[cursor] += len(data)
            row["knew"] = state[cursor]
        elif rec.number == SYS_WRITE and a0 == FD_JOURNAL and rec.a3 == 0:
            row["sel"], kkey = "s_wjour", K_JOURNAL_LEN
            if a2 >= IO_LIMIT:
                raise not_provable(rec, f" (count {a2} >= 2^24)")
            words = dict(rec.words_read)
            data = bytes((words[(a1 + k) & ~3] >> (8 * ((a1 + k) & 3))) & 0xFF for k in range(a2))
            if data != rec.journal:
                raise ValueError(f"cycle {rec.cycle}: the record's journal bytes disagree with guest memory")
            _transfer(rec, row, data, a1, a2, state["journal_len"], False, wit, access)
            journal_out += data
            state["journal_len"] += a2
            row["knew"] = state["journal_len"]
        elif rec.number == SYS_WRITE and a0 == FD_LOG and rec.a3 == 0:
            row["sel"] = "s_wlog"
        elif rec.number == SYS_BRK:
            row["sel"], kkey = "s_brk", K_BRK
            old = state["brk"]
            below, above, shrink = a0 < brk_start, BRK_LIMIT < a0, a0 < old
            ok = not (below or above)
            if ok and shrink:
                raise not_provable(rec, f" (brk shrinks from 0x{old:08x} to 0x{a0:08x})")
            row["cmp"] = {"cmp_start": (a0, brk_start), "cmp_limit": (BRK_LIMIT, a0), "cmp_old": (a0, old)}
            row["brk_ok"] = int(ok)
            state["brk"] = a0 if ok else old
            row["knew"] = state["brk"]
        elif rec.number == SYS_SET_THREAD_AREA:
            row["sel"], kkey = "s_tls", None
            row["knew"] = a0
        elif rec.number in consts:
            row["sel"] = "s_const"
            wit.const_counts[rec.number] = wit.const_counts.get(rec.number, 0) + 1
        else:
            raise not_provable(rec)
        sel = row["sel"]
        if sel != "s_exit":
            row["r"], row["err"] = (consts[rec.number] if sel == "s_const" else
                                    (row["n"] if sel in ("s_rpub", "s_rpriv") else row["knew"] if sel == "s_brk" else
                                     a2 if sel in ("s_wjour", "s_wlog") else 0, 0))
            if (row["r"], row["err"]) != (rec.v0, rec.a3):
                raise ValueError(f"cycle {rec.cycle}: {name} returned ({rec.v0}, {rec.a3}) but the table "
                                 f"derives ({row['r']}, {row['err']})")
        i = len(wit.header)
        for nm, reg, v in (("num", V0, rec.number), ("a0", A0, a0), ("a1", A1, a1), ("a2", A2, a2)):
            access(i, nm, REG + reg, ts + SLOT_READ_A, v, False)
        if sel != "s_exit":
            access(i, "v0w", REG + V0, ts + SLOT_WRITE_D, row["r"], True)
            access(i, "a3w", REG + A3, ts + SLOT_WRITE_D, row["err"], True)
        if sel == "s_tls":
            kkey = TLS
        if kkey is not None:
            row["kkey"] = kkey
            access(i, "kc", REG + kkey, ts + SLOT_SYSTEM, row["knew"], True)
        if sel == "s_brk":
            access(i, "bs", REG + K_BRK_START, ts + SLOT_SYSTEM, brk_start, False)
        if max(state["public_pos"], state["private_pos"], state["journal_len"]) >= IO_LIMIT:
            raise not_provable(rec, " (an I/O cursor reaches 2^24)")
        wit.header.append(row)
        if sel == "s_exit":
            break
    if exit_code is None:
        raise ValueError("the run has no exit: a proof needs exactly one exit/exit_group")
    if journal is not None and bytes(journal) != bytes(journal_out):
        raise ValueError("the records' journal bytes differ from the run's journal")
    wit.publics = syscall_publics(public_input, bytes(journal_out), exit_code, state["public_pos"])
    keys, tss, vals, writes = (np.array(x, dtype=np.int64) for x in zip(*acc)) if acc else \
        (np.zeros(0, np.int64),) * 4
    wit.accesses = {"key": keys, "ts": tss, "value": vals, "is_write": writes.astype(bool)}
    return wit


def _transfer(rec: SyscallRecord, row: dict, data: bytes, buf: int, count: int, pos0: int, is_read: bool,
              wit: SyscallWitness, access) -> None:
    """The header's count/short-read witness and the word rows of one transfer."""
    n = len(data)
    if n >= IO_LIMIT:
        raise not_provable(rec, f" ({n} bytes >= 2^24)")
    row["n"] = n
    row["short"] = int(is_read and n < count)
    b3 = count >> 24
    row["nz3"] = int(b3 != 0)
    row["b3inv"] = pow(b3, F.P - 2, F.P) if b3 else 0
    if row["short"]:
        capped = min(count, IO_LIMIT - 1)
        row["d"] = capped - n
    row["q"], row["l0"], row["l1"] = (buf & 0xFF) >> 2, buf & 1, (buf >> 1) & 1
    if n == 0:
        return
    row["has_io"], row["n_inv"] = 1, pow(n, F.P - 2, F.P)
    kind = KIND_PUBLIC if rec.args[0] == FD_PUBLIN and is_read else KIND_PRIVATE if is_read else KIND_JOURNAL
    written = {w: new for w, _, new in rec.words_written}
    read = dict(rec.words_read)
    k, addr = 0, buf
    while k < n:
        lo2 = addr & 3
        take = min(4 - lo2, n - k)
        word_addr = addr & ~3
        value = written[word_addr] if is_read else read[word_addr]
        if is_read:
            for j in range(take):
                if (value >> (8 * (lo2 + j))) & 0xFF != data[k + j]:
                    raise ValueError(f"cycle {rec.cycle}: memory after read() disagrees with the input bytes")
        io_row = {"ts": row["ts"], "kind": kind, "wkey": word_addr >> 2, "lo2": lo2, "hi": lo2 + take - 1,
                  "rem": n - k, "pos": pos0 + k, "last": int(k + take == n), "w": value, "is_write": is_read}
        access(len(wit.io), "w", word_addr >> 2, row["ts"] + SLOT_MEMORY, value, is_read, IO_TABLE)
        wit.io.append(io_row)
        k += take
        addr = (addr + take) & 0xFFFFFFFF


def syscall_traces(wit: SyscallWitness, accesses: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The traces of the four tables, given ``accesses`` = :func:`memory.access_events`'
    accesses for exactly ``wit.accesses`` (same order: prev_value, prev_ts derived)."""
    header = TraceFiller(build_syscall(), len(wit.header))
    io = TraceFiller(build_syscall_io(), len(wit.io))
    hrows, irows = len(wit.header), len(wit.io)
    # header
    h: dict[str, np.ndarray] = {}

    def col(name: str, values) -> None:
        h[name] = np.asarray(values, dtype=np.int64)

    col("is_real", [1] * hrows)
    col("ts", [r["ts"] for r in wit.header])
    for s in SELECTORS:
        col(s, [int(r["sel"] == s) for r in wit.header])
    for name in ("n", "short", "nz3", "b3inv", "has_io", "n_inv", "q", "l0", "l1", "brk_ok", "err"):
        col(name, [r[name] for r in wit.header])
    col("d_lo", [r["d"] & 0xFFFF for r in wit.header])
    col("d_hi", [r["d"] >> 16 for r in wit.header])
    r_limbs = np.array([_limbs(r["r"]) for r in wit.header], np.int64).reshape(-1, 4)
    k_limbs = np.array([_limbs(r["knew"]) for r in wit.header], np.int64).reshape(-1, 4)
    for j in range(4):
        col(f"r{j}", r_limbs[:, j])
        col(f"knew{j}", k_limbs[:, j])
    for cname in ("cmp_start", "cmp_limit", "cmp_old"):
        c, lt, dlo, dhi = [], [], [], []
        for r in wit.header:
            x, y = r["cmp"].get(cname, (0, 0))
            borrow = int((x & 0xFFFF) < (y & 0xFFFF))
            c.append(borrow)
            lt.append(int(x < y))
            dlo.append((x & 0xFFFF) - (y & 0xFFFF) + 65536 * borrow)
            dhi.append((x >> 16) - (y >> 16) - borrow + 65536 * int(x < y))
        col(f"{cname}_c", c), col(f"{cname}_lt", lt), col(f"{cname}_dlo", dlo), col(f"{cname}_dhi", dhi)
    for name, v in h.items():
        header[name] = v
    exits = np.cumsum(h["s_exit"]) if hrows else np.zeros(0, np.int64)
    header.set_all("exits", int(exits[-1]) if hrows else 0)
    header["exits"] = exits
    # io rows
    if irows:
        io["is_real"] = 1
        for name in ("ts", "wkey", "rem", "pos", "last"):
            io[name] = [r[name] for r in wit.io]
        io["wk_lo"] = [r["wkey"] & 0xFFFF for r in wit.io]
        io["wk_hi"] = [r["wkey"] >> 16 for r in wit.io]
        for flag, kind in zip(IO_FLAGS, (KIND_PUBLIC, KIND_PRIVATE, KIND_JOURNAL)):
            io[flag] = [int(r["kind"] == kind) for r in wit.io]
        for j in range(4):
            io[f"f{j}"] = [int(r["lo2"] == j) for r in wit.io]
            io[f"e{j}"] = [int(r["hi"] == j) for r in wit.io]
        io.set_word("w", np.array([r["w"] for r in wit.io], np.int64))
    # access witnesses
    fillers = {SYSCALL_TABLE: header, IO_TABLE: io}
    witness = M.access_witness(accesses)
    for i, (table, row, name) in enumerate(wit.slots):
        f = fillers[table]
        for c, cname in enumerate(M.ACCESS_WITNESS):
            f._columns[f._index[f"{name}_{cname}"], row] = witness[i, c]
    # private input
    priv = _private_trace(wit)
    const = np.zeros((M.table_height(len(constant_syscalls())), 1), np.uint32)
    for i, number in enumerate(constant_syscalls()):
        const[i, 0] = wit.const_counts.get(number, 0)
    return {SYSCALL_TABLE: header.finish(), IO_TABLE: io.finish(), PRIVATE_TABLE: priv, CONST_TABLE: const}


def _private_trace(wit: SyscallWitness) -> np.ndarray:
    """Rows 0..L-1 the bytes, row L the end marker; at least one padding row."""
    n = len(wit.private)
    out = np.zeros((M.table_height(n + 2), 5), np.uint32)
    out[: n + 1, 0] = 1                                   # is_real
    out[n, 1] = 1                                         # eof
    out[: n + 1, 2] = np.arange(n + 1)                    # pos
    out[:n, 3] = np.frombuffer(wit.private, np.uint8)     # byte
    out[:n, 4] = wit.private_reads
    out[n, 4] = wit.eof_reads
    return out


def syscall_tables() -> list[Table]:
    return [build_syscall(), build_syscall_io(), build_private_input(), build_syscall_const()]


__all__ = ["build_syscall", "build_syscall_io", "build_private_input", "build_syscall_const", "syscall_tables",
           "syscall_witness", "syscall_traces", "kernel_image", "kernel_cells", "expected_open_sums",
           "syscall_publics", "io_digest_limbs", "constant_syscalls", "SyscallWitness"]
