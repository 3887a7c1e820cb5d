"""The CPU table with every table it feeds: a whole (bare) guest execution proven."""

from __future__ import annotations

import re

import numpy as np
import pytest

from prover import stark
from prover.air import System, check_buses, check_constraints
from prover.errors import VerificationError
from prover.field import P
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import cpu as C
from prover.zkmips import machine as MC
from vm.isa import OP
from tests.prover.zkmips.alua_harness import constraint_of
from tests.prover.zkmips.cpu_harness import BareRun, ExecutionProver, bare_elf


@pytest.fixture(scope="module")
def bare_o2(tmp_path_factory):
    return BareRun(bare_elf("O2", str(tmp_path_factory.mktemp("bare"))))


def test_cpu_degree_and_width():
    t = C.build_cpu()
    assert t.degree <= 3
    assert t.width < 200


@pytest.mark.parametrize("opt", ["O0", "O2", "Os", "O3"])
def test_honest_run_satisfies_every_constraint_and_bus(opt, tmp_path_factory):
    """Every optimisation level (each makes gcc pick other instructions)."""
    run = BareRun(bare_elf(opt, str(tmp_path_factory.mktemp(f"bare-{opt}"))))
    assert run.result.exit_code == 61           # what qemu-mipsel gives
    w = run.witness()
    full = MC.with_lookups(run.tables, w.traces, w.publics)
    for t in run.tables:
        check_constraints(t, full[t.name], w.publics.get(t.name, ()))
    check_buses(System(run.tables), full, w.publics)


@pytest.fixture(scope="module")
def prover(bare_o2):
    return ExecutionProver(bare_o2, FAST)


def test_whole_execution_proves_and_verifies(prover):
    prover.prove_verify(prover.honest.traces)


# -- forgeries: each changes what the execution claims, bypassing the witness builder ---------
def _row(prover: ExecutionProver, **fields: int) -> int:
    """The first executed row whose control word has the given field values."""
    f = prover.honest.cpu.fields
    mask = np.ones(f["pc"].size, dtype=bool)
    for name, value in fields.items():
        mask &= f[name] == value
    assert mask.any(), fields
    return int(np.argmax(mask))


def _forged(prover: ExecutionProver, edits: list[tuple[int, str, int]]) -> dict[str, np.ndarray]:
    t = next(t for t in prover.run.tables if t.name == C.TABLE_NAME)
    cpu = prover.honest.traces[C.TABLE_NAME].copy()
    for row, column, value in edits:
        cpu[row, t.main_names.index(column)] = value % P
    return {**prover.honest.traces, C.TABLE_NAME: cpu}


def _rejected(prover: ExecutionProver, forged: dict[str, np.ndarray], reason: str,
              publics: dict[str, list[int]] | None = None) -> None:
    message = prover.what_fails(forged, publics)
    assert re.search(reason, message), f"forgery fails for another reason: {message!r}"
    with pytest.raises(VerificationError):
        prover.prove_verify(forged, publics, check=False)


def _cell(prover: ExecutionProver, row: int, column: str) -> int:
    t = next(t for t in prover.run.tables if t.name == C.TABLE_NAME)
    return int(prover.honest.traces[C.TABLE_NAME][row, t.main_names.index(column)])


def test_a_wrong_alu_result_is_rejected(prover):
    r = _row(prover, is_alu=1, alu_op=OP["addu"], write_d=1)
    _rejected(prover, _forged(prover, [(r, "d0", _cell(prover, r, "d0") ^ 1)]), "bus '(alu|mem)' unbalanced")


def test_fetching_another_operation_is_rejected(prover):
    r = _row(prover, is_alu=1, alu_op=OP["addu"])
    _rejected(prover, _forged(prover, [(r, "alu_op", OP["subu"])]), "bus '(program|alu)' unbalanced")


def test_a_register_read_returning_another_value_is_rejected(prover):
    r = _row(prover, read_a=1, is_alu=1)
    value = _cell(prover, r, "a0") ^ 4
    edits = [(r, "a0", value), (r, "acc_a_prev0", value)]
    if _cell(prover, r, "x_is_b") == 0:
        edits.append((r, "x0", value))
    forged = _forged(prover, edits)
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    _rejected(prover, forged, "bus '(mem|alu)' unbalanced")


def _recompute_comparisons(prover: ExecutionProver, cpu: np.ndarray, r: int) -> None:
    """Refill row ``r``'s comparison witnesses from its (forged) words, as a cheating
    prover would, so that only the lie under test is left to catch."""
    col = next(t for t in prover.run.tables if t.name == C.TABLE_NAME).main_names.index
    a = [int(cpu[r, col(f"a{i}")]) for i in range(4)]
    y = [int(cpu[r, col(f"y{i}")]) for i in range(4)]
    diff_sq, a_sum = sum((u - v) ** 2 for u, v in zip(a, y)), sum(a)
    for flag, inv, v in (("eq", "eq_inv", diff_sq), ("a_zero", "a_inv", a_sum)):
        cpu[r, col(flag)] = int(v == 0)
        cpu[r, col(inv)] = pow(v, P - 2, P) if v else 0


def test_a_load_returning_another_value_is_rejected(prover):
    r = _row(prover, is_mem=1, memop=OP["lw"], write_d=1)
    _rejected(prover, _forged(prover, [(r, "d1", _cell(prover, r, "d1") ^ 0x10)]), "bus '(memop|mem)' unbalanced")


