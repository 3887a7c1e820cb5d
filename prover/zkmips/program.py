"""The Program table: every instruction of the ELF's executable segment, decoded at setup.

Decoding happens once, here, with the VM's own decoder (``vm.isa.decode``) and operand
table (``vm.isa.OPERANDS``); the result is a *preprocessed* table whose commitment is part
of the verifying key. The CPU table fetches each executed instruction by receiving its
row on the ``program`` bus, so a proof can neither run an instruction that is not in the
ELF nor decode one differently: everything the CPU knows about an instruction comes from a
committed row. The row is the instruction's *control word* (:data:`FIELDS`): which cells
its operand slots read and write (as memory keys), its immediate and static target, and
one flag per behaviour the CPU table constrains (docs/zkmips.md, "CPU"). Turning the
MIPS encoding into those flags here, once, keeps the CPU's constraints of low degree and
free of instruction decoding.

Rows whose word can never execute successfully (invalid or floating-point encodings,
``break``, an ``rdhwr`` of a register the VM refuses) have ``valid = 0``: the CPU cannot
fetch them.

Main column: ``count``, how many times the row's pc was executed (the LogUp multiplicity).
Padding rows (``valid`` = 0) cannot be fetched: ``count * (1 - valid) = 0``.
"""

from __future__ import annotations

import numpy as np

from prover.air import Table
from prover.zkmips.heights import table_height
from prover.zkmips.spec import BUS_PROGRAM, REGISTER_KEY_BASE
from vm import isa
from vm.elf import Program
from vm.layout import FCSR, FPR0, HI, LLBIT, LO, TLS

MASK32 = 0xFFFFFFFF

#: Preprocessed columns, in order; the ``program`` bus carries all but ``valid``.
#: Slots: ``a`` reads cell ``key_a`` (normally rs), ``b`` reads ``key_b`` (normally rt),
#: ``d`` read-modify-writes ``key_d`` (the destination; ``has_dst`` when the instruction
#: computes a destination value, ``write_d`` when that value is stored, i.e. not to $0).
#: ``is_dbl`` (ldc1/sdc1) enables the two accesses of the second word of a double: the
#: memory word after the aligned one, and the odd FPR ``key_e`` of the pair.
FIELDS = (
    "valid", "pc", "op",
    "key_a", "read_a", "key_b", "read_b", "key_d", "has_dst", "write_d",
    "imm0", "imm1", "imm2", "imm3", "target", "aux",
    # ALU dispatch: send (alu_op, x, y, d, aux) with x = a or b, y = b, imm or a
    "is_alu", "alu_op", "x_is_b", "y_is_imm", "y_is_a",
    # register moves
    "is_movz", "is_movn", "move_a", "move_b", "move_imm",
    # HI/LO: slot enables, write flags, and what moves where
    "hi_en", "hi_wr", "lo_en", "lo_wr", "is_hilo", "d_from_hi", "d_from_lo", "hi_from_a", "lo_from_a",
    # control flow
    "br_eq", "br_ne", "br_lez", "br_gtz", "br_ltz", "br_gez", "likely", "link",
    "jump_static", "jump_reg",
    # memory (is_dbl: ldc1/sdc1, whose second word moves between RAM and FPR key_e) and the LL bit
    "is_mem", "is_store", "memop", "is_dbl", "key_e", "sys_en", "sys_val", "is_sc",
    # traps (must not fire) and system calls
    "trap_eq", "trap_ne", "trap_cmp", "trap_op", "trap_expect", "is_syscall",
)
COLUMN = {name: i for i, name in enumerate(FIELDS)}

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

#: Register-form ALU operation of each ALU-class instruction, and where its operands come
#: from (spec.py: shifts take the shifted value as ``x``; variable shifts the amount from rs).
_ALU_FORMS: dict[str, tuple[str, str, str]] = {
    **{m: (m, "a", "b") for m in ("add", "addu", "sub", "subu", "and", "or", "xor", "nor", "slt",
                                   "sltu", "mul", "clz", "clo", "ext", "ins")},
    **{m: (m, "b", "imm") for m in ("sll", "srl", "sra", "rotr")},
    "sllv": ("sll", "b", "a"), "srlv": ("srl", "b", "a"), "srav": ("sra", "b", "a"), "rotrv": ("rotr", "b", "a"),
    **{m: (m, "b", "a") for m in ("seb", "seh", "wsbh")},     # y = a = 0: rs is not read
    "addi": ("add", "a", "imm"), "addiu": ("addu", "a", "imm"), "slti": ("slt", "a", "imm"),
    "sltiu": ("sltu", "a", "imm"), "andi": ("and", "a", "imm"), "ori": ("or", "a", "imm"),
    "xori": ("xor", "a", "imm"),
}
_BRANCH_KIND = {"beq": "br_eq", "beql": "br_eq", "bne": "br_ne", "bnel": "br_ne",
                "blez": "br_lez", "blezl": "br_lez", "bgtz": "br_gtz", "bgtzl": "br_gtz",
                "bltz": "br_ltz", "bltzl": "br_ltz", "bltzal": "br_ltz", "bltzall": "br_ltz",
                "bgez": "br_gez", "bgezl": "br_gez", "bgezal": "br_gez", "bgezall": "br_gez"}
