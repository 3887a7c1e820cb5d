"""Per-instruction differential tests: ``vm.Machine`` against unicorn.

Why: unicorn is QEMU's MIPS32r2 CPU underneath, and qemu-mipsel is the VM's
reference (design.md).  For every integer instruction the VM supports we run
thousands of random states (edge values mixed in) through both machines, one
instruction at a time, and compare all 32 GPRs, HI, LO, a data page and the pc.
Branches and jumps run together with their delay slot (an ``addiu`` that
changes a register), so link registers and delay-slot ordering are covered.
Where QEMU raises an exception (traps, signed overflow) the VM must raise
``vm.InstructionError``.

Also compared: short sequences for state a single instruction cannot show
(ll/sc, FPU data movement, rdhwr), and random words with must-be-zero fields
set.  Left to hand-written expectations: syscall, break and floating-point
arithmetic (``test_instruction_errors.py``).  Not compared: ll/sc corner cases
where QEMU (which implements sc as a compare-and-swap against the ll's address
and value, and never forgets them) differs from the VM's LL bit, which any sc
clears: an sc to another address than the ll's, a store between ll and sc that
changes the word, a second sc after an sc that stored the word's own value.
GCC's atomics never produce them.

The oracle is pinned too: the encoder against GNU as, and the unicorn harness
against hand-computed answers.  Run the large sweep with ``-m slow``.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from unicorn import Uc, UcError
from unicorn.mips_const import (
    UC_CPU_MIPS32_24KF,
    UC_MIPS_REG_0,
    UC_MIPS_REG_HI,
    UC_MIPS_REG_LO,
    UC_MIPS_REG_PC,
)
from unicorn.unicorn_const import UC_ARCH_MIPS, UC_HOOK_CODE, UC_MODE_LITTLE_ENDIAN, UC_MODE_MIPS32

import vm

try:  # tests/vm may or may not become a package
    from . import mips_asm as asm
except ImportError:
    import mips_asm as asm  # type: ignore[no-redef]

MASK = 0xFFFFFFFF

# Address layout shared by both machines.  The instruction under test sits in the
# middle of a code region that covers every 16-bit branch offset.
CODE_BASE = 0x0040_0000
CODE_SIZE = 0x0004_1000
PC0 = 0x0042_0000
DATA_BASE = 0x1001_0000
DATA_SIZE = 0x1000
# emu_start needs an "until" address; this one is never mapped.  (0xfffffffc
# makes unicorn 2.1.4 fail with an unmapped read before the first instruction.)
STOP_NEVER = 0x7FFF_FFFC
REGIONS = ((CODE_BASE, CODE_SIZE), (DATA_BASE, DATA_SIZE))

EDGE_VALUES = (
    0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32, 33, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000,
    0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFFFFFE,
    0xFFFF8000, 0xFFFF7FFF, 0xFFFFFF80, 0x55555555, 0xAAAAAAAA, 0x0000FFFF, 0xFFFF0000,
)
EDGE_IMM16 = (0, 1, -1, 2, -2, 0x7FFF, -0x8000, 0x7FFE, -0x7FFF, 0xFF, 0x80, -0x80)

ACCESS_SIZE = {
    "lb": 1, "lbu": 1, "sb": 1, "lh": 2, "lhu": 2, "sh": 2, "lw": 4, "sw": 4,
    "lwl": 1, "lwr": 1, "swl": 1, "swr": 1, "pref": 1,
}
BRANCHES = frozenset({
    "beq", "bne", "blez", "bgtz", "bltz", "bgez", "bltzal", "bgezal",
    "beql", "bnel", "blezl", "bgtzl", "bltzl", "bgezl", "bltzall", "bgezall",
})
JUMPS = frozenset({"j", "jal", "jr", "jalr"})
TRAPS_RR = frozenset({"teq", "tne", "tge", "tgeu", "tlt", "tltu"})
TRAPS_RI = frozenset({"teqi", "tnei", "tgei", "tgeiu", "tlti", "tltiu"})
DIVISIONS = frozenset({"div", "divu"})

# Everything unicorn can judge one instruction at a time.
DIFF_MNEMONICS: tuple[str, ...] = tuple(sorted(
    asm.MNEMONICS
    - {"syscall", "break", "rdhwr", "ll", "sc"}
    - {m for m in asm.MNEMONICS if "." in m or m.endswith("c1")}
))


def _sext16(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


@dataclass
class State:
    """The architectural state both machines start from (and end in)."""

    regs: list[int]
    hi: int
    lo: int
    data: bytes
    pc: int = PC0


@dataclass
class Case:
    """Instruction words at ``state.pc`` and the state they start from.

    Both machines run until the pc leaves the words: one instruction, a branch
    and its delay slot, or a short straight-line sequence.
    """

    text: str
    words: list[int]
    state: State
    address: int | None = None  # the data address a load/store touches, for messages

    @property
    def stay(self) -> range:
        return range(self.state.pc, self.state.pc + 4 * len(self.words), 4)


@dataclass(frozen=True)
class Outcome:
    """What a machine did: the end state, or the name of the exception it raised."""

    regs: tuple[int, ...] = ()
    hi: int = 0
    lo: int = 0
    data: bytes = b""
    pc: int = 0
    exception: str | None = None
    notes: tuple[str, ...] = ()  # anything else found wrong on the way


# --------------------------------------------------------------------------- machines


class UnicornCPU:
    """One unicorn MIPS32r2 instance reused across cases.

    The CPU model is the 24Kf, the one qemu-mipsel picks for an o32 ELF.

    A code hook stops emulation at the first instruction outside ``stay`` (the
    instruction under test, and its delay slot for control flow): unicorn's
    ``count`` argument treats a taken branch and its delay slot as one step but
    a not-taken one as two, so counting instructions would be ambiguous.
    """

    def __init__(self, regions: tuple[tuple[int, int], ...] = REGIONS) -> None:
        self.uc = Uc(UC_ARCH_MIPS, UC_MODE_MIPS32 + UC_MODE_LITTLE_ENDIAN)
        self.uc.ctl_set_cpu_model(UC_CPU_MIPS32_24KF)
        for base, size in regions:
            self.uc.mem_map(base, size)
        self.stay = range(0)
        self.uc.hook_add(UC_HOOK_CODE, self._hook)
        self.context = self.uc.context_save()

    def _hook(self, uc: Uc, address: int, size: int, user_data: object) -> None:
        if address not in self.stay:
            uc.emu_stop()

    def run(self, case: Case) -> Outcome:
        uc, state = self.uc, case.state
        uc.context_restore(self.context)  # leaves no exception state behind
        code = b"".join(w.to_bytes(4, "little") for w in case.words)
        uc.mem_write(state.pc, code)
        uc.ctl_remove_cache(state.pc, state.pc + len(code))
        uc.mem_write(DATA_BASE, state.data)
        for i, value in enumerate(state.regs):
            uc.reg_write(UC_MIPS_REG_0 + i, value)
        uc.reg_write(UC_MIPS_REG_HI, state.hi)
        uc.reg_write(UC_MIPS_REG_LO, state.lo)
        self.stay = case.stay
        try:
            uc.emu_start(state.pc, STOP_NEVER, count=16)
        except UcError as error:
            return Outcome(exception=f"UcError({error})")
        finally:
            uc.mem_write(state.pc, bytes(len(code)))  # back to nops for the next case
        return Outcome(
            regs=tuple(uc.reg_read(UC_MIPS_REG_0 + i) & MASK for i in range(32)),
            hi=uc.reg_read(UC_MIPS_REG_HI) & MASK,
            lo=uc.reg_read(UC_MIPS_REG_LO) & MASK,
            data=bytes(uc.mem_read(DATA_BASE, DATA_SIZE)),
            pc=uc.reg_read(UC_MIPS_REG_PC) & MASK,
        )


def run_vm(case: Case) -> Outcome:
    """Run ``case`` on a fresh ``vm.Machine`` with the same stop rule as unicorn."""
    state = case.state
    m = vm.Machine()
    m.write_bytes(state.pc, b"".join(w.to_bytes(4, "little") for w in case.words))
    m.write_bytes(DATA_BASE, state.data)
    for i, value in enumerate(state.regs):
        m.set_reg(i, value)
    m.hi, m.lo = state.hi, state.lo
    m.pc = state.pc
    try:
        for _ in case.stay:
            if m.pc not in case.stay:
                break
            m.step(1)
    except Exception as error:  # reported against the case, whatever it is
        return Outcome(exception=f"{type(error).__name__}({error})")
    notes = () if m.next_pc == (m.pc + 4) & MASK else (f"vm next_pc {m.next_pc:#x} is not pc+4",)
    return Outcome(
        regs=tuple(m.get_reg(i) & MASK for i in range(32)),
        hi=m.hi & MASK,
        lo=m.lo & MASK,
        data=bytes(m.read_bytes(DATA_BASE, DATA_SIZE)),
        pc=m.pc & MASK,
        notes=notes,
    )


def differences(case: Case, want: Outcome, got: Outcome, vm_may_refuse: bool = False) -> list[str]:
    """Human-readable differences between unicorn's outcome and the VM's.

    ``vm_may_refuse`` accepts an InstructionError where unicorn ran the word: the
    VM is integer-only and may be stricter than QEMU about odd encodings.
    """
    refused = got.exception is not None and got.exception.startswith("InstructionError")
    if vm_may_refuse and want.exception is None and refused:
        return []
    if (want.exception is None) != (got.exception is None):
        return [f"exception: unicorn {want.exception}, vm {got.exception}"]
    if want.exception is not None:
        return [] if refused else [f"exception: unicorn {want.exception}, vm {got.exception}"]
    diffs = [
        f"${i}: unicorn {a:#010x}, vm {b:#010x}"
        for i, (a, b) in enumerate(zip(want.regs, got.regs)) if a != b
    ]
    for name in ("hi", "lo", "pc"):
        a, b = getattr(want, name), getattr(got, name)
        if a != b:
            diffs.append(f"{name}: unicorn {a:#010x}, vm {b:#010x}")
    if want.data != got.data:
        at = next(i for i, (a, b) in enumerate(zip(want.data, got.data)) if a != b)
        lo = at & ~3
        diffs.append(
            f"mem[{DATA_BASE + lo:#x}..+8]: unicorn {want.data[lo:lo + 8].hex()}, "
            f"vm {got.data[lo:lo + 8].hex()}"
        )
    return diffs + list(got.notes)


def describe(case: Case) -> str:
    """The case's instruction(s) and the inputs it can read, for a failure message."""
    regs = {int(r) for r in re.findall(r"\$(\d+)\b", case.text)}
    inputs = ", ".join(f"${r}={case.state.regs[r]:#010x}" for r in sorted(regs))
    words = " ".join(f"{w:08x}" for w in case.words)
    text = f"{case.text} [{words}] with {inputs}, hi={case.state.hi:#010x}, lo={case.state.lo:#010x}"
    if case.address is not None:
        at = (case.address & ~3) - DATA_BASE
        text += f", mem[{case.address & ~3:#x}]={case.state.data[at:at + 4].hex()} (address {case.address:#x})"
    return text


