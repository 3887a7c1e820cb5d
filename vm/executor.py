"""The executor: a numba loop over :func:`vm.isa.execute`, and its Python driver.

The loop runs until a cycle budget is spent, a syscall needs the (Python) kernel, or an
instruction cannot execute. Because :func:`vm.isa.execute` is all-or-nothing, the
driver can stop at any cycle boundary and resume later from the saved state; running a
program in pieces gives exactly the result of one run (segments are cut this way).

With ``trace`` on, the same loop also records one row per cycle (see TRACE_COLUMNS):
the tracer is the executor with recording switched on, not a second interpreter.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from vm import isa
from vm.boot import initial_state
from vm.elf import Program
from vm.errors import (
    CycleLimitExceeded, InputTooLarge, InstructionError, MemoryFault, SyscallError, VMError,
)
from vm.layout import (
    ERR_BREAK, ERR_FAULT_FETCH, ERR_FAULT_LOAD, ERR_FAULT_STORE, ERR_FLOATING_POINT,
    ERR_OVERFLOW, ERR_RDHWR, ERR_TRAP, ERR_UNALIGNED, ERR_UNSUPPORTED, META_BREAK_CODE,
    META_CODE_BASE, META_ERROR_ADDR, META_ERROR_KIND, META_ERROR_PC, META_ERROR_WORD,
    META_PAGES_USED, NUM_META, NUM_REGS, PC, STATUS_ERROR, STATUS_NEED_PAGES, STATUS_SYSCALL,
    TLS,
)
from vm.memory import Memory
from vm.syscalls import Halt, Kernel

DEFAULT_MAX_CYCLES = 1 << 32
MAX_INPUT_BYTES = 64 << 20
# Columns the tracer records per cycle (later issues turn them into the prover's tables).
TRACE_COLUMNS = ("pc", "next_pc", "word", "op", "rs_value", "rt_value", "rt_after",
                 "rd_after", "mem_addr", "mem_value", "hi", "lo")


@dataclass
class ExecutionResult:
    """What a finished run produced."""
    exit_code: int
    cycles: int
    journal: bytes
    log: bytes
    seconds: float = 0.0


class Executor:
    """A resumable run of one program: machine state plus kernel state.

    ``run(n)`` advances by at most n cycles; ``snapshot()``/``restore()`` save and load
    the complete state, so an execution can be cut anywhere and resumed.
    """

    def __init__(self, memory: Memory, regs: np.ndarray, kernel: Kernel,
                 code_range: tuple[int, int] | None = None) -> None:
        self.memory = memory
        self.regs = regs
        self.kernel = kernel
        self.meta = np.zeros(NUM_META, dtype=np.int64)
        self.cycles = 0
        self.exit_code: int | None = None
        self.syscall_log = None   # a vm.syscall_log.SyscallLog observing the calls (opt-in)
        self._no_trace = np.zeros((1, len(TRACE_COLUMNS)), dtype=np.int64)
        self._set_code_cache(code_range)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def for_program(cls, program: Program, public_input: bytes = b"",
                    private_input: bytes = b"") -> "Executor":
        for label, blob in (("public", public_input), ("private", private_input)):
            if len(blob) > MAX_INPUT_BYTES:
                raise InputTooLarge(f"{label} input is {len(blob)} bytes; the limit is {MAX_INPUT_BYTES}")
        memory, regs = initial_state(program)
        kernel = Kernel(public_input=bytes(public_input), private_input=bytes(private_input),
                        brk_start=program.end)
        code = [s for s in program.segments if s.executable]
        lo = min(s.vaddr for s in code) & ~3
        hi = max(s.vaddr + len(s.data) for s in code)
        return cls(memory, regs, kernel, (lo, hi))

    def _set_code_cache(self, code_range: tuple[int, int] | None) -> None:
        """Pre-decode the executable range once; stores into it keep it coherent."""
        if code_range is None:
            self.code_words = np.zeros(0, dtype=np.uint32)
            self.code_ops = np.zeros(0, dtype=np.int32)
            self.meta[META_CODE_BASE] = 0
            return
        lo, hi = code_range
        raw = self.memory.read(lo, (hi - lo + 3) & ~3)
        self.code_words = np.frombuffer(raw, dtype=np.uint32).copy()
        self.code_ops = np.zeros(self.code_words.shape[0], dtype=np.int32)
        isa.decode_all(self.code_words, self.code_ops)
        self.meta[META_CODE_BASE] = lo

    # --- running -----------------------------------------------------------------------------
    @property
    def halted(self) -> bool:
        return self.exit_code is not None

    def run(self, max_cycles: int, trace: np.ndarray | None = None) -> int:
        """Advance by up to ``max_cycles`` cycles (stops early on exit).

        Returns the cycles executed. With ``trace`` (int64[rows, len(TRACE_COLUMNS)]),
        records one row per cycle; at most len(trace) cycles are run then.
        """
        done = 0
        if trace is not None:
            max_cycles = min(max_cycles, trace.shape[0])
        while done < max_cycles and not self.halted:
            self.meta[META_PAGES_USED] = self.memory.used
            rows = trace[done:] if trace is not None else self._no_trace
            status, n = isa.run(self.regs, self.memory.ptab, self.memory.pages, self.meta,
                                 self.code_words, self.code_ops, max_cycles - done, rows,
                                 trace is not None)
            self.memory.used = int(self.meta[META_PAGES_USED])
            done += n
            self.cycles += n
            if status == STATUS_SYSCALL:
                self._syscall()
            elif status == STATUS_NEED_PAGES:
                self.memory.grow()
            elif status == STATUS_ERROR:
                raise self._error()
        return done

    def _syscall(self) -> None:
        """Perform the syscall the loop just executed (pc already advanced past it)."""
        regs = self.regs
        number = int(regs[2])
        args = [int(regs[4]), int(regs[5]), int(regs[6]), int(regs[7])]
        sp = int(regs[29])
        for k in range(2):   # o32: arguments 5 and 6 sit on the stack at sp+16, sp+20
            try:
                args.append(self.memory.read_u32(sp + 16 + 4 * k))
            except MemoryError:
                args.append(0)
        pc = self._last_pc()
        log = self.syscall_log
        memory = self.memory if log is None else log.begin(self, number, args, pc)
        try:
            v0, a3 = self.kernel.dispatch(number, args, memory, self.cycles, pc)
        except Halt as h:
            self.exit_code = h.code
            if log is not None:
                log.end(self, None, None)
            return
        if number == 4283 and a3 == 0:        # set_thread_area: the TLS pointer rdhwr reads
            regs[TLS] = args[0]
        regs[2] = v0
        regs[7] = a3
        if log is not None:
            log.end(self, v0, a3)

    def _last_pc(self) -> int:
        """Address of the syscall instruction just executed (syscall is never in a delay slot)."""
        return (int(self.regs[PC]) - 4) & 0xFFFFFFFF

    def _error(self) -> VMError:
        meta = self.meta
        kind = int(meta[META_ERROR_KIND])
        pc = int(meta[META_ERROR_PC])
        word = int(meta[META_ERROR_WORD]) & 0xFFFFFFFF
        addr = int(meta[META_ERROR_ADDR]) & 0xFFFFFFFF
        where = f"at pc 0x{pc:08x}"
        insn = f"instruction 0x{word:08x} ({describe(word)})"
        if kind == ERR_FLOATING_POINT:
            return InstructionError(f"floating-point {insn} {where}: the VM is integer-only")
        if kind == ERR_UNSUPPORTED:
            return InstructionError(f"unsupported {insn} {where}")
        if kind == ERR_UNALIGNED:
            if word == 0 and addr == pc:
                return InstructionError(f"unaligned instruction fetch {where}")
            return InstructionError(f"unaligned memory access to 0x{addr:08x} by {insn} {where}")
        if kind == ERR_TRAP:
            return InstructionError(f"trap fired: {insn} {where}")
        if kind == ERR_BREAK:
            code = int(meta[META_BREAK_CODE])
            why = {7: ": integer division by zero", 6: ": integer overflow"}.get(code >> 10, "")
            return InstructionError(f"break {code >> 10}: {insn} {where}{why}")
        if kind == ERR_OVERFLOW:
            return InstructionError(f"integer overflow trap: {insn} {where}")
        if kind == ERR_RDHWR:
            return InstructionError(f"rdhwr of unsupported hardware register {addr}: {insn} {where}")
        if kind in (ERR_FAULT_LOAD, ERR_FAULT_STORE):
            verb = "load from" if kind == ERR_FAULT_LOAD else "store to"
            return MemoryFault(f"segmentation fault: {verb} unmapped address 0x{addr:08x} by {insn} {where}")
        if kind == ERR_FAULT_FETCH:
            return MemoryFault(f"segmentation fault: instruction fetch from unmapped address 0x{pc:08x}")
        return VMError(f"VM error {kind} {where}")

    # --- state ---------------------------------------------------------------------------------
    def snapshot(self) -> "Executor":
        """A deep copy that can be resumed independently."""
        clone = Executor.__new__(Executor)
        clone.memory = self.memory.copy()
        clone.regs = self.regs.copy()
        clone.kernel = _copy_kernel(self.kernel)
        clone.meta = self.meta.copy()
        clone.cycles = self.cycles
        clone.exit_code = self.exit_code
        clone.syscall_log = None
        clone._no_trace = self._no_trace
        clone.code_words = self.code_words.copy()
        clone.code_ops = self.code_ops.copy()
        return clone

    def result(self, seconds: float = 0.0) -> ExecutionResult:
        return ExecutionResult(exit_code=self.exit_code if self.exit_code is not None else -1,
                               cycles=self.cycles, journal=bytes(self.kernel.journal),
                               log=bytes(self.kernel.log), seconds=seconds)


def _copy_kernel(k: Kernel) -> Kernel:
    import copy
    clone = copy.copy(k)
    clone.journal = bytearray(k.journal)
    clone.log = bytearray(k.log)
    clone.fds = dict(k.fds)
    return clone


def describe(word: int) -> str:
    """Mnemonic of an instruction word, naming floating-point and coprocessor ones too."""
    op = int(isa.decode(word))
    if op not in (isa.OP_INVALID, isa.OP_FPU):
        return isa.MNEMONICS[op]
    opcode = word >> 26
    if opcode == 17:
        fmt = (word >> 21) & 31
        if fmt == 8:
            return "bc1t" if (word >> 16) & 1 else "bc1f"
        suffix = {16: "s", 17: "d", 20: "w", 21: "l", 22: "ps"}.get(fmt, "?")
        funct = word & 63
        names = {0: "add", 1: "sub", 2: "mul", 3: "div", 4: "sqrt", 5: "abs", 6: "mov",
                 7: "neg", 8: "round.l", 9: "trunc.l", 10: "ceil.l", 11: "floor.l",
                 12: "round.w", 13: "trunc.w", 14: "ceil.w", 15: "floor.w", 17: "movcf",
                 18: "movz", 19: "movn", 32: "cvt.s", 33: "cvt.d", 36: "cvt.w", 37: "cvt.l"}
        if funct >= 48:
            conds = ("f", "un", "eq", "ueq", "olt", "ult", "ole", "ule", "sf", "ngle",
                     "seq", "ngl", "lt", "nge", "le", "ngt")
            return f"c.{conds[funct - 48]}.{suffix}"
        return f"{names.get(funct, 'cop1')}.{suffix}"
    if opcode == 0 and (word & 63) == 1:
        return "movt" if (word >> 16) & 1 else "movf"
    return {16: "cop0", 18: "cop2", 19: "cop1x", 47: "cache", 50: "lwc2", 54: "ldc2",
            58: "swc2", 62: "sdc2", 30: "jalx"}.get(opcode, "unknown")


_kernels_loaded = False


def load_kernels() -> None:
    """Load (or compile, on a cold cache) the numba kernels once per process, so that the
    one-off cost (~0.1 s from the cache) is not counted in a run's ``seconds``."""
    global _kernels_loaded
    if not _kernels_loaded:
        isa.decode_all(np.zeros(1, dtype=np.uint32), np.zeros(1, dtype=np.int32))
        Executor(Memory(all_mapped=True), np.zeros(NUM_REGS, dtype=np.int64), Kernel()).run(1)
        _kernels_loaded = True


def execute(program: Program | bytes | str, public_input: bytes = b"", private_input: bytes = b"",
            max_cycles: int | None = None) -> ExecutionResult:
    """Run a program to completion; raises CycleLimitExceeded past ``max_cycles``.

    ``result.seconds`` covers building the initial state and running, not loading the
    ELF or the numba kernels."""
    from vm.elf import load_elf
    if not isinstance(program, Program):
        program = load_elf(program)
    limit = DEFAULT_MAX_CYCLES if max_cycles is None else max_cycles
    load_kernels()
    start = time.perf_counter()
    ex = Executor.for_program(program, public_input, private_input)
    ex.run(limit)
    if not ex.halted:
        raise CycleLimitExceeded(
            f"program did not exit within {limit} cycles (pc 0x{int(ex.regs[PC]):08x}); raise --max-cycles")
    return ex.result(time.perf_counter() - start)


__all__ = ["Executor", "ExecutionResult", "execute", "describe", "TRACE_COLUMNS",
           "SyscallError"]