#: Trap -> (kind, comparison that must hold, expected result): tge fires when a >= y, so a
#: provable tge has slt(a, y) = 1; tlt fires when a < y, so slt(a, y) = 0.
_TRAPS = {"teq": ("trap_eq", None, 0), "tne": ("trap_ne", None, 0),
          "tge": ("trap_cmp", "slt", 1), "tgeu": ("trap_cmp", "sltu", 1),
          "tlt": ("trap_cmp", "slt", 0), "tltu": ("trap_cmp", "sltu", 0)}
_TRAP_BASE = {"teqi": "teq", "tnei": "tne", "tgei": "tge", "tgeiu": "tgeu", "tlti": "tlt", "tltiu": "tltu"}
_LIKELY = {"beql", "bnel", "blezl", "bgtzl", "bltzl", "bgezl", "bltzall", "bgezall"}
_LOADS = ("lb", "lbu", "lh", "lhu", "lw", "lwl", "lwr", "ll", "lwc1", "ldc1")
_STORES = ("sb", "sh", "sw", "swl", "swr", "sc", "swc1", "sdc1")
#: FPU loads/stores travel on the memop bus as their integer twins (spec.MEMOP_CANONICAL).
_CANONICAL = {"lwc1": "lw", "ldc1": "lw", "swc1": "sw", "sdc1": "sw"}
_UNPROVABLE = {isa.OP[m] for m in ("invalid", "fpu", "break")}


def reg_key(index: int) -> int:
    """The memory key of state-vector cell ``index`` (vm.layout)."""
    return REGISTER_KEY_BASE + index


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


