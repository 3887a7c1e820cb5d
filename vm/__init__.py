"""The MIPS VM: ELF loading, the MIPS32r2 integer ISA, Linux o32 syscalls, a fast
executor, a tracer and the image id.

Public surface::

    load_elf(bytes | path) -> Program
    execute(program, public_input, private_input, max_cycles) -> ExecutionResult
    trace(program, ...) -> Trace          # the executor with per-cycle rows recorded
    image_id(program) -> bytes            # 32-byte id receipts name the program by (prover setup)
    content_digest(program) -> bytes      # 32-byte keccak digest of the initial state (cheap)
    Executor                              # resumable run: run(n), snapshot()
    Machine                               # bare machine for single-stepping
    VMError and its subclasses
"""

from vm.elf import Program, load_elf
from vm.errors import (
    CycleLimitExceeded, ElfError, InputTooLarge, InstructionError, MemoryFault, SyscallError,
    VMError,
)
from vm.executor import ExecutionResult, Executor, execute
from vm.image import content_digest, image_id
from vm.machine import Machine
from vm.tracer import Trace, trace

__all__ = [
    "Program", "load_elf", "execute", "trace", "image_id", "content_digest", "Executor", "ExecutionResult",
    "Machine", "Trace", "VMError", "ElfError", "InstructionError", "MemoryFault",
    "SyscallError", "CycleLimitExceeded", "InputTooLarge",
]