def test_a_store_writing_another_word_is_rejected(prover):
    r = _row(prover, is_mem=1, memop=OP["sw"])
    _rejected(prover, _forged(prover, [(r, "mem0", _cell(prover, r, "mem0") ^ 0x80)]), "bus '(memop|mem)' unbalanced")


def test_a_branch_going_the_other_way_is_rejected(prover):
    r = _row(prover, br_ne=1)
    taken = _cell(prover, r, "taken")
    _rejected(prover, _forged(prover, [(r, "taken", 1 - taken)]), rf"table cpu: constraint")


def test_jumping_elsewhere_is_rejected(prover):
    """The row after a jump claims another pc than the target: control flow or fetch fails."""
    r = _row(prover, jump_reg=1)
    _rejected(prover, _forged(prover, [(r + 1, "next_pc", _cell(prover, r + 1, "next_pc") + 4)]),
              r"table cpu: constraint|bus 'program' unbalanced")


def test_claiming_another_cycle_count_is_rejected(prover):
    publics = {**prover.honest.publics}
    publics[C.TABLE_NAME] = [*publics[C.TABLE_NAME][:2], publics[C.TABLE_NAME][2] - 1]
    _rejected(prover, prover.honest.traces, r"table cpu: constraint", publics)


def test_stopping_before_the_exit_is_rejected(prover):
    """Dropping the last real row (the exit syscall) leaves a run that never halts."""
    cpu = prover.honest.traces[C.TABLE_NAME].copy()
    n = int(cpu[:, 0].sum())
    cpu[n - 1] = 0
    cpu[n - 1, 1] = n                                       # keep the clk column counting
    publics = {**prover.honest.publics}
    publics[C.TABLE_NAME] = [*publics[C.TABLE_NAME][:2], n - 1]
    _rejected(prover, {**prover.honest.traces, C.TABLE_NAME: cpu}, r"table cpu: constraint|unbalanced", publics)


CPU = C.build_cpu()


def _flipped(prover: ExecutionProver, row: int, column: str, mask: int = 1) -> dict[str, np.ndarray]:
    return _forged(prover, [(row, column, _cell(prover, row, column) ^ mask)])


@pytest.mark.parametrize("kind", ["is_movz", "is_movn"])
def test_a_conditional_move_with_another_result_is_rejected(prover, kind):
    r = _row(prover, **{kind: 1, "write_d": 1})
    _rejected(prover, _flipped(prover, r, "d0"), constraint_of(CPU, kind))


def test_moving_another_value_from_hi_is_rejected(prover):
    r = _row(prover, d_from_hi=1, write_d=1)
    _rejected(prover, _flipped(prover, r, "d0"), constraint_of(CPU, "d_from_hi"))


def test_moving_another_value_to_hi_is_rejected(prover):
    r = _row(prover, hi_from_a=1)
    _rejected(prover, _flipped(prover, r, "hi0"), constraint_of(CPU, "hi_from_a"))


def test_a_call_linking_another_return_address_is_rejected(prover):
    r = _row(prover, link=1, jump_static=1)
    _rejected(prover, _flipped(prover, r, "d0", 4), constraint_of(CPU, "link"))


def test_a_trap_that_fires_is_rejected(prover):
    """teq (gcc's divide-by-zero check) with the divisor claimed 0: the trap would fire."""
    r = _row(prover, trap_eq=1)
    zero_a = [(r, f"{w}{i}", 0) for w in ("a", "x", "acc_a_prev") for i in range(4)]
    forged = _forged(prover, zero_a)
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    _rejected(prover, forged, constraint_of(CPU, "trap_eq"))


def test_a_value_in_an_unused_slot_is_rejected(prover):
    """lui reads no register: its a slot must hold 0 (no constraint may read a free value)."""
    r = _row(prover, move_imm=1, read_a=0)
    forged = _forged(prover, [(r, "a0", 5), (r, "acc_a_prev0", 5)])
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    _rejected(prover, forged, constraint_of(CPU, "read_a"))


def test_a_padding_row_accessing_memory_is_rejected(prover):
    n = prover.honest.cpu.rows
    _rejected(prover, _forged(prover, [(n, "is_mem", 1)]), constraint_of(CPU, "is_mem"))


def test_starting_elsewhere_is_rejected(prover):
    publics = {**prover.honest.publics}
    start_pc, start_npc, cycles = publics[C.TABLE_NAME]
    publics[C.TABLE_NAME] = [start_pc + 4, start_npc + 4, cycles]
    _rejected(prover, prover.honest.traces, constraint_of(CPU, "pc"), publics)


def test_a_load_from_another_word_is_rejected(prover):
    """The key moves to the next word with the address split kept consistent: the
    address no longer is rs + imm."""
    f = prover.honest.cpu.fields
    addr0 = prover.honest.cpu.words["addr"] & 0xFF
    r = int(np.argmax((f["memop"] == OP["lw"]) & (f["is_mem"] == 1) & (addr0 < 252)))
    forged = _forged(prover, [(r, "addr_q", _cell(prover, r, "addr_q") + 1), (r, "addr0", _cell(prover, r, "addr0") + 4)])
    _rejected(prover, forged, "bus '(alu|mem)' unbalanced")