# --------------------------------------------------------------------------- case generation


class CaseMaker:
    """Random cases for one mnemonic, biased towards edge values and aliasing."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.pc = PC0  # where the case's first instruction sits

    def value(self) -> int:
        r = self.rng.random()
        if r < 0.4:
            return self.rng.choice(EDGE_VALUES)
        if r < 0.55:
            return self.rng.randrange(0, 64)
        if r < 0.65:
            return (-self.rng.randrange(1, 64)) & MASK
        return self.rng.getrandbits(32)

    def state(self) -> State:
        regs = [0] + [self.value() for _ in range(31)]
        return State(regs, self.value(), self.value(), self.rng.randbytes(DATA_SIZE), self.pc)

    def register(self, chosen: list[int]) -> int:
        if chosen and self.rng.random() < 0.25:
            return self.rng.choice(chosen)
        return 0 if self.rng.random() < 0.05 else self.rng.randrange(1, 32)

    def imm16(self) -> int:
        if self.rng.random() < 0.4:
            return self.rng.choice(EDGE_IMM16)
        return self.rng.randrange(-0x8000, 0x8000)

    def code_address(self) -> int:
        """An aligned address in the code region other than the instruction and its slot."""
        while True:
            addr = CODE_BASE + 4 * self.rng.randrange(1, (CODE_SIZE - 0x1000) // 4)
            if addr not in (self.pc, self.pc + 4):
                return addr

    def data_address(self, align: int) -> int:
        return DATA_BASE + align * self.rng.randrange(0, (DATA_SIZE - 8) // align)

    def branch_offset(self) -> int:
        while True:
            if self.rng.random() < 0.5:
                off = 4 * self.rng.randrange(-16, 16)
            else:
                off = 4 * self.rng.randrange(-0x8000, 0x8000)
            if off not in (-4, 0):  # targets pc and pc+4 would blur the stop rule
                return off

    def make(self, mnemonic: str) -> Case:
        # now and then the last word of a page, so that a delay slot sits on the next one
        self.pc = PC0 + 0xFFC if self.rng.random() < 0.25 else PC0
        state = self.state()
        kinds = asm.operand_kinds(mnemonic)
        ops: list[int] = []
        chosen: list[int] = []
        for kind in kinds:
            ops.append(self.operand(mnemonic, kind, ops, chosen))
        address = self._shape_state(mnemonic, kinds, ops, state)
        words = [asm.encode(mnemonic, *ops)]
        text = _format(mnemonic, kinds, ops)
        if mnemonic in BRANCHES or mnemonic in JUMPS:
            slot = self._delay_slot()
            words.append(asm.assemble(slot))
            text += f"; {slot}"
        return Case(text, words, state, address)

    def operand(self, mnemonic: str, kind: str, ops: list[int], chosen: list[int]) -> int:
        rng = self.rng
        if kind in ("rs", "rt", "rd", "rd_rt"):
            if kind == "rs" and (mnemonic in ACCESS_SIZE or mnemonic in ("jr", "jalr")):
                reg = rng.randrange(1, 32)  # base and jump registers hold addresses we set
            else:
                reg = self.register(chosen)
            if mnemonic == "jalr" and kind == "rs" and reg == ops[0]:
                reg = reg % 31 + 1  # jalr rd == rs is UNPREDICTABLE
            if mnemonic in ("bltzal", "bgezal", "bltzall", "bgezall") and reg == 31:
                reg = rng.randrange(1, 31)  # rs == $31 is UNPREDICTABLE
            chosen.append(reg)
            return reg
        if kind == "sa":
            if mnemonic in ("ext", "ins"):
                return rng.randrange(0, 32)
            return rng.choice((0, 1, 31, 16, rng.randrange(32), rng.randrange(32)))
        if kind in ("ext_size", "ins_size"):
            return rng.randrange(1, 33 - ops[2])
        if kind in ("simm", "offset"):
            return self.imm16()
        if kind == "uimm":
            return self.imm16() & 0xFFFF
        if kind == "branch":
            return self.branch_offset()
        if kind == "target":
            return self.code_address()
        if kind in ("tcode", "bcode"):
            return rng.randrange(1024)
        if kind == "scode":
            return rng.randrange(1 << 20)
        if kind in ("stype", "hint"):
            return rng.randrange(32)
        raise AssertionError(f"no generator for operand kind {kind}")

    def _shape_state(self, mnemonic: str, kinds: tuple[str, ...], ops: list[int], state: State) -> int | None:
        """Make the interesting cases common: valid addresses, equal operands, zero divisors.

        Returns the data address a load or store will touch (None for other instructions).
        """
        rng, regs = self.rng, state.regs
        named = dict(zip(kinds, ops))
        rs, rt = named.get("rs", 0), named.get("rt", 0)

        def put(reg: int, value: int) -> None:
            if reg:
                regs[reg] = value & MASK

        if mnemonic in ACCESS_SIZE:
            address = self.data_address(ACCESS_SIZE[mnemonic])
            put(rs, address - named["offset"])
            return address
        if mnemonic in ("jr", "jalr"):
            put(rs, self.code_address())
        elif mnemonic in TRAPS_RR or mnemonic in ("beq", "bne", "beql", "bnel", "slt", "sltu"):
            r = rng.random()
            if r < 0.3:
                put(rt, regs[rs])
            elif r < 0.45:
                put(rt, regs[rs] + rng.choice((1, -1)))
        elif mnemonic in TRAPS_RI or mnemonic in ("slti", "sltiu"):
            if rng.random() < 0.4:
                put(rs, _sext16(ops[-1] & 0xFFFF) + rng.choice((0, 0, 1, -1)))
        elif mnemonic in DIVISIONS:
            r = rng.random()
            if r < 0.2:
                put(rt, 0)
            elif r < 0.3:
                put(rs, 0x80000000)
                put(rt, MASK)
        elif mnemonic in ("movz", "movn") and rng.random() < 0.4:
            put(rt, 0)
        elif mnemonic in ("add", "sub", "addi") and rng.random() < 0.4:
            put(rs, rng.choice((0x7FFFFFFF, 0x80000000, 0x7FFF0000, 0x80008000)))
            if mnemonic != "addi":
                put(rt, rng.choice((1, MASK, 0x8000, 0xFFFF8000, 0x7FFFFFFF, 0x80000000)))
        return None

    def _delay_slot(self) -> str:
        rng = self.rng
        rd = rng.choice((31, rng.randrange(1, 32), rng.randrange(1, 32)))
        rs = rng.choice((31, rd, rng.randrange(0, 32)))
        return f"addiu ${rd}, ${rs}, {rng.randrange(-0x8000, 0x8000)}"


def _format(mnemonic: str, kinds: tuple[str, ...], ops: list[int]) -> str:
    """Our assembly syntax for ``ops`` (registers as $n, fp registers as $fn)."""
    parts: list[str] = []
    i = 0
    while i < len(kinds):
        kind, value = kinds[i], ops[i]
        if kind == "offset":
            parts.append(f"{value}(${ops[i + 1]})")
            i += 2
            continue
        if kind in ("rs", "rt", "rd", "rd_rt", "fcr"):
            parts.append(f"${value}")
        elif kind in ("fs", "ft", "fd"):
            parts.append(f"$f{value}")
        elif kind == "target":
            parts.append(f"{value:#x}")
        else:
            parts.append(str(value))
        i += 1
    return f"{mnemonic} {', '.join(parts)}".strip()


def make_cases(mnemonic: str, count: int, salt: int = 0) -> list[Case]:
    """``count`` reproducible cases for ``mnemonic`` (seeded by its name)."""
    maker = CaseMaker(random.Random(zlib.crc32(mnemonic.encode()) + salt))
    return [maker.make(mnemonic) for _ in range(count)]


# Short sequences for state the single-instruction cases cannot see:
# - FPU data movement (no arithmetic): the VM keeps the FPRs and FCSR only so that
#   glibc's setjmp/longjmp work; FPRs are not observable from outside, so each
#   sequence moves values in and back out to GPRs or memory;
# - ll/sc as GCC's atomics use them (sc to the ll's address, nothing stored in
#   between), and a lone sc, which fails.
SEQUENCES: dict[str, tuple[str, ...]] = {
    "sc": ("sc $B, O1($P)",),
    "ll/sc": ("ll $A, O1($P)", "sc $B, O1($P)"),
    "ll/addiu/sc": ("ll $A, O1($P)", "addiu $A, $A, 1", "sc $A, O1($P)"),
    "ll/sc/sc": ("ll $A, O1($P)", "sc $B, O1($P)", "sc $C, O1($P)"),
    "mtc1/mfc1": ("mtc1 $A, $fN", "mfc1 $B, $fN"),
    "lwc1/swc1": ("lwc1 $fN, O1($P)", "swc1 $fN, O2($P)"),
    "ldc1/sdc1": ("ldc1 $fE, O1($P)", "sdc1 $fE, O2($P)"),
    "ldc1/mfc1": ("ldc1 $fE, O1($P)", "mfc1 $A, $fE", "mfc1 $B, $fF"),
    "ldc1/mfhc1": ("ldc1 $fE, O1($P)", "mfhc1 $B, $fE"),
    "mthc1/sdc1": ("mtc1 $A, $fE", "mthc1 $B, $fE", "sdc1 $fE, O1($P)"),
    "ctc1/cfc1": ("ctc1 $C, $31", "cfc1 $B, $31", "cfc1 $A, $0"),
    # rdhwr $1 (SYNCI_Step) and $29 (UserLocal, 0 until set_thread_area)
    "rdhwr": ("rdhwr $A, $1", "rdhwr $B, $29"),
}


def sequence_case(maker: CaseMaker, template: tuple[str, ...]) -> Case:
    """Fill ``template``'s placeholders with random registers, addresses and values."""
    rng = maker.rng
    state = maker.state()
    even = 2 * rng.randrange(16)
    base = rng.randrange(1, 32)
    gprs = [r for r in range(1, 32) if r != base]
    first = maker.data_address(8)
    offset = rng.randrange(-0x4000, 0x4000)
    state.regs[base] = (first - offset) & MASK
    fields = {
        # distinct, so that an sc never stores the value its ll loaded (see module doc)
        **{key: f"${reg}" for key, reg in zip(("$A", "$B", "$C"), rng.sample(gprs, 3))},
        "$fN": f"$f{rng.randrange(32)}", "$fE": f"$f{even}", "$fF": f"$f{even + 1}",
        "O1": str(offset), "O2": str(maker.data_address(8) - first + offset), "$P": f"${base}",
    }
    lines = []
    for line in template:
        for key, value in fields.items():
            line = line.replace(key, value)
        lines.append(line)
    # FCSR: rounding mode, sticky flags, FS and the condition codes; no enables or
    # causes (those raise exceptions) and none of the bits QEMU keeps at zero.
    fcsr = rng.randrange(4) | rng.randrange(32) << 2 | rng.randrange(2) << 24 | rng.randrange(2) << 23
    state.regs[int(fields["$C"][1:])] = fcsr | rng.randrange(128) << 25
    return Case("; ".join(lines), [asm.assemble(line) for line in lines], state, first)


