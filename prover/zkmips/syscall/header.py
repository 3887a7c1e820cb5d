"""The ``syscall`` table: one row per executed call. It receives the CPU's ``(ts,)``, reads
the number and arguments, writes v0/a3, and proves exit, read/write, brk,
set_thread_area and the constant answers itself; transfers go to the ``sysio`` chain
(:mod:`.io`), the kernel-table calls to :mod:`.kernel`. The soundness argument is the
package docstring's (:mod:`prover.zkmips.syscall`)."""

from __future__ import annotations

from prover.air import Table
from prover.expr import lift
from prover.zkmips import memory as M
from prover.zkmips.spec import (
    BUS_RANGE16, BUS_SYSCALL, SLOT_READ_A, SLOT_SYSTEM, SLOT_WRITE_D, TS_PER_CYCLE, range_check_bytes, word_value,
)
from prover.zkmips.syscall.cells import (
    A0, A1, A2, A3, BUS_PRIVATE, BUS_SYSCONST, BUS_SYSIO, BUS_SYSKERN, IO_LIMIT, K_BRK, K_BRK_HWM, K_BRK_START,
    K_HALTED, K_JOURNAL_LEN, K_MMAP_NEXT, K_PRIVATE_POS, K_PUBLIC_POS, KIND_JOURNAL, KIND_PRIVATE, KIND_PUBLIC, REG,
    SYS_BRK, SYS_EXIT, SYS_READ, SYS_SET_THREAD_AREA, SYS_WRITE, SYSCALL_TABLE, V0,
)
from prover.zkmips.syscall.gadgets import _less_than, _read_access
from vm.layout import TLS
from vm.syscalls import BRK_LIMIT, FD_JOURNAL, FD_LOG, FD_PRIVIN, FD_PUBLIN

SELECTORS = ("s_exit", "s_rpub", "s_rpriv", "s_wjour", "s_wlog", "s_brk", "s_tls", "s_const", "s_kern")
PUBLICS = ("exit_code", "input_len", "input_read", *(f"io_digest{i}" for i in range(16)), "cycles", "final",
           "clk_offset")


def build_syscall() -> Table:
    """One row per executed syscall (see the package docstring for the argument)."""
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
    t.send(BUS_SYSKERN, [ts, num[0] + num[1] * 256, *a0, *a1, *a2, *r, err, pub["clk_offset"]], s_kern)

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
    t.when_last(n_exits - pub["final"])          # one exit in the final segment, none before

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
