"""The Syscall tables: the effects of the system calls a proof can attest.

The CPU proves every instruction except what ``syscall`` does: for each executed
``syscall`` at cycle ``clk`` it sends ``(TS_PER_CYCLE * clk,)`` on the ``syscall`` bus and
nothing else. The tables here receive that tuple and make every register, memory and
kernel-cell access of the call through the memory argument (:mod:`prover.zkmips.memory`)
at timestamps ``ts + slot``. ``vm/syscalls.py`` is the semantics; the trace builder reads
what a run did from :mod:`vm.syscall_log` records and refuses, with one line, the calls
this module cannot prove yet.

Proven (everything else raises ``ValueError("syscall <name> (<n>) at cycle N is not
provable yet (why)")`` in the builder, and has no selector in the AIR). Every call of
every example guest (``guests/build``, all optimisation levels) is in this set:

* ``exit``/``exit_group``: the ``halted`` kernel cell goes from 0 to ``[1, code, 0, 0]``
  (code = a0 & 0xFF) and ``code`` is the public value ``exit_code``; exactly one exit row
  per proof (a running count ``exits`` must end at 1); v0/a3 are not written.
* ``read`` from fd 0 (public input, the open ``input`` bus) and fd 3 (private input, the
  ``private`` bus closed against the :func:`build_private_input` table), ``write`` to fd 1
  (the journal, the open ``journal`` bus) and fd 2 (the log: only v0 = count, no bytes).
* ``brk`` (the ``brk`` cell, the request's validity against the ``brk_start`` cell and
  ``BRK_LIMIT``; shrinks are provable, a growth only while the break is at its
  high-water mark, and never past ``mmap_next``).
* ``set_thread_area`` (the TLS register), and the calls that only answer a constant
  (``_ZERO``, ``_ENOSYS`` - rseq, mremap, ... -, getpid/getuid-like, and the calls whose
  handler ignores its arguments: lseek/_llseek (ESPIPE), open/openat/access/faccessat
  (ENOENT)): a lookup into a preprocessed table.
* The kernel table (:func:`build_syscall_kernel`), one row per call of
  :data:`KERNEL_CALLS`: getrlimit, prlimit64 (the struct of RLIMIT_STACK or of any other
  resource), readlink of exactly ``/proc/self/exe`` (EXECFN, ``min(size, 6)`` bytes),
  getrandom (the first :data:`RANDOM_BYTES` bytes of the VM's keccak stream), statx with
  the path ``""`` and fstat64/fstatat64 (``""``) on fds 0..3, uname, sysinfo, getcwd
  (size >= 2), ioctl on fds 0..3 (ENOTTY), mmap2 (anonymous, not MAP_FIXED, length below
  2^28) and munmap (page-aligned address: a no-op).
* The fd table is assumed to be the initial one (fds 0..3); dup/dup2/dup3/close/fcntl are
  not provable, so no provable run edits it.

Refused (the builder says why): every call that fails with EFAULT (the proof's memory has
every page mapped) and, in the kernel table, every error return except ioctl's ENOTTY
(readlink/statx of other paths, EBADF, EINVAL, ENOMEM, ENOSYS of a non-anonymous mmap2);
mmap2 with MAP_FIXED; getrandom beyond the stream the blob table holds; a brk growth after
a shrink; the calls vm.syscalls implements but no table does (time and clocks, times,
getrusage, writev, fcntl64, dup*, close, kill/tgkill).

Tables
    ``syscall`` (one row per call, :func:`build_syscall`), ``syscall_io`` (one row per
    guest-memory *word* a transfer moves bytes through, :func:`build_syscall_io`),
    ``private_input`` (private: one row per private byte plus an end marker,
    :func:`build_private_input`), ``syscall_const`` (preprocessed answers,
    :func:`build_syscall_const`), ``syscall_kernel`` (one row per kernel-table call,
    :func:`build_syscall_kernel`), ``syscall_blob`` (preprocessed: every fixed byte string
    the kernel writes or compares, :func:`build_syscall_blob`).

Why one row per word and not per byte: a call owns only 8 timestamps, and a memory cell
can be accessed once per timestamp, so four byte rows cannot each access their word. A
word row accesses its word once (at ``ts + SLOT_MEMORY``, a path compare one slot
earlier), selects a contiguous run of its bytes (first/last one-hot flags), and merges:
unselected bytes keep their previous value, which is how the partial first and last words
of a read() are written.

Kernel cells (register space, keys ``REGISTER_KEY_BASE + index``, indices after the
``vm.layout`` state vector, :data:`K_BRK` ...): ``brk``, ``brk_start`` and ``brk_hwm``
(the highest break so far; all three start at the page-aligned end of the program),
``mmap_next`` (starts at ``vm.boot.MMAP_TOP``) - :func:`kernel_image` adds these four to
the memory image, so the Image table fixes them -, and, starting at 0, the input cursors
``public_pos``/``private_pos``, ``journal_len``, ``halted`` and ``random`` (getrandom's
block counter).

Slots of a call: ``ts + 0`` v0/a0/a1/a2 (header), a3, sp and the stack word of argument 5
(kernel table: different keys); ``ts + 1`` path words (compare rows); ``ts + 2`` buffer
words (word rows); ``ts + 3`` the v0/a3 writes; ``ts + 6`` kernel cells. So an argument
word, a path and a buffer may share words and are still accessed in the VM's order.

Soundness argument (why the prover chooses no result)
    * The call is the one the CPU executed: the header row receives the CPU's ``(ts,)``
      and reads v0 (the number) and a0..a2 at ``ts`` through the memory argument, so they
      are the registers' current values. The number's high limbs are 0 and each
      selector pins the number (and, for read/write, the fd in a0) to constants; the
      selectors are one-hot, so a row implements exactly one handler. A kernel-table
      call (``s_kern``) sends ``(ts, number, a0, a1, a2, r, err)`` on the internal
      ``syskern`` bus; the kernel table receives it once per real row, its own one-hot
      selectors pin the number, so each such header row has exactly one kernel row.
    * Results: v0 and a3 are written at ``ts + SLOT_WRITE_D`` with values forced per
      handler (n, count, the new break, 0, the constant table's entry for that number,
      or the kernel table's result); a3 is 0 except for constant answers and ioctl.
    * Moved bytes: the header reads the cursor cell (``public_pos``, ``private_pos``,
      ``journal_len``) as ``pos0`` and writes ``pos0 + n``. It starts a chain on the
      internal ``sysio`` bus, ``(ts, kind, word key, first byte, remaining, position)``,
      and receives its end ``(ts, kind, 0, 0, 0, pos0 + n)``. Each word row consumes one
      state and produces the next: ``remaining`` drops by the row's byte count (>= 1),
      ``position`` grows by it, the word key by one, and a row that is not the last must
      run to the end of its word. ``position`` strictly grows (and stays far below p), so
      the chain is one path from start to end: the words are ``buf, buf+4, ...``, each
      byte ``k`` of the transfer carries position ``pos0 + k``, and the total is ``n``.
      A call starts at most one chain per kind, so ``(ts, kind)`` names it.
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
    * Kernel blobs: the blob table is preprocessed (fixed by the verifying key) with
      rows ``(pos, byte)`` for positions ``0 .. len - 1`` of :func:`blob_layout`, whose
      bytes are computed by running vm.syscalls' handlers (never written by hand);
      padding rows cannot be offered (``mult`` is 0 where the fixed ``is_entry`` is 0).
      A kernel-table call that copies a blob starts a ``KIND_BLOB`` chain at its buffer
      (a0, a1, a2, a3 or the stack word, fixed per call) with ``n`` and ``pos0`` forced
      by its selector from the arguments: a constant length (8, 16, 104, 256, 390, 64,
      2), ``min(size, 6)`` for readlink, ``count`` for getrandom, ``16 * (old != 0)`` for
      prlimit64; ``pos0`` the blob's base, plus ``len * fd`` for the per-fd structs
      (fd in 0..3, by ``a0 < 4``), plus one stride when the resource is not RLIMIT_STACK
      (an exact is-zero of ``a0[0] - 3 + 256 (a0[1] + a0[2] + a0[3])``, which is zero
      only for the word 3), plus ``32 * random`` for getrandom. Each word row looks up
      every byte it writes at its position, so guest memory receives exactly the
      kernel's bytes. Only the getrandom stream is read from a position the state
      chooses; it is the last blob, so a transfer past its end finds no row.
    * Paths: readlink, statx and fstatat64 start a ``KIND_CMP`` chain at their path
      argument over the 15 bytes ``/proc/self/exe\\0`` (or the 1 byte ``\\0``): its rows
      *read* the words (one slot before the buffer is written) and look every byte up
      in the blob table, so the call is provable only when the path is that string, as
      the VM's ``read_cstring(path) == ...`` test requires.
    * statx's fifth argument: the kernel table reads sp, proves it word-aligned, and
      reads the word at key ``(sp >> 2) + 4 < 2^30`` (a RAM key, range-checked): what
      the executor passes as ``args[4]``.
    * getrandom: the VM consumes its stream in 32-byte blocks (leftover bytes of a block
      are dropped). The ``random`` cell counts blocks: ``32 new = 32 old + n + d`` with
      ``d`` in [0, 32) and ``new < 2^24``, so the next call starts at the next unused
      block, and ``pos0 = base + 32 old``: no byte of the stream is handed out twice or
      chosen by the prover.
    * brk: ``ok = (brk_start <= addr) and (addr <= BRK_LIMIT)`` by exact 16-bit-limb
      comparisons; the cell becomes ``ok ? addr : old`` and v0 the cell's new value.
      When ok, ``addr <= mmap_next``, and a growth (``old < addr``) needs ``old =
      brk_hwm`` and sets ``brk_hwm = addr``; other calls leave ``brk_hwm``.
    * mmap2 / munmap and the all-mapped memory: the proof's memory has every page
      mapped, with value 0 outside the image. The VM maps fresh zero pages on a brk
      growth (``[align(old), align(new))``) and on mmap2; the two agree as long as such a
      page holds 0 in the proof when the VM maps it. Heap pages ever used lie below
      ``align(brk_hwm)``; a growth happens only at the high-water mark, so it maps pages
      above every page the heap used, and below ``mmap_next``. mmap2 requires
      ``flags & MAP_ANONYMOUS`` and not ``MAP_FIXED`` (bit decompositions of a3's bytes),
      ``0 < length < 2^28``, computes ``pages = ceil(length / 4096)`` from the limbs and
      sets ``mmap_next' = mmap_next - 4096 pages`` (exact: both sides < 2^30 + 2^28 < p,
      ``mmap_next' < 2^30`` by its top limb) with ``mmap_next' - 4096 >= brk_hwm`` (an
      exact two-borrow comparison; it implies the VM's ``start > align(brk)``, so the VM
      did not answer ENOMEM), and returns ``mmap_next'``. So mmap regions only move
      down, never overlap each other, the heap (past or future: brk stays <=
      mmap_next), the program or the stack (above ``MMAP_TOP``): in a run that does not
      fault in the VM, nothing wrote to them before. munmap (page-aligned address)
      returns 0 and changes nothing in the proof: the VM unmaps, so a later access
      faults in the VM, and no provable call maps those pages again. (A guest that
      *does* touch unmapped memory is the CPU/memory design's known difference, not one
      these calls add.)
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
faults on unmapped pages, a difference that belongs to the CPU/memory design (the rules
on brk and mmap2 above keep these calls from adding one).
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
from vm.boot import MMAP_TOP, page_align_up
from vm.layout import NUM_REGS, PAGE_SIZE, TLS
from vm.memory import Memory
from vm.syscall_log import SyscallRecord
from vm.syscalls import (
    _ENOSYS, _ZERO, BRK_LIMIT, EFAULT, ENOTTY, FD_JOURNAL, FD_LOG, FD_PRIVIN, FD_PUBLIN, INITIAL_FDS, MAP_ANONYMOUS,
    MAP_FIXED, RLIMIT_STACK, SYSCALL_NAMES, Kernel,
)

SYSCALL_TABLE = "syscall"
IO_TABLE = "syscall_io"
PRIVATE_TABLE = "private_input"
CONST_TABLE = "syscall_const"
KERNEL_TABLE = "syscall_kernel"
BLOB_TABLE = "syscall_blob"
BUS_SYSIO = "sysio"
BUS_PRIVATE = "private"
BUS_SYSCONST = "sysconst"
BUS_SYSKERN = "syskern"
BUS_BLOB = "blob"

#: Kernel cells: state-vector indices after vm.layout's registers.
K_BRK, K_BRK_START, K_PUBLIC_POS, K_PRIVATE_POS, K_JOURNAL_LEN, K_HALTED, K_RANDOM, K_MMAP_NEXT, K_BRK_HWM = \
    range(NUM_REGS, NUM_REGS + 9)
REG = REGISTER_KEY_BASE
V0, A0, A1, A2, A3, SP = 2, 4, 5, 6, 7, 29
#: Bytes of one read/write, and every cursor, stay below this (24-bit checks).
IO_LIMIT = 1 << 24
#: sysio kinds.
KIND_PUBLIC, KIND_PRIVATE, KIND_JOURNAL, KIND_BLOB, KIND_CMP = 1, 2, 3, 4, 5

SYS_EXIT = {4001, 4246}
SYS_READ, SYS_WRITE, SYS_BRK, SYS_SET_THREAD_AREA = 4003, 4004, 4045, 4283
_PID_LIKE = ("getpid", "gettid", "set_tid_address", "getuid", "geteuid", "getgid", "getegid")
#: Calls whose vm.syscalls handler ignores every argument (``def sys_x(self, *_)``).
_ARG_FREE = ("lseek", "_llseek", "open", "openat", "access", "faccessat")

SELECTORS = ("s_exit", "s_rpub", "s_rpriv", "s_wjour", "s_wlog", "s_brk", "s_tls", "s_const", "s_kern")
PUBLICS = ("exit_code", "input_len", "input_read", *(f"io_digest{i}" for i in range(16)), "cycles")
IO_DIGEST_DOMAIN = b"zkmips-syscall-io-v1"


# ----------------------------------------------------------------------------- constants
def constant_syscalls() -> dict[int, tuple[int, int]]:
    """``{number: (v0, a3)}`` of the calls whose answer does not depend on arguments or
    state, computed by running vm.syscalls' own dispatcher (the one semantics)."""
    out = {}
    for number, name in sorted(SYSCALL_NAMES.items()):
        if name in _ENOSYS or name in _ZERO or name in _PID_LIKE or name in _ARG_FREE:
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
    return {REG + K_BRK: start, REG + K_BRK_START: start, REG + K_MMAP_NEXT: MMAP_TOP, REG + K_BRK_HWM: start}


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
    s_exit, s_rpub, s_rpriv, s_wjour, s_wlog, s_brk, s_tls, s_const, s_kern = (sel[s] for s in SELECTORS)
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
    t.assert_zero((real - s_const - s_kern) * err)
    t.send(BUS_SYSCONST, [num[0] + num[1] * 256, *r, err], s_const)
    # the calls of the kernel table: it checks the number and the result against the arguments
    t.send(BUS_SYSKERN, [ts, num[0] + num[1] * 256, *a0, *a1, *a2, *r, err], s_kern)

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
    # the exit is the run's last instruction: its cycle is the claim's cycle count, which
    # the CPU's last real row also has (so no instruction after the exit is proven)
    t.assert_zero(s_exit * (ts - TS_PER_CYCLE * pub["cycles"]))
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

    # brk: ok = brk_start <= addr <= BRK_LIMIT; cell = ok ? addr : old, v0 = the cell.
    # When ok: no growth past mmap_next, and a growth only from the high-water mark (the
    # highest break so far), which it raises (so the pages the VM maps are fresh)
    bs = _read_access(t, "bs", REG + K_BRK_START, ts + SLOT_SYSTEM, s_brk)
    mn = _read_access(t, "mn", REG + K_MMAP_NEXT, ts + SLOT_SYSTEM, s_brk)
    hwnew = t.mains("hwnew0", "hwnew1", "hwnew2", "hwnew3")
    hw = M.memory_access(t, "hw", REG + K_BRK_HWM, hwnew, ts + SLOT_SYSTEM, 1, s_brk, check_gap_hi=False)
    start = bs.prev
    limit = [(BRK_LIMIT >> (8 * j)) & 0xFF for j in range(4)]
    below = _less_than(t, "cmp_start", a0, start, s_brk)
    above = _less_than(t, "cmp_limit", limit, a0, s_brk)
    grows = _less_than(t, "cmp_grow", kprev, a0, s_brk)
    into_mmap = _less_than(t, "cmp_mmap", mn.prev, a0, s_brk)
    ok, grow = t.mains("brk_ok", "brk_grow")
    t.assert_zero(s_brk * (ok - (1 - below) * (1 - above)))
    t.assert_zero(s_brk * ok * into_mmap)
    t.assert_bool(grow)
    t.assert_zero(s_brk * (grow - ok * grows))
    t.assert_zero(grow * (1 - s_brk))
    for j in range(4):
        t.assert_zero(s_brk * (knew[j] - kprev[j] - ok * (a0[j] - kprev[j])))
        t.assert_zero(s_brk * (r[j] - knew[j]))
        t.assert_zero(grow * (kprev[j] - hw.prev[j]))
        t.assert_zero(s_brk * (hwnew[j] - hw.prev[j] - grow * (a0[j] - hw.prev[j])))

    # byte checks: the limbs this table produces and the accesses' gap high bytes
    range_check_bytes(t, [a.gap_hi for a in reads], real)
    range_check_bytes(t, [v0w.gap_hi, a3w.gap_hi, *r], s_res)
    range_check_bytes(t, [kc.gap_hi, *knew], s_kc)
    range_check_bytes(t, [bs.gap_hi, mn.gap_hi, hw.gap_hi], s_brk)
    range_check_bytes(t, [q], s_mv)
    range_check_bytes(t, [d_hi], short)
    return t