def check_cases(cases: list[Case], cpu: UnicornCPU, vm_may_refuse: bool = False) -> None:
    """Run every case on both machines; fail with the first few differences."""
    failures = []
    raised = 0
    for case in cases:
        want = cpu.run(case)
        raised += want.exception is not None
        got = run_vm(case)
        diffs = differences(case, want, got, vm_may_refuse)
        if diffs:
            failures.append(f"{describe(case)}\n      " + "\n      ".join(diffs))
    if failures:
        shown = "\n".join(failures[:5])
        pytest.fail(f"{len(failures)}/{len(cases)} cases differ from unicorn:\n{shown}", pytrace=False)
    assert raised < len(cases), "unicorn raised on every case: these cases compare no state"


@pytest.fixture(scope="module")
def cpu() -> UnicornCPU:
    return UnicornCPU()


# --------------------------------------------------------------------------- the oracle itself


def test_encoder_matches_gnu_as(tmp_path: Path) -> None:
    """Every mnemonic, random operands: our words equal mipsel-linux-gnu-as's."""
    gas, objcopy = shutil.which("mipsel-linux-gnu-as"), shutil.which("mipsel-linux-gnu-objcopy")
    if not gas or not objcopy:
        pytest.skip("GNU MIPS binutils are not installed")
    rng = random.Random(7)
    lines, expected = [], []
    for mnemonic in sorted(asm.MNEMONICS):
        kinds = asm.operand_kinds(mnemonic)
        for _ in range(4):
            ops = _gnu_operands(mnemonic, kinds, rng)
            lines.append(_gnu_text(mnemonic, kinds, ops))
            expected.append(asm.encode(mnemonic, *ops))
    source = tmp_path / "all.s"
    source.write_text(".set noreorder\n.set noat\n.set nomacro\n" + "\n".join(lines) + "\n")
    subprocess.run([gas, "-march=mips32r2", "-EL", "-mno-fix-loongson3-llsc", "-o", tmp_path / "all.o", source], check=True)
    subprocess.run([objcopy, "-O", "binary", "-j", ".text", tmp_path / "all.o", tmp_path / "all.bin"], check=True)
    blob = (tmp_path / "all.bin").read_bytes()
    got = [int.from_bytes(blob[i:i + 4], "little") for i in range(0, 4 * len(expected), 4)]
    wrong = [f"{line}: ours {e:08x}, gas {g:08x}" for line, e, g in zip(lines, expected, got) if e != g]
    assert not wrong, "\n".join(wrong[:20])


