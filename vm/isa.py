"""The MIPS32 release-2 integer instruction set: decoding and semantics, written once.

Everything that executes MIPS code goes through :func:`decode` and :func:`run` here:
the fast executor, the tracer that records the prover's columns (the same loop with
recording on), and the single-step :class:`vm.machine.Machine` used by the
differential tests. There is no second copy of the ISA anywhere in the project.

Conventions:
- ``regs`` is the int64 state vector of :mod:`vm.layout`; register values are unsigned
  32-bit integers held in int64.
- Memory is paged: ``ptab[page_number]`` gives a slot in ``pages`` (uint32 words,
  little-endian bytes within a word), or ``PAGE_ZERO`` (mapped, still all zero) or
  ``PAGE_UNMAPPED`` (access faults, as it would with SIGSEGV on Linux).
- :func:`run` executes each instruction whole, or not at all: it stops *before* an
  instruction that faults (``STATUS_ERROR``) or needs a new page when the pool is full
  (``STATUS_NEED_PAGES``). That all-or-nothing rule is what makes stop-and-resume at
  any cycle boundary exact.
- Each instruction reads at most one aligned memory word (ldc1/sdc1: two) before it
  executes and writes at most that word after: the shape the prover's memory
  argument wants, and a loop body with no array passed to a helper (numba would
  reference-count it on every call).
- Delay slots: the state holds ``PC`` and ``NPC``. Each instruction moves PC <- NPC and
  NPC <- NPC + 4, except that a taken branch or jump sets NPC to its target. A branch
  "likely" that is not taken skips its delay slot (PC <- NPC + 4).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from vm.layout import (
    ERR_BREAK, ERR_FAULT_FETCH, ERR_FAULT_LOAD, ERR_FAULT_STORE, ERR_FLOATING_POINT,
    ERR_OVERFLOW, ERR_RDHWR, ERR_TRAP, ERR_UNALIGNED, ERR_UNSUPPORTED, FCSR, FPR0, HI, LLBIT,
    LO, META_BREAK_CODE, META_CODE_BASE, META_ERROR_ADDR, META_ERROR_KIND, META_ERROR_PC,
    META_ERROR_WORD, META_PAGES_USED, NPC, PAGE_BITS, PAGE_UNMAPPED, PC, STATUS_ERROR,
    STATUS_LIMIT, STATUS_NEED_PAGES, STATUS_SYSCALL, TLS,
)

# ---------------------------------------------------------------------------------------
# Operation ids. The order is arbitrary but fixed: it is part of the tracer's columns.
# ---------------------------------------------------------------------------------------
MNEMONICS: tuple[str, ...] = (
    "invalid", "fpu",
    # ALU, register operands
    "sll", "srl", "sra", "sllv", "srlv", "srav", "rotr", "rotrv",
    "add", "addu", "sub", "subu", "and", "or", "xor", "nor", "slt", "sltu",
    "movz", "movn", "mul", "clz", "clo", "seb", "seh", "wsbh", "ext", "ins",
    # ALU, immediate operand
    "addi", "addiu", "slti", "sltiu", "andi", "ori", "xori", "lui",
    # HI/LO
    "mfhi", "mthi", "mflo", "mtlo", "mult", "multu", "div", "divu",
    "madd", "maddu", "msub", "msubu",
    # control flow
    "j", "jal", "jr", "jalr", "beq", "bne", "blez", "bgtz", "bltz", "bgez",
    "bltzal", "bgezal", "beql", "bnel", "blezl", "bgtzl", "bltzl", "bgezl",
    "bltzall", "bgezall",
    # system
    "syscall", "break", "sync", "pref", "nop", "rdhwr",
    "teq", "tne", "tge", "tgeu", "tlt", "tltu",
    "teqi", "tnei", "tgei", "tgeiu", "tlti", "tltiu",
    # FPU register moves (no arithmetic): glibc's setjmp/longjmp save FPU registers
    "mfc1", "mtc1", "mfhc1", "mthc1", "cfc1", "ctc1",
    # memory: loads, then stores (kept last and contiguous: the executor's memory phase
    # is entered for op >= OP_LB, and its store phase for op >= OP_SB)
    "lb", "lbu", "lh", "lhu", "lw", "lwl", "lwr", "ll", "lwc1", "ldc1",
    "sb", "sh", "sw", "swl", "swr", "sc", "swc1", "sdc1",
)
OP: dict[str, int] = {m: i for i, m in enumerate(MNEMONICS)}

(OP_INVALID, OP_FPU,
 OP_SLL, OP_SRL, OP_SRA, OP_SLLV, OP_SRLV, OP_SRAV, OP_ROTR, OP_ROTRV,
 OP_ADD, OP_ADDU, OP_SUB, OP_SUBU, OP_AND, OP_OR, OP_XOR, OP_NOR, OP_SLT, OP_SLTU,
 OP_MOVZ, OP_MOVN, OP_MUL, OP_CLZ, OP_CLO, OP_SEB, OP_SEH, OP_WSBH, OP_EXT, OP_INS,
 OP_ADDI, OP_ADDIU, OP_SLTI, OP_SLTIU, OP_ANDI, OP_ORI, OP_XORI, OP_LUI,
 OP_MFHI, OP_MTHI, OP_MFLO, OP_MTLO, OP_MULT, OP_MULTU, OP_DIV, OP_DIVU,
 OP_MADD, OP_MADDU, OP_MSUB, OP_MSUBU,
 OP_J, OP_JAL, OP_JR, OP_JALR, OP_BEQ, OP_BNE, OP_BLEZ, OP_BGTZ, OP_BLTZ, OP_BGEZ,
 OP_BLTZAL, OP_BGEZAL, OP_BEQL, OP_BNEL, OP_BLEZL, OP_BGTZL, OP_BLTZL, OP_BGEZL,
 OP_BLTZALL, OP_BGEZALL,
 OP_SYSCALL, OP_BREAK, OP_SYNC, OP_PREF, OP_NOP, OP_RDHWR,
 OP_TEQ, OP_TNE, OP_TGE, OP_TGEU, OP_TLT, OP_TLTU,
 OP_TEQI, OP_TNEI, OP_TGEI, OP_TGEIU, OP_TLTI, OP_TLTIU,
 OP_MFC1, OP_MTC1, OP_MFHC1, OP_MTHC1, OP_CFC1, OP_CTC1,
 OP_LB, OP_LBU, OP_LH, OP_LHU, OP_LW, OP_LWL, OP_LWR, OP_LL, OP_LWC1, OP_LDC1,
 OP_SB, OP_SH, OP_SW, OP_SWL, OP_SWR, OP_SC, OP_SWC1, OP_SDC1,
 ) = range(len(MNEMONICS))

# Alignment each memory operation requires (address bits that must be zero).
ALIGN_MASK = np.zeros(len(MNEMONICS), dtype=np.int64)
for _m, _mask in {"lh": 1, "lhu": 1, "lw": 3, "ll": 3, "lwc1": 3, "ldc1": 7, "sh": 1,
                  "sw": 3, "sc": 3, "swc1": 3, "sdc1": 7}.items():
    ALIGN_MASK[OP[_m]] = _mask

# Which state each operation reads and writes: what the prover's memory argument must
# account for (registers are memory cells). Checked against the interpreter by
# tests/vm/test_operand_usage.py: an operation changes nothing it does not declare, and its
# results do not depend on registers it does not declare reading.
READS_RS, READS_RT, READS_RD = 1, 2, 4
WRITES_RD, WRITES_RT, WRITES_RA = 8, 16, 32      # WRITES_RA: the link register $31
READS_HI, READS_LO, WRITES_HI, WRITES_LO = 64, 128, 256, 512
LOADS, STORES = 1024, 2048                       # one aligned memory word (ldc1/sdc1: two)
READS_FPR, WRITES_FPR, SYSTEM = 4096, 8192, 16384
_RR_RD = READS_RS | READS_RT | WRITES_RD
_HILO = READS_HI | READS_LO | WRITES_HI | WRITES_LO
OPERANDS = np.zeros(len(MNEMONICS), dtype=np.int64)
for _names, _flags in (
    (("sll", "srl", "sra", "rotr", "seb", "seh", "wsbh"), READS_RT | WRITES_RD),
    (("sllv", "srlv", "srav", "rotrv", "add", "addu", "sub", "subu", "and", "or", "xor",
      "nor", "slt", "sltu", "mul"), _RR_RD),
    (("movz", "movn"), _RR_RD | READS_RD),           # rd keeps its value when not moved
    (("clz", "clo"), READS_RS | WRITES_RD),
    (("ext", "addi", "addiu", "slti", "sltiu", "andi", "ori", "xori"), READS_RS | WRITES_RT),
    (("ins",), READS_RS | READS_RT | WRITES_RT),
    (("lui",), WRITES_RT),
    (("mfhi",), READS_HI | WRITES_RD),
    (("mflo",), READS_LO | WRITES_RD),
    (("mthi",), READS_RS | WRITES_HI),
    (("mtlo",), READS_RS | WRITES_LO),
    (("mult", "multu", "div", "divu"), READS_RS | READS_RT | WRITES_HI | WRITES_LO),
    (("madd", "maddu", "msub", "msubu"), READS_RS | READS_RT | _HILO),
    (("jal",), WRITES_RA),
    (("jr",), READS_RS),
    (("jalr",), READS_RS | WRITES_RD),
    (("beq", "bne", "beql", "bnel", "teq", "tne", "tge", "tgeu", "tlt", "tltu"), READS_RS | READS_RT),
    (("blez", "bgtz", "bltz", "bgez", "blezl", "bgtzl", "bltzl", "bgezl",
      "teqi", "tnei", "tgei", "tgeiu", "tlti", "tltiu"), READS_RS),
    (("bltzal", "bgezal", "bltzall", "bgezall"), READS_RS | WRITES_RA),
    (("syscall",), SYSTEM),
    (("rdhwr", "cfc1"), WRITES_RT | SYSTEM),
    (("ctc1",), READS_RT | SYSTEM),
    (("mfc1", "mfhc1"), READS_FPR | WRITES_RT),
    (("mtc1", "mthc1"), READS_RT | WRITES_FPR),
    (("lb", "lbu", "lh", "lhu", "lw"), READS_RS | WRITES_RT | LOADS),
    (("ll",), READS_RS | WRITES_RT | LOADS | SYSTEM),     # sets the LL bit
    (("lwl", "lwr"), READS_RS | READS_RT | WRITES_RT | LOADS),
    (("lwc1", "ldc1"), READS_RS | WRITES_FPR | LOADS),
    (("sb", "sh", "sw", "swl", "swr"), READS_RS | READS_RT | STORES),
    (("sc",), READS_RS | READS_RT | WRITES_RT | STORES | SYSTEM),
    (("swc1", "sdc1"), READS_RS | READS_FPR | STORES),
):
    for _m in _names:
        OPERANDS[OP[_m]] = _flags

# Value cfc1 returns for the FPU implementation register (FIR); the same as qemu's 24Kf.
FIR_VALUE = 0x00739300
MASK32 = 0xFFFFFFFF

# Decode tables: index -> op for the SPECIAL (by funct), REGIMM (by rt) and primary opcode.
_SPECIAL = np.full(64, OP_INVALID, dtype=np.int32)
for _f, _m in {0: "sll", 2: "srl", 3: "sra", 4: "sllv", 6: "srlv", 7: "srav", 8: "jr",
               9: "jalr", 10: "movz", 11: "movn", 12: "syscall", 13: "break", 15: "sync",
               16: "mfhi", 17: "mthi", 18: "mflo", 19: "mtlo", 24: "mult", 25: "multu",
               26: "div", 27: "divu", 32: "add", 33: "addu", 34: "sub", 35: "subu",
               36: "and", 37: "or", 38: "xor", 39: "nor", 42: "slt", 43: "sltu",
               48: "tge", 49: "tgeu", 50: "tlt", 51: "tltu", 52: "teq", 54: "tne"}.items():
    _SPECIAL[_f] = OP[_m]
_SPECIAL[1] = OP_FPU  # movf/movt test an FPU condition code
_REGIMM = np.full(32, OP_INVALID, dtype=np.int32)
for _f, _m in {0: "bltz", 1: "bgez", 2: "bltzl", 3: "bgezl", 8: "tgei", 9: "tgeiu",
               10: "tlti", 11: "tltiu", 12: "teqi", 14: "tnei", 16: "bltzal", 17: "bgezal",
               18: "bltzall", 19: "bgezall", 31: "sync"}.items():  # 31 = synci: no caches here
    _REGIMM[_f] = OP[_m]
_PRIMARY = np.full(64, OP_INVALID, dtype=np.int32)
for _f, _m in {2: "j", 3: "jal", 4: "beq", 5: "bne", 6: "blez", 7: "bgtz", 8: "addi",
               9: "addiu", 10: "slti", 11: "sltiu", 12: "andi", 13: "ori", 14: "xori",
               15: "lui", 20: "beql", 21: "bnel", 22: "blezl", 23: "bgtzl", 32: "lb",
               33: "lh", 34: "lwl", 35: "lw", 36: "lbu", 37: "lhu", 38: "lwr", 40: "sb",
               41: "sh", 42: "swl", 43: "sw", 46: "swr", 48: "ll", 49: "lwc1", 51: "pref",
               53: "ldc1", 56: "sc", 57: "swc1", 61: "sdc1"}.items():
    _PRIMARY[_f] = OP[_m]
_PRIMARY[19] = OP_FPU   # COP1X: indexed FPU loads/stores and fused multiply-add
_COP1_MOVE = np.full(32, OP_FPU, dtype=np.int32)   # COP1 by rs field; the rest is arithmetic
for _f, _m in {0: "mfc1", 2: "cfc1", 3: "mfhc1", 4: "mtc1", 6: "ctc1", 7: "mthc1"}.items():
    _COP1_MOVE[_f] = OP[_m]


# Fields that must be zero in each operation's encoding. Hardware (and qemu) raise a
# reserved-instruction exception otherwise; so do we, which keeps encodings canonical.
_RS, _RT, _RD, _SA = 0x03E00000, 0x001F0000, 0x0000F800, 0x000007C0
MUST_BE_ZERO = np.zeros(len(MNEMONICS), dtype=np.int64)
for _m, _mask in {
    "sll": _RS, "srl": _RS, "sra": _RS, "rotr": 0,
    "sllv": _SA, "srlv": _SA, "srav": _SA, "rotrv": 0, "jr": _RT | _RD, "jalr": _RT,
    "movz": _SA, "movn": _SA, "add": _SA, "addu": _SA, "sub": _SA, "subu": _SA,
    "and": _SA, "or": _SA, "xor": _SA, "nor": _SA, "slt": _SA, "sltu": _SA,
    "mfhi": _RS | _RT | _SA, "mflo": _RS | _RT | _SA, "mthi": _RT | _RD | _SA,
    "mtlo": _RT | _RD | _SA, "mult": _RD | _SA, "multu": _RD | _SA, "div": _RD | _SA,
    "divu": _RD | _SA, "sync": _RS | _RT | _RD,
    "madd": _RD | _SA, "maddu": _RD | _SA, "msub": _RD | _SA, "msubu": _RD | _SA,
    "mul": _SA, "clz": _SA, "clo": _SA, "wsbh": _RS, "seb": _RS, "seh": _RS,
    "lui": _RS, "rdhwr": _RS | _SA,
    "mfc1": 0x7FF, "mtc1": 0x7FF, "mfhc1": 0x7FF, "mthc1": 0x7FF,
    "cfc1": 0x7FF, "ctc1": 0x7FF,
}.items():
    MUST_BE_ZERO[OP[_m]] = _mask


@njit(cache=True)
def _decode_raw(w: int) -> int:
    opcode = (w >> 26) & 63
    if opcode == 0:
        funct = w & 63
        if w == 0:
            return OP_NOP
        if funct == 2 and ((w >> 21) & 31) == 1:
            return OP_ROTR
        if funct == 6 and ((w >> 6) & 31) == 1:
            return OP_ROTRV
        return _SPECIAL[funct]
    if opcode == 1:
        return _REGIMM[(w >> 16) & 31]
    if opcode == 17:
        return _COP1_MOVE[(w >> 21) & 31]
    if opcode == 28:  # SPECIAL2
        funct = w & 63
        if funct == 0:
            return OP_MADD
        if funct == 1:
            return OP_MADDU
        if funct == 2:
            return OP_MUL
        if funct == 4:
            return OP_MSUB
        if funct == 5:
            return OP_MSUBU
        if funct == 32:
            return OP_CLZ
        if funct == 33:
            return OP_CLO
        return OP_INVALID
    if opcode == 31:  # SPECIAL3
        funct = w & 63
        if funct == 0:
            # ext: pos + size must not pass bit 31
            return OP_EXT if ((w >> 6) & 31) + ((w >> 11) & 31) + 1 <= 32 else OP_INVALID
        if funct == 4:
            # ins: msb >= lsb
            return OP_INS if ((w >> 11) & 31) >= ((w >> 6) & 31) else OP_INVALID
        if funct == 59:
            return OP_RDHWR
        if funct == 32:
            sa = (w >> 6) & 31
            if sa == 2:
                return OP_WSBH
            if sa == 16:
                return OP_SEB
            if sa == 24:
                return OP_SEH
        return OP_INVALID
    return _PRIMARY[opcode]


@njit(cache=True)
def decode(w: int) -> int:
    """Operation id of instruction word ``w`` (OP_INVALID or OP_FPU when unsupported)."""
    op = _decode_raw(w)
    if w & MUST_BE_ZERO[op]:
        return OP_INVALID
    return op


@njit(cache=True)
def decode_all(words: np.ndarray, out: np.ndarray) -> None:
    """Pre-decode a run of instruction words (the executor's code cache)."""
    for i in range(words.shape[0]):
        out[i] = decode(np.int64(words[i]))


# ---------------------------------------------------------------------------------------
# Scalar helpers. They take and return plain integers only: passing arrays to a
# function inside the hot loop would make numba reference-count them per call.
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def _sx32(v):
    return (v ^ 0x80000000) - 0x80000000


@njit(cache=True)
def _sx16(v):
    return ((v & 0xFFFF) ^ 0x8000) - 0x8000


@njit(cache=True)
def _sx8(v):
    return ((v & 0xFF) ^ 0x80) - 0x80


@njit(cache=True)
def _clz32(v):
    n = 0
    while n < 32 and (v & (0x80000000 >> n)) == 0:
        n += 1
    return n


@njit(cache=True)
def _signed_divmod(a, b):
    """MIPS div on sign-extended operands: C-style truncation. For the UNPREDICTABLE
    cases we follow qemu: divide by 1 when b == 0 or when INT_MIN / -1 would overflow."""
    if b == 0 or (a == -0x80000000 and b == -1):
        b = 1
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q & MASK32, (a - q * b) & MASK32


@njit(cache=True)
def _mul64(a, b, signed):
    """Full 64-bit product of two 32-bit operands, as a uint64 bit pattern."""
    if signed:
        return np.uint64(_sx32(a) * _sx32(b))   # |product| < 2^62: exact in int64
    return np.uint64(a) * np.uint64(b)


# ---------------------------------------------------------------------------------------
# The interpreter: fetch, decode, memory read, execute, memory write, in one loop body.
# This function is the single definition of what every instruction does.
# ---------------------------------------------------------------------------------------
@njit(cache=True)
def run(regs, ptab, pages, meta, code_words, code_ops, limit, trace, trace_on):
    """Execute up to ``limit`` instructions; returns (status, instructions executed).

    Stops early after a syscall (STATUS_SYSCALL: the driver performs it), or before an
    instruction that cannot execute (STATUS_ERROR with META_ERROR_* set, or
    STATUS_NEED_PAGES when the page pool is full) -- such an instruction changes nothing.
    With ``trace_on``, row k of ``trace`` receives the TRACE_COLUMNS of the k-th
    instruction executed (the caller keeps ``limit`` <= rows available).
    """
    base = meta[META_CODE_BASE]
    code_len = code_words.shape[0]
    pool = pages.shape[0]
    pc = regs[PC]
    npc = regs[NPC]
    n = 0
    status = STATUS_LIMIT
    while n < limit:
        # ---- fetch and decode ---------------------------------------------------------
        i = (pc - base) >> 2
        if (pc & 3) == 0 and i >= 0 and i < code_len:
            w = np.int64(code_words[i])
            op = np.int64(code_ops[i])
        else:
            slot = ptab[pc >> PAGE_BITS]
            if (pc & 3) != 0 or slot == PAGE_UNMAPPED:
                meta[META_ERROR_KIND] = ERR_UNALIGNED if (pc & 3) else ERR_FAULT_FETCH
                meta[META_ERROR_ADDR] = pc
                meta[META_ERROR_PC] = pc
                meta[META_ERROR_WORD] = 0
                status = STATUS_ERROR
                break
            w = np.int64(pages[slot, (pc >> 2) & 1023]) if slot >= 0 else np.int64(0)
            op = np.int64(decode(w))
        rs = (w >> 21) & 31
        rt = (w >> 16) & 31
        rd = (w >> 11) & 31
        sa = (w >> 6) & 31
        imm = w & 0xFFFF
        simm = (imm ^ 0x8000) - 0x8000
        a = regs[rs]
        b = regs[rt]
        new_pc = npc
        new_npc = (npc + 4) & MASK32
        err = 0
        err_addr = 0

        # ---- memory read: every load/store touches one aligned word (ldc1/sdc1: two) ----
        addr = 0
        slot = -1
        widx = 0
        word = np.int64(0)
        if op >= OP_LB:
            addr = (a + simm) & MASK32
            page = addr >> PAGE_BITS
            slot = ptab[page]
            widx = (addr >> 2) & 1023
            is_store = op >= OP_SB and not (op == OP_SC and regs[LLBIT] == 0)
            if addr & ALIGN_MASK[op]:
                err = ERR_UNALIGNED
                err_addr = addr
            elif slot == PAGE_UNMAPPED:
                err = ERR_FAULT_STORE if is_store else ERR_FAULT_LOAD
                err_addr = addr
            elif slot >= 0:
                word = np.int64(pages[slot, widx])
            elif is_store:                      # first write to a zero page: give it storage
                used = meta[META_PAGES_USED]
                if used >= pool:
                    status = STATUS_NEED_PAGES
                    meta[META_ERROR_PC] = pc
                    break
                slot = used
                ptab[page] = slot
                meta[META_PAGES_USED] = used + 1
        if trace_on:
            row = trace[n]
            row[0] = pc
            row[1] = npc
            row[2] = w
            row[3] = op
            row[4] = a
            row[5] = b
        store = False
        value = np.int64(0)

        # ---- execute --------------------------------------------------------------------
        if err != 0:
            pass
        elif op == OP_LW or op == OP_LL:
            regs[rt] = word
            if op == OP_LL:
                regs[LLBIT] = 1
        elif op == OP_ADDIU:
            regs[rt] = (a + simm) & MASK32
        elif op == OP_SW:
            store = True
            value = b
        elif op == OP_ADDU:
            regs[rd] = (a + b) & MASK32
        elif op == OP_BEQ:
            if a == b:
                new_npc = (pc + 4 + (simm << 2)) & MASK32
        elif op == OP_BNE:
            if a != b:
                new_npc = (pc + 4 + (simm << 2)) & MASK32
        elif op == OP_SLL:
            regs[rd] = (b << sa) & MASK32
        elif op == OP_NOP or op == OP_SYNC or op == OP_PREF:
            pass
        elif op == OP_LUI:
            regs[rt] = imm << 16
        elif op == OP_JR:
            new_npc = a
        elif op == OP_JALR:
            regs[rd] = (pc + 8) & MASK32
            new_npc = a
        elif op == OP_LBU:
            regs[rt] = (word >> ((addr & 3) << 3)) & 0xFF
        elif op == OP_LB:
            regs[rt] = _sx8(word >> ((addr & 3) << 3)) & MASK32
        elif op == OP_LHU:
            regs[rt] = (word >> ((addr & 3) << 3)) & 0xFFFF
        elif op == OP_LH:
            regs[rt] = _sx16(word >> ((addr & 3) << 3)) & MASK32
        elif op == OP_SB:
            shift = (addr & 3) << 3
            store = True
            value = (word & ~(0xFF << shift)) | ((b & 0xFF) << shift)
        elif op == OP_SH:
            shift = (addr & 3) << 3
            store = True
            value = (word & ~(0xFFFF << shift)) | ((b & 0xFFFF) << shift)
        elif op == OP_ANDI:
            regs[rt] = a & imm
        elif op == OP_ORI:
            regs[rt] = a | imm
        elif op == OP_XORI:
            regs[rt] = a ^ imm
        elif op == OP_SLTI:
            regs[rt] = 1 if _sx32(a) < simm else 0
        elif op == OP_SLTIU:
            regs[rt] = 1 if a < (simm & MASK32) else 0
        elif op == OP_SUBU:
            regs[rd] = (a - b) & MASK32
        elif op == OP_AND:
            regs[rd] = a & b
        elif op == OP_OR:
            regs[rd] = a | b
        elif op == OP_XOR:
            regs[rd] = a ^ b
        elif op == OP_NOR:
            regs[rd] = ~(a | b) & MASK32
        elif op == OP_SLT:
            regs[rd] = 1 if _sx32(a) < _sx32(b) else 0
        elif op == OP_SLTU:
            regs[rd] = 1 if a < b else 0
        elif op == OP_SRL:
            regs[rd] = b >> sa
        elif op == OP_SRA:
            regs[rd] = (_sx32(b) >> sa) & MASK32
        elif op == OP_SLLV:
            regs[rd] = (b << (a & 31)) & MASK32
        elif op == OP_SRLV:
            regs[rd] = b >> (a & 31)
        elif op == OP_SRAV:
            regs[rd] = (_sx32(b) >> (a & 31)) & MASK32
        elif op == OP_ROTR:
            regs[rd] = ((b >> sa) | (b << (32 - sa))) & MASK32
        elif op == OP_ROTRV:
            regs[rd] = ((b >> (a & 31)) | (b << (32 - (a & 31)))) & MASK32
        elif op >= OP_BLEZ and op <= OP_BGEZALL:
            # conditional branches comparing rs with zero, plain / and-link / likely
            sv = _sx32(a)
            if op == OP_BLEZ or op == OP_BLEZL:
                taken = sv <= 0
            elif op == OP_BGTZ or op == OP_BGTZL:
                taken = sv > 0
            elif op == OP_BLTZ or op == OP_BLTZL or op == OP_BLTZAL or op == OP_BLTZALL:
                taken = sv < 0
            elif op == OP_BEQL:
                taken = a == b
            elif op == OP_BNEL:
                taken = a != b
            else:  # bgez, bgezl, bgezal, bgezall
                taken = sv >= 0
            if op == OP_BLTZAL or op == OP_BGEZAL or op == OP_BLTZALL or op == OP_BGEZALL:
                regs[31] = (pc + 8) & MASK32
            if taken:
                new_npc = (pc + 4 + (simm << 2)) & MASK32
            elif op >= OP_BEQL:               # branch likely, not taken: skip the delay slot
                new_pc = (npc + 4) & MASK32
                new_npc = (npc + 8) & MASK32
        elif op == OP_J:
            new_npc = ((pc + 4) & 0xF0000000) | ((w & 0x03FFFFFF) << 2)
        elif op == OP_JAL:
            regs[31] = (pc + 8) & MASK32
            new_npc = ((pc + 4) & 0xF0000000) | ((w & 0x03FFFFFF) << 2)
        elif op == OP_MOVZ:
            if b == 0:
                regs[rd] = a
        elif op == OP_MOVN:
            if b != 0:
                regs[rd] = a
        elif op == OP_MUL:
            regs[rd] = (_sx32(a) * _sx32(b)) & MASK32
        elif op == OP_CLZ:
            regs[rd] = _clz32(a)
        elif op == OP_CLO:
            regs[rd] = _clz32(~a & MASK32)
        elif op == OP_SEB:
            regs[rd] = _sx8(b) & MASK32
        elif op == OP_SEH:
            regs[rd] = _sx16(b) & MASK32
        elif op == OP_WSBH:
            regs[rd] = ((b & 0x00FF00FF) << 8) | ((b >> 8) & 0x00FF00FF)
        elif op == OP_EXT:                       # rd holds msbd = size - 1, sa holds pos
            regs[rt] = (a >> sa) & ((1 << (rd + 1)) - 1)
        elif op == OP_INS:                       # rd holds msb, sa holds lsb
            if rd < sa:
                err = ERR_UNSUPPORTED
            else:
                mask = (((1 << (rd - sa + 1)) - 1) << sa) & MASK32
                regs[rt] = (b & ~mask & MASK32) | ((a << sa) & mask)
        elif op == OP_ADD or op == OP_SUB or op == OP_ADDI:
            if op == OP_ADDI:
                r = _sx32(a) + simm
            elif op == OP_ADD:
                r = _sx32(a) + _sx32(b)
            else:
                r = _sx32(a) - _sx32(b)
            if r < -0x80000000 or r > 0x7FFFFFFF:
                err = ERR_OVERFLOW
            else:
                regs[rt if op == OP_ADDI else rd] = r & MASK32
        elif op == OP_MFHI:
            regs[rd] = regs[HI]
        elif op == OP_MFLO:
            regs[rd] = regs[LO]
        elif op == OP_MTHI:
            regs[HI] = a
        elif op == OP_MTLO:
            regs[LO] = a
        elif op >= OP_MULT and op <= OP_MSUBU and op != OP_DIV and op != OP_DIVU:
            p = _mul64(a, b, op == OP_MULT or op == OP_MADD or op == OP_MSUB)
            acc = (np.uint64(regs[HI]) << np.uint64(32)) | np.uint64(regs[LO])
            if op == OP_MADD or op == OP_MADDU:
                p = acc + p
            elif op == OP_MSUB or op == OP_MSUBU:
                p = acc - p
            regs[LO] = np.int64(p & np.uint64(MASK32))
            regs[HI] = np.int64(p >> np.uint64(32))
        elif op == OP_DIV:
            q, r = _signed_divmod(_sx32(a), _sx32(b))
            regs[LO] = q
            regs[HI] = r
        elif op == OP_DIVU:
            d = b if b != 0 else 1               # qemu: divide by 1 when b == 0
            regs[LO] = a // d
            regs[HI] = a % d
        elif op == OP_LWL:
            shift = (3 - (addr & 3)) << 3
            regs[rt] = ((word << shift) | (b & ((1 << shift) - 1))) & MASK32
        elif op == OP_LWR:
            shift = (addr & 3) << 3
            regs[rt] = (word >> shift) | (b & ~(MASK32 >> shift) & MASK32)
        elif op == OP_SWL:
            shift = (3 - (addr & 3)) << 3
            mask = MASK32 >> shift
            store = True
            value = (word & ~mask & MASK32) | ((b >> shift) & mask)
        elif op == OP_SWR:
            shift = (addr & 3) << 3
            mask = (MASK32 << shift) & MASK32
            store = True
            value = (word & ~mask & MASK32) | ((b << shift) & mask)
        elif op == OP_SC:
            if regs[LLBIT] != 0:
                store = True
                value = b
            regs[rt] = regs[LLBIT]
            regs[LLBIT] = 0
        elif op == OP_SYSCALL:
            status = STATUS_SYSCALL
        elif op == OP_RDHWR:
            if rd == 29:                         # UserLocal: the TLS pointer
                regs[rt] = regs[TLS]
            elif rd == 0:                        # CPUNum
                regs[rt] = 0
            elif rd == 1:                        # SYNCI_Step
                regs[rt] = 32
            else:
                err = ERR_RDHWR
                err_addr = rd
        elif op >= OP_TEQ and op <= OP_TLTIU:
            y = b if op <= OP_TLTU else (simm & MASK32)
            kind = op if op <= OP_TLTU else op - (OP_TEQI - OP_TEQ)
            if kind == OP_TEQ:
                fire = a == y
            elif kind == OP_TNE:
                fire = a != y
            elif kind == OP_TGE:
                fire = _sx32(a) >= _sx32(y)
            elif kind == OP_TGEU:
                fire = a >= y
            elif kind == OP_TLT:
                fire = _sx32(a) < _sx32(y)
            else:
                fire = a < y
            if fire:
                err = ERR_TRAP
        elif op == OP_BREAK:
            meta[META_BREAK_CODE] = (w >> 6) & 0xFFFFF
            err = ERR_BREAK
        # ---- FPU register file: moves only (FR=0: a double is an even/odd pair) ----------
        elif op == OP_MFC1:
            regs[rt] = regs[FPR0 + rd]
        elif op == OP_MTC1:
            regs[FPR0 + rd] = b
        elif op == OP_MFHC1:
            regs[rt] = regs[FPR0 + (rd | 1)]
        elif op == OP_MTHC1:
            regs[FPR0 + (rd | 1)] = b
        elif op == OP_CFC1:
            regs[rt] = regs[FCSR] if rd == 31 else (FIR_VALUE if rd == 0 else 0)
        elif op == OP_CTC1:
            if rd == 31:
                regs[FCSR] = b
        elif op == OP_LWC1:
            regs[FPR0 + rt] = word
        elif op == OP_SWC1:
            store = True
            value = regs[FPR0 + rt]
        elif op == OP_LDC1:                      # 8-byte aligned: both words in one page
            regs[FPR0 + (rt & 30)] = word
            regs[FPR0 + (rt & 30) + 1] = np.int64(pages[slot, widx + 1]) if slot >= 0 else 0
        elif op == OP_SDC1:
            pages[slot, widx + 1] = regs[FPR0 + (rt & 30) + 1]
            store = True
            value = regs[FPR0 + (rt & 30)]
        elif op == OP_FPU:
            err = ERR_FLOATING_POINT
        else:
            err = ERR_UNSUPPORTED

        if err != 0:
            meta[META_ERROR_KIND] = err
            meta[META_ERROR_ADDR] = err_addr
            meta[META_ERROR_PC] = pc
            meta[META_ERROR_WORD] = w
            status = STATUS_ERROR
            break

        # ---- memory write ---------------------------------------------------------------
        if store:
            pages[slot, widx] = value
            word = value
            off = ((addr & ~3) - base) >> 2      # keep the pre-decoded code coherent
            if off >= 0 and off < code_len:
                code_words[off] = value
                code_ops[off] = decode(value)
                if op == OP_SDC1 and off + 1 < code_len:
                    code_words[off + 1] = pages[slot, widx + 1]
                    code_ops[off + 1] = decode(np.int64(pages[slot, widx + 1]))
        regs[0] = 0
        if trace_on:
            row = trace[n]
            row[6] = regs[rt]
            row[7] = regs[rd]
            row[8] = (addr & ~3) if op >= OP_LB else -1
            row[9] = word
            row[10] = regs[HI]
            row[11] = regs[LO]
        pc = new_pc
        npc = new_npc
        n += 1
        if status == STATUS_SYSCALL:
            break
    regs[PC] = pc
    regs[NPC] = npc
    return status, n
