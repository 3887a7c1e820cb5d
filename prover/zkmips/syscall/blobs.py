"""The kernel's fixed byte strings (:func:`blob_layout`: EXECFN, the rlimit, statx and
stat64 structs, uname, sysinfo, the cwd, the paths the kernel compares and the getrandom
stream), computed by running vm.syscalls' handlers, and the preprocessed ``syscall_blob``
table that holds them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prover.air import Table
from prover.zkmips import memory as M
from prover.zkmips.syscall.cells import _NUMBER, _PROVABLE_FDS, BLOB_TABLE, BUS_BLOB
from vm.memory import Memory
from vm.syscalls import RLIMIT_STACK, Kernel

#: Bytes of the deterministic getrandom stream the blob table holds (a proof refuses more).
RANDOM_BYTES = 6144
#: The one path readlink can be proven for (vm.syscalls.Kernel.sys_readlink), with its NUL.
PROC_SELF_EXE = b"/proc/self/exe\0"
_BUF, _EMPTY_PATH, _EXE_PATH = 0x100000, 0x200000, 0x200010


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
