"""Instructions the VM refuses: each stops with ``vm.InstructionError`` whose one-line
message names the instruction word (hex), its mnemonic where one exists, and the pc.

Why: a user whose program dies on a floating-point instruction or a misaligned
access needs to find that instruction in ``objdump`` output; a message without
the word or the pc is useless, and an error class other than InstructionError
would be handled by the wrong layer (a SyscallError or a crash).
"""

from __future__ import annotations

import re

import pytest

import vm

try:  # tests/vm may or may not become a package
    from . import mips_asm as asm
except ImportError:
    import mips_asm as asm  # type: ignore[no-redef]

PC = 0x0040_1234  # aligned, and unlike any word or address below
DATA = 0x1000_0000
BASE_REG, VALUE_REG, DEST_REG = 9, 10, 8


def _machine(*lines: str | int, base: int = DATA) -> vm.Machine:
    """A machine about to execute ``lines`` at PC, with $9 = base and some data there."""
    m = vm.Machine()
    m.write_bytes(PC, asm.program(*lines))
    m.write_bytes(DATA, bytes(range(1, 33)))
    m.set_reg(BASE_REG, base)
    m.set_reg(VALUE_REG, 0xDEADBEEF)
    m.set_reg(DEST_REG, 0x5A5A5A5A)
    m.pc = PC
    return m


def _hex_numbers(message: str) -> set[int]:
    """Every hex-looking token of ``message``, with or without 0x and leading zeros."""
    return {int(tok, 16) for tok in re.findall(r"\b(?:0x)?([0-9a-fA-F]+)\b", message)}


def _assert_names(error: vm.InstructionError, word: int, mnemonic: str | None, pc: int) -> None:
    message = str(error)
    assert "\n" not in message.strip(), f"message is not one line: {message!r}"
    numbers = _hex_numbers(message)
    assert word in numbers, f"instruction word {word:#010x} not in {message!r}"
    assert pc in numbers, f"pc {pc:#x} not in {message!r}"
    if mnemonic is not None:
        assert re.search(rf"(?<![\w.]){re.escape(mnemonic)}(?![\w.])", message, re.IGNORECASE), (
            f"mnemonic {mnemonic!r} not in {message!r}"
        )


def _raises_at(m: vm.Machine, word: int, mnemonic: str | None, pc: int, steps: int = 1) -> None:
    with pytest.raises(vm.InstructionError) as info:
        m.step(steps)
    _assert_names(info.value, word, mnemonic, pc)


@pytest.mark.parametrize(
    ("line", "mnemonic"),
    [
        ("add.d $f0, $f2, $f4", "add.d"),
        ("add.s $f1, $f2, $f3", "add.s"),
        ("mul.d $f6, $f8, $f10", "mul.d"),
        ("cvt.d.w $f0, $f2", "cvt.d.w"),
    ],
)
def test_floating_point_arithmetic_is_refused(line: str, mnemonic: str) -> None:
    word = asm.assemble(line)
    _raises_at(_machine(word), word, mnemonic, PC)


@pytest.mark.parametrize(
    "word",
    [
        0xFC000000,  # primary opcode 0x3f: reserved
        0x0000003F,  # SPECIAL funct 0x3f (dsra32, MIPS64 only)
        0x70000003,  # SPECIAL2 funct 0x03: reserved
        0x0000002C,  # SPECIAL funct 0x2c (dadd, MIPS64 only)
    ],
)
def test_unknown_instruction_is_refused(word: int) -> None:
    _raises_at(_machine(word), word, None, PC)


@pytest.mark.parametrize(
    ("line", "offset"),
    [
        ("lw $8, 0($9)", 1),
        ("lw $8, 0($9)", 2),
        ("lw $8, 0($9)", 3),
        ("sw $10, 0($9)", 2),
        ("lh $8, 0($9)", 1),
        ("lhu $8, 0($9)", 3),
        ("sh $10, 0($9)", 1),
        ("ll $8, 0($9)", 2),
    ],
)
def test_unaligned_access_is_refused_and_changes_nothing(line: str, offset: int) -> None:
    word = asm.assemble(line)
    m = _machine(word, base=DATA + offset)
    _raises_at(m, word, line.split()[0], PC)
    assert m.get_reg(DEST_REG) == 0x5A5A5A5A
    assert m.get_reg(VALUE_REG) == 0xDEADBEEF
    assert m.read_bytes(DATA, 32) == bytes(range(1, 33))