# ----------------------------------------------------------------------------- word rows
IO_FLAGS = ("k_pub", "k_priv", "k_jour", "k_blob", "k_cmp")
IO_KINDS = (KIND_PUBLIC, KIND_PRIVATE, KIND_JOURNAL, KIND_BLOB, KIND_CMP)


def build_syscall_io() -> Table:
    """One row per guest word a transfer moves bytes through: a link of the ``sysio``
    chain its header (or kernel-table) row starts (module docstring). Kinds: public and
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


# ----------------------------------------------------------------------------- kernel blobs
#: Bytes of the deterministic getrandom stream the blob table holds (a proof refuses more).
RANDOM_BYTES = 6144
#: The one path readlink can be proven for (vm.syscalls.Kernel.sys_readlink), with its NUL.
PROC_SELF_EXE = b"/proc/self/exe\0"
_NUMBER = {name: number for number, name in SYSCALL_NAMES.items()}
_BUF, _EMPTY_PATH, _EXE_PATH = 0x100000, 0x200000, 0x200010
_PROVABLE_FDS = tuple(sorted(INITIAL_FDS))          # 0..3: no provable call edits the fd table
assert _PROVABLE_FDS == tuple(range(len(_PROVABLE_FDS)))


class _WriteCapture:
    """Guest memory for computing a blob: records the kernel's writes."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self.writes: list[tuple[int, bytes]] = []

    def __getattr__(self, name: str):
        return getattr(self._memory, name)

    def write(self, addr: int, data: bytes) -> None:
        self.writes.append((addr, bytes(data)))
        self._memory.write(addr, data)


