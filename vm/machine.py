"""A bare MIPS machine for single-stepping: registers plus flat, all-mapped memory.

Used by the differential tests against unicorn and by anyone who wants to poke at one
instruction. It runs the very same :func:`vm.isa.execute` as the executor.
"""

from __future__ import annotations

import numpy as np

from vm.executor import Executor
from vm.layout import HI, LO, NPC, NUM_REGS, PC
from vm.memory import Memory
from vm.syscalls import Kernel


class Machine:
    """Registers, HI/LO, PC/NPC and sparse zero-initialised memory where every address is usable."""

    def __init__(self) -> None:
        self._ex = Executor(Memory(all_mapped=True), np.zeros(NUM_REGS, dtype=np.int64), Kernel())

    # --- registers ---------------------------------------------------------------------------
    def get_reg(self, i: int) -> int:
        return int(self._ex.regs[i])

    def set_reg(self, i: int, value: int) -> None:
        if i != 0:
            self._ex.regs[i] = value & 0xFFFFFFFF

    def _prop(index: int, doc: str):  # noqa: N805 - a property factory used in the class body
        return property(lambda self: int(self._ex.regs[index]),
                        lambda self, v: self._ex.regs.__setitem__(index, v & 0xFFFFFFFF), doc=doc)

    hi = _prop(HI, "The HI register.")
    lo = _prop(LO, "The LO register.")
    next_pc = _prop(NPC, "Address executed after the current one (differs from pc+4 in a delay slot).")

    @property
    def pc(self) -> int:
        return int(self._ex.regs[PC])

    @pc.setter
    def pc(self, value: int) -> None:
        self._ex.regs[PC] = value & 0xFFFFFFFF
        self._ex.regs[NPC] = (value + 4) & 0xFFFFFFFF

    # --- memory ---------------------------------------------------------------------------------
    def write_bytes(self, addr: int, data: bytes) -> None:
        self._ex.memory.write(addr, data)

    def read_bytes(self, addr: int, n: int) -> bytes:
        return self._ex.memory.read(addr, n)

    def write_word(self, addr: int, value: int) -> None:
        self._ex.memory.write_u32(addr, value)

    def read_word(self, addr: int) -> int:
        return self._ex.memory.read_u32(addr)

    # --- execution ---------------------------------------------------------------------------------
    def step(self, n: int = 1) -> None:
        """Execute n instructions; raises the VM's errors (InstructionError, MemoryFault...)."""
        self._ex.run(n)