def _gnu_operands(mnemonic: str, kinds: tuple[str, ...], rng: random.Random) -> list[int]:
    maker = CaseMaker(rng)
    ops: list[int] = []
    for kind in kinds:
        if kind == "fcr":
            ops.append(rng.choice((0, 31)))
        elif kind in ("fs", "ft", "fd"):
            even = ".d" in mnemonic or mnemonic in ("ldc1", "sdc1", "mfhc1", "mthc1")  # FP32 pairs registers
            ops.append(2 * rng.randrange(16) if even else rng.randrange(32))
        elif kind == "target":
            ops.append(4 * rng.randrange(1 << 24))
        else:
            ops.append(maker.operand(mnemonic, kind, ops, []))
    return ops


def _gnu_text(mnemonic: str, kinds: tuple[str, ...], ops: list[int]) -> str:
    """GNU syntax: branches are written relative to '.', div/divu take $0 first."""
    if "branch" in kinds:
        i = kinds.index("branch")
        head = _format(mnemonic, kinds[:i], ops[:i])
        sep = ", " if i else " "
        return f"{head}{sep}. + 4 + ({ops[i]})"
    text = _format(mnemonic, kinds, ops)
    if mnemonic in DIVISIONS:
        text = text.replace(mnemonic + " ", mnemonic + " $0, ", 1)
    return text


