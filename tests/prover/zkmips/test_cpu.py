"""The CPU table with every table it feeds: a whole (bare) guest execution proven."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from prover import stark
from prover.air import check_buses, check_constraints
from prover.errors import VerificationError
from prover.field import P
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips import add_sub, lt, mem_instr
from prover.zkmips import boundary as B
from prover.zkmips import cpu as C
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import syscall as S
from prover.zkmips import witness as W
from prover.zkmips.spec import REGISTER_KEY_BASE
from vm.layout import NPC as NPC_INDEX
from vm.layout import PC as PC_INDEX
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
    check_buses(MC.build_system(run.tables), full, w.publics)


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
    r = _row(prover, is_mem=1, memop=OP["lw"], write_d=1, is_dbl=0)
    _rejected(prover, _forged(prover, [(r, "d1", _cell(prover, r, "d1") ^ 0x10)]), "bus '(memop|mem)' unbalanced")


def test_a_store_writing_another_word_is_rejected(prover):
    r = _row(prover, is_mem=1, memop=OP["sw"], is_dbl=0)
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
    publics[C.TABLE_NAME] = [publics[C.TABLE_NAME][C.PUBLICS.index("cycles")] - 1]
    _rejected(prover, prover.honest.traces, r"table cpu: constraint", publics)


def test_stopping_before_the_exit_is_rejected(prover):
    """Dropping the last real row (the exit syscall) leaves a run that never halts. The
    witness builder makes every trace of that shorter run consistent (it is a valid
    segment that does not hold the exit: the Syscall table's ``final`` public is 0); a
    whole run's claim says ``final`` = 1, and the count of exit rows (0) must end at it."""
    run = prover.run
    rows = run.rows[:-1]
    wit = MC.execution_witness(rows, run.program_rows, run.image, run.io)
    col = {n: i for i, n in enumerate(C.build_cpu().main_names)}
    cpu, n = wit.traces[C.TABLE_NAME], rows.shape[0]
    assert wit.publics[C.TABLE_NAME] == [n] and cpu[n - 1, col["is_last"]] == 1
    assert (cpu[n - 1, col["end_pc"]], cpu[n - 1, col["end_npc"]]) == \
        tuple(int(run.rows[-1, W.COL[k]]) for k in ("pc", "next_pc"))           # the dropped exit's state
    pv = wit.publics[S.SYSCALL_TABLE]
    final = S.PUBLICS.index("final")
    assert pv[S.PUBLICS.index("cycles")] == n and pv[final] == 0
    publics = {**wit.publics, S.SYSCALL_TABLE: [*pv[:final], 1, *pv[final + 1:]]}
    _rejected(prover, wit.traces, r"table syscall: constraint", publics)


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


@pytest.fixture(scope="module")
def elsewhere(bare_o2):
    """The bare run against an image whose PC/NPC cells say the program starts one
    instruction later (the image, with its entry, is what the image id binds): its own
    proving key, and the witness of the real run (from the entry) built unchecked."""
    image = bare_o2.image
    pc, npc = (int(np.argmax(image.keys == REGISTER_KEY_BASE + r)) for r in (PC_INDEX, NPC_INDEX))
    values = image.values.copy()
    values[pc] += 4
    values[npc] += 4
    run = copy.copy(bare_o2)
    run.image = M.MemoryImage(image.keys, values)
    run.tables = MC.build_tables(run.program_rows, run.image)
    return ExecutionProver(run, FAST, run.witness(check=False))


def test_starting_elsewhere_is_rejected(elsewhere):
    """The CPU runs from the entry while the image's PC cell says entry + 4. Built as the
    witness builder does, the Boundary table's read of the PC cell returns the entry but
    the cell holds entry + 4: its read constraint fails. A Boundary that reads honestly
    (entry + 4), and whose end write receives what it read, hands the CPU another first
    pc than its first row's: only the boundary bus is off."""
    entry = int(elsewhere.run.rows[0, W.COL["pc"]])
    _rejected(elsewhere, elsewhere.honest.traces, constraint_of(B.build_boundary(), "acc_pc0_prev0"))
    bnd = elsewhere.honest.traces[B.TABLE_NAME].copy()
    names = B.build_boundary().main_names
    for word, end, value in (("pc0", "pc1", entry + 4), ("npc0", "npc1", entry + 8)):
        for j in range(4):
            limb = (value >> (8 * j)) & 0xFF
            for column in (f"{word}_{j}", f"acc_{word}_prev{j}", f"acc_{end}_prev{j}"):
                bnd[0, names.index(column)] = limb
    _rejected(elsewhere, {**elsewhere.honest.traces, B.TABLE_NAME: bnd}, r"bus 'boundary' unbalanced")


def test_a_load_from_another_word_is_rejected(prover):
    """The key moves to the next word with the address split kept consistent: the
    address no longer is rs + imm."""
    f = prover.honest.cpu.fields
    addr0 = prover.honest.cpu.words["addr"] & 0xFF
    r = int(np.argmax((f["memop"] == OP["lw"]) & (f["is_mem"] == 1) & (f["is_dbl"] == 0) & (addr0 < 252)))
    forged = _forged(prover, [(r, "addr_q", _cell(prover, r, "addr_q") + 1),
                              (r, "addr0", _cell(prover, r, "addr0") + 4)])
    _rejected(prover, forged, "bus '(alu|mem)' unbalanced")


# -- paths the bare guest's inline asm exercises (kernel.c: fpu_moves, traps, ll_sc) ----------
SLOW = pytest.mark.slow
MASK32 = 0xFFFFFFFF


def _op_row(prover: ExecutionProver, mnemonic: str, **fields: int) -> int:
    return _row(prover, op=OP[mnemonic], **fields)


def _word_edits(row: int, columns: tuple[str, ...], value: int) -> list[tuple[int, str, int]]:
    return [(row, f"{c}{i}", (value >> (8 * i)) & 0xFF) for c in columns for i in range(4)]


def _event_index(prover: ExecutionProver, row: int, kind: str) -> int:
    """Where CPU row ``row``'s ``kind`` send (``alu``, ``mem``: its address, ``trap``)
    sits among the honest ``alu`` sends (witness.table_events' order)."""
    f = prover.honest.cpu.fields
    offset = 0
    for group, flag in (("alu", "is_alu"), ("mem", "is_mem"), ("trap", "trap_cmp")):
        rows = np.nonzero(f[flag] == 1)[0]
        if group == kind:
            assert row in rows, (row, kind)
            return offset + int(np.searchsorted(rows, row))
        offset += rows.size
    raise AssertionError(kind)


def _alu_table_retraced(prover: ExecutionProver, module, row: int, kind: str, **changes: int) -> dict[str, np.ndarray]:
    """The ALU table ``module`` (add_sub, lt) rebuilt from the honest sends with row
    ``row``'s send changed, as a cheating prover would fill it (its constraints judge it)."""
    alu = {k: v.copy() for k, v in prover.honest.sends["alu"].items()}
    i = _event_index(prover, row, kind)
    for k, v in changes.items():
        alu[k][i] = v
    mask = np.isin(alu["op"], list(module.OPS.values()))
    build = {add_sub.TABLE_NAME: add_sub.add_sub_trace, lt.TABLE_NAME: lt.lt_trace}[module.TABLE_NAME]
    return {module.TABLE_NAME: build({k: v[mask] for k, v in alu.items()})}


def _mem_instr_retraced(prover: ExecutionProver, row: int, **changes: int) -> dict[str, np.ndarray]:
    """The MemInstr trace with row ``row``'s memop tuple changed (built unchecked)."""
    ev = {k: v.copy() for k, v in prover.honest.sends["memop"].items()}
    i = int(np.searchsorted(np.nonzero(prover.honest.cpu.fields["is_mem"] == 1)[0], row))
    for k, v in changes.items():
        ev[k][i] = v
    return {mem_instr.TABLE_NAME: mem_instr.mem_instr_trace(ev, check=False)}


def test_the_bare_guest_runs_every_cpu_path(prover):
    """The honest proof covers ldc1/sdc1 (with a non-zero second word), ll, an sc that
    succeeds and one that fails, every conditional trap and every FPU/TLS move."""
    f, w = prover.honest.cpu.fields, prover.honest.cpu.words
    ran = {isa_name for isa_name, op in OP.items() if (f["op"] == op).any()}
    wanted = {"ldc1", "sdc1", "ll", "sc", "tge", "tgeu", "tlt", "tltu", "teq", "tne", "tgei", "tgeiu", "tlti",
              "tltiu", "teqi", "tnei", "mfc1", "mtc1", "mfhc1", "mthc1", "cfc1", "ctc1", "rdhwr"}
    assert wanted <= ran, wanted - ran
    for m in ("ldc1", "sdc1"):
        assert (w["e"][f["op"] == OP[m]] != 0).any(), m
    assert set(w["d"][f["is_sc"] == 1].tolist()) == {0, 1}
    assert (f["jump_reg"] == 1).any() and (f["read_a"][f["op"] == OP["rdhwr"]] == 1).all()


# ldc1/sdc1
def test_an_ldc1_loading_another_second_word_is_rejected(prover):
    """The second word read (and written to the odd FPR) is not what memory holds at addr + 4."""
    r = _op_row(prover, "ldc1")
    value = _cell(prover, r, "e0") ^ 1
    _rejected(prover, _forged(prover, [(r, "e0", value), (r, "acc_mem2_prev0", value)]), "bus 'mem' unbalanced")


def test_an_sdc1_storing_another_second_word_is_rejected(prover):
    """The word stored at addr + 4 is not the odd FPR's value."""
    r = _op_row(prover, "sdc1")
    value = _cell(prover, r, "e1") ^ 0x40
    _rejected(prover, _forged(prover, [(r, "e1", value), (r, "acc_odd_prev1", value)]), "bus 'mem' unbalanced")


def test_an_ldc1_writing_another_register_pair_is_rejected(prover):
    """The second word goes to another odd FPR than the instruction names."""
    r = _op_row(prover, "ldc1")
    _rejected(prover, _forged(prover, [(r, "key_e", _cell(prover, r, "key_e") + 2)]), "bus 'program' unbalanced")


def test_an_sdc1_storing_to_another_double_is_rejected(prover):
    """Both words go 8 bytes further (still 8-aligned): the address is no longer base + offset."""
    f, w = prover.honest.cpu.fields, prover.honest.cpu.words
    r = int(np.argmax((f["op"] == OP["sdc1"]) & ((w["addr"] & 0xFF) < 248)))
    assert f["op"][r] == OP["sdc1"]
    edits = [(r, "addr_q", _cell(prover, r, "addr_q") + 2), (r, "addr0", _cell(prover, r, "addr0") + 8)]
    _rejected(prover, _forged(prover, edits), "bus '(alu|mem)' unbalanced")


def test_a_double_at_an_address_that_is_not_8_aligned_is_rejected(prover):
    """The base register claimed 4 higher, so that base + offset (AddSub rebuilt to agree)
    is 4-aligned only: lw/sw accept the first word, and the row's own constraints hold; the
    alignment lookup (addr_q / 2 a byte) objects. (The register read and the moved accesses
    also break the memory argument; the debug checker names the lookup first.)"""
    f, w = prover.honest.cpu.fields, prover.honest.cpu.words
    r = int(np.argmax((f["op"] == OP["sdc1"]) & ((w["addr"] & 0xFF) < 248) & ((w["a"] & 0xFF) < 252)))
    assert f["op"][r] == OP["sdc1"]
    a, addr = int(w["a"][r]) + 4, int(w["addr"][r]) + 4
    edits = _word_edits(r, ("a", "x", "acc_a_prev"), a) + _word_edits(r, ("addr",), addr)
    edits.append((r, "addr_q", _cell(prover, r, "addr_q") + 1))
    forged = _forged(prover, edits)
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    forged.update(_alu_table_retraced(prover, add_sub, r, "mem", a=a, c=addr))
    _rejected(prover, forged, "bus 'byte' unbalanced")


# ll/sc and the LL bit
def test_an_sc_succeeding_without_the_ll_bit_is_rejected(prover):
    """The failing sc (no ll since the last sc) claims the LL bit was set: it stores rt and
    returns 1, with a MemInstr row that agrees. The LL bit cell held 0."""
    f, w = prover.honest.cpu.fields, prover.honest.cpu.words
    r = int(np.argmax((f["is_sc"] == 1) & (w["d"] == 0)))
    assert f["is_sc"][r] == 1 and w["d"][r] == 0 and _cell(prover, r, "acc_sys_prev0") == 0
    rt = int(w["b"][r])
    forged = _forged(prover, [(r, "acc_sys_prev0", 1), (r, "d0", 1)] + _word_edits(r, ("mem",), rt))
    forged.update(_mem_instr_retraced(prover, r, llbit=1, result=1, mem_new=rt))
    assert prover.what_fails({**prover.honest.traces, **_mem_instr_retraced(prover, r)}) == ""
    _rejected(prover, forged, "bus 'mem' unbalanced")


def test_an_ll_that_does_not_set_the_ll_bit_is_rejected(prover):
    r = _op_row(prover, "ll")
    assert _cell(prover, r, "sys_val") == 1
    _rejected(prover, _forged(prover, [(r, "sys_val", 0)]), "bus 'program' unbalanced")


# traps: a trap whose condition holds stops the VM, so no proof may continue past it
def _fires(mnemonic: str, a: int, y: int) -> bool:
    s = lambda v: v - (1 << 32) if v >> 31 else v  # noqa: E731
    kind = mnemonic[:-1] if mnemonic.endswith("i") else mnemonic.replace("iu", "u")
    return {"teq": a == y, "tne": a != y, "tge": s(a) >= s(y), "tgeu": a >= y, "tlt": s(a) < s(y),
            "tltu": a < y}[kind]


def _firing_operand(mnemonic: str, y: int) -> int:
    if mnemonic.startswith(("tge", "teq")):
        return y
    if mnemonic.startswith("tne"):
        return y ^ 1
    return 0 if "u" in mnemonic else 0x80000000          # tlt(u)(i): the smallest a


@pytest.mark.parametrize("mnemonic", ["tge", "tltiu", pytest.param("tltu", marks=SLOW), pytest.param("tgei", marks=SLOW),
                                      pytest.param("tgeu", marks=SLOW),
                                      pytest.param("tlt", marks=SLOW), pytest.param("tgeiu", marks=SLOW),
                                      pytest.param("tlti", marks=SLOW)])
def test_a_compare_trap_that_fires_is_rejected(prover, mnemonic):
    """rs claimed to hold a value for which the trap fires; the comparison the CPU sends
    then is false, and the Lt table cannot prove it."""
    r = _op_row(prover, mnemonic)
    y = int(prover.honest.cpu.words["y"][r])
    a = _firing_operand(mnemonic, y)
    assert _fires(mnemonic, a, y) and not _fires(mnemonic, int(prover.honest.cpu.words["a"][r]), y)
    forged = _forged(prover, _word_edits(r, ("a", "x", "acc_a_prev"), a))
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    forged.update(_alu_table_retraced(prover, lt, r, "trap", a=a))
    _rejected(prover, forged, r"table lt: constraint")


@pytest.mark.parametrize("mnemonic, kind", [("tne", "trap_ne"), pytest.param("tnei", "trap_ne", marks=SLOW),
                                            ("teqi", "trap_eq")])
def test_an_equality_trap_that_fires_is_rejected(prover, mnemonic, kind):
    r = _op_row(prover, mnemonic)
    y = int(prover.honest.cpu.words["y"][r])
    a = _firing_operand(mnemonic, y)
    assert _fires(mnemonic, a, y)
    forged = _forged(prover, _word_edits(r, ("a", "x", "acc_a_prev"), a))
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    _rejected(prover, forged, constraint_of(CPU, kind))


# FPU and TLS moves
@pytest.mark.parametrize("mnemonic, fields, kind", [
    ("mfc1", {}, "move_a"), ("mtc1", {}, "move_b"), ("cfc1", {"read_a": 1}, "move_a"),
    ("rdhwr", {}, "move_a"), pytest.param("mfhc1", {}, "move_a", marks=SLOW),
    pytest.param("mthc1", {}, "move_b", marks=SLOW), pytest.param("ctc1", {}, "move_b", marks=SLOW),
    pytest.param("cfc1", {"move_imm": 1}, "move_imm", marks=SLOW)])
def test_an_fpu_or_tls_move_of_another_value_is_rejected(prover, mnemonic, fields, kind):
    """The moved value (the destination: a GPR for mfc1/mfhc1/cfc1/rdhwr $29, an FPR or
    FCSR for mtc1/mthc1/ctc1) differs from the source."""
    r = _op_row(prover, mnemonic, write_d=1, **fields)
    assert _cell(prover, r, kind) == 1
    _rejected(prover, _flipped(prover, r, "d0"), constraint_of(CPU, kind))


# the bound that keeps a jump-register target below p
def test_a_jump_register_target_above_the_field_is_rejected(prover):
    """rs claimed to be target + p: its field value is the honest target, so pc/next_pc
    and every constraint still agree; the bound top limb < 0x78 (a byte lookup) says the
    VM would jump to a 32-bit value that is no pc of the run. (The register read lies as
    well, which the memory argument also catches; the debug checker names the lookup.)"""
    r = _row(prover, jump_reg=1)
    target = int(prover.honest.cpu.words["a"][r])
    a = target + P
    assert a <= MASK32 and a >> 24 >= C.TOP_LIMB_LIMIT
    forged = _forged(prover, _word_edits(r, ("a", "x", "acc_a_prev"), a))
    _recompute_comparisons(prover, forged[C.TABLE_NAME], r)
    _rejected(prover, forged, "bus 'byte' unbalanced")


# the second word of ldc1/sdc1 is not in the VM's trace rows: the witness replays it
DOUBLE_FROM_DATA = r"""
typedef unsigned int u32;
static const u32 konst[2] __attribute__((aligned(8))) = {0x11223344u, 0x55667788u};
void __start(void) {
    u32 hi;
    __asm__ volatile("ldc1 $f20, 0(%1)\n\tmfhc1 %0, $f20" : "=r"(hi) : "r"(konst) : "$f20");
    register int a0 __asm__("$4") = (int)(hi & 0x7F);
    register int v0 __asm__("$2") = 4001;
    __asm__ volatile("syscall" : : "r"(a0), "r"(v0));
    __builtin_unreachable();
}
"""


def test_the_second_word_of_a_double_comes_from_the_run_or_the_image(compile_c, prover):
    """In the bare guest every second word is one an earlier access shows (sdc1 then
    ldc1, FPU registers starting at 0); an ldc1 of initialised data needs the image, and
    says so when it is not given."""
    from prover.zkmips import program as P
    import vm

    program = vm.load_elf(compile_c(DOUBLE_FROM_DATA, "-O2", ("-nostdlib", "-mno-abicalls", "-fno-pic",
                                                                 "-ffreestanding")).read_bytes())
    tr = vm.trace(program)
    assert tr.result.exit_code == 0x08
    rows, program_rows = np.concatenate([c.rows for c in tr.chunks]), P.program_rows(program)
    with pytest.raises(ValueError, match=r"ldc1 at pc 0x[0-9a-f]+: its second word .* pass the memory image"):
        W.cpu_events(rows, program_rows)
    ev = W.cpu_events(rows, program_rows, image=M.memory_image(program))
    assert ev.words["e"][ev.fields["op"] == OP["ldc1"]].tolist() == [0x55667788]
    honest = prover.honest.cpu
    replayed = W.cpu_events(prover.run.rows, prover.run.program_rows, image=prover.run.image)
    assert np.array_equal(replayed.words["e"], honest.words["e"])


def test_a_link_above_the_field_is_rejected(prover):
    """jal links pc + 8 + p: equal to pc + 8 in the field and made of bytes, so only the
    bound top limb < 0x78 stands between it and a return address the VM never wrote."""
    r = _row(prover, link=1, jump_static=1)
    value = int(prover.honest.cpu.words["d"][r]) + P
    assert value <= MASK32 and value >> 24 >= C.TOP_LIMB_LIMIT
    _rejected(prover, _forged(prover, _word_edits(r, ("d",), value)), "bus 'byte' unbalanced")