def control_word(pc: int, word: int) -> dict[str, int]:
    """The decoded row of instruction ``word`` at ``pc``: every field of :data:`FIELDS`.

    The behaviour of each operation is that of ``vm/isa.py::run``; the CPU table turns
    these flags into constraints, and tests/prover/zkmips/test_cpu.py checks every
    operation against the VM."""
    op = int(isa.decode(word))
    m = isa.MNEMONICS[op]
    flags = int(isa.OPERANDS[op])
    rs, rt, rd = (word >> 21) & 31, (word >> 16) & 31, (word >> 11) & 31
    f = dict.fromkeys(FIELDS, 0)
    f.update(valid=int(op not in _UNPROVABLE), pc=pc, op=op, target=static_target(op, word, pc))
    imm = immediate(op, word)

    def read_a(cell: int) -> None:
        f.update(key_a=reg_key(cell), read_a=1)

    def read_b(cell: int) -> None:
        f.update(key_b=reg_key(cell), read_b=1)

    def dest(cell: int, stored: bool = True) -> None:
        f.update(key_d=reg_key(cell), has_dst=1, write_d=int(stored))

    if flags & isa.READS_RS:
        read_a(rs)
    if flags & isa.READS_RT:
        read_b(rt)
    if flags & (isa.WRITES_RD | isa.WRITES_RT | isa.WRITES_RA):
        gpr = destination(op, word)
        dest(gpr, gpr != 0)

    if m in _ALU_FORMS:
        alu, x, y = _ALU_FORMS[m]
        f.update(is_alu=1, alu_op=isa.OP[alu], x_is_b=int(x == "b"), y_is_imm=int(y == "imm"), y_is_a=int(y == "a"))
        if m == "ext":
            f["aux"] = ((word >> 6) & 31) + 32 * (((word >> 11) & 31) + 1)
        elif m == "ins":
            f["aux"] = ((word >> 6) & 31) + 32 * ((word >> 11) & 31)
    elif m in ("movz", "movn"):
        f["is_" + m] = 1
    elif m == "lui":
        f["move_imm"] = 1
    elif m in ("mfhi", "mflo"):
        f.update({f"{m[2:]}_en": 1, f"d_from_{m[2:]}": 1})
    elif m in ("mthi", "mtlo"):
        f.update({f"{m[2:]}_en": 1, f"{m[2:]}_wr": 1, f"{m[2:]}_from_a": 1})
    elif m in ("mult", "multu", "div", "divu", "madd", "maddu", "msub", "msubu"):
        f.update(is_hilo=1, alu_op=op, hi_en=1, hi_wr=1, lo_en=1, lo_wr=1)
    elif m in _BRANCH_KIND:
        f.update({_BRANCH_KIND[m]: 1, "likely": int(m in _LIKELY), "link": int(m.endswith(("al", "all")))})
    elif m in ("j", "jal"):
        f.update(jump_static=1, link=int(m == "jal"))
    elif m in ("jr", "jalr"):
        f.update(jump_reg=1, link=int(m == "jalr"))
    elif m in _LOADS or m in _STORES:
        f.update(is_mem=1, is_store=int(m in _STORES), memop=isa.OP[_CANONICAL.get(m, m)])
        if m == "lwc1":
            dest(FPR0 + rt)
        elif m == "swc1":
            read_b(FPR0 + rt)
        elif m in ("ldc1", "sdc1"):           # FR=0: the double is the pair (rt & 30, rt | 1)
            pair = FPR0 + (rt & 30)
            if m == "ldc1":
                dest(pair)
            else:
                read_b(pair)
            f.update(is_dbl=1, key_e=reg_key(pair + 1))
        elif m == "ll":
            f.update(sys_en=1, sys_val=1)
        elif m == "sc":
            f.update(sys_en=1, sys_val=0, is_sc=1)
    elif _TRAP_BASE.get(m, m) in _TRAPS:
        kind, cmp, expect = _TRAPS[_TRAP_BASE.get(m, m)]
        f.update({kind: 1, "y_is_imm": int(m in _TRAP_BASE)})
        if cmp:
            f.update(trap_op=isa.OP[cmp], trap_expect=expect)
    elif m == "syscall":
        f["is_syscall"] = 1
    elif m == "rdhwr":                        # the values vm/isa.py gives each hardware register
        if rd == 29:
            read_a(TLS)
            f["move_a"] = 1
        elif rd in (0, 1):
            f["move_imm"] = 1
            imm = 0 if rd == 0 else 32
        else:
            f["valid"] = 0
    elif m in ("mfc1", "mfhc1"):
        read_a(FPR0 + (rd | (1 if m == "mfhc1" else 0)))
        f["move_a"] = 1
    elif m in ("mtc1", "mthc1"):
        dest(FPR0 + (rd | (1 if m == "mthc1" else 0)))
        f["move_b"] = 1
    elif m == "cfc1":
        if rd == 31:
            read_a(FCSR)
            f["move_a"] = 1
        else:
            f["move_imm"] = 1
            imm = isa.FIR_VALUE if rd == 0 else 0
    elif m == "ctc1":
        if rd == 31:
            dest(FCSR)
            f["move_b"] = 1
    # sync, pref, nop: no effect beyond pc; break, invalid, fpu: valid = 0.
    if f["has_dst"] and not f["write_d"] and not f["link"]:
        _discard_result(m, f)
    for i in range(4):
        f[f"imm{i}"] = (imm >> (8 * i)) & 0xFF
    return f


#: Operations whose only effect besides the destination is that they may stop the VM
#: (overflow, a fault, the LL bit): with destination $0 they are not provable yet.
_RESULT_HAS_SIDE_EFFECTS = {"add", "sub", "addi", *_LOADS, "sc"}


def _discard_result(m: str, f: dict[str, int]) -> None:
    """An instruction writing $0 (other than a link) has no effect: the VM drops the value.
    Turn it into a no-op (no destination, no result to prove), unless computing the value
    could itself stop the VM, which the prover cannot show yet: then it is not fetchable."""
    if m in _RESULT_HAS_SIDE_EFFECTS:
        f["valid"] = 0
        return
    for name in ("has_dst", "key_d", "is_alu", "alu_op", "x_is_b", "y_is_imm", "y_is_a", "aux", "is_movz",
                 "is_movn", "move_a", "move_b", "move_imm", "d_from_hi", "d_from_lo", "hi_en", "lo_en",
                 "read_a", "key_a", "read_b", "key_b"):
        f[name] = 0