def _kernel_writes(name: str, *args: int) -> bytes:
    """What vm.syscalls' handler of ``name`` writes at ``_BUF`` on a fresh kernel (the one
    semantics: blobs are never written out by hand)."""
    mem = Memory(all_mapped=True)
    mem.write(_EMPTY_PATH, b"\0")
    mem.write(_EXE_PATH, PROC_SELF_EXE)
    cap = _WriteCapture(mem)
    args6 = (list(args) + [0] * 6)[:6]
    v0, a3 = Kernel().dispatch(_NUMBER[name], args6, cap, 0, 0)
    if a3 or len(cap.writes) != 1 or cap.writes[0][0] != _BUF:
        raise AssertionError(f"vm.syscalls' {name} no longer writes one blob: ({v0}, {a3}), {cap.writes}")
    return cap.writes[0][1]


@dataclass(frozen=True)
class BlobLayout:
    """The kernel's fixed byte strings, concatenated: ``base[name]`` is the position of a
    blob's first byte in the blob table; ``data`` all bytes (the getrandom stream last,
    so a getrandom transfer that runs past it finds no row)."""

    base: dict[str, int]
    size: dict[str, int]
    data: bytes


_LAYOUT: BlobLayout | None = None


def blob_layout() -> BlobLayout:
    global _LAYOUT
    if _LAYOUT is None:
        blobs: list[tuple[str, bytes]] = [
            ("nul", b"\0"),                                                   # the path "" (statx, fstatat64)
            ("proc_self_exe", PROC_SELF_EXE),
            ("execfn", _kernel_writes("readlink", _EXE_PATH, _BUF, 1 << 20)),
            ("rlimit_stack", _kernel_writes("getrlimit", RLIMIT_STACK, _BUF)),
            ("rlimit_other", _kernel_writes("getrlimit", 0, _BUF)),
            ("prlimit_stack", _kernel_writes("prlimit64", 0, RLIMIT_STACK, 0, _BUF)),
            ("prlimit_other", _kernel_writes("prlimit64", 0, 0, 0, _BUF)),
            *((f"statx{fd}", _kernel_writes("statx", fd, _EMPTY_PATH, 0x1000, 0x7FF, _BUF)) for fd in _PROVABLE_FDS),
            *((f"fstat{fd}", _kernel_writes("fstat64", fd, _BUF)) for fd in _PROVABLE_FDS),
            ("uname", _kernel_writes("uname", _BUF)),
            ("sysinfo", _kernel_writes("sysinfo", _BUF)),
            ("cwd", _kernel_writes("getcwd", _BUF, 1 << 20)),
            ("random", _kernel_writes("getrandom", _BUF, RANDOM_BYTES, 0)),
        ]
        base, size, at = {}, {}, 0
        for name, data in blobs:
            base[name], size[name] = at, len(data)
            at += len(data)
        for family in ("rlimit", "prlimit", "statx", "fstat"):      # per-argument blobs: equal strides
            names = [n for n, _ in blobs if n.startswith(family) and n[len(family):] in
                     ("_stack", "_other", *(str(fd) for fd in _PROVABLE_FDS))]
            stride = size[names[0]]
            if any(base[n] != base[names[0]] + i * stride for i, n in enumerate(names)):
                raise AssertionError(f"blobs of {family} are not of one size")
        _LAYOUT = BlobLayout(base, size, b"".join(d for _, d in blobs))
    return _LAYOUT