# The harness register: it holds the output buffer in the qemu-user program below.
QEMU_SCRATCH = 27
QEMU_RECORD = 35 * 4  # 32 GPRs, HI, LO and the data word a load or store touches


def _qemu_program(cases: list[Case]) -> str:
    """A bare static program that runs each case's instruction and dumps the state.

    Each case sets the data word it touches, loads its state into every register
    but $27, runs the word, then stores the 32 registers, HI, LO and that data word
    through $27; at the end one write() prints them all.  The data page is a
    section linked at DATA_BASE.
    """
    out = [".set noreorder", ".set noat", ".text", ".globl __start", "__start:",
           "lui $27, %hi(results)", "addiu $27, $27, %lo(results)"]

    def load(reg: int, value: int) -> None:
        out.extend((f"lui ${reg}, {value >> 16:#x}", f"ori ${reg}, ${reg}, {value & 0xFFFF:#x}"))

    for case in cases:
        word_at = (case.address if case.address is not None else DATA_BASE) & ~3
        at = word_at - DATA_BASE
        load(2, word_at)
        load(1, int.from_bytes(case.state.data[at:at + 4], "little"))
        out.append("sw $1, 0($2)")
        load(1, case.state.hi)
        out.append("mthi $1")
        load(1, case.state.lo)
        out.append("mtlo $1")
        for reg in range(1, 32):
            if reg != QEMU_SCRATCH:
                load(reg, case.state.regs[reg])
        out.extend(f".word {word:#010x}" for word in case.words)
        out.extend(f"sw ${reg}, {4 * reg}($27)" for reg in range(32))
        out.extend(("mfhi $1", "sw $1, 128($27)", "mflo $1", "sw $1, 132($27)"))
        load(2, word_at)
        out.extend(("lw $1, 0($2)", "sw $1, 136($27)", f"addiu $27, $27, {QEMU_RECORD}"))
    out.extend(("li $2, 4004", "li $4, 1", "lui $5, %hi(results)", "addiu $5, $5, %lo(results)",
                f"li $6, {QEMU_RECORD * len(cases)}", "syscall",
                "li $2, 4246", "li $4, 0", "syscall",
                ".bss", ".align 4", f"results: .space {QEMU_RECORD * len(cases)}",
                '.section .testdata, "aw"', f".space {DATA_SIZE}"))
    return "\n".join(out) + "\n"