#: Register cells the CPU addresses directly (HI, LO, LL bit), by key.
HI_KEY, LO_KEY, LLBIT_KEY = reg_key(HI), reg_key(LO), reg_key(LLBIT)


def decode_row(pc: int, word: int) -> list[int]:
    """The preprocessed row of the instruction ``word`` at ``pc`` (see FIELDS)."""
    f = control_word(pc, word)
    return [f[name] for name in FIELDS]


_PC_COLUMN, _TARGET_COLUMN, _OP_COLUMN = FIELDS.index("pc"), FIELDS.index("target"), FIELDS.index("op")


def program_rows(program: Program) -> np.ndarray:
    """All preprocessed rows of a program's executable segments, padded to a power of two.

    The same as :func:`decode_row` at every address, decoded once per distinct word (a
    static glibc program has about three times as many instructions as distinct words):
    only ``pc`` and a branch's or jump's ``target`` depend on the address, and the target
    decoded at pc 0 is the offset that the address is added to (branches) or or-ed with
    (jumps, whose 256 MB region comes from pc + 4)."""
    pcs, words = [], []
    for seg in program.segments:
        if seg.executable:
            w = np.frombuffer(seg.data[: len(seg.data) & ~3], dtype="<u4")
            words.append(w)
            pcs.append(seg.vaddr + 4 * np.arange(len(w), dtype=np.int64))
    word = np.concatenate(words) if words else np.zeros(0, np.uint32)
    pc = np.concatenate(pcs) if pcs else np.zeros(0, np.int64)
    distinct, which = np.unique(word, return_inverse=True)
    rows = np.asarray([decode_row(0, int(w)) for w in distinct], dtype=np.int64).reshape(-1, len(FIELDS))[which]
    op = rows[:, _OP_COLUMN]
    branch, jump = np.isin(op, list(_BRANCHES)), np.isin(op, list(_JUMPS))
    rows[branch, _TARGET_COLUMN] = (pc[branch] + rows[branch, _TARGET_COLUMN]) & MASK32
    rows[jump, _TARGET_COLUMN] |= (pc[jump] + 4) & 0xF0000000
    rows[:, _PC_COLUMN] = pc
    out = np.zeros((table_height(len(rows)), len(FIELDS)), dtype=np.uint32)
    out[: len(rows)] = rows
    return out


def build_program_table(program: Program | None = None, rows: np.ndarray | None = None) -> Table:
    """The Program table for ``program`` (or for precomputed ``rows``)."""
    t = Table("program")
    cols = [t.pre(name) for name in FIELDS]
    count = t.main("count")
    valid = cols[0]
    t.assert_zero(count * (1 - valid))
    t.send(BUS_PROGRAM, cols[1:], count)
    t.set_preprocessed(program_rows(program) if rows is None else rows)
    return t


def program_trace(rows: np.ndarray, executed_pcs: np.ndarray) -> np.ndarray:
    """The ``count`` column: how often each row's pc appears in ``executed_pcs``.

    Raises ValueError if a pc was executed that is not a fetchable row of the table
    (self-modifying code, a jump outside the executable segment, or an instruction the
    prover does not support: not provable)."""
    pcs = rows[:, 1].astype(np.int64)
    valid = rows[:, 0] == 1
    order = np.argsort(pcs[valid])
    table_pcs = pcs[valid][order]
    executed = np.asarray(executed_pcs, dtype=np.int64)
    if not len(table_pcs):
        raise ValueError("the program has no provable instruction")
    where = np.searchsorted(table_pcs, executed)
    where_clipped = np.minimum(where, len(table_pcs) - 1)
    missing = table_pcs[where_clipped] != executed
    if missing.any():
        bad = int(executed[np.argmax(missing)])
        at = np.nonzero(pcs == bad)[0]
        what = (f"instruction {isa.MNEMONICS[int(rows[at[0], 2])]} at pc 0x{bad:08x} is not supported by the prover yet"
                if at.size else f"executed pc 0x{bad:08x} is not an instruction of the program's executable segment")
        raise ValueError(what)
    counts_sorted = np.bincount(where_clipped, minlength=len(table_pcs))
    count = np.zeros(rows.shape[0], dtype=np.uint32)
    valid_idx = np.nonzero(valid)[0][order]
    count[valid_idx] = counts_sorted
    return count.reshape(-1, 1)