def build_syscall_blob() -> Table:
    """Preprocessed ``(pos, byte)`` of every fixed string the kernel can write or compare
    (:func:`blob_layout`), offered on the ``blob`` bus with the free multiplicity ``mult``
    (0 on padding rows: ``is_entry`` is fixed)."""
    t = Table(BLOB_TABLE)
    pos, byte, is_entry = (t.pre(n) for n in ("pos", "byte", "is_entry"))
    mult = t.main("mult")
    t.assert_zero(mult * (1 - is_entry))
    data = blob_layout().data
    pre = np.zeros((M.table_height(len(data)), 3), dtype=np.uint32)
    pre[: len(data), 0] = np.arange(len(data))
    pre[: len(data), 1] = np.frombuffer(data, np.uint8)
    pre[: len(data), 2] = 1
    t.set_preprocessed(pre)
    t.send(BUS_BLOB, [pos, byte], mult)
    return t


# ----------------------------------------------------------------------------- the kernel table
#: The calls of the kernel table, in selector order.
KERNEL_CALLS = ("getrlimit", "prlimit64", "readlink", "getrandom", "statx", "fstat64", "fstatat64", "uname",
                "sysinfo", "getcwd", "ioctl", "mmap2", "munmap")
KERNEL_SELECTORS = tuple(f"is_{c}" for c in KERNEL_CALLS)
#: Which ones copy a blob into guest memory, and where their buffer address comes from.
BLOB_CALLS = ("getrlimit", "prlimit64", "readlink", "getrandom", "statx", "fstat64", "fstatat64", "uname",
              "sysinfo", "getcwd")
_BUF_ARG = {"getrlimit": "a1", "readlink": "a1", "fstat64": "a1", "getrandom": "a0", "uname": "a0",
            "sysinfo": "a0", "getcwd": "a0", "fstatat64": "a2", "prlimit64": "a3", "statx": "arg5"}
#: Calls whose path argument must equal a blob: (argument, blob).
_PATH_ARG = {"readlink": ("a0", "proc_self_exe"), "statx": ("a1", "nul"), "fstatat64": ("a1", "nul")}
_FD_CALLS = ("statx", "fstat64", "fstatat64", "ioctl")       # a0 is an fd in 0..3
#: A mmap2 length must stay below this (so the cursor arithmetic is exact in the field).
MMAP_LENGTH_LIMIT = 1 << 28
_ANON_BYTE, _ANON_BIT = divmod(MAP_ANONYMOUS.bit_length() - 1, 8)
_FIXED_BYTE, _FIXED_BIT = divmod(MAP_FIXED.bit_length() - 1, 8)
assert MAP_ANONYMOUS == 1 << (8 * _ANON_BYTE + _ANON_BIT) and MAP_FIXED == 1 << (8 * _FIXED_BYTE + _FIXED_BIT)
assert _ANON_BYTE != _FIXED_BYTE and PAGE_SIZE == 4096


def _word_cols(t: Table, name: str) -> list[Expr]:
    return t.mains(*(f"{name}_{j}" for j in range(4)))


def _at_least(t: Table, name: str, x: Sequence[ExprLike], y: Sequence[ExprLike], offset: int, when: ExprLike) -> None:
    """``x - y - offset >= 0`` for two words (byte limbs) and ``0 <= offset < 2^16``:
    ``x_lo - y_lo - offset + 2^16 c = d_lo`` and ``x_hi - y_hi - c = d_hi`` with ``d_lo``,
    ``d_hi`` in range16 and the borrow ``c = c1 + c2`` (two booleans: the low half can
    need 2), so ``x - y - offset = d_lo + 2^16 d_hi >= 0``; every value is far below p."""
    c1, c2, d_lo, d_hi = t.mains(f"{name}_c1", f"{name}_c2", f"{name}_dlo", f"{name}_dhi")
    x_lo, x_hi = lift(x[0]) + lift(x[1]) * 256, lift(x[2]) + lift(x[3]) * 256
    y_lo, y_hi = lift(y[0]) + lift(y[1]) * 256, lift(y[2]) + lift(y[3]) * 256
    t.assert_bool(c1)
    t.assert_bool(c2)
    t.assert_zero(lift(when) * (x_lo - y_lo - offset + (c1 + c2) * 65536 - d_lo))
    t.assert_zero(lift(when) * (x_hi - y_hi - c1 - c2 - d_hi))
    t.send(BUS_RANGE16, [d_lo], when)
    t.send(BUS_RANGE16, [d_hi], when)


def _below(t: Table, checks: list, x: ExprLike, bound: int, when: ExprLike) -> None:
    """Queue the byte checks of ``x`` and ``x + 256 - bound``: an integer in [0, bound)."""
    checks.append((x, when))
    checks.append((lift(x) + (256 - bound), when))


