"""An opt-in record of what each system call did, for the prover's Syscall table.

The kernel (:mod:`vm.syscalls`) stays the single source of truth for the semantics: the
recorder only *observes* a call. It hands the kernel a proxy of guest memory that notes
the old value of every word a write touches, and it compares the kernel state and the
registers before and after. Nothing the VM computes depends on the recorder, so a run
with it is bit-for-bit the run without it.

Usage::

    ex = Executor.for_program(program, public_input, private_input)
    log = SyscallLog.attach(ex)
    ex.run(limit, trace=rows)
    for rec in log.records: ...

Kernel cells (what the prover models as memory cells in register space; see
:mod:`prover.zkmips.syscall`): ``brk``, ``public_pos`` and ``private_pos`` (the input
cursors), ``journal_len``, ``halted`` and ``exit_code``, ``tls`` (the TLS register),
``mmap_next``. A record lists the ones that changed as ``{name: (old, new)}``; ``fds_changed``
says that the call edited the fd table (dup/dup2/dup3/close/fcntl).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vm.layout import TLS
from vm.memory import Memory
from vm.syscalls import SYSCALL_NAMES, Kernel

if TYPE_CHECKING:      # pragma: no cover
    from vm.executor import Executor

MASK32 = 0xFFFFFFFF


@dataclass
class SyscallRecord:
    """One executed ``syscall``.

    ``cycle`` is the clk of the syscall instruction (1 for the first executed
    instruction); ``args`` = (a0, a1, a2, a3, stack arg 5, stack arg 6) as the executor
    passed them; ``v0``/``a3`` the values written back (None for exit/exit_group, which
    write nothing); ``ram`` the changed RAM words ``(word address, old, new)`` in address
    order (word address = byte address & ~3); ``words_written`` every word a write of the
    kernel covered, changed or not, and ``words_read`` ``(word address, value)`` of the
    words the kernel read through ``Memory.read`` (the bytes of write()); ``public_read``/``private_read`` the input
    bytes consumed, ``journal``/``log`` the bytes appended; ``kernel`` the changed kernel
    cells; ``mappings`` the (un)mapping operations (``("map_zero"|"map_keep"|"unmap",
    addr, length)``)."""

    cycle: int
    number: int
    args: tuple[int, ...]
    pc: int
    sp: int = 0
    v0: int | None = None
    a3: int | None = None
    ram: list[tuple[int, int, int]] = field(default_factory=list)
    words_written: list[tuple[int, int, int]] = field(default_factory=list)
    words_read: list[tuple[int, int]] = field(default_factory=list)
    public_read: bytes = b""
    private_read: bytes = b""
    journal: bytes = b""
    log: bytes = b""
    kernel: dict[str, tuple[int, int]] = field(default_factory=dict)
    mappings: list[tuple[str, int, int]] = field(default_factory=list)
    fds_changed: bool = False

    @property
    def name(self) -> str | None:
        return SYSCALL_NAMES.get(self.number)

    @property
    def halted(self) -> bool:
        return "halted" in self.kernel


class _RecordingMemory:
    """Guest memory as the kernel sees it during one call: writes and (un)mappings are
    noted (old word values first), everything else is delegated unchanged."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self.old_words: dict[int, int] = {}
        self.read_words: dict[int, int] = {}
        self.mappings: list[tuple[str, int, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._memory, name)

    def _word(self, addr: int) -> int:
        return self._memory.read_u32(addr) if self._memory.is_mapped(addr, 4) else 0

    def write(self, addr: int, data: bytes) -> None:
        data = bytes(data)
        if data:
            first, end = addr & ~3, addr + len(data)
            for w in range(first, end, 4):
                w &= MASK32
                if w not in self.old_words:
                    self.old_words[w] = self._word(w)
        self._memory.write(addr, data)

    def read(self, addr: int, length: int) -> bytes:
        data = self._memory.read(addr, length)      # raises MemoryError first if unmapped
        if length > 0:
            for w in range(addr & ~3, addr + length, 4):
                self.read_words.setdefault(w & MASK32, self._word(w & MASK32))
        return data

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        data = self._memory.read_cstring(addr, limit)   # raises MemoryError first if unmapped
        end = addr + len(data) + (len(data) < limit)     # through the NUL, when one was found
        for w in range(addr & ~3, end, 4):
            self.read_words.setdefault(w & MASK32, self._word(w & MASK32))
        return data

    def write_u32(self, addr: int, value: int) -> None:
        self.write(addr, (value & MASK32).to_bytes(4, "little"))

    def map_zero(self, addr: int, length: int) -> None:
        self.mappings.append(("map_zero", addr, length))
        self._memory.map_zero(addr, length)

    def map_keep(self, addr: int, length: int) -> None:
        self.mappings.append(("map_keep", addr, length))
        self._memory.map_keep(addr, length)

    def unmap(self, addr: int, length: int) -> None:
        self.mappings.append(("unmap", addr, length))
        self._memory.unmap(addr, length)


def _kernel_cells(k: Kernel, regs) -> dict[str, int]:
    return {"brk": k.brk, "public_pos": k.public_pos, "private_pos": k.private_pos,
            "journal_len": len(k.journal), "log_len": len(k.log), "mmap_next": k.mmap_next,
            "tls": int(regs[TLS])}


class SyscallLog:
    """Collects a :class:`SyscallRecord` per executed syscall of one executor."""

    def __init__(self) -> None:
        self.records: list[SyscallRecord] = []
        self._pending: tuple[SyscallRecord, _RecordingMemory, dict[str, int], dict[int, str]] | None = None

    @classmethod
    def attach(cls, executor: "Executor") -> "SyscallLog":
        log = cls()
        executor.syscall_log = log
        return log

    # --- the executor's hook ---------------------------------------------------------------
    def begin(self, executor: "Executor", number: int, args: list[int], pc: int) -> _RecordingMemory:
        """Called before the kernel runs a call; returns the memory to hand it."""
        rec = SyscallRecord(cycle=executor.cycles, number=number, args=tuple(int(a) for a in args), pc=pc,
                            sp=int(executor.regs[29]))
        mem = _RecordingMemory(executor.memory)
        self._pending = (rec, mem, _kernel_cells(executor.kernel, executor.regs), dict(executor.kernel.fds))
        return mem

    def end(self, executor: "Executor", v0: int | None, a3: int | None) -> None:
        """Called after the call (and after the executor applied its register effects)."""
        if self._pending is None:
            return
        rec, mem, before, fds = self._pending
        self._pending = None
        k = executor.kernel
        rec.v0, rec.a3 = v0, a3
        rec.public_read = bytes(k.public_input[before["public_pos"]: k.public_pos])
        rec.private_read = bytes(k.private_input[before["private_pos"]: k.private_pos])
        rec.journal = bytes(k.journal[before["journal_len"]:])
        rec.log = bytes(k.log[before["log_len"]:])
        after = _kernel_cells(k, executor.regs)
        rec.kernel = {name: (before[name], after[name]) for name in before
                      if before[name] != after[name] and name != "log_len"}
        if executor.exit_code is not None:
            rec.kernel["halted"] = (0, 1)
            rec.kernel["exit_code"] = (0, executor.exit_code)
        rec.fds_changed = dict(k.fds) != fds
        rec.mappings = mem.mappings
        rec.words_written = [(w, mem.old_words[w], mem._word(w)) for w in sorted(mem.old_words)]
        rec.ram = [(w, old, new) for w, old, new in rec.words_written if old != new]
        rec.words_read = sorted(mem.read_words.items())
        self.records.append(rec)


__all__ = ["SyscallLog", "SyscallRecord"]
