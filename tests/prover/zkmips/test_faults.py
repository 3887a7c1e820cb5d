"""Fault injection through the prover's test-only hook: each test alters the finished
witness of a real run (prover.zkmips.prove.prove(fault=...)), the prover proves it with
its own checks off, and the receipt verifier must reject it.

One test per class of fault the issue lists. Faults of the claim itself (input byte,
journal byte, exit code, cycle count, another image) are in test_receipt.py; targeted
forgeries that keep everything else consistent (so that exactly one constraint or bus
stands in the way) are in test_cpu.py, test_syscall.py and the per-table tests.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from prover.errors import VerificationError
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import add_sub, cpu, divrem, mul
from prover.zkmips import memory as M
from prover.zkmips import syscall as S
from prover.zkmips.keys import verifier_system
from prover.zkmips.machine import ExecutionWitness
from prover.zkmips.prove import prove
from prover.zkmips.receipt import verify_receipt
from tests.prover.zkmips.io_guest import PRIVATE, PUBLIC, build_io_guest
from vm.isa import OP


@pytest.fixture(scope="module")
def elf(compile_c) -> bytes:
    return build_io_guest(compile_c)


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> bytes:
    """The bare guest: every ALU table, bitmanip and the partial-word stores included."""
    from tests.prover.zkmips.cpu_harness import bare_elf
    return bare_elf("O2", str(tmp_path_factory.mktemp("bare")))


def _column(wit: ExecutionWitness, table: str, name: str) -> np.ndarray:
    """A view of one column of ``table``'s trace (writes go into the witness)."""
    t = next(t for t in verifier_system().tables if t.name == table)
    return wit.traces[table][:, t.main_names.index(name)]


def _first(mask: np.ndarray) -> int:
    rows = np.nonzero(mask)[0]
    assert rows.size, "the guest never reaches the case this fault needs"
    return int(rows[0])


def _rejected(elf: bytes, alter: Callable[[ExecutionWitness], None]) -> None:
    def fault(wit, claim):
        wit.traces = {k: v.copy() for k, v in wit.traces.items()}
        alter(wit)
        return claim
    data = prove(elf, PUBLIC, PRIVATE, params=FAST, fault=fault).encode()
    with pytest.raises(VerificationError):
        verify_receipt(data, allow_insecure=True)


def _flip_first(elf: bytes, table: str, column: str, where: str | None = None, by: int = 1) -> None:
    """Reject a proof whose ``table`` row (the first with ``where`` = 1, or row 0) has
    ``column`` changed by ``by``."""
    def alter(wit):
        row = 0 if where is None else _first(_column(wit, table, where) == 1)
        col = _column(wit, table, column)
        col[row] = (int(col[row]) + by) % (1 << 31)
    _rejected(elf, alter)


def _cpu(wit: ExecutionWitness, name: str) -> np.ndarray:
    return _column(wit, cpu.TABLE_NAME, name)


def test_honest_run_is_accepted(elf):
    """The hook with a no-op fault: the receipt verifies (so rejections below are the faults')."""
    data = prove(elf, PUBLIC, PRIVATE, params=FAST, fault=lambda wit, claim: claim).encode()
    assert verify_receipt(data, allow_insecure=True).journal


def test_wrong_alu_result(elf):
    _flip_first(elf, add_sub.TABLE_NAME, "c0", "is_addu")


def test_wrong_hi_lo(elf):
    _flip_first(elf, mul.TABLE_NAME, "lo_out0", "is_mul", by=4)


def test_wrong_remainder(elf):
    _flip_first(elf, divrem.TABLE_NAME, "r0")


@pytest.mark.parametrize("table, column, where", [
    ("bitwise", "c0", "is_xor"), ("lt", "lt", None), ("shift", "c0", "is_srl"), ("bitmanip", "c0", "is_seb"), ("bitmanip", "c0", "is_clz"),
    ("mem_instr", "result0", "is_lbu"), ("mem_instr", "mem_new1", "is_sb"), ("mul", "hi_out3", "is_madd"),
])
def test_wrong_result_in_table(bare, table, column, where):
    _flip_first(bare, table, column, where)


@pytest.mark.parametrize("table, column", [("program", "count"), ("byte", "m_range"), ("range16", "m"),
                                           ("private_input", "mult")])
def test_wrong_multiplicity_in_table(elf, table, column):
    """A lookup table claiming another count: an instruction fetched, a byte or 16-bit
    value checked, or a private byte used once more than it was."""
    def alter(wit):
        col = _column(wit, table, column)
        col[_first(col > 0)] += 1
    _rejected(elf, alter)


def test_wrong_journal_word_written(elf):
    def alter(wit):
        row = _first(_column(wit, S.IO_TABLE, "k_jour") == 1)
        _column(wit, S.IO_TABLE, "w0")[row] ^= 1
    _rejected(elf, alter)


def _branch_rows(wit) -> np.ndarray:
    flags = sum(_cpu(wit, f).astype(np.int64) for f in ("br_eq", "br_ne", "br_lez", "br_gtz", "br_ltz", "br_gez"))
    return flags == 1


def test_wrong_branch_decision(elf):
    def alter(wit):
        taken = _cpu(wit, "taken")
        taken[_first(_branch_rows(wit))] ^= 1
    _rejected(elf, alter)


