"""The Program table: every instruction of the ELF's executable segment, decoded at setup.

Decoding happens once, here, with the VM's own decoder (``vm.isa.decode``) and operand
table (``vm.isa.OPERANDS``); the result is a *preprocessed* table whose commitment is part
of the verifying key. The CPU table fetches each executed instruction by receiving its
row on the ``program`` bus, so a proof can neither run an instruction that is not in the
ELF nor decode one differently: everything the CPU knows about an instruction (operation,
registers, immediate, branch target, which registers it reads and writes) comes from a
committed row.

Main column: ``count``, how many times the row's pc was executed (the LogUp multiplicity).
Padding rows (``valid`` = 0) cannot be fetched: ``count * (1 - valid) = 0``.
"""

from __future__ import annotations

import numpy as np

from prover.air import Table
from prover.zkmips.spec import BUS_PROGRAM
from vm import isa
from vm.elf import Program

MASK32 = 0xFFFFFFFF

#: Operand flags of vm.isa.OPERANDS that become columns, in order.
FLAG_NAMES = ("reads_rs", "reads_rt", "reads_rd", "writes_rd", "writes_rt", "writes_ra",
              "reads_hi", "reads_lo", "writes_hi", "writes_lo", "loads", "stores", "system")
_FLAG_BITS = (isa.READS_RS, isa.READS_RT, isa.READS_RD, isa.WRITES_RD, isa.WRITES_RT,
              isa.WRITES_RA, isa.READS_HI, isa.READS_LO, isa.WRITES_HI, isa.WRITES_LO,
              isa.LOADS, isa.STORES, isa.SYSTEM)

#: Preprocessed columns, in order; the ``program`` bus carries all of them.
FIELDS = ("valid", "pc", "op", "rs", "rt", "rd", "sa", "dst", "imm0", "imm1", "imm2", "imm3",
          "target", *FLAG_NAMES)

_SEXT_IMM = {isa.OP[m] for m in ("addi", "addiu", "slti", "sltiu", "lb", "lbu", "lh", "lhu", "lw",
                                 "lwl", "lwr", "ll", "lwc1", "ldc1", "sb", "sh", "sw", "swl", "swr",
                                 "sc", "swc1", "sdc1", "teqi", "tnei", "tgei", "tgeiu", "tlti",
                                 "tltiu")}
_ZEXT_IMM = {isa.OP[m] for m in ("andi", "ori", "xori")}
_SHIFT_IMM = {isa.OP[m] for m in ("sll", "srl", "sra", "rotr")}
_BRANCHES = {isa.OP[m] for m in ("beq", "bne", "blez", "bgtz", "bltz", "bgez", "bltzal", "bgezal",
                                 "beql", "bnel", "blezl", "bgtzl", "bltzl", "bgezl", "bltzall",
                                 "bgezall")}
_JUMPS = {isa.OP["j"], isa.OP["jal"]}


def immediate(op: int, word: int) -> int:
    """The 32-bit immediate operand an instruction uses (0 if it has none)."""
    imm = word & 0xFFFF
    if op in _SEXT_IMM:
        return ((imm ^ 0x8000) - 0x8000) & MASK32
    if op in _ZEXT_IMM:
        return imm
    if op == isa.OP["lui"]:
        return imm << 16
    if op in _SHIFT_IMM:
        return (word >> 6) & 31
    return 0


def static_target(op: int, word: int, pc: int) -> int:
    """The branch or jump target fixed by the instruction itself (0 for others)."""
    if op in _BRANCHES:
        return (pc + 4 + (((word & 0xFFFF) ^ 0x8000) - 0x8000) * 4) & MASK32
    if op in _JUMPS:
        return ((pc + 4) & 0xF0000000) | ((word & 0x03FFFFFF) << 2)
    return 0


def destination(op: int, word: int) -> int:
    """The general register an instruction writes (0 when it writes none)."""
    flags = int(isa.OPERANDS[op])
    if flags & isa.WRITES_RD:
        return (word >> 11) & 31
    if flags & isa.WRITES_RT:
        return (word >> 16) & 31
    if flags & isa.WRITES_RA:
        return 31
    return 0


def decode_row(pc: int, word: int) -> list[int]:
    """The preprocessed row of the instruction ``word`` at ``pc`` (see FIELDS)."""
    op = int(isa.decode(word))
    flags = int(isa.OPERANDS[op])
    imm = immediate(op, word)
    row = [1, pc, op, (word >> 21) & 31, (word >> 16) & 31, (word >> 11) & 31, (word >> 6) & 31,
           destination(op, word), *((imm >> (8 * i)) & 0xFF for i in range(4)),
           static_target(op, word, pc)]
    row += [1 if flags & bit else 0 for bit in _FLAG_BITS]
    return row


def program_rows(program: Program) -> np.ndarray:
    """All preprocessed rows of a program's executable segments, padded to a power of two."""
    rows = []
    for seg in program.segments:
        if not seg.executable:
            continue
        words = np.frombuffer(seg.data[: len(seg.data) & ~3], dtype="<u4")
        for i, word in enumerate(words.tolist()):
            rows.append(decode_row(seg.vaddr + 4 * i, word))
    height = max(8, 1 << (len(rows) - 1).bit_length())
    out = np.zeros((height, len(FIELDS)), dtype=np.uint32)
    out[: len(rows)] = np.asarray(rows, dtype=np.uint32)
    return out


def build_program_table(program: Program) -> Table:
    """The Program table for ``program`` (preprocessed columns filled in)."""
    t = Table("program")
    cols = [t.pre(name) for name in FIELDS]
    count = t.main("count")
    valid = cols[0]
    t.assert_zero(count * (1 - valid))
    t.send(BUS_PROGRAM, cols[1:], count)
    t.set_preprocessed(program_rows(program))
    return t


def program_trace(rows: np.ndarray, executed_pcs: np.ndarray) -> np.ndarray:
    """The ``count`` column: how often each row's pc appears in ``executed_pcs``.

    Raises ValueError if a pc was executed that is not in the table (self-modifying code
    or a jump outside the executable segment: not provable)."""
    pcs = rows[:, 1].astype(np.int64)
    valid = rows[:, 0] == 1
    order = np.argsort(pcs[valid])
    table_pcs = pcs[valid][order]
    executed = np.asarray(executed_pcs, dtype=np.int64)
    where = np.searchsorted(table_pcs, executed)
    where_clipped = np.minimum(where, len(table_pcs) - 1)
    missing = table_pcs[where_clipped] != executed
    if missing.any():
        bad = int(executed[np.argmax(missing)])
        raise ValueError(f"executed pc 0x{bad:08x} is not an instruction of the program's executable segment")
    counts_sorted = np.bincount(where_clipped, minlength=len(table_pcs))
    count = np.zeros(rows.shape[0], dtype=np.uint32)
    valid_idx = np.nonzero(valid)[0][order]
    count[valid_idx] = counts_sorted
    return count.reshape(-1, 1)
