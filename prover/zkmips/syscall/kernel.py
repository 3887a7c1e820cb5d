"""The ``syscall_kernel`` table: one row per call of :data:`KERNEL_CALLS` (getrlimit,
prlimit64, readlink, getrandom, statx, fstat64, fstatat64, uname, sysinfo, getcwd,
ioctl, mmap2, munmap, and the time calls clock_gettime, clock_gettime64, gettimeofday,
time, clock_getres_time64). It proves the number, the result and the memory and kernel-cell
effects of the call its header row hands over on ``syskern``: blob copies and path
compares through the ``sysio`` chain, getrandom's block counter, mmap2's cursor, the
time calls' struct words (written directly, one access per word). The
soundness argument is the package docstring's (:mod:`prover.zkmips.syscall`)."""

from __future__ import annotations

from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.zkmips import memory as M
from prover.zkmips.spec import (
    BUS_RANGE16, SLOT_MEMORY, SLOT_READ_A, SLOT_SYSTEM, TS_PER_CYCLE, range_check_bytes, word_value,
)
from prover.zkmips.syscall.blobs import blob_layout
from prover.zkmips.syscall.cells import (
    _NUMBER, _PROVABLE_FDS, A3, BUS_SYSIO, BUS_SYSKERN, K_BRK_HWM, K_MMAP_NEXT, K_RANDOM, KERNEL_TABLE, KIND_BLOB,
    KIND_CMP, REG, SP,
)
from prover.zkmips.syscall.gadgets import _at_least, _below, _less_than, _read_access, _word_cols
from vm.layout import PAGE_SIZE
from vm.syscalls import CLOCK_NS_PER_CYCLE, ENOTTY, MAP_ANONYMOUS, MAP_FIXED, RLIMIT_STACK

#: The calls of the kernel table, in selector order.
KERNEL_CALLS = ("getrlimit", "prlimit64", "readlink", "getrandom", "statx", "fstat64", "fstatat64", "uname",
                "sysinfo", "getcwd", "ioctl", "mmap2", "munmap", "clock_gettime", "clock_gettime64", "gettimeofday",
                "time", "clock_getres_time64")
KERNEL_SELECTORS = tuple(f"is_{c}" for c in KERNEL_CALLS)
#: Which ones copy a blob into guest memory, and where their buffer address comes from.
BLOB_CALLS = ("getrlimit", "prlimit64", "readlink", "getrandom", "statx", "fstat64", "fstatat64", "uname",
              "sysinfo", "getcwd")
_BUF_ARG = {"getrlimit": "a1", "readlink": "a1", "fstat64": "a1", "getrandom": "a0", "uname": "a0",
            "sysinfo": "a0", "getcwd": "a0", "fstatat64": "a2", "prlimit64": "a3", "statx": "arg5"}
#: The time calls: (buffer argument, words written). They write their struct's words
#: directly (word-aligned buffer), each at ``ts + SLOT_MEMORY``; guest time is ``10 cyc`` ns
#: for the run's cycle ``cyc < 2^30``: ``sec = cyc // 10^8``, ``nsec = 10 (cyc % 10^8)``.
TIME_CALLS = {"clock_gettime": ("a1", 2), "clock_gettime64": ("a1", 4), "gettimeofday": ("a0", 2),
              "time": ("a0", 1), "clock_getres_time64": ("a1", 4)}
#: Time calls whose pointer may be NULL (then nothing is written); the others need one.
TIME_OPTIONAL = ("gettimeofday", "time", "clock_getres_time64")
#: The run's cycle of a time call stays below this (the builder refuses more): 2^30 cycles
#: are 10.7 guest seconds, so ``sec <= 10``.
TIME_CYCLE_LIMIT = 1 << 30
#: Cycles per guest second (10 ns each).
CYCLES_PER_SECOND = 10**9 // CLOCK_NS_PER_CYCLE
TIME_MAX_SECONDS = (TIME_CYCLE_LIMIT - 1) // CYCLES_PER_SECOND
#: Calls whose path argument must equal a blob: (argument, blob).
_PATH_ARG = {"readlink": ("a0", "proc_self_exe"), "statx": ("a1", "nul"), "fstatat64": ("a1", "nul")}
_FD_CALLS = ("statx", "fstat64", "fstatat64", "ioctl")       # a0 is an fd in 0..3
#: A mmap2 length must stay below this (so the cursor arithmetic is exact in the field).
MMAP_LENGTH_LIMIT = 1 << 28
_ANON_BYTE, _ANON_BIT = divmod(MAP_ANONYMOUS.bit_length() - 1, 8)
_FIXED_BYTE, _FIXED_BIT = divmod(MAP_FIXED.bit_length() - 1, 8)
assert MAP_ANONYMOUS == 1 << (8 * _ANON_BYTE + _ANON_BIT) and MAP_FIXED == 1 << (8 * _FIXED_BYTE + _FIXED_BIT)
assert _ANON_BYTE != _FIXED_BYTE and PAGE_SIZE == 4096


