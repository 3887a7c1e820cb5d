"""The Syscall tables: the effects of the system calls a proof can attest.

The CPU proves every instruction except what ``syscall`` does: for each executed
``syscall`` at cycle ``clk`` it sends ``(TS_PER_CYCLE * clk,)`` on the ``syscall`` bus and
nothing else. The tables here receive that tuple and make every register, memory and
kernel-cell access of the call through the memory argument (:mod:`prover.zkmips.memory`)
at timestamps ``ts + slot``. ``vm/syscalls.py`` is the semantics; the trace builder reads
what a run did from :mod:`vm.syscall_log` records and refuses, with one line, the calls
this package cannot prove yet.

Proven (everything else raises ``ValueError("syscall <name> (<n>) at cycle N is not
provable yet (why)")`` in the builder, and has no selector in the AIR). Every call of
every example guest (``guests/build``, all optimisation levels) is in this set:

* ``exit``/``exit_group``: the ``halted`` kernel cell goes from 0 to ``[1, code, 0, 0]``
  (code = a0 & 0xFF) and ``code`` is the public value ``exit_code``; exactly one exit row
  per proof (a running count ``exits`` must end at 1); v0/a3 are not written.
* ``read`` from fd 0 (public input, the open ``input`` bus) and fd 3 (private input, the
  ``private`` bus, open in a segment and closed against the run's one
  :func:`build_private_input` table in the receipt's memory proof), ``write`` to fd 1
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
  2^28) and munmap (page-aligned address: a no-op), and the time calls
  (:data:`~prover.zkmips.syscall.kernel.TIME_CALLS`): clock_gettime, clock_gettime64,
  gettimeofday, time and clock_getres_time64 (word-aligned buffer, the run's cycle below
  2^30: 10.7 guest seconds).
* The fd table is assumed to be the initial one (fds 0..3); dup/dup2/dup3/close/fcntl are
  not provable, so no provable run edits it.

Refused (the builder says why): every call that fails with EFAULT (the proof's memory has
every page mapped) and, in the kernel table, every error return except ioctl's ENOTTY
(readlink/statx of other paths, EBADF, EINVAL, ENOMEM, ENOSYS of a non-anonymous mmap2);
mmap2 with MAP_FIXED; getrandom beyond the stream the blob table holds; a brk growth after
a shrink; a time call with an unaligned buffer, or at cycle 2^30 or later; the calls
vm.syscalls implements but no table does (times, getrusage, writev, fcntl64, dup*, close,
kill/tgkill).

Tables
    ``syscall`` (one row per call, :func:`build_syscall`), ``syscall_io`` (one row per
    guest-memory *word* a transfer moves bytes through, :func:`build_syscall_io`),
    ``private_input`` (private: one row per private byte plus an end marker, in the
    memory proof, once per run: :func:`build_private_input`), ``syscall_const`` (preprocessed answers,
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
words (word rows, or the kernel row's own writes of a time call's struct); ``ts + 3``
the v0/a3 writes; ``ts + 6`` kernel cells. So an argument
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
    * Time calls: guest time is ``10 cyc`` ns where ``cyc`` is the run's cycle of the call
      (the VM hands its handler ``cycles`` = the record's ``cycle``). The kernel row
      proves ``ts = 8 (cyc - clk_offset)`` with ``cyc = cyc_lo + 2^16 cyc_hi < 2^30``
      (range16 of both and of ``4 cyc_hi``), so ``cyc`` is the CPU's clk plus the cycles
      before the segment. It splits ``cyc = 10^8 sec + cr`` with ``sec <= 10`` and
      ``0 <= cr < 10^8`` (``cr + crd = 10^8 - 1``, both in byte limbs): ``sec`` is the
      seconds, ``ns = 10 cr`` (byte limbs, top one below 60) the nanoseconds, and
      gettimeofday's ``usec = cr // 100`` is ``uq`` with ``cr = 100 uq + ur``, ``uq`` three
      bytes, ``ur < 100``. Every side of these equations stays below 1.7 * 10^9 < p, so
      they hold over the integers. The buffer (a0 or a1,
      pinned per selector) is word-aligned (``bl0 = bl1 = 0``) with word key ``key0``,
      ``key0 + 3 < 2^30`` (a RAM key: no register is written); ``tnz`` is 1 exactly when
      the pointer is non-zero (forced 1 for clock_gettime/clock_gettime64, whose NULL is
      an EFAULT the builder refuses). Word ``j`` of the struct is written at ``key0 + j``,
      ``ts + SLOT_MEMORY``, with multiplicity ``tnz`` for ``j`` below the call's word
      count (2, 4, 2, 1, 4), its limbs pinned by the selector: ``[sec, ns]``,
      ``[sec, 0, ns, 0]``, ``[sec, uq]``, ``[sec]``, ``[0, 0, 10, 0]``. v0 = ``sec`` for
      time(), 0 for the others; a3 = 0.
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

Modules
    :mod:`.cells` (table, bus and register names, kernel cells, :func:`kernel_image`),
    :mod:`.gadgets` (AIR helpers the tables share), :mod:`.header` (:func:`build_syscall`),
    :mod:`.io` (:func:`build_syscall_io`), :mod:`.private` (:func:`build_private_input`),
    :mod:`.constants` (:func:`build_syscall_const`), :mod:`.blobs` (:func:`blob_layout`,
    :func:`build_syscall_blob`), :mod:`.kernel` (:func:`build_syscall_kernel`),
    :mod:`.claim` (public values and open-bus totals of a claim), :mod:`.witness`
    (:func:`syscall_witness`) and :mod:`.traces` (:func:`syscall_traces`).
"""

from __future__ import annotations

from prover.air import Table
# the names callers use as ``syscall.<name>`` (prover.zkmips.machine, keys, claim, prove; the tests)
from prover.zkmips.syscall.blobs import RANDOM_BYTES, BlobLayout, blob_layout, build_syscall_blob
from prover.zkmips.syscall.cells import (
    BLOB_TABLE, BUS_PRIVATE, CONST_TABLE, IO_TABLE, KERNEL_TABLE, KIND_BLOB, KIND_CMP, KIND_JOURNAL, KIND_PRIVATE,
    KIND_PUBLIC, PRIVATE_TABLE, SYSCALL_TABLE, kernel_cells, kernel_image,
)
from prover.zkmips.syscall.claim import expected_open_sums, io_digest, io_digest_limbs, syscall_publics
from prover.zkmips.syscall.constants import build_syscall_const, constant_syscalls
from prover.zkmips.syscall.header import PUBLICS, build_syscall
from prover.zkmips.syscall.io import build_syscall_io
from prover.zkmips.syscall.kernel import KERNEL_CALLS, build_syscall_kernel
from prover.zkmips.syscall.private import build_private_input, private_input_trace
from prover.zkmips.syscall.traces import syscall_traces
from prover.zkmips.syscall.witness import SyscallWitness, syscall_witness


def syscall_tables() -> list[Table]:
    """The Syscall tables of a segment (the ``private_input`` table is the run's, in the
    memory proof: :func:`build_private_input`)."""
    return [build_syscall(), build_syscall_io(), build_syscall_const(), build_syscall_kernel(), build_syscall_blob()]


__all__ = ["build_syscall", "build_syscall_io", "build_private_input", "build_syscall_const", "build_syscall_kernel",
           "build_syscall_blob", "blob_layout", "syscall_tables", "private_input_trace",
           "syscall_witness", "syscall_traces", "kernel_image", "kernel_cells", "expected_open_sums",
           "syscall_publics", "io_digest_limbs", "constant_syscalls", "SyscallWitness"]