def test_the_same_accesses_aligned_run() -> None:
    """The refusal above is about alignment, not about the instructions."""
    m = _machine("lw $8, 4($9)", "sw $10, 8($9)", "lh $8, 2($9)", "sh $10, 2($9)")
    m.step(2)
    assert m.read_word(DATA + 8) == 0xDEADBEEF
    m.step(2)
    assert m.get_reg(DEST_REG) == 0x0403
    assert m.read_bytes(DATA, 4) == bytes([1, 2, 0xEF, 0xBE])


@pytest.mark.parametrize(
    "line",
    [
        "teq $9, $9",
        "teq $9, $9, 7",
        "tne $9, $10",
        "tge $9, $9",
        "tltu $0, $9",
        "teqi $0, 0",
        "tnei $9, 5",
    ],
)
def test_trap_that_fires_is_refused(line: str) -> None:
    word = asm.assemble(line)
    _raises_at(_machine(word), word, line.split()[0], PC)


@pytest.mark.parametrize("line", ["teq $9, $10", "tne $9, $9", "tlt $9, $9", "teqi $9, 5"])
def test_trap_that_does_not_fire_runs(line: str) -> None:
    m = _machine(line)
    m.step()
    assert m.pc == PC + 4


@pytest.mark.parametrize("line", ["break", "break 7"])
def test_break_is_refused(line: str) -> None:
    word = asm.assemble(line)
    _raises_at(_machine(word), word, "break", PC)


def test_error_in_delay_slot_names_the_slot() -> None:
    """A refused delay-slot instruction is reported at its own pc, after the branch ran."""
    word = asm.assemble("add.d $f0, $f2, $f4")
    m = _machine("beq $0, $0, 64", word)
    _raises_at(m, word, "add.d", PC + 4, steps=2)


def test_error_after_several_steps_names_the_failing_instruction() -> None:
    word = asm.assemble("lw $8, 1($9)")
    m = _machine("addiu $8, $0, 1", "addiu $8, $8, 1", word)
    _raises_at(m, word, "lw", PC + 8, steps=3)
    assert m.get_reg(DEST_REG) == 2


@pytest.mark.parametrize(
    ("line", "value"),
    [("add $8, $9, $10", 0x7FFFFFFF), ("sub $8, $10, $9", 0x80000000), ("addi $8, $10, 1", 0x7FFFFFFF)],
)
def test_signed_overflow_is_refused_and_changes_nothing(line: str, value: int) -> None:
    """add/sub/addi trap on signed overflow (qemu raises SIGFPE); addu and friends never do."""
    word = asm.assemble(line)
    m = _machine(word)
    m.set_reg(BASE_REG, 1)
    m.set_reg(VALUE_REG, value)
    _raises_at(m, word, line.split()[0], PC)
    assert m.get_reg(DEST_REG) == 0x5A5A5A5A


@pytest.mark.parametrize("hw_reg", [2, 3, 5, 30])
def test_rdhwr_of_unsupported_register_is_refused(hw_reg: int) -> None:
    """Only CPUNum, SYNCI_Step and UserLocal are readable: the cycle counter would not be deterministic."""
    word = asm.encode("rdhwr", 3, hw_reg)
    _raises_at(_machine(word), word, "rdhwr", PC)


def test_jump_to_unaligned_address_is_refused_at_the_target() -> None:
    """jr runs, its delay slot runs, then fetching from the odd target fails naming that pc."""
    m = _machine("jr $9", "addiu $8, $0, 7", base=PC + 0x102)
    m.step(2)
    assert m.get_reg(DEST_REG) == 7
    with pytest.raises(vm.InstructionError) as info:
        m.step()
    assert PC + 0x102 in _hex_numbers(str(info.value)), str(info.value)