def test_unicorn_agrees_with_qemu_user(cpu: UnicornCPU, tmp_path: Path) -> None:
    """The oracle against the real reference: qemu-mipsel runs the same words.

    Everything but control flow (ALU, shifts, HI/LO, multiply/divide including
    division by zero, traps that do not fire, loads and stores): unicorn's QEMU
    and Debian's qemu-mipsel must agree, or the differential tests check the
    wrong thing.
    """
    tools = [shutil.which(t) for t in ("mipsel-linux-gnu-as", "mipsel-linux-gnu-ld", "qemu-mipsel")]
    if not all(tools):
        pytest.skip("GNU MIPS binutils or qemu-mipsel are not installed")
    gas, ld, qemu = tools
    cases, wants = [], []
    for mnemonic in DIFF_MNEMONICS:
        if mnemonic in BRANCHES or mnemonic in JUMPS:
            continue
        for case in make_cases(mnemonic, 12, salt=2):
            if f"${QEMU_SCRATCH}" in re.findall(r"\$\d+", case.text):
                continue
            want = cpu.run(case)
            if want.exception is None:  # a trap or overflow would kill the qemu process
                cases.append(case)
                wants.append(want)
    (tmp_path / "p.s").write_text(_qemu_program(cases))
    subprocess.run([gas, "-march=mips32r2", "-EL", "-o", tmp_path / "p.o", tmp_path / "p.s"], check=True)
    subprocess.run([ld, "-static", "-e", "__start", f"--section-start=.testdata={DATA_BASE:#x}",
                    "-o", tmp_path / "p", tmp_path / "p.o"], check=True)
    blob = subprocess.run([qemu, tmp_path / "p"], check=True, capture_output=True, timeout=60).stdout
    assert len(blob) == QEMU_RECORD * len(cases)
    wrong = []
    for i, (case, want) in enumerate(zip(cases, wants)):
        got = [int.from_bytes(blob[j:j + 4], "little") for j in range(i * QEMU_RECORD, (i + 1) * QEMU_RECORD, 4)]
        at = ((case.address or DATA_BASE) & ~3) - DATA_BASE
        expect = [*want.regs, want.hi, want.lo, int.from_bytes(want.data[at:at + 4], "little")]
        for index in set(range(35)) - {QEMU_SCRATCH}:
            if got[index] != expect[index]:
                name = {32: "hi", 33: "lo", 34: "memory"}.get(index, f"${index}")
                wrong.append(f"{describe(case)}: {name} qemu {got[index]:#010x}, unicorn {expect[index]:#010x}")
    assert not wrong, f"{len(wrong)} differences, first: " + "\n".join(wrong[:5])
    assert len(cases) > 500, len(cases)


