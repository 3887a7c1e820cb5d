"""The Linux o32 system calls a static program needs, made deterministic.

Nothing here depends on the host: no clock, no randomness, no files. Guest I/O:
fd 0 reads the public input, fd 3 (open from the start) reads the private input,
fd 1 appends to the journal (the public output a proof binds) and fd 2 to the log
(not proven). Calls that Linux may answer with ENOSYS and glibc copes with (rseq, ...)
get ENOSYS; any other unknown call stops the run with a SyscallError.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from Crypto.Hash import keccak

from vm.boot import MMAP_TOP, STACK_SIZE, STACK_TOP, page_align_up
from vm.errors import SyscallError
from vm.memory import Memory

FD_PUBLIN, FD_JOURNAL, FD_LOG, FD_PRIVIN = 0, 1, 2, 3
EPERM, ENOENT, EBADF, ENOMEM, EFAULT, EINVAL, EMFILE, ENOTTY, ESPIPE, ENOSYS = 1, 2, 9, 12, 14, 22, 24, 25, 29, 89
MAP_FIXED, MAP_ANONYMOUS = 0x10, 0x800     # MIPS values
RLIM_INFINITY = 0xFFFFFFFFFFFFFFFF
RLIMIT_STACK = 3
S_IFIFO = 0o010000
CLOCK_NS_PER_CYCLE = 10                      # guest time = cycles x 10 ns (deterministic)
BRK_LIMIT = MMAP_TOP - (64 << 20)            # keep a gap between the heap and mmaps

SYSCALL_NAMES = {
    4001: "exit", 4003: "read", 4004: "write", 4005: "open", 4006: "close", 4013: "time",
    4019: "lseek", 4020: "getpid", 4024: "getuid", 4033: "access", 4037: "kill", 4045: "brk",
    4047: "getgid", 4049: "geteuid", 4050: "getegid", 4054: "ioctl", 4076: "getrlimit",
    4078: "gettimeofday", 4085: "readlink", 4091: "munmap", 4116: "sysinfo", 4122: "uname",
    4125: "mprotect", 4140: "_llseek", 4146: "writev", 4167: "mremap", 4194: "rt_sigaction",
    4195: "rt_sigprocmask", 4203: "getcwd", 4206: "sigaltstack", 4210: "mmap2",
    4215: "fstat64", 4218: "madvise", 4220: "fcntl64", 4222: "gettid", 4238: "futex",
    4240: "sched_getaffinity", 4246: "exit_group", 4252: "set_tid_address",
    4263: "clock_gettime", 4266: "tgkill", 4283: "set_thread_area", 4288: "openat",
    4293: "fstatat64", 4300: "faccessat", 4309: "set_robust_list", 4338: "prlimit64",
    4353: "getrandom", 4366: "statx", 4367: "rseq", 4403: "clock_gettime64",
    4406: "clock_getres_time64", 4422: "futex_time64",
    4041: "dup", 4043: "times", 4060: "umask", 4063: "dup2", 4064: "getppid", 4065: "getpgrp",
    4077: "getrusage", 4162: "sched_yield", 4166: "nanosleep", 4265: "clock_nanosleep",
    4327: "dup3", 4407: "clock_nanosleep_time64",
}
# Calls answered with ENOSYS, as an older kernel would: glibc falls back or copes.
_ENOSYS = {"rseq", "mremap", "futex", "futex_time64", "sched_getaffinity", "sigaltstack"}
# Calls with no effect in a single-threaded, signal-free, file-less process.
_ZERO = {"mprotect", "madvise", "rt_sigaction", "rt_sigprocmask", "set_robust_list",
         "sched_yield", "umask", "getppid", "getpgrp",
         # sleeping returns at once: guest time is cycles, and nothing else runs
         "nanosleep", "clock_nanosleep", "clock_nanosleep_time64"}
# What each file descriptor is connected to. A process starts with these four; dup/dup2/
# dup3/close edit the table (so `dup2(1, 2)` sends the log to the journal, as on Linux).
PUBLIC_IN, JOURNAL, LOG, PRIVATE_IN = "public input", "journal", "log", "private input"
INITIAL_FDS = {FD_PUBLIN: PUBLIC_IN, FD_JOURNAL: JOURNAL, FD_LOG: LOG, FD_PRIVIN: PRIVATE_IN}
MAX_FDS = 1024


class Halt(Exception):
    """Raised by exit/exit_group (and fatal signals) to end the run."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Kernel:
    """Per-run OS state: input cursors, output streams, heap and mmap pointers."""
    public_input: bytes = b""
    private_input: bytes = b""
    brk_start: int = 0
    journal: bytearray = field(default_factory=bytearray)
    log: bytearray = field(default_factory=bytearray)
    public_pos: int = 0
    private_pos: int = 0
    brk: int = 0
    mmap_next: int = MMAP_TOP
    random_counter: int = 0
    fds: dict[int, str] = field(default_factory=lambda: dict(INITIAL_FDS))

    def __post_init__(self) -> None:
        self.brk_start = page_align_up(self.brk_start)
        self.brk = self.brk_start

    # ---------------------------------------------------------------------------------
    def dispatch(self, number: int, args: list[int], mem: Memory, cycles: int, pc: int) -> tuple[int, int]:
        """Perform syscall ``number``; returns (v0, a3) as Linux does (a3=1: v0 is errno).
        Raises Halt on exit, SyscallError for calls this VM does not provide."""
        name = SYSCALL_NAMES.get(number)
        if name in _ENOSYS:
            return ENOSYS, 1
        if name in _ZERO:
            return 0, 0
        handler = getattr(self, f"sys_{name}", None) if name else None
        if handler is None:
            label = f"{number} ({name})" if name else str(number)
            raise SyscallError(f"unsupported system call {label} at pc 0x{pc:08x}")
        try:
            result = handler(mem, cycles, *args)
        except MemoryError:
            result = -EFAULT
        if result < 0:
            return -result, 1
        return result & 0xFFFFFFFF, 0

    # --- process ------------------------------------------------------------------------
    def sys_exit(self, mem, cycles, code, *_):
        raise Halt(code & 0xFF)

    sys_exit_group = sys_exit

    def sys_kill(self, mem, cycles, pid, sig, *_):
        raise Halt(128 + (sig & 0x7F))   # a fatal signal to ourselves (abort): like a shell reports it

    def sys_tgkill(self, mem, cycles, tgid, tid, sig, *_):
        return self.sys_kill(mem, cycles, tid, sig)

    def sys_getpid(self, *_):
        return 1

    sys_gettid = sys_getpid
    sys_set_tid_address = sys_getpid

    def sys_getuid(self, *_):
        return 0

    sys_geteuid = sys_getgid = sys_getegid = sys_getuid

    def sys_set_thread_area(self, mem, cycles, addr, *_):
        self._tls = addr       # applied to the TLS register by the executor
        return 0

    # --- memory ----------------------------------------------------------------------------
    def sys_brk(self, mem, cycles, addr, *_):
        if addr < self.brk_start or addr > BRK_LIMIT:
            return self.brk
        new_end = page_align_up(addr)
        old_end = page_align_up(self.brk)
        if new_end > old_end:
            mem.map_zero(old_end, new_end - old_end)
        elif new_end < old_end:
            mem.unmap(new_end, old_end - new_end)
        self.brk = addr
        return self.brk

    def sys_mmap2(self, mem, cycles, addr, length, prot, flags, fd=0, pgoff=0):
        if length == 0 or not flags & MAP_ANONYMOUS:
            return -EINVAL if length == 0 else -ENOSYS
        size = page_align_up(length)
        if flags & MAP_FIXED:
            if addr & 0xFFF:
                return -EINVAL
            mem.map_zero(addr, size)
            return addr
        start = self.mmap_next - size
        if start <= page_align_up(self.brk):
            return -ENOMEM
        self.mmap_next = start
        mem.map_zero(start, size)
        return start

    def sys_munmap(self, mem, cycles, addr, length, *_):
        if addr & 0xFFF:
            return -EINVAL
        mem.unmap(addr, page_align_up(length))
        return 0

    # --- I/O ---------------------------------------------------------------------------------
    def sys_read(self, mem, cycles, fd, buf, count, *_):
        channel = self.fds.get(fd)
        if channel == PUBLIC_IN:
            data = self.public_input[self.public_pos: self.public_pos + count]
            self.public_pos += len(data)
        elif channel == PRIVATE_IN:
            data = self.private_input[self.private_pos: self.private_pos + count]
            self.private_pos += len(data)
        else:
            return -EBADF
        mem.write(buf, data)
        return len(data)

    def sys_write(self, mem, cycles, fd, buf, count, *_):
        channel = self.fds.get(fd)
        if channel == JOURNAL:
            self.journal += mem.read(buf, count)
        elif channel == LOG:
            self.log += mem.read(buf, count)
        else:
            return -EBADF
        return count

    def sys_close(self, mem, cycles, fd, *_):
        return 0 if self.fds.pop(fd, None) is not None else -EBADF

    def _dup_to(self, old: int, new: int) -> int:
        if old not in self.fds or not 0 <= new < MAX_FDS:
            return -EBADF
        self.fds[new] = self.fds[old]
        return new

    def sys_dup(self, mem, cycles, old, *_):
        free = next((fd for fd in range(MAX_FDS) if fd not in self.fds), None)
        return -EMFILE if free is None else self._dup_to(old, free)

    def sys_dup2(self, mem, cycles, old, new, *_):
        return new if old == new and old in self.fds else self._dup_to(old, new)

    def sys_dup3(self, mem, cycles, old, new, flags, *_):
        return -EINVAL if old == new else self._dup_to(old, new)

    def sys_times(self, mem, cycles, buf, *_):
        ticks = self._now_ns(cycles) // 10**7            # clock ticks of 10 ms (AT_CLKTCK 100)
        if buf:
            mem.write(buf, struct.pack("<IIII", ticks, 0, 0, 0))
        return ticks

    def sys_getrusage(self, mem, cycles, who, buf, *_):
        us = self._now_ns(cycles) // 1000
        usage = bytearray(72)                              # struct rusage, o32: 18 longs
        struct.pack_into("<II", usage, 0, us // 10**6, us % 10**6)   # ru_utime
        mem.write(buf, bytes(usage))
        return 0

    def sys_writev(self, mem, cycles, fd, iov, iovcnt, *_):
        total = 0
        for i in range(iovcnt):
            base, length = struct.unpack("<II", mem.read(iov + 8 * i, 8))
            written = self.sys_write(mem, cycles, fd, base, length)
            if written < 0:
                return written
            total += written
        return total

    def sys_ioctl(self, mem, cycles, fd, request, *_):
        return -ENOTTY if fd in self.fds else -EBADF

    def sys_lseek(self, *_):
        return -ESPIPE

    sys__llseek = sys_lseek

    def sys_fcntl64(self, mem, cycles, fd, cmd, arg=0, *_):
        if fd not in self.fds:
            return -EBADF
        if cmd in (0, 1030):                              # F_DUPFD, F_DUPFD_CLOEXEC
            free = next((n for n in range(arg, MAX_FDS) if n not in self.fds), None)
            return -EMFILE if free is None else self._dup_to(fd, free)
        return 2 if cmd == 3 else 0                       # F_GETFL: O_RDWR

    def sys_open(self, *_):
        return -ENOENT

    sys_openat = sys_access = sys_faccessat = sys_open

    def sys_readlink(self, mem, cycles, path, buf, size, *_):
        if mem.read_cstring(path) != b"/proc/self/exe":
            return -ENOENT
        from vm.boot import EXECFN
        data = EXECFN[:size]
        mem.write(buf, data)
        return len(data)

    def sys_getcwd(self, mem, cycles, buf, size, *_):
        if size < 2:
            return -EINVAL
        mem.write(buf, b"/\0")
        return 2

    def sys_fstat64(self, mem, cycles, fd, buf, *_):
        """struct stat64 of the MIPS o32 ABI (104 bytes): every fd is a pipe."""
        if fd not in self.fds:
            return -EBADF
        st = bytearray(104)
        struct.pack_into("<I", st, 16, 1 << 16 | fd)      # st_ino (low word)
        struct.pack_into("<II", st, 24, S_IFIFO | 0o600, 1)  # st_mode, st_nlink
        struct.pack_into("<I", st, 88, 4096)               # st_blksize
        mem.write(buf, bytes(st))
        return 0

    def sys_fstatat64(self, mem, cycles, dirfd, path, buf, flags, *_):
        if mem.read_cstring(path) != b"":
            return -ENOENT
        return self.sys_fstat64(mem, cycles, dirfd, buf)

    def sys_statx(self, mem, cycles, dirfd, path, flags, mask, buf=0, *_):
        """struct statx (256 bytes, the same on every ABI) for fds given with AT_EMPTY_PATH."""
        if mem.read_cstring(path) != b"":
            return -ENOENT
        if dirfd not in self.fds:
            return -EBADF
        st = bytearray(256)
        struct.pack_into("<II", st, 0, 0x7FF, 4096)            # stx_mask (basic stats), stx_blksize
        struct.pack_into("<I", st, 16, 1)                       # stx_nlink
        struct.pack_into("<H", st, 28, S_IFIFO | 0o600)         # stx_mode
        struct.pack_into("<Q", st, 32, 1 << 16 | dirfd)         # stx_ino
        mem.write(buf, bytes(st))
        return 0

    # --- information ---------------------------------------------------------------------------
    def sys_uname(self, mem, cycles, buf, *_):
        fields = [b"Linux", b"zkmips", b"6.1.0", b"#1 zkMIPS", b"mips", b"(none)"]
        mem.write(buf, b"".join(f.ljust(65, b"\0") for f in fields))
        return 0

    def _now_ns(self, cycles: int) -> int:
        return cycles * CLOCK_NS_PER_CYCLE

    def sys_clock_gettime(self, mem, cycles, clk, ts, *_):
        ns = self._now_ns(cycles)
        mem.write(ts, struct.pack("<II", ns // 10**9, ns % 10**9))
        return 0

    def sys_clock_gettime64(self, mem, cycles, clk, ts, *_):
        ns = self._now_ns(cycles)
        mem.write(ts, struct.pack("<QI4x", ns // 10**9, ns % 10**9))
        return 0

    def sys_clock_getres_time64(self, mem, cycles, clk, ts, *_):
        if ts:
            mem.write(ts, struct.pack("<QI4x", 0, CLOCK_NS_PER_CYCLE))
        return 0

    def sys_gettimeofday(self, mem, cycles, tv, tz, *_):
        ns = self._now_ns(cycles)
        if tv:
            mem.write(tv, struct.pack("<II", ns // 10**9, (ns // 1000) % 10**6))
        return 0

    def sys_time(self, mem, cycles, tloc, *_):
        secs = self._now_ns(cycles) // 10**9
        if tloc:
            mem.write_u32(tloc, secs)
        return secs

    def sys_getrandom(self, mem, cycles, buf, count, flags, *_):
        """Deterministic 'random' bytes: a keccak counter stream."""
        out = bytearray()
        while len(out) < count:
            h = keccak.new(digest_bits=256)
            h.update(b"zkmips-getrandom" + self.random_counter.to_bytes(8, "little"))
            out += h.digest()
            self.random_counter += 1
        mem.write(buf, bytes(out[:count]))
        return count

    def sys_getrlimit(self, mem, cycles, resource, rlim, *_):
        cur = STACK_SIZE if resource == RLIMIT_STACK else 0xFFFFFFFF
        mem.write(rlim, struct.pack("<II", cur, cur))
        return 0

    def sys_prlimit64(self, mem, cycles, pid, resource, new, old, *_):
        if old:
            cur = STACK_SIZE if resource == RLIMIT_STACK else RLIM_INFINITY
            mem.write(old, struct.pack("<QQ", cur, cur))
        return 0

    def sys_sysinfo(self, mem, cycles, info, *_):
        mem.write(info, bytes(64))
        return 0


__all__ = ["Kernel", "Halt", "SYSCALL_NAMES", "STACK_TOP"]
