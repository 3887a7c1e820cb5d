"""The Syscall tables' rows from a run's syscall records (``vm.syscall_log``): the header
rows, the word rows of every transfer, the kernel-table rows, and the memory accesses
they make. A call outside the proven set, or one the tables cannot prove exactly, is
refused with one ``not provable yet`` line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from prover import field as F
from prover.zkmips.spec import SLOT_MEMORY, SLOT_READ_A, SLOT_SYSTEM, SLOT_WRITE_D, TS_PER_CYCLE
from prover.zkmips.syscall.blobs import RANDOM_BYTES, blob_layout
from prover.zkmips.syscall.cells import (
    _PROVABLE_FDS, A0, A1, A2, A3, IO_LIMIT, IO_TABLE, K_BRK, K_BRK_HWM, K_BRK_START, K_HALTED, K_JOURNAL_LEN,
    K_MMAP_NEXT, K_PRIVATE_POS, K_PUBLIC_POS, K_RANDOM, KERNEL_TABLE, KIND_BLOB, KIND_CMP, KIND_JOURNAL,
    KIND_PRIVATE, KIND_PUBLIC, REG, SP, SYS_BRK, SYS_EXIT, SYS_READ, SYS_SET_THREAD_AREA, SYS_WRITE, SYSCALL_TABLE,
    V0,
)
from prover.zkmips.syscall.claim import syscall_publics
from prover.zkmips.syscall.constants import constant_syscalls
from prover.zkmips.syscall.gadgets import _lt_witness
from prover.zkmips.syscall.kernel import (
    _ANON_BIT, _ANON_BYTE, _BUF_ARG, _FD_CALLS, _FIXED_BIT, _FIXED_BYTE, _PATH_ARG, KERNEL_CALLS, MMAP_LENGTH_LIMIT,
    CYCLES_PER_SECOND, TIME_CALLS, TIME_CYCLE_LIMIT,
)
from vm.boot import MMAP_TOP, page_align_up
from vm.layout import PAGE_SIZE, TLS
from vm.syscall_log import SyscallRecord
from vm.syscalls import (
    BRK_LIMIT, CLOCK_NS_PER_CYCLE, EFAULT, ENOTTY, FD_JOURNAL, FD_LOG, FD_PRIVIN, FD_PUBLIN, MAP_ANONYMOUS, MAP_FIXED,
    RLIMIT_STACK,
)


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
    #: The kernel cells' values when the segment starts, ``{key: value}``.
    kernel_start: dict[int, int] = field(default_factory=dict)


def _limbs(v: int) -> list[int]:
    return [(v >> (8 * j)) & 0xFF for j in range(4)]


def syscall_witness(records: Sequence[SyscallRecord], public_input: bytes, private_input: bytes,
                    program_end: int, journal: bytes | None = None, *, first_cycle: int = 1,
                    last_cycle: int | None = None) -> SyscallWitness:
    """Rows of every table from a run's syscall records (``vm.syscall_log``); raises the
    one-line ``not provable yet`` ValueError for a call outside the proven set.

    For a segment, ``records`` are still the whole run's (the kernel state at the
    segment's start is what the calls before it left); only the calls at cycles
    ``first_cycle..last_cycle`` give rows, at the segment's own timestamps
    ``8 (cycle - first_cycle + 1) + slot``."""
    consts = constant_syscalls()
    wit = SyscallWitness(private=bytes(private_input))
    wit.private_reads = np.zeros(len(private_input), np.int64)
    wit.blob_counts = np.zeros(len(blob_layout().data), np.int64)
    scratch = SyscallWitness(private=bytes(private_input))         # rows of calls outside the segment
    scratch.private_reads = np.zeros(len(private_input), np.int64)
    scratch.blob_counts = np.zeros(len(blob_layout().data), np.int64)
    brk_start = page_align_up(program_end)
    state = {"brk": brk_start, "hwm": brk_start, "public_pos": 0, "private_pos": 0, "journal_len": 0,
             "random": 0, "mmap_next": MMAP_TOP, "clk_offset": first_cycle - 1}
    acc: list[tuple[int, int, int, bool]] = []
    sink = {"wit": wit, "acc": acc}
    exit_code, exit_cycle, journal_out = None, None, bytearray()

    def access(row: int, name: str, key: int, ts: int, value: int, is_write: bool, table: str = SYSCALL_TABLE):
        sink["wit"].slots.append((table, row, name))
        sink["acc"].append((key, ts, value & 0xFFFFFFFF, is_write))

    for rec in records:
        if rec.cycle >= first_cycle and not wit.kernel_start:
            wit.kernel_start = _kernel_cells(state, brk_start)
        if rec.fds_changed:
            raise not_provable(rec, " (it changes the fd table)")
        inside = first_cycle <= rec.cycle and (last_cycle is None or rec.cycle <= last_cycle)
        w = wit if inside else scratch
        sink["wit"], sink["acc"] = w, (acc if inside else [])
        ts = TS_PER_CYCLE * (rec.cycle - first_cycle + 1)
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
            exit_code, exit_cycle = a0 & 0xFF, rec.cycle
        elif rec.number == SYS_READ and a0 in (FD_PUBLIN, FD_PRIVIN) and rec.a3 == 0:
            public = a0 == FD_PUBLIN
            row["sel"], kkey = ("s_rpub", K_PUBLIC_POS) if public else ("s_rpriv", K_PRIVATE_POS)
            data = rec.public_read if public else rec.private_read
            cursor = "public_pos" if public else "private_pos"
            _transfer(rec, row, data, a1, a2, state[cursor], True, w, access)
            if not public:
                w.private_reads[state[cursor]: state[cursor] + len(data)] += 1
                w.eof_reads += row["short"]
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
            _transfer(rec, row, data, a1, a2, state["journal_len"], False, w, access)
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
            w.const_counts[rec.number] = w.const_counts.get(rec.number, 0) + 1
        elif name in KERNEL_CALLS:
            row["sel"] = "s_kern"
            row["r"], row["err"] = _kernel_row(rec, ts, state, w, access)
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
        i = len(w.header)
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
        w.header.append(row)
        if sel == "s_exit":
            break
    if exit_code is None:
        raise ValueError("the run has no exit: a proof needs exactly one exit/exit_group")
    if journal is not None and bytes(journal) != bytes(journal_out):
        raise ValueError("the records' journal bytes differ from the run's journal")
    final = exit_cycle >= first_cycle and (last_cycle is None or exit_cycle <= last_cycle)
    end = exit_cycle if final else last_cycle
    wit.publics = syscall_publics(public_input, bytes(journal_out), exit_code, state["public_pos"],
                                  end - first_cycle + 1, final, first_cycle - 1)
    keys, tss, vals, writes = (np.array(x, dtype=np.int64) for x in zip(*acc)) if acc else \
        (np.zeros(0, np.int64),) * 4
    wit.accesses = {"key": keys, "ts": tss, "value": vals, "is_write": writes.astype(bool)}
    return wit


def _kernel_cells(state: dict, brk_start: int) -> dict[int, int]:
    """The kernel cells' values in the witness's running ``state`` (halted: 0, before the
    exit), keyed as memory cells."""
    return {REG + K_BRK: state["brk"], REG + K_BRK_START: brk_start, REG + K_PUBLIC_POS: state["public_pos"],
            REG + K_PRIVATE_POS: state["private_pos"], REG + K_JOURNAL_LEN: state["journal_len"],
            REG + K_HALTED: 0, REG + K_RANDOM: state["random"], REG + K_MMAP_NEXT: state["mmap_next"],
            REG + K_BRK_HWM: state["hwm"]}


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


def time_columns(cyc: int) -> dict[str, int]:
    """The kernel row's clock columns at the run's cycle ``cyc`` (kernel.py, time calls):
    ``cyc = 10^8 sec + cr``, ``nsec = 10 cr``, ``usec = cr // 100 = uq``."""
    sec, cr = divmod(cyc, CYCLES_PER_SECOND)
    cols = {"cyc_lo": cyc & 0xFFFF, "cyc_hi": cyc >> 16, "sec": sec, "ur": cr % 100}
    for name, v in (("cr", cr), ("crd", CYCLES_PER_SECOND - 1 - cr), ("ns", cr * CLOCK_NS_PER_CYCLE)):
        cols.update({f"{name}_{j}": b for j, b in enumerate(_limbs(v))})
    cols.update({f"uq_{j}": (cr // 100 >> (8 * j)) & 0xFF for j in range(3)})
    return cols


def _time_row(rec: SyscallRecord, ts: int, k: dict, buf: int, i: int, access) -> int:
    """The columns and word writes of a time call (clock_gettime, clock_gettime64,
    gettimeofday, time, clock_getres_time64); returns v0. Refuses a buffer that is not
    word-aligned, one at the top of memory, a cycle >= 2^30 (10.7 guest seconds)."""
    name = rec.name
    cyc = rec.cycle                        # the run's cycle (the segment's clk + its offset)
    if cyc >= TIME_CYCLE_LIMIT:
        raise not_provable(rec, f" (cycle {cyc} >= 2^30: the proven clock stops at 2^30 cycles)")
    sec, ns = divmod(cyc * CLOCK_NS_PER_CYCLE, 10**9)
    if buf & 3:
        raise not_provable(rec, f" (its buffer 0x{buf:08x} is not 4-byte aligned)")
    if (buf >> 2) + 3 >= 1 << 30:
        raise not_provable(rec, f" (its buffer 0x{buf:08x} is at the top of memory)")
    values = {"clock_gettime": [sec, ns], "clock_gettime64": [sec, 0, ns, 0],
              "gettimeofday": [sec, ns // 1000], "time": [sec],
              "clock_getres_time64": [0, 0, CLOCK_NS_PER_CYCLE, 0]}[name]
    words = values if buf else []              # a NULL pointer: the values' columns, no write
    if not buf and name in ("clock_gettime", "clock_gettime64"):
        raise not_provable(rec, " (a NULL buffer)")
    written = {w: new for w, _, new in rec.words_written}
    expect = {buf + 4 * j: v for j, v in enumerate(words)}
    if written != expect:
        raise ValueError(f"cycle {rec.cycle}: {name} wrote {written} but the tables derive {expect}")
    key0 = buf >> 2
    for j, b in enumerate(_limbs(buf)):
        k[f"buf_{j}"] = b
    k.update(bq=(buf & 0xFF) >> 2, tnz=int(buf != 0), tinv=_inv(sum(_limbs(buf))),
             tk_lo=(key0 + 3) & 0xFFFF, tk_hi=(key0 + 3) >> 16, **time_columns(cyc))
    for j, v in enumerate(values):
        k.update({f"tw{j}_{limb}": b for limb, b in enumerate(_limbs(v))})
    for j, v in enumerate(words):
        k[f"tm{j}"] = 1
        access(i, f"tw{j}", key0 + j, ts + SLOT_MEMORY, v, True, KERNEL_TABLE)
    return sec if name == "time" else 0


def _kernel_row(rec: SyscallRecord, ts: int, state: dict, wit: SyscallWitness, access) -> tuple[int, int]:
    """The kernel-table row of one call (and its word rows and accesses); returns the
    (v0, a3) the tables derive. Refuses what the table cannot prove exactly."""
    name, args = rec.name, rec.args
    a0, a1, a2, a3 = args[0], args[1], args[2], args[3]
    layout = blob_layout()
    i = len(wit.kernel)
    k: dict[str, int] = {"is_real": 1, "ts": ts, "num": rec.number, f"is_{name}": 1,
                         "clk_offset": state["clk_offset"]}
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
    elif name in TIME_CALLS:
        r = _time_row(rec, ts, k, arg_value[TIME_CALLS[name][0]], i, access)
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