def build_syscall_kernel() -> Table:
    """One row per call of :data:`KERNEL_CALLS`: receives ``(ts, number, a0, a1, a2, r,
    err)`` from its header row (which made the register accesses and writes ``r``/``err``
    to v0/a3) and proves that the number is the selector's, that the result is the
    kernel's, and the memory and kernel-cell effects (module docstring)."""
    t = Table(KERNEL_TABLE)
    real, ts, num = t.mains("is_real", "ts", "num")
    a0, a1, a2, r = (_word_cols(t, n) for n in ("a0", "a1", "a2", "r"))
    err = t.main("err")
    sel = dict(zip(KERNEL_CALLS, t.mains(*KERNEL_SELECTORS)))
    t.assert_bool(real)
    total = lift(0)
    for name, s in sel.items():
        t.assert_bool(s)
        t.assert_zero(s * (num - _NUMBER[name]))
        total = total + s
    t.assert_zero(total - real)
    t.receive(BUS_SYSKERN, [ts, num, *a0, *a1, *a2, *r, err], real)
    checks: list[tuple[ExprLike, ExprLike]] = []           # byte range checks (value, multiplicity)
    layout = blob_layout()
    B = layout.base

    def any_of(*names: str) -> Expr:
        return sum((lift(sel[n]) for n in names), lift(0))

    # more arguments: a3 (prlimit64's old, mmap2's flags) and statx's 5th, the word at sp + 16
    x3 = _read_access(t, "x3", REG + A3, ts + SLOT_READ_A, any_of("prlimit64", "mmap2"))
    s_stx = sel["statx"]
    sp = _read_access(t, "sp", REG + SP, ts + SLOT_READ_A, s_stx)
    sq, sk_lo, sk_hi = t.mains("sq", "sk_lo", "sk_hi")
    t.assert_zero(s_stx * (sp.prev[0] - sq * 4))                       # sp word-aligned
    _below(t, checks, sq, 64, s_stx)
    skey = sq + lift(sp.prev[1]) * 64 + lift(sp.prev[2]) * 16384 + lift(sp.prev[3]) * 4194304 + 4
    t.assert_zero(s_stx * (skey - sk_lo - sk_hi * 65536))              # < 2^30: RAM, no wrap
    for v in (sk_lo, sk_hi, sk_hi * 4):
        t.send(BUS_RANGE16, [v], s_stx)
    arg5 = _read_access(t, "arg5", skey, ts + SLOT_READ_A, s_stx)
    args = {"a0": a0, "a1": a1, "a2": a2, "a3": x3.prev, "arg5": arg5.prev}

    # an fd argument in 0..3 (the initial fd table; no provable call edits it)
    s_fd = any_of(*_FD_CALLS)
    for j in (1, 2, 3):
        t.assert_zero(s_fd * a0[j])
    _below(t, checks, a0[0], len(_PROVABLE_FDS), s_fd)

    # resource == RLIMIT_STACK (getrlimit: a0, prlimit64: a1): e = 0 exactly then
    e, eqf, einv = t.mains("e", "eqf", "einv")
    s_rl = any_of("getrlimit", "prlimit64")

    def e_of(x):
        return lift(x[0]) - RLIMIT_STACK + (lift(x[1]) + x[2] + x[3]) * 256
    t.assert_zero(sel["getrlimit"] * (e - e_of(a0)) + sel["prlimit64"] * (e - e_of(a1)))
    t.assert_bool(eqf)
    t.assert_zero(eqf * e)
    t.assert_zero(s_rl * (1 - eqf - e * einv))
    t.assert_zero(eqf * (1 - s_rl))
    # prlimit64: a non-zero old pointer gets the struct
    nzf, zinv = t.mains("nzf", "zinv")
    z = lift(x3.prev[0]) + x3.prev[1] + x3.prev[2] + x3.prev[3]
    t.assert_bool(nzf)
    t.assert_zero(sel["prlimit64"] * z * (1 - nzf))
    t.assert_zero(nzf * (1 - z * zinv))
    t.assert_zero(nzf * (1 - sel["prlimit64"]))
    # readlink copies min(size, len) bytes; getcwd needs size >= 2
    lt6 = _less_than(t, "lt_size", a2, [layout.size["execfn"], 0, 0, 0], sel["readlink"])
    lt2 = _less_than(t, "lt_cwd", a1, [layout.size["cwd"], 0, 0, 0], sel["getcwd"])
    t.assert_zero(sel["getcwd"] * lt2)

    # the kernel cell: getrandom's block counter, mmap2's cursor
    s_kc = any_of("getrandom", "mmap2")
    knew = _word_cols(t, "knew")
    kkey = REG + sel["getrandom"] * K_RANDOM + sel["mmap2"] * K_MMAP_NEXT
    kc = M.memory_access(t, "kc", kkey, knew, ts + SLOT_SYSTEM, 1, s_kc, check_gap_hi=False)
    checks += [(v, s_kc) for v in (*knew, kc.gap_hi)]

    # the blob copy: a sysio chain of kind KIND_BLOB from buf, n bytes from position pos
    buf = _word_cols(t, "buf")
    n, n_inv, has_io, pos, bq, bl0, bl1 = t.mains("n", "n_inv", "has_io", "pos", "bq", "bl0", "bl1")
    for src in args:
        users = [c for c in BLOB_CALLS if _BUF_ARG[c] == src]
        for j in range(4):
            t.assert_zero(any_of(*users) * (buf[j] - args[src][j]))
    s_blob = any_of(*BLOB_CALLS)
    count24 = lift(a1[0]) + lift(a1[1]) * 256 + lift(a1[2]) * 65536
    n_of = {
        "getrlimit": lift(layout.size["rlimit_stack"]),
        "prlimit64": nzf * layout.size["prlimit_stack"],
        "readlink": layout.size["execfn"] + lt6 * (lift(a2[0]) - layout.size["execfn"]),
        "getrandom": count24,
        "statx": lift(layout.size["statx0"]),
        "fstat64": lift(layout.size["fstat0"]),
        "fstatat64": lift(layout.size["fstat0"]),
        "uname": lift(layout.size["uname"]),
        "sysinfo": lift(layout.size["sysinfo"]),
        "getcwd": lift(layout.size["cwd"]),
    }
    dr = t.main("dr")
    kold = word_value(kc.prev)
    pos_of = {
        "getrlimit": B["rlimit_stack"] + (1 - eqf) * layout.size["rlimit_stack"],
        "prlimit64": B["prlimit_stack"] + (1 - eqf) * layout.size["prlimit_stack"],
        "readlink": lift(B["execfn"]),
        "getrandom": B["random"] + kold * 32,
        "statx": B["statx0"] + lift(a0[0]) * layout.size["statx0"],
        "fstat64": B["fstat0"] + lift(a0[0]) * layout.size["fstat0"],
        "fstatat64": B["fstat0"] + lift(a0[0]) * layout.size["fstat0"],
        "uname": lift(B["uname"]),
        "sysinfo": lift(B["sysinfo"]),
        "getcwd": lift(B["cwd"]),
    }
    for c in BLOB_CALLS:
        t.assert_zero(sel[c] * (n - n_of[c]))
        t.assert_zero(sel[c] * (pos - pos_of[c]))
    t.assert_zero(sel["getrandom"] * a1[3])                       # count < 2^24
    t.assert_bool(has_io)
    t.assert_zero(has_io * (1 - s_blob))
    t.assert_zero((1 - has_io) * n)
    t.assert_zero(has_io * (1 - n * n_inv))
    t.assert_bool(bl0)
    t.assert_bool(bl1)
    t.assert_zero(s_blob * (buf[0] - bq * 4 - bl0 - bl1 * 2))
    checks.append((bq, s_blob))
    key0 = bq + lift(buf[1]) * 64 + lift(buf[2]) * 16384 + lift(buf[3]) * 4194304
    t.send(BUS_SYSIO, [ts, KIND_BLOB, key0, bl0 + bl1 * 2, n, pos], has_io)
    t.receive(BUS_SYSIO, [ts, KIND_BLOB, 0, 0, 0, pos + n], has_io)

    # the path compare: a sysio chain of kind KIND_CMP over the blob's bytes, NUL included
    pa = _word_cols(t, "pa")
    cq, cl0, cl1 = t.mains("cq", "cl0", "cl1")
    s_cmp = any_of(*_PATH_ARG)
    for c, (src, _) in _PATH_ARG.items():
        for j in range(4):
            t.assert_zero(sel[c] * (pa[j] - args[src][j]))
    t.assert_bool(cl0)
    t.assert_bool(cl1)
    t.assert_zero(s_cmp * (pa[0] - cq * 4 - cl0 - cl1 * 2))
    checks.append((cq, s_cmp))
    ckey0 = cq + lift(pa[1]) * 64 + lift(pa[2]) * 16384 + lift(pa[3]) * 4194304
    cn = sum((sel[c] * layout.size[b] for c, (_, b) in _PATH_ARG.items()), lift(0))
    cpos = sum((sel[c] * B[b] for c, (_, b) in _PATH_ARG.items()), lift(0))
    t.send(BUS_SYSIO, [ts, KIND_CMP, ckey0, cl0 + cl1 * 2, cn, cpos], s_cmp)
    t.receive(BUS_SYSIO, [ts, KIND_CMP, 0, 0, 0, cpos + cn], s_cmp)

    # getrandom: the stream is consumed in 32-byte blocks (leftover bytes are dropped):
    # 32 new = 32 old + n + dr, dr in [0, 32); counters stay below 2^24
    s_rnd = sel["getrandom"]
    t.assert_zero(s_rnd * (word_value(knew) * 32 - kold * 32 - n - dr))
    t.assert_zero(s_rnd * knew[3])
    _below(t, checks, dr, 32, s_rnd)

    # mmap2 (anonymous, not MAP_FIXED): start = mmap_next - page_align_up(length) and
    # start > page_align_up(brk); the cursor becomes start
    s_mm = sel["mmap2"]
    flags = x3.prev
    alo, ahi, flo, fhi = t.mains("anon_lo", "anon_hi", "fixed_lo", "fixed_hi")
    t.assert_zero(s_mm * (flags[_ANON_BYTE] - alo - (1 << _ANON_BIT) - ahi * (2 << _ANON_BIT)))
    t.assert_zero(s_mm * (flags[_FIXED_BYTE] - flo - fhi * (2 << _FIXED_BIT)))
    _below(t, checks, alo, 1 << _ANON_BIT, s_mm)
    _below(t, checks, ahi, 128 >> _ANON_BIT, s_mm)
    _below(t, checks, flo, 1 << _FIXED_BIT, s_mm)
    _below(t, checks, fhi, 128 >> _FIXED_BIT, s_mm)
    nlo, nhi, lo_nz, lo_inv, pinv = t.mains("len_nlo", "len_nhi", "lo_nz", "lo_inv", "pages_inv")
    t.assert_zero(s_mm * (a1[1] - nlo - nhi * 16))
    _below(t, checks, nlo, 16, s_mm)
    _below(t, checks, nhi, 16, s_mm)
    _below(t, checks, a1[3], MMAP_LENGTH_LIMIT >> 24, s_mm)
    lo = lift(a1[0]) + nlo * 256                                   # length & 0xFFF
    t.assert_bool(lo_nz)
    t.assert_zero(s_mm * lo * (1 - lo_nz))
    t.assert_zero(lo_nz * (1 - lo * lo_inv))
    t.assert_zero(lo_nz * (1 - s_mm))
    pages = nhi + lift(a1[2]) * 16 + lift(a1[3]) * 4096 + lo_nz     # page_align_up(length) / 4096
    t.assert_zero(s_mm * (1 - pages * pinv))                       # length != 0
    t.assert_zero(s_mm * (word_value(knew) + pages * PAGE_SIZE - kold))
    _below(t, checks, knew[3], 64, s_mm)                           # start < 2^30
    kb = _read_access(t, "kb", REG + K_BRK_HWM, ts + SLOT_SYSTEM, s_mm)
    _at_least(t, "room", knew, kb.prev, PAGE_SIZE, s_mm)          # start - 4096 >= the highest break
    # munmap: a page-aligned address
    um = t.main("um")
    t.assert_zero(sel["munmap"] * a0[0])
    t.assert_zero(sel["munmap"] * (a0[1] - um * 16))
    _below(t, checks, um, 16, sel["munmap"])

    # results
    res = {c: [0, 0, 0, 0] for c in KERNEL_CALLS}
    res["readlink"] = [n, 0, 0, 0]
    res["getrandom"] = list(a1)
    res["getcwd"] = [layout.size["cwd"], 0, 0, 0]
    res["ioctl"] = [ENOTTY, 0, 0, 0]
    res["mmap2"] = list(knew)
    for c in KERNEL_CALLS:
        for j in range(4):
            t.assert_zero(sel[c] * (r[j] - res[c][j]))
    t.assert_zero(sel["ioctl"] * (err - 1))
    t.assert_zero((real - sel["ioctl"]) * err)

    # byte checks: the accesses' gap high bytes and the queued ranges
    checks += [(x3.gap_hi, any_of("prlimit64", "mmap2")), (sp.gap_hi, s_stx), (arg5.gap_hi, s_stx), (kb.gap_hi, s_mm)]
    by_mult: dict[str, tuple[ExprLike, list]] = {}
    for v, m in checks:
        key = lift(m).key
        by_mult.setdefault(key, (m, []))[1].append(v)
    for m, values in by_mult.values():
        range_check_bytes(t, values, m)
    return t