@pytest.mark.parametrize(
    ("lines", "regs", "expect"),
    [
        # lwl/lwr merge bytes into the register (little-endian), addr = DATA_BASE+1
        (["lwl $8, 1($9)"], {8: 0xAABBCCDD, 9: DATA_BASE}, {8: 0x2211CCDD}),
        (["lwr $8, 1($9)"], {8: 0xAABBCCDD, 9: DATA_BASE}, {8: 0xAA443322}),
        # QEMU's division by zero: LO = rs, HI = 0; INT_MIN / -1: LO = INT_MIN, HI = 0
        (["div $9, $0"], {9: 1234}, {"lo": 1234, "hi": 0}),
        (["div $9, $10"], {9: 0x80000000, 10: MASK}, {"lo": 0x80000000, "hi": 0}),
        # the delay slot runs after the link is written, and before the target
        (["jal 0x400100", "addiu $31, $31, 1"], {}, {31: PC0 + 9, "pc": 0x400100}),
        (["beql $0, $9, 16", "addiu $8, $0, 5"], {9: 1}, {8: 0, "pc": PC0 + 8}),
    ],
)
def test_unicorn_oracle_known_answers(cpu: UnicornCPU, lines: list[str], regs: dict, expect: dict) -> None:
    """The oracle is only as good as its harness: pin a few answers by hand."""
    state = State([0] * 32, 0x11, 0x22, bytes([0x11, 0x22, 0x33, 0x44]) + bytes(DATA_SIZE - 4))
    for reg, value in regs.items():
        state.regs[reg] = value
    case = Case("; ".join(lines), [asm.assemble(line) for line in lines], state)
    out = cpu.run(case)
    assert out.exception is None
    for key, value in expect.items():
        got = getattr(out, key) if isinstance(key, str) else out.regs[key]
        assert got == value, f"{key}: {got:#x} != {value:#x}"


