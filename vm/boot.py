"""The initial machine state of a program: memory image, stack and registers.

The stack is laid out as Linux lays it out for a new process (argc, argv, envp, the
auxiliary vector, then the strings and AT_RANDOM bytes above them), so that static
glibc's start-up code runs unchanged. Everything is fixed: the same program always
starts in the same state, which is what the image id digests.
"""

from __future__ import annotations

import struct

import numpy as np

from vm.elf import Program
from vm.layout import NPC, NUM_REGS, PAGE_SIZE, PC
from vm.memory import Memory

# Where qemu-mipsel (our reference) puts them for a 32-bit guest, so that programs which
# print heap or mmap addresses print the same ones: an 8 MiB stack ending at 0x40801000,
# anonymous mmaps top-down from 0x3ffff000 (never reusing freed holes, like qemu), and
# the brk heap right after the program.
STACK_TOP = 0x40801000
STACK_SIZE = 8 << 20
MMAP_TOP = 0x3FFFF000
ARGV0 = b"guest"
EXECFN = b"/guest"
# AT_RANDOM must point at 16 bytes glibc uses for stack/pointer guards; ours are fixed.
AT_RANDOM_BYTES = bytes(range(0x10, 0x20))

AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_EXECFN = 23, 25, 31


def page_align_up(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def initial_state(program: Program) -> tuple[Memory, np.ndarray]:
    """Memory with the program's segments and the initial stack, and the register vector."""
    mem = Memory()
    for seg in program.segments:
        mem.map_keep(seg.vaddr, seg.memsz)
        if seg.data:
            mem.write(seg.vaddr, seg.data)
    mem.map_zero(STACK_TOP - STACK_SIZE, STACK_SIZE)
    sp = _build_stack(mem, program)
    regs = np.zeros(NUM_REGS, dtype=np.int64)
    regs[29] = sp
    regs[PC] = program.entry
    regs[NPC] = program.entry + 4
    return mem, regs


def _build_stack(mem: Memory, program: Program) -> int:
    """Write argv/envp/auxv at the top of the stack; return the initial $sp."""
    top = STACK_TOP
    strings = bytearray()

    def place(blob: bytes) -> int:
        strings.extend(blob)
        return len(strings) - len(blob)

    off_execfn = place(EXECFN + b"\0")
    off_argv0 = place(ARGV0 + b"\0")
    off_platform = place(b"mips\0")
    while len(strings) % 4:
        strings.append(0)
    off_random = place(AT_RANDOM_BYTES)
    base = (top - len(strings) - 16) & ~15      # 16 spare bytes under the top, like Linux
    mem.write(base, bytes(strings))

    auxv = [
        (AT_PHDR, program.phdr_vaddr), (AT_PHENT, program.phentsize), (AT_PHNUM, program.phnum),
        (AT_PAGESZ, PAGE_SIZE), (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, program.entry),
        (AT_UID, 0), (AT_EUID, 0), (AT_GID, 0), (AT_EGID, 0), (AT_HWCAP, 0), (AT_CLKTCK, 100),
        (AT_SECURE, 0), (AT_RANDOM, base + off_random), (AT_PLATFORM, base + off_platform),
        (AT_EXECFN, base + off_execfn), (AT_NULL, 0),
    ]
    words = [1, base + off_argv0, 0, 0]          # argc, argv[0], argv NULL, envp NULL
    for key, value in auxv:
        words += [key, value]
    sp = (base - 4 * len(words)) & ~15
    mem.write(sp, struct.pack(f"<{len(words)}I", *words))
    return sp