# ----------------------------------------------------------------------------- claim
def io_digest(public_input: bytes, journal: bytes) -> bytes:
    return keccak256(IO_DIGEST_DOMAIN + len(public_input).to_bytes(8, "little") + bytes(public_input)
                     + len(journal).to_bytes(8, "little") + bytes(journal))


def io_digest_limbs(public_input: bytes, journal: bytes) -> list[int]:
    """The 16 public values ``io_digest0..15`` (16-bit limbs of :func:`io_digest`)."""
    d = io_digest(public_input, journal)
    return [int.from_bytes(d[2 * i: 2 * i + 2], "little") for i in range(16)]


def syscall_publics(public_input: bytes, journal: bytes, exit_code: int, input_read: int, cycles: int) -> list[int]:
    """The header table's public values for a claim (what the verifier must check)."""
    return [exit_code & 0xFF, len(public_input), input_read, *io_digest_limbs(public_input, journal), cycles]


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
    kernel: list[dict] = field(default_factory=list)
    blob_counts: np.ndarray | None = None
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
    wit.blob_counts = np.zeros(len(blob_layout().data), np.int64)
    brk_start = page_align_up(program_end)
    state = {"brk": brk_start, "hwm": brk_start, "public_pos": 0, "private_pos": 0, "journal_len": 0,
             "random": 0, "mmap_next": MMAP_TOP}
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
               "q": 0, "l0": 0, "l1": 0, "cmp": {}, "brk_ok": 0, "brk_grow": 0, "hwnew": 0, "kkey": None}
        name = rec.name
        kkey = None
        if rec.a3 == 1 and rec.v0 == EFAULT:
            raise not_provable(rec, " (EFAULT: the proof's memory has every page mapped)")
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
            ok = not (a0 < brk_start or BRK_LIMIT < a0)
            grow = ok and old < a0
            if grow and old != state["hwm"]:
                raise not_provable(rec, f" (brk grows to 0x{a0:08x} after a shrink below 0x{state['hwm']:08x})")
            if ok and a0 > state["mmap_next"]:
                raise not_provable(rec, f" (brk grows to 0x{a0:08x}, past the mmap area at 0x{state['mmap_next']:08x})")
            row["cmp"] = {"cmp_start": (a0, brk_start), "cmp_limit": (BRK_LIMIT, a0), "cmp_grow": (old, a0),
                          "cmp_mmap": (state["mmap_next"], a0)}
            row["brk_ok"], row["brk_grow"], row["hwm_old"] = int(ok), int(grow), state["hwm"]
            state["brk"] = a0 if ok else old
            state["hwm"] = a0 if grow else state["hwm"]
            row["hwnew"] = state["hwm"]
            row["knew"] = state["brk"]
        elif rec.number == SYS_SET_THREAD_AREA:
            row["sel"], kkey = "s_tls", None
            row["knew"] = a0
        elif rec.number in consts:
            row["sel"] = "s_const"
            wit.const_counts[rec.number] = wit.const_counts.get(rec.number, 0) + 1
        elif name in KERNEL_CALLS:
            row["sel"] = "s_kern"
            row["r"], row["err"] = _kernel_row(rec, ts, state, wit, access)
        else:
            raise not_provable(rec)
        sel = row["sel"]
        if sel not in ("s_exit", "s_kern"):
            row["r"], row["err"] = (consts[rec.number] if sel == "s_const" else
                                    (row["n"] if sel in ("s_rpub", "s_rpriv") else row["knew"] if sel == "s_brk" else
                                     a2 if sel in ("s_wjour", "s_wlog") else 0, 0))
        if sel != "s_exit":
            if (row["r"], row["err"]) != (rec.v0, rec.a3):
                raise ValueError(f"cycle {rec.cycle}: {name} returned ({rec.v0}, {rec.a3}) but the tables "
                                 f"derive ({row['r']}, {row['err']})")
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
            access(i, "mn", REG + K_MMAP_NEXT, ts + SLOT_SYSTEM, state["mmap_next"], False)
            access(i, "hw", REG + K_BRK_HWM, ts + SLOT_SYSTEM, row["hwnew"], True)
        if max(state["public_pos"], state["private_pos"], state["journal_len"]) >= IO_LIMIT:
            raise not_provable(rec, " (an I/O cursor reaches 2^24)")
        wit.header.append(row)
        if sel == "s_exit":
            break
    if exit_code is None:
        raise ValueError("the run has no exit: a proof needs exactly one exit/exit_group")
    if journal is not None and bytes(journal) != bytes(journal_out):
        raise ValueError("the records' journal bytes differ from the run's journal")
    wit.publics = syscall_publics(public_input, bytes(journal_out), exit_code, state["public_pos"],
                                  wit.header[-1]["ts"] // TS_PER_CYCLE)
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
    _word_rows(rec, row["ts"], kind, buf, data, pos0, wit, access)


def _word_rows(rec: SyscallRecord, ts: int, kind: int, buf: int, data: bytes, pos0: int, wit: SyscallWitness,
               access) -> None:
    """The ``sysio`` word rows of one transfer of ``data`` at guest address ``buf``
    (positions ``pos0, pos0 + 1, ...``), with their memory accesses; checks that memory
    holds ``data`` (after the call for writes, before it for reads)."""
    is_write = kind in (KIND_PUBLIC, KIND_PRIVATE, KIND_BLOB)
    words = {w: new for w, _, new in rec.words_written} if is_write else dict(rec.words_read)
    slot = SLOT_MEMORY - (kind == KIND_CMP)
    n = len(data)
    k, addr = 0, buf
    while k < n:
        lo2 = addr & 3
        take = min(4 - lo2, n - k)
        word_addr = addr & ~3
        if word_addr not in words or word_addr >= 1 << 32:
            raise not_provable(rec, f" (guest word 0x{word_addr:08x} of a transfer is not in the record)")
        value = words[word_addr]
        for j in range(take):
            if (value >> (8 * (lo2 + j))) & 0xFF != data[k + j]:
                raise ValueError(f"cycle {rec.cycle}: guest memory at 0x{word_addr:08x} disagrees with the bytes "
                                 f"{rec.name} moved")
        io_row = {"ts": ts, "kind": kind, "wkey": word_addr >> 2, "lo2": lo2, "hi": lo2 + take - 1,
                  "rem": n - k, "pos": pos0 + k, "last": int(k + take == n), "w": value, "is_write": is_write}
        access(len(wit.io), "w", word_addr >> 2, ts + slot, value, is_write, IO_TABLE)
        wit.io.append(io_row)
        if kind in (KIND_BLOB, KIND_CMP):
            wit.blob_counts[pos0 + k: pos0 + k + take] += 1
        k += take
        addr += take


def _inv(v: int) -> int:
    v %= F.P
    return pow(v, F.P - 2, F.P) if v else 0


def _lt_witness(x: int, y: int) -> tuple[int, int, int, int]:
    """The columns (c, lt, d_lo, d_hi) of :func:`_less_than` for words x, y."""
    borrow = int((x & 0xFFFF) < (y & 0xFFFF))
    return (borrow, int(x < y), (x & 0xFFFF) - (y & 0xFFFF) + 65536 * borrow,
            (x >> 16) - (y >> 16) - borrow + 65536 * int(x < y))


def _kernel_row(rec: SyscallRecord, ts: int, state: dict, wit: SyscallWitness, access) -> tuple[int, int]:
    """The kernel-table row of one call (and its word rows and accesses); returns the
    (v0, a3) the tables derive. Refuses what the table cannot prove exactly."""
    name, args = rec.name, rec.args
    a0, a1, a2, a3 = args[0], args[1], args[2], args[3]
    layout = blob_layout()
    i = len(wit.kernel)
    k: dict[str, int] = {"is_real": 1, "ts": ts, "num": rec.number, f"is_{name}": 1}
    for nm, v in (("a0", a0), ("a1", a1), ("a2", a2)):
        for j, b in enumerate(_limbs(v)):
            k[f"{nm}_{j}"] = b
    if rec.a3 and not (name == "ioctl" and rec.v0 == ENOTTY):
        raise not_provable(rec, f" (it fails with errno {rec.v0})")
    r, err = 0, 0
    arg_value = {"a0": a0, "a1": a1, "a2": a2, "a3": a3, "arg5": args[4]}
    if name in ("prlimit64", "mmap2"):
        access(i, "x3", REG + A3, ts + SLOT_READ_A, a3, False, KERNEL_TABLE)
    if name in _FD_CALLS and a0 not in _PROVABLE_FDS:
        raise not_provable(rec, f" (fd {a0} is not one of {_PROVABLE_FDS})")
    if name == "statx":
        sp = rec.sp
        if sp & 3 or sp + 20 > 1 << 32:
            raise not_provable(rec, f" (sp 0x{sp:08x} is unaligned or at the top of memory)")
        access(i, "sp", REG + SP, ts + SLOT_READ_A, sp, False, KERNEL_TABLE)
        key = (sp + 16) >> 2
        k.update(sq=(sp & 0xFF) >> 2, sk_lo=key & 0xFFFF, sk_hi=key >> 16)
        access(i, "arg5", key, ts + SLOT_READ_A, args[4], False, KERNEL_TABLE)
    # the path compare (before the copy: the kernel reads the path first)
    if name in _PATH_ARG:
        src, blob = _PATH_ARG[name]
        path = arg_value[src]
        for j, b in enumerate(_limbs(path)):
            k[f"pa_{j}"] = b
        k.update(cq=(path & 0xFF) >> 2, cl0=path & 1, cl1=(path >> 1) & 1)
        want = layout.data[layout.base[blob]: layout.base[blob] + layout.size[blob]]
        words, got = dict(rec.words_read), bytearray()
        for j in range(len(want)):
            if (path + j) & ~3 not in words:
                break
            got.append((words[(path + j) & ~3] >> (8 * ((path + j) & 3))) & 0xFF)
        if bytes(got) != want:
            raise not_provable(rec, f" (its path is not {want[:-1].decode()!r})")
        _word_rows(rec, ts, KIND_CMP, path, want, layout.base[blob], wit, access)
    # the blob
    blob, n, rnd_off = None, 0, 0
    if name in ("getrlimit", "prlimit64"):
        resource = a0 if name == "getrlimit" else a1
        e = (resource & 0xFF) - RLIMIT_STACK + 256 * sum(_limbs(resource)[1:])
        k.update(e=e % F.P, eqf=int(e == 0), einv=_inv(e))
        family = "rlimit" if name == "getrlimit" else "prlimit"
        blob = f"{family}_stack" if resource == RLIMIT_STACK else f"{family}_other"
        n = layout.size[blob]
        if name == "prlimit64":
            z = sum(_limbs(a3))
            k.update(nzf=int(z != 0), zinv=_inv(z))
            n = n if a3 else 0
    elif name == "readlink":
        blob, n = "execfn", min(a2, layout.size["execfn"])
        k.update(zip(("lt_size_c", "lt_size_lt", "lt_size_dlo", "lt_size_dhi"), _lt_witness(a2, layout.size["execfn"])))
        r = n
    elif name == "getrandom":
        if a1 >= IO_LIMIT or 32 * state["random"] + a1 > RANDOM_BYTES:
            raise not_provable(rec, f" (the proof holds the first {RANDOM_BYTES} bytes of the getrandom stream)")
        blob, n, r = "random", a1, a1
        old = state["random"]
        rnd_off = 32 * old
        state["random"] = old + -(-a1 // 32)
        k["dr"] = 32 * state["random"] - 32 * old - a1
        access(i, "kc", REG + K_RANDOM, ts + SLOT_SYSTEM, state["random"], True, KERNEL_TABLE)
        k.update({f"knew_{j}": b for j, b in enumerate(_limbs(state["random"]))})
    elif name in ("statx", "fstat64", "fstatat64"):
        blob = f"{'statx' if name == 'statx' else 'fstat'}{a0}"
        n = layout.size[blob]
    elif name in ("uname", "sysinfo"):
        blob, n = name, layout.size[name]
    elif name == "getcwd":
        if a1 < layout.size["cwd"]:
            raise not_provable(rec, " (a buffer too small: EINVAL)")
        blob, n, r = "cwd", layout.size["cwd"], layout.size["cwd"]
        k.update(zip(("lt_cwd_c", "lt_cwd_lt", "lt_cwd_dlo", "lt_cwd_dhi"), _lt_witness(a1, layout.size["cwd"])))
    elif name == "ioctl":
        r, err = ENOTTY, 1
    elif name == "mmap2":
        length, flags = a1, a3
        if not flags & MAP_ANONYMOUS or flags & MAP_FIXED or not 0 < length < MMAP_LENGTH_LIMIT:
            raise not_provable(rec, " (only anonymous, non-MAP_FIXED mmap2 of 1 byte to 256 MiB is provable)")
        size = page_align_up(length)
        start = state["mmap_next"] - size
        if start - PAGE_SIZE < state["hwm"]:
            raise not_provable(rec, " (no room between the highest break and the mmap area)")
        ab, fb = (flags >> (8 * _ANON_BYTE)) & 0xFF, (flags >> (8 * _FIXED_BYTE)) & 0xFF
        lo = length & 0xFFF
        k.update(anon_lo=ab & ((1 << _ANON_BIT) - 1), anon_hi=ab >> (_ANON_BIT + 1),
                 fixed_lo=fb & ((1 << _FIXED_BIT) - 1), fixed_hi=fb >> (_FIXED_BIT + 1),
                 len_nlo=(length >> 8) & 0xF, len_nhi=(length >> 12) & 0xF, lo_nz=int(lo != 0), lo_inv=_inv(lo),
                 pages_inv=_inv(size // PAGE_SIZE))
        x, y = start, state["hwm"]
        v_lo = (x & 0xFFFF) - (y & 0xFFFF) - PAGE_SIZE
        c = max(0, -(-(-v_lo) // 65536))
        k.update(room_c1=int(c >= 1), room_c2=int(c >= 2), room_dlo=v_lo + 65536 * c,
                 room_dhi=(x >> 16) - (y >> 16) - c)
        access(i, "kc", REG + K_MMAP_NEXT, ts + SLOT_SYSTEM, start, True, KERNEL_TABLE)
        access(i, "kb", REG + K_BRK_HWM, ts + SLOT_SYSTEM, state["hwm"], False, KERNEL_TABLE)
        k.update({f"knew_{j}": b for j, b in enumerate(_limbs(start))})
        state["mmap_next"] = start
        r = start
        if rec.kernel.get("mmap_next", (None, start))[1] != start:
            raise ValueError(f"cycle {rec.cycle}: mmap2's cursor disagrees with the VM's")
    elif name == "munmap":
        if a0 & 0xFFF:
            raise not_provable(rec, " (an unaligned address: EINVAL)")
        k["um"] = (a0 >> 12) & 0xF
    if blob is not None:
        buf = arg_value[_BUF_ARG[name]]
        for j, b in enumerate(_limbs(buf)):
            k[f"buf_{j}"] = b
        k.update(bq=(buf & 0xFF) >> 2, bl0=buf & 1, bl1=(buf >> 1) & 1, n=n, n_inv=_inv(n), has_io=int(n > 0))
        pos0 = layout.base[blob] + rnd_off
        k["pos"] = pos0
        if n:
            _word_rows(rec, ts, KIND_BLOB, buf, layout.data[pos0: pos0 + n], pos0, wit, access)
    for j, b in enumerate(_limbs(r)):
        k[f"r_{j}"] = b
    k["err"] = err
    wit.kernel.append(k)
    return r, err


def syscall_traces(wit: SyscallWitness, accesses: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The traces of the tables of :func:`syscall_tables`, given ``accesses`` =
    :func:`memory.access_events`' accesses for exactly ``wit.accesses`` (same order:
    prev_value, prev_ts derived)."""
    header = TraceFiller(build_syscall(), len(wit.header))
    io = TraceFiller(build_syscall_io(), len(wit.io))
    kern = TraceFiller(build_syscall_kernel(), len(wit.kernel))
    hrows, irows = len(wit.header), len(wit.io)
    # header
    h: dict[str, np.ndarray] = {}

    def col(name: str, values) -> None:
        h[name] = np.asarray(values, dtype=np.int64)

    col("is_real", [1] * hrows)
    col("ts", [r["ts"] for r in wit.header])
    for s in SELECTORS:
        col(s, [int(r["sel"] == s) for r in wit.header])
    for name in ("n", "short", "nz3", "b3inv", "has_io", "n_inv", "q", "l0", "l1", "brk_ok", "brk_grow", "err"):
        col(name, [r[name] for r in wit.header])
    col("d_lo", [r["d"] & 0xFFFF for r in wit.header])
    col("d_hi", [r["d"] >> 16 for r in wit.header])
    r_limbs = np.array([_limbs(r["r"]) for r in wit.header], np.int64).reshape(-1, 4)
    k_limbs = np.array([_limbs(r["knew"]) for r in wit.header], np.int64).reshape(-1, 4)
    hw_limbs = np.array([_limbs(r["hwnew"]) for r in wit.header], np.int64).reshape(-1, 4)
    for j in range(4):
        col(f"r{j}", r_limbs[:, j])
        col(f"knew{j}", k_limbs[:, j])
        col(f"hwnew{j}", hw_limbs[:, j])
    for cname in ("cmp_start", "cmp_limit", "cmp_grow", "cmp_mmap"):
        cols = np.array([_lt_witness(*r["cmp"].get(cname, (0, 0))) for r in wit.header], np.int64).reshape(-1, 4)
        for c, suffix in enumerate(("c", "lt", "dlo", "dhi")):
            col(f"{cname}_{suffix}", cols[:, c])
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
        for flag, kind in zip(IO_FLAGS, IO_KINDS):
            io[flag] = [int(r["kind"] == kind) for r in wit.io]
        for j in range(4):
            io[f"f{j}"] = [int(r["lo2"] == j) for r in wit.io]
            io[f"e{j}"] = [int(r["hi"] == j) for r in wit.io]
        io.set_word("w", np.array([r["w"] for r in wit.io], np.int64))
    # kernel rows: every column a row does not name is 0
    for name in kern.table.main_names:
        if wit.kernel and any(name in r for r in wit.kernel):
            kern[name] = [r.get(name, 0) for r in wit.kernel]
    # access witnesses
    fillers = {SYSCALL_TABLE: header, IO_TABLE: io, KERNEL_TABLE: kern}
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
    blob = np.zeros((M.table_height(len(blob_layout().data)), 1), np.uint32)
    blob[: len(blob_layout().data), 0] = wit.blob_counts
    return {SYSCALL_TABLE: header.finish(), IO_TABLE: io.finish(), PRIVATE_TABLE: priv, CONST_TABLE: const,
            KERNEL_TABLE: kern.finish(), BLOB_TABLE: blob}


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
    return [build_syscall(), build_syscall_io(), build_private_input(), build_syscall_const(),
            build_syscall_kernel(), build_syscall_blob()]


__all__ = ["build_syscall", "build_syscall_io", "build_private_input", "build_syscall_const", "build_syscall_kernel",
           "build_syscall_blob", "blob_layout", "syscall_tables",
           "syscall_witness", "syscall_traces", "kernel_image", "kernel_cells", "expected_open_sums",
           "syscall_publics", "io_digest_limbs", "constant_syscalls", "SyscallWitness"]