def test_wrong_branch_target(elf):
    def alter(wit):
        row = _first(_branch_rows(wit) & (_cpu(wit, "taken") == 1))
        _cpu(wit, "next_pc")[row + 1] += 8           # the delay slot's successor: the target
    _rejected(elf, alter)


def _shift_rows(wit, at: int, by: int) -> None:
    """Delete (``by`` = -1) or repeat (``by`` = +1) CPU row ``at``, keeping clk numbered."""
    t = wit.traces[cpu.TABLE_NAME]
    real = int((_cpu(wit, "is_real") == 1).sum())
    if by < 0:
        t[at:real - 1] = t[at + 1:real].copy()
        t[real - 1] = t[real]
    else:
        t[at + 1:real + 1] = t[at:real].copy()
    clk = _cpu(wit, "clk")
    clk[:real + by] = np.arange(1, real + by + 1)


def test_skipped_instruction(elf):
    _rejected(elf, lambda wit: _shift_rows(wit, 40, -1))


def test_repeated_instruction(elf):
    _rejected(elf, lambda wit: _shift_rows(wit, 40, +1))


def test_instruction_not_in_the_program(elf):
    def alter(wit):
        _cpu(wit, "pc")[30] = 0x10                   # nothing is mapped there
        _cpu(wit, "next_pc")[29] = 0x10
    _rejected(elf, alter)


def test_forged_load_value(elf):
    def alter(wit):
        row = _first((_cpu(wit, "is_mem") == 1) & (_cpu(wit, "is_store") == 0))
        _cpu(wit, "mem0")[row] ^= 1
        _cpu(wit, "d0")[row] ^= 1
    _rejected(elf, alter)


def test_stale_load_value(elf):
    """A load that returns the word's value from before the last store to it."""
    def alter(wit):
        loads = (_cpu(wit, "is_mem") == 1) & (_cpu(wit, "is_store") == 0)
        prev_ts = _cpu(wit, "acc_mem_prev_ts")
        row = _first(loads & (prev_ts > 0))
        prev_ts[row] -= 8
    _rejected(elf, alter)


def test_store_writing_elsewhere(elf):
    def alter(wit):
        row = _first((_cpu(wit, "is_mem") == 1) & (_cpu(wit, "is_store") == 1))
        _cpu(wit, "addr_q")[row] += 1                # the accessed word: 4 bytes further
    _rejected(elf, alter)


def test_wrong_syscall_effect(elf):
    """read() claims one more byte was read than the input delivered."""
    def alter(wit):
        row = _first(_column(wit, S.SYSCALL_TABLE, "s_rpub") == 1)
        _column(wit, S.SYSCALL_TABLE, "r0")[row] += 1
    _rejected(elf, alter)


def test_changed_private_byte(elf):
    """The private input is the only free witness, but it must be the bytes read."""
    def alter(wit):
        _column(wit, S.PRIVATE_TABLE, "byte")[0] ^= 1
    _rejected(elf, alter)


def test_changed_initial_memory(elf):
    """A cell that starts with another value than the image's (the global MemoryInit row
    that receives it from the Image table)."""
    def alter(wit):
        init = _column(wit, M.GLOBAL_MEMORY_TABLE, "init0")
        init[_first(_column(wit, M.GLOBAL_MEMORY_TABLE, "from_image") == 1)] ^= 1
    _rejected(elf, alter)


def test_changed_segment_start(elf):
    """A cell the segment touches starts there with another value than the global table
    hands it (the segment's MemoryInit row)."""
    def alter(wit):
        init = _column(wit, M.MEMORY_TABLE, "init0")
        init[_first(_column(wit, M.MEMORY_TABLE, "is_real") == 1)] ^= 1
    _rejected(elf, alter)


def test_guest_exercises_every_fault_site(elf):
    """The faults above need these events; keep the guest honest about having them."""
    import vm
    from vm.executor import TRACE_COLUMNS
    ops = {int(op) for op in vm.trace(elf, PUBLIC, PRIVATE).chunks[0].rows[:, TRACE_COLUMNS.index("op")]}
    assert {OP["addu"], OP["mul"], OP["sb"], OP["lbu"], OP["syscall"]} <= ops
    assert ops & {OP["div"], OP["divu"]}


def test_exit_bound_to_the_last_cycle(elf):
    """The Syscall table's exit row must sit at the claim's last cycle: with any other
    cycle count its constraints fail (so no instruction after the exit can be proven, even
    when the CPU's last row is another syscall)."""
    from prover.air import ConstraintError, check_constraints

    seen = {}

    def fault(wit, claim):
        seen["trace"] = wit.traces[S.SYSCALL_TABLE].copy()
        seen["publics"] = list(wit.publics[S.SYSCALL_TABLE])
        return claim
    prove(elf, PUBLIC, PRIVATE, params=FAST, fault=fault)
    table = next(t for t in verifier_system().tables if t.name == S.SYSCALL_TABLE)
    check_constraints(table, seen["trace"], seen["publics"])
    cycles = S.PUBLICS.index("cycles")
    later = [*seen["publics"][:cycles], seen["publics"][cycles] + 1, *seen["publics"][cycles + 1:]]
    with pytest.raises(ConstraintError):
        check_constraints(table, seen["trace"], later)
