"""vm.isa.OPERANDS (what each operation reads and writes) agrees with the interpreter.

The prover builds its memory argument from this table, so a missing write would let a
register change unaccounted for, and a missing read would leave an input unconstrained.
For every single-instruction operation, on random states:
- nothing changes that the table does not declare written;
- perturbing every register the table does not declare read changes no result.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from tests.vm.mips_asm import MNEMONICS as ASM_MNEMONICS
from tests.vm.test_unicorn_diff import Case, make_cases, run_vm
from vm import isa

# system state and the FPU moves: covered by the corpus and unicorn's sequences
SKIP = {"syscall", "break", "rdhwr", "sc", "ll", "cfc1", "ctc1"}


def _single_instruction_mnemonics() -> list[str]:
    names = []
    for m in isa.MNEMONICS:
        if m in SKIP or m not in ASM_MNEMONICS or isa.OPERANDS[isa.OP[m]] & (isa.READS_FPR | isa.WRITES_FPR):
            continue
        case = make_cases(m, 1)[0]
        if len(case.words) == 1:
            names.append(m)
    return names


def _declared(word: int) -> tuple[set[int], set[int], int]:
    """(registers read, registers written, flags) of one instruction word."""
    flags = int(isa.OPERANDS[isa.decode(word)])
    rs, rt, rd = (word >> 21) & 31, (word >> 16) & 31, (word >> 11) & 31
    reads = {r for r, f in ((rs, isa.READS_RS), (rt, isa.READS_RT), (rd, isa.READS_RD)) if flags & f}
    writes = {r for r, f in ((rd, isa.WRITES_RD), (rt, isa.WRITES_RT), (31, isa.WRITES_RA)) if flags & f}
    return reads, writes, flags


@pytest.mark.parametrize("mnemonic", _single_instruction_mnemonics())
def test_operands_are_declared(mnemonic: str) -> None:
    rng = random.Random(mnemonic)
    for case in make_cases(mnemonic, 40, salt=7):
        before = case.state
        after = run_vm(case)
        if after.exception is not None:
            continue                      # traps and overflow: nothing is written
        reads, writes, flags = _declared(case.words[0])
        changed = {i for i in range(32) if after.regs[i] != before.regs[i]}
        assert changed <= writes, f"{case.text}: writes {changed - writes} undeclared"
        assert after.hi == before.hi or flags & isa.WRITES_HI, f"{case.text}: HI undeclared"
        assert after.lo == before.lo or flags & isa.WRITES_LO, f"{case.text}: LO undeclared"
        assert after.data == before.data or flags & isa.STORES, f"{case.text}: store undeclared"

        # perturb what the instruction does not read: its results must not move
        regs = list(before.regs)
        for i in range(1, 32):
            if i not in reads:
                regs[i] = rng.getrandbits(32)
        state = dataclasses.replace(before, regs=regs,
                                    hi=before.hi if flags & isa.READS_HI else rng.getrandbits(32),
                                    lo=before.lo if flags & isa.READS_LO else rng.getrandbits(32))
        other = run_vm(Case(case.text, case.words, state, case.address))
        assert other.exception is None, f"{case.text}: depends on an undeclared read"
        for r in writes:
            assert other.regs[r] == after.regs[r], f"{case.text}: ${r} depends on an undeclared read"
        if flags & isa.WRITES_HI:
            assert other.hi == after.hi, f"{case.text}: HI depends on an undeclared read"
        if flags & isa.WRITES_LO:
            assert other.lo == after.lo, f"{case.text}: LO depends on an undeclared read"
        if flags & isa.STORES:
            assert other.data == after.data, f"{case.text}: store depends on an undeclared read"
