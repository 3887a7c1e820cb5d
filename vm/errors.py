"""Errors the VM raises. Each one's message is a single line meant for a user."""


class VMError(Exception):
    """Base class: the program could not be loaded or did not run to completion."""


class ElfError(VMError):
    """The file is not a program this VM runs (not an ELF, wrong machine, dynamic...)."""


class InstructionError(VMError):
    """An instruction could not be executed: unsupported, floating point, unaligned, trap."""


class MemoryFault(VMError):
    """A load, store or fetch touched an address the program has not mapped."""


class SyscallError(VMError):
    """The program made a system call the VM does not provide (or with bad arguments)."""


class CycleLimitExceeded(VMError):
    """The program ran for more cycles than allowed without exiting."""


class InputTooLarge(VMError):
    """Public or private input exceeds the configured limit."""