# --------------------------------------------------------------------------- the VM against it

FAST_CASES = 100
SLOW_CASES = 1000


@pytest.mark.parametrize("mnemonic", DIFF_MNEMONICS)
def test_instruction_matches_unicorn(cpu: UnicornCPU, mnemonic: str) -> None:
    check_cases(make_cases(mnemonic, FAST_CASES), cpu)


@pytest.mark.slow
@pytest.mark.parametrize("mnemonic", DIFF_MNEMONICS)
def test_instruction_matches_unicorn_sweep(cpu: UnicornCPU, mnemonic: str) -> None:
    check_cases(make_cases(mnemonic, SLOW_CASES, salt=1), cpu)


# Random words in the opcode groups whose instructions have must-be-zero fields
# (shift amounts of mult/mfhi..., rs of srl, sa of srlv, ext's pos + size <= 32).
# QEMU raises Reserved Instruction for most such words; the VM must refuse them
# too rather than run them as something else.  Control flow, syscall, break and
# rdhwr are left out (their effects are not comparable one word at a time).
RESERVED_GROUPS: dict[str, tuple[int, frozenset[int]]] = {
    "special": (0x00, frozenset({0x08, 0x09, 0x0C, 0x0D})),  # opcode, functs left out
    "special2": (0x1C, frozenset()),
    "special3": (0x1F, frozenset({0x3B})),
}


def reserved_word_cases(group: str, count: int, salt: int = 0) -> list[Case]:
    opcode, skipped = RESERVED_GROUPS[group]
    maker = CaseMaker(random.Random(zlib.crc32(group.encode()) + salt))
    cases = []
    while len(cases) < count:
        word = opcode << 26 | maker.rng.getrandbits(26)
        if word & 0x3F not in skipped:
            text = f"word {word:#010x} (rs=${word >> 21 & 31}, rt=${word >> 16 & 31})"
            cases.append(Case(text, [word], maker.state()))
    return cases


@pytest.mark.parametrize("group", sorted(RESERVED_GROUPS))
def test_odd_encodings_match_unicorn_or_are_refused(cpu: UnicornCPU, group: str) -> None:
    check_cases(reserved_word_cases(group, 400), cpu, vm_may_refuse=True)


@pytest.mark.slow
@pytest.mark.parametrize("group", sorted(RESERVED_GROUPS))
def test_odd_encodings_sweep(cpu: UnicornCPU, group: str) -> None:
    check_cases(reserved_word_cases(group, 10 * SLOW_CASES, salt=1), cpu, vm_may_refuse=True)


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence_matches_unicorn(cpu: UnicornCPU, name: str) -> None:
    maker = CaseMaker(random.Random(zlib.crc32(name.encode())))
    check_cases([sequence_case(maker, SEQUENCES[name]) for _ in range(FAST_CASES)], cpu)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence_sweep(cpu: UnicornCPU, name: str) -> None:
    maker = CaseMaker(random.Random(zlib.crc32(name.encode()) + 1))
    check_cases([sequence_case(maker, SEQUENCES[name]) for _ in range(SLOW_CASES)], cpu)


def test_jump_takes_region_of_delay_slot() -> None:
    """j in the last word of a 256 MiB region jumps within the next region."""
    start = 0x0FFF_FFFC
    cpu = UnicornCPU(regions=((0x0FFF_F000, 0x2000), (DATA_BASE, DATA_SIZE)))
    state = State([0] * 32, 0, 0, bytes(DATA_SIZE), pc=start)
    case = Case("j 0x40; addiu $8, $0, 1", [asm.encode("j", 0x40), asm.assemble("addiu $8, $0, 1")], state)
    want = cpu.run(case)
    assert (want.pc, want.regs[8]) == (0x1000_0040, 1)
    assert not differences(case, want, run_vm(case))


def test_ll_sc_pair() -> None:
    """Hand-written: ll loads the word; an sc right after stores and reports 1; a second sc fails."""
    m = vm.Machine()
    m.write_bytes(PC0, asm.program("ll $8, 4($9)", "sc $10, 4($9)", "sc $11, 4($9)"))
    m.write_bytes(DATA_BASE, bytes(range(16)))
    m.set_reg(9, DATA_BASE)
    m.set_reg(10, 0xCAFEBABE)
    m.set_reg(11, 0x12345678)
    m.pc = PC0
    m.step(3)
    assert m.get_reg(8) == 0x07060504
    assert (m.get_reg(10), m.get_reg(11)) == (1, 0)
    assert m.read_word(DATA_BASE + 4) == 0xCAFEBABE
    assert m.pc == PC0 + 12
