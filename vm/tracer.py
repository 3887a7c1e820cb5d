"""The tracer: the executor with per-cycle recording switched on.

It yields the execution in chunks of rows (int64[rows, len(TRACE_COLUMNS)]), each
with the machine state it started from, so that a prover can take segments one at a
time with memory bounded by the segment size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from vm.elf import Program, load_elf
from vm.errors import CycleLimitExceeded
from vm.executor import DEFAULT_MAX_CYCLES, TRACE_COLUMNS, ExecutionResult, Executor
from vm.layout import PC


@dataclass
class TraceChunk:
    """Rows of consecutive cycles, starting at cycle ``start``."""
    start: int
    rows: np.ndarray


@dataclass
class Trace:
    result: ExecutionResult
    rows: int
    chunks: list[TraceChunk]


def iter_trace(executor: Executor, chunk_rows: int, max_cycles: int) -> Iterator[TraceChunk]:
    """Run ``executor`` to its exit, yielding the recorded rows chunk by chunk."""
    while not executor.halted:
        if executor.cycles >= max_cycles:
            raise CycleLimitExceeded(
                f"program did not exit within {max_cycles} cycles (pc 0x{int(executor.regs[PC]):08x}); raise --max-cycles")
        start = executor.cycles
        buf = np.empty((min(chunk_rows, max_cycles - start), len(TRACE_COLUMNS)), dtype=np.int64)
        n = executor.run(buf.shape[0], trace=buf)
        yield TraceChunk(start, buf[:n])


def trace(program: Program | bytes | str, public_input: bytes = b"", private_input: bytes = b"",
          max_cycles: int | None = None, chunk_rows: int = 1 << 20, keep_rows: bool = True) -> Trace:
    """Execute with recording on; returns the result and (optionally) every row."""
    if not isinstance(program, Program):
        program = load_elf(program)
    start = time.perf_counter()
    ex = Executor.for_program(program, public_input, private_input)
    chunks = []
    total = 0
    for chunk in iter_trace(ex, chunk_rows, DEFAULT_MAX_CYCLES if max_cycles is None else max_cycles):
        total += chunk.rows.shape[0]
        if keep_rows:
            chunks.append(chunk)
    return Trace(ex.result(time.perf_counter() - start), total, chunks)
