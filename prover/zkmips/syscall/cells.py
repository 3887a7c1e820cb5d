"""The names and numbers the Syscall tables share: table and internal bus names, the
register and kernel-cell keys, the ``sysio`` kinds, the call numbers the header table
pins, the fd table a proof assumes (fds 0..3), and the kernel cells' initial values
(:func:`kernel_image`). The package docstring (:mod:`prover.zkmips.syscall`) describes
the cells and what each table does with them."""

from __future__ import annotations

import numpy as np

from prover.zkmips import memory as M
from prover.zkmips.spec import REGISTER_KEY_BASE
from vm.boot import MMAP_TOP, page_align_up
from vm.layout import NUM_REGS
from vm.syscalls import INITIAL_FDS, SYSCALL_NAMES

SYSCALL_TABLE = "syscall"
IO_TABLE = "syscall_io"
PRIVATE_TABLE = "private_input"
CONST_TABLE = "syscall_const"
KERNEL_TABLE = "syscall_kernel"
BLOB_TABLE = "syscall_blob"
BUS_SYSIO = "sysio"
BUS_PRIVATE = "private"
BUS_SYSCONST = "sysconst"
BUS_SYSKERN = "syskern"
BUS_BLOB = "blob"

#: Kernel cells: state-vector indices after vm.layout's registers.
K_BRK, K_BRK_START, K_PUBLIC_POS, K_PRIVATE_POS, K_JOURNAL_LEN, K_HALTED, K_RANDOM, K_MMAP_NEXT, K_BRK_HWM = \
    range(NUM_REGS, NUM_REGS + 9)
REG = REGISTER_KEY_BASE
V0, A0, A1, A2, A3, SP = 2, 4, 5, 6, 7, 29
#: Bytes of one read/write, and every cursor, stay below this (24-bit checks).
IO_LIMIT = 1 << 24
#: sysio kinds.
KIND_PUBLIC, KIND_PRIVATE, KIND_JOURNAL, KIND_BLOB, KIND_CMP = 1, 2, 3, 4, 5

SYS_EXIT = {4001, 4246}
SYS_READ, SYS_WRITE, SYS_BRK, SYS_SET_THREAD_AREA = 4003, 4004, 4045, 4283
_NUMBER = {name: number for number, name in SYSCALL_NAMES.items()}
_PROVABLE_FDS = tuple(sorted(INITIAL_FDS))          # 0..3: no provable call edits the fd table
assert _PROVABLE_FDS == tuple(range(len(_PROVABLE_FDS)))


def kernel_cells(program_end: int) -> dict[int, int]:
    """The kernel cells with a non-zero initial value: ``{key: value}``."""
    start = page_align_up(program_end)
    return {REG + K_BRK: start, REG + K_BRK_START: start, REG + K_MMAP_NEXT: MMAP_TOP, REG + K_BRK_HWM: start}


def kernel_image(image: M.MemoryImage, program_end: int) -> M.MemoryImage:
    """``image`` plus the kernel cells (so the preprocessed Image table fixes brk_start)."""
    cells = {k: v for k, v in kernel_cells(program_end).items() if v}
    keys = np.concatenate([image.keys, np.array(sorted(cells), np.int64)])
    values = np.concatenate([image.values, np.array([cells[k] for k in sorted(cells)], np.int64)])
    order = np.argsort(keys, kind="stable")
    return M.MemoryImage(keys[order], values[order])
