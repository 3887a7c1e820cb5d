"""A tiny MIPS32r2 (little-endian) instruction encoder for the VM's tests.

Why: the differential and error tests need exact instruction words built from
random operands, thousands of times, without shelling out to the GNU assembler
for each.  The table below is checked against ``mipsel-linux-gnu-as`` by
``tests/vm/test_unicorn_diff.py::test_encoder_matches_gnu_as``.

Two entry points, same operand order as GNU assembly:

    encode("addiu", 8, 9, -5)          # registers as numbers
    assemble("addiu $t0, $t1, -5")     # registers by name or number
    assemble("lw $t0, 8($sp)")         # memory operand: offset, then base
    encode("lw", 8, 8, 29)             # ... the same, flattened

Conventions that differ from GNU syntax, chosen so that an operand is a plain
number independent of where the instruction sits:

* branch operands are the byte offset of the target from the delay slot
  (``target - (pc + 4)``), a multiple of 4;
* ``j``/``jal`` take the absolute target address (only its low 28 bits are
  encoded; the top 4 come from the delay slot's address at run time);
* ``ext``/``ins`` take ``pos, size`` as in GNU syntax.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "AsmError",
    "GPR_NAMES",
    "MNEMONICS",
    "assemble",
    "encode",
    "operand_kinds",
    "program",
]


class AsmError(ValueError):
    """An instruction that this encoder cannot or will not encode."""


GPR_NAMES: tuple[str, ...] = (
    "zero", "at", "v0", "v1", "a0", "a1", "a2", "a3",
    "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
    "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
    "t8", "t9", "k0", "k1", "gp", "sp", "fp", "ra",
)
_GPR_ALIASES = {"s8": 30}


def _unsigned(value: int, bits: int, shift: int, what: str) -> int:
    if not 0 <= value < (1 << bits):
        raise AsmError(f"{what} {value} does not fit in {bits} unsigned bits")
    return value << shift


def _signed16(value: int, what: str) -> int:
    if not -0x8000 <= value <= 0x7FFF:
        raise AsmError(f"{what} {value} does not fit in 16 signed bits")
    return value & 0xFFFF


# An operand kind turns one operand value into instruction bits.  It also sees
# every operand of the instruction, which ins/ext need (size depends on pos).
_Kind = Callable[[int, tuple[int, ...]], int]

_KINDS: dict[str, _Kind] = {
    "rs": lambda v, _: _unsigned(v, 5, 21, "register"),
    "rt": lambda v, _: _unsigned(v, 5, 16, "register"),
    "rd": lambda v, _: _unsigned(v, 5, 11, "register"),
    "rd_rt": lambda v, _: _unsigned(v, 5, 11, "register") | _unsigned(v, 5, 16, "register"),
    "fs": lambda v, _: _unsigned(v, 5, 11, "fp register"),
    "ft": lambda v, _: _unsigned(v, 5, 16, "fp register"),
    "fd": lambda v, _: _unsigned(v, 5, 6, "fp register"),
    "fcr": lambda v, _: _unsigned(v, 5, 11, "fp control register"),
    "sa": lambda v, _: _unsigned(v, 5, 6, "shift amount"),
    "simm": lambda v, _: _signed16(v, "immediate"),
    "uimm": lambda v, _: _unsigned(v, 16, 0, "immediate"),
    "offset": lambda v, _: _signed16(v, "offset"),
    "branch": lambda v, _: _branch(v),
    "target": lambda v, _: _target(v),
    "tcode": lambda v, _: _unsigned(v, 10, 6, "trap code"),
    "bcode": lambda v, _: _unsigned(v, 10, 16, "break code"),
    "scode": lambda v, _: _unsigned(v, 20, 6, "syscall code"),
    "stype": lambda v, _: _unsigned(v, 5, 6, "sync type"),
    "hint": lambda v, _: _unsigned(v, 5, 16, "hint"),
    "ext_size": lambda v, ops: _field_size(v, ops[2], 0, "ext"),
    "ins_size": lambda v, ops: _field_size(v, ops[2], ops[2], "ins"),
}


def _branch(offset: int) -> int:
    if offset % 4:
        raise AsmError(f"branch offset {offset} is not a multiple of 4")
    return _signed16(offset // 4, "branch offset/4")


def _target(address: int) -> int:
    if address % 4 or not 0 <= address < (1 << 32):
        raise AsmError(f"jump target {address:#x} is not an aligned 32-bit address")
    return (address >> 2) & 0x03FFFFFF


def _field_size(size: int, pos: int, base: int, mnemonic: str) -> int:
    """ext stores size-1 in rd; ins stores pos+size-1 (the msb) in rd."""
    if not 0 <= pos < 32 or not 1 <= size or pos + size > 32:
        raise AsmError(f"{mnemonic} pos={pos} size={size} is outside 0..32")
    return (base + size - 1) << 11


@dataclass(frozen=True)
class _Spec:
    """Fixed bits plus the kinds of the operands, in assembly order.

    ``defaults`` fill trailing operands that may be left out (jalr's rd, the
    codes of traps and break, sync's stype).
    """

    fixed: int
    kinds: tuple[str, ...]
    defaults: tuple[int, ...] = ()


def _special(funct: int, *kinds: str, extra: int = 0, defaults: tuple[int, ...] = ()) -> _Spec:
    return _Spec(extra | funct, kinds, defaults)


def _special2(funct: int, *kinds: str) -> _Spec:
    return _Spec((0x1C << 26) | funct, kinds)


def _special3(funct: int, *kinds: str, sa: int = 0) -> _Spec:
    return _Spec((0x1F << 26) | (sa << 6) | funct, kinds)


def _regimm(rt: int, *kinds: str) -> _Spec:
    return _Spec((0x01 << 26) | (rt << 16), kinds)


def _itype(opcode: int, *kinds: str) -> _Spec:
    return _Spec(opcode << 26, kinds)


def _cop1(fmt: int, funct: int, *kinds: str) -> _Spec:
    return _Spec((0x11 << 26) | (fmt << 21) | funct, kinds)


_SHIFT = ("rd", "rt", "sa")
_SHIFTV = ("rd", "rt", "rs")
_R3 = ("rd", "rs", "rt")
_HILO = ("rs", "rt")
_TRAP = ("rs", "rt", "tcode")
_IMM = ("rt", "rs", "simm")
_UIMM = ("rt", "rs", "uimm")
_MEM = ("rt", "offset", "rs")
_BR2 = ("rs", "rt", "branch")
_BR1 = ("rs", "branch")
_TRAPI = ("rs", "simm")
_FP3 = ("fd", "fs", "ft")
_S, _D, _W = 0x10, 0x11, 0x14

_SPECS: dict[str, _Spec] = {
    # SPECIAL: shifts, moves, hi/lo, ALU, traps, system
    "nop": _special(0x00),
    "ssnop": _special(0x00, extra=1 << 6),
    "ehb": _special(0x00, extra=3 << 6),
    "sll": _special(0x00, *_SHIFT),
    "srl": _special(0x02, *_SHIFT),
    "rotr": _special(0x02, *_SHIFT, extra=1 << 21),
    "sra": _special(0x03, *_SHIFT),
    "sllv": _special(0x04, *_SHIFTV),
    "srlv": _special(0x06, *_SHIFTV),
    "rotrv": _special(0x06, *_SHIFTV, extra=1 << 6),
    "srav": _special(0x07, *_SHIFTV),
    "jr": _special(0x08, "rs"),
    "jalr": _Spec(0x09, ("rs", "rd"), defaults=(31,)),  # GNU order is "jalr rd, rs"; see _REORDER
    "movz": _special(0x0A, *_R3),
    "movn": _special(0x0B, *_R3),
    "syscall": _special(0x0C, "scode", defaults=(0,)),
    "break": _special(0x0D, "bcode", defaults=(0,)),
    "sync": _special(0x0F, "stype", defaults=(0,)),
    "mfhi": _special(0x10, "rd"),
    "mthi": _special(0x11, "rs"),
    "mflo": _special(0x12, "rd"),
    "mtlo": _special(0x13, "rs"),
    "mult": _special(0x18, *_HILO),
    "multu": _special(0x19, *_HILO),
    "div": _special(0x1A, *_HILO),
    "divu": _special(0x1B, *_HILO),
    "add": _special(0x20, *_R3),
    "addu": _special(0x21, *_R3),
    "sub": _special(0x22, *_R3),
    "subu": _special(0x23, *_R3),
    "and": _special(0x24, *_R3),
    "or": _special(0x25, *_R3),
    "xor": _special(0x26, *_R3),
    "nor": _special(0x27, *_R3),
    "slt": _special(0x2A, *_R3),
    "sltu": _special(0x2B, *_R3),
    "tge": _special(0x30, *_TRAP, defaults=(0,)),
    "tgeu": _special(0x31, *_TRAP, defaults=(0,)),
    "tlt": _special(0x32, *_TRAP, defaults=(0,)),
    "tltu": _special(0x33, *_TRAP, defaults=(0,)),
    "teq": _special(0x34, *_TRAP, defaults=(0,)),
    "tne": _special(0x36, *_TRAP, defaults=(0,)),
    # REGIMM: compare-with-zero branches and immediate traps
    "bltz": _regimm(0x00, *_BR1),
    "bgez": _regimm(0x01, *_BR1),
    "bltzl": _regimm(0x02, *_BR1),
    "bgezl": _regimm(0x03, *_BR1),
    "tgei": _regimm(0x08, *_TRAPI),
    "tgeiu": _regimm(0x09, *_TRAPI),
    "tlti": _regimm(0x0A, *_TRAPI),
    "tltiu": _regimm(0x0B, *_TRAPI),
    "teqi": _regimm(0x0C, *_TRAPI),
    "tnei": _regimm(0x0E, *_TRAPI),
    "bltzal": _regimm(0x10, *_BR1),
    "bgezal": _regimm(0x11, *_BR1),
    "bltzall": _regimm(0x12, *_BR1),
    "bgezall": _regimm(0x13, *_BR1),
    # jumps, branches, immediates
    "j": _itype(0x02, "target"),
    "jal": _itype(0x03, "target"),
    "beq": _itype(0x04, *_BR2),
    "bne": _itype(0x05, *_BR2),
    "blez": _itype(0x06, *_BR1),
    "bgtz": _itype(0x07, *_BR1),
    "addi": _itype(0x08, *_IMM),
    "addiu": _itype(0x09, *_IMM),
    "slti": _itype(0x0A, *_IMM),
    "sltiu": _itype(0x0B, *_IMM),
    "andi": _itype(0x0C, *_UIMM),
    "ori": _itype(0x0D, *_UIMM),
    "xori": _itype(0x0E, *_UIMM),
    "lui": _itype(0x0F, "rt", "uimm"),
    "beql": _itype(0x14, *_BR2),
    "bnel": _itype(0x15, *_BR2),
    "blezl": _itype(0x16, *_BR1),
    "bgtzl": _itype(0x17, *_BR1),
    # SPECIAL2
    "madd": _special2(0x00, *_HILO),
    "maddu": _special2(0x01, *_HILO),
    "mul": _special2(0x02, *_R3),
    "msub": _special2(0x04, *_HILO),
    "msubu": _special2(0x05, *_HILO),
    "clz": _special2(0x20, "rd_rt", "rs"),
    "clo": _special2(0x21, "rd_rt", "rs"),
    # SPECIAL3
    "ext": _special3(0x00, "rt", "rs", "sa", "ext_size"),
    "ins": _special3(0x04, "rt", "rs", "sa", "ins_size"),
    "wsbh": _special3(0x20, "rd", "rt", sa=0x02),
    "seb": _special3(0x20, "rd", "rt", sa=0x10),
    "seh": _special3(0x20, "rd", "rt", sa=0x18),
    "rdhwr": _special3(0x3B, "rt", "rd"),
    # loads and stores
    "lb": _itype(0x20, *_MEM),
    "lh": _itype(0x21, *_MEM),
    "lwl": _itype(0x22, *_MEM),
    "lw": _itype(0x23, *_MEM),
    "lbu": _itype(0x24, *_MEM),
    "lhu": _itype(0x25, *_MEM),
    "lwr": _itype(0x26, *_MEM),
    "sb": _itype(0x28, *_MEM),
    "sh": _itype(0x29, *_MEM),
    "swl": _itype(0x2A, *_MEM),
    "sw": _itype(0x2B, *_MEM),
    "swr": _itype(0x2E, *_MEM),
    "ll": _itype(0x30, *_MEM),
    "pref": _itype(0x33, "hint", "offset", "rs"),
    "sc": _itype(0x38, *_MEM),
    # floating point: data movement (glibc's setjmp/longjmp use it), and a few
    # arithmetic instructions so that the VM's refusal of them can be tested
    "lwc1": _itype(0x31, "ft", "offset", "rs"),
    "ldc1": _itype(0x35, "ft", "offset", "rs"),
    "swc1": _itype(0x39, "ft", "offset", "rs"),
    "sdc1": _itype(0x3D, "ft", "offset", "rs"),
    "mfc1": _Spec((0x11 << 26) | (0x00 << 21), ("rt", "fs")),
    "cfc1": _Spec((0x11 << 26) | (0x02 << 21), ("rt", "fcr")),
    "mfhc1": _Spec((0x11 << 26) | (0x03 << 21), ("rt", "fs")),
    "mtc1": _Spec((0x11 << 26) | (0x04 << 21), ("rt", "fs")),
    "ctc1": _Spec((0x11 << 26) | (0x06 << 21), ("rt", "fcr")),
    "mthc1": _Spec((0x11 << 26) | (0x07 << 21), ("rt", "fs")),
    "add.s": _cop1(_S, 0x00, *_FP3),
    "add.d": _cop1(_D, 0x00, *_FP3),
    "sub.d": _cop1(_D, 0x01, *_FP3),
    "mul.d": _cop1(_D, 0x02, *_FP3),
    "div.d": _cop1(_D, 0x03, *_FP3),
    "mov.d": _cop1(_D, 0x06, "fd", "fs"),
    "cvt.d.w": _cop1(_W, 0x21, "fd", "fs"),
}

MNEMONICS: frozenset[str] = frozenset(_SPECS)

# Mnemonics whose assembly order differs from the spec's operand order, with the
# permutation from assembly order to spec order.
_REORDER: dict[str, Callable[[tuple[int, ...]], tuple[int, ...]]] = {
    # "jalr rs" or "jalr rd, rs"
    "jalr": lambda ops: ops if len(ops) < 2 else (ops[1], ops[0]),
}


def operand_kinds(mnemonic: str) -> tuple[str, ...]:
    """The kinds of ``mnemonic``'s operands in assembly order (for generators)."""
    spec = _spec(mnemonic)
    if mnemonic == "jalr":
        return ("rd", "rs")
    return spec.kinds


def _spec(mnemonic: str) -> _Spec:
    try:
        return _SPECS[mnemonic]
    except KeyError:
        raise AsmError(f"unknown mnemonic {mnemonic!r}") from None


def encode(mnemonic: str, *operands: int) -> int:
    """The 32-bit word of ``mnemonic`` with integer operands in assembly order."""
    spec = _spec(mnemonic)
    ops = _REORDER.get(mnemonic, lambda o: o)(tuple(operands))
    missing = len(spec.kinds) - len(ops)
    if missing < 0 or missing > len(spec.defaults):
        raise AsmError(f"{mnemonic} takes {len(spec.kinds)} operands, got {len(ops)}")
    if missing:
        ops = ops + spec.defaults[len(spec.defaults) - missing:]
    word = spec.fixed
    for kind, value in zip(spec.kinds, ops):
        word |= _KINDS[kind](int(value), ops)
    return word


_MEM_OPERAND = re.compile(r"^(.*)\((.+)\)$")


def _parse_value(text: str) -> int:
    text = text.strip()
    if text.startswith("$"):
        name = text[1:].lower()
        if name.startswith("f") and name[1:].isdigit():
            return int(name[1:])
        if name.isdigit():
            return int(name)
        if name in _GPR_ALIASES:
            return _GPR_ALIASES[name]
        if name in GPR_NAMES:
            return GPR_NAMES.index(name)
        raise AsmError(f"unknown register {text!r}")
    try:
        return int(text, 0)
    except ValueError:
        raise AsmError(f"bad operand {text!r}") from None


def assemble(line: str) -> int:
    """The word of one line of assembly, e.g. ``"sw $ra, -4($sp)"``."""
    mnemonic, _, rest = line.strip().partition(" ")
    values: list[int] = []
    for field in filter(None, (f.strip() for f in rest.split(","))):
        match = _MEM_OPERAND.match(field)
        if match:
            values.append(_parse_value(match.group(1) or "0"))
            values.append(_parse_value(match.group(2)))
        else:
            values.append(_parse_value(field))
    return encode(mnemonic.lower(), *values)


def program(*lines: str | int) -> bytes:
    """Little-endian machine code of assembly lines (or ready-made words)."""
    words = (line if isinstance(line, int) else assemble(line) for line in lines)
    return b"".join(w.to_bytes(4, "little") for w in words)