def build_syscall_kernel() -> Table:
    """One row per call of :data:`KERNEL_CALLS`: receives ``(ts, number, a0, a1, a2, r,
    err)`` from its header row (which made the register accesses and writes ``r``/``err``
    to v0/a3) and proves that the number is the selector's, that the result is the
    kernel's, and the memory and kernel-cell effects (package docstring)."""
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
    clk_offset = t.main("clk_offset")     # the segment's first clk - 1, from the header's public
    t.receive(BUS_SYSKERN, [ts, num, *a0, *a1, *a2, *r, err, clk_offset], real)
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
        users = [c for c in BLOB_CALLS if _BUF_ARG[c] == src] + [c for c in TIME_CALLS if TIME_CALLS[c][0] == src]
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
    s_tw = any_of(*TIME_CALLS)
    t.assert_zero((s_blob + s_tw) * (buf[0] - bq * 4 - bl0 - bl1 * 2))
    t.assert_zero(s_tw * bl0)                                      # time calls: a word-aligned buffer
    t.assert_zero(s_tw * bl1)
    checks.append((bq, s_blob + s_tw))
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

    # the time calls: their struct's words, written at buf/4 + j (a RAM key: + 3 < 2^30)
    tnz, tinv, tk_lo, tk_hi, cyc_lo, cyc_hi, ur = t.mains("tnz", "tinv", "tk_lo", "tk_hi", "cyc_lo", "cyc_hi", "ur")
    tz = lift(buf[0]) + buf[1] + buf[2] + buf[3]                   # 0 exactly for a NULL pointer (byte limbs)
    t.assert_bool(tnz)
    t.assert_zero(tnz * (1 - s_tw))
    t.assert_zero(s_tw * tz * (1 - tnz))
    t.assert_zero(tnz * (1 - tz * tinv))
    t.assert_zero(any_of(*(c for c in TIME_CALLS if c not in TIME_OPTIONAL)) * (1 - tnz))
    t.assert_zero(s_tw * (key0 + 3 - tk_lo - tk_hi * 65536))
    for v in (tk_lo, tk_hi, tk_hi * 4):
        t.send(BUS_RANGE16, [v], s_tw)
    # cyc = clk_offset + ts / 8 < 2^30 (the run's cycle: the segment's clk plus the cycles
    # before it; range16 of cyc_lo, cyc_hi and 4 cyc_hi). Guest time 10 cyc ns, split as
    # cyc = 10^8 sec + cr with sec <= 10 and 0 <= cr < 10^8 (cr + crd = 10^8 - 1, both
    # byte limbs, top ones below 6): nsec = 10 cr < 10^9 (ns limbs, top one below 60),
    # usec = cr // 100 = uq: cr = 100 uq + ur with ur < 100. Every side of every equation
    # stays below 1.2 * 10^9 < p, so each holds over the integers and fixes its unknowns.
    cyc = cyc_lo + cyc_hi * 65536
    t.assert_zero(s_tw * (ts - (cyc - clk_offset) * TS_PER_CYCLE))
    for v in (cyc_lo, cyc_hi, cyc_hi * ((1 << 32) // TIME_CYCLE_LIMIT)):     # cyc_hi < 2^30 / 2^16
        t.send(BUS_RANGE16, [v], s_tw)
    sec = t.main("sec")
    _below(t, checks, sec, TIME_MAX_SECONDS + 1, s_tw)
    cr, crd = _word_cols(t, "cr"), _word_cols(t, "crd")
    for limbs in (cr, crd):
        checks += [(limbs[0], s_tw), (limbs[1], s_tw), (limbs[2], s_tw)]
        _below(t, checks, limbs[3], ((CYCLES_PER_SECOND - 1) >> 24) + 1, s_tw)
    t.assert_zero(s_tw * (word_value(cr) + word_value(crd) - (CYCLES_PER_SECOND - 1)))
    t.assert_zero(s_tw * (cyc - sec * CYCLES_PER_SECOND - word_value(cr)))
    ns = _word_cols(t, "ns")
    t.assert_zero(s_tw * (word_value(ns) - word_value(cr) * CLOCK_NS_PER_CYCLE))
    checks += [(ns[0], s_tw), (ns[1], s_tw), (ns[2], s_tw)]
    _below(t, checks, ns[3], ((10**9 - 1) >> 24) + 1, s_tw)
    uq = t.mains("uq_0", "uq_1", "uq_2")
    t.assert_zero(s_tw * (word_value(cr) - (lift(uq[0]) + lift(uq[1]) * 256 + lift(uq[2]) * 65536) * 100 - ur))
    checks += [(uq[0], s_tw), (uq[1], s_tw), (uq[2], s_tw)]
    _below(t, checks, ur, 100, s_tw)
    zero = [0, 0, 0, 0]
    secw = [sec, 0, 0, 0]
    tvals = {"clock_gettime": [secw, list(ns)], "clock_gettime64": [secw, zero, list(ns), zero],
             "gettimeofday": [secw, [uq[0], uq[1], uq[2], 0]], "time": [secw],
             "clock_getres_time64": [zero, zero, [CLOCK_NS_PER_CYCLE, 0, 0, 0], zero]}
    assert all(len(tvals[c]) == nw for c, (_, nw) in TIME_CALLS.items())
    for j in range(4):
        tw = _word_cols(t, f"tw{j}")
        tm = t.main(f"tm{j}")
        writers = [c for c, (_, nw) in TIME_CALLS.items() if nw > j]
        t.assert_zero(tm - tnz * any_of(*writers))
        for c in writers:
            for limb in range(4):
                t.assert_zero(sel[c] * (tw[limb] - tvals[c][j][limb]))
        acc = M.memory_access(t, f"tw{j}", key0 + j, tw, ts + SLOT_MEMORY, 1, tm, check_gap_hi=False)
        checks.append((acc.gap_hi, tm))

    # results (time() returns the seconds, the other time calls 0)
    res = {c: [0, 0, 0, 0] for c in KERNEL_CALLS}
    res["time"] = secw
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
