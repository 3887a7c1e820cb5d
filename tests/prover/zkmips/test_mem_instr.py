"""The MemInstr table: its numpy reference agrees with the VM on every load/store and
offset; honest memop tuples (computed by the VM) prove and verify; every kind of lie
about a load or store is rejected, for the reason the test names."""

from __future__ import annotations

import re

import numpy as np
import pytest

from prover.air import Table
from prover.field import P
from prover.zkmips.alu_words import TraceFiller
from prover.zkmips.mem_instr import MNEMONICS, OPS, TABLE_NAME, build_mem_instr, mem_instr_trace, memop_semantics
from prover.zkmips.spec import MEMOP_CANONICAL, MEMOP_OPS, send_memop
from tests.prover.zkmips.alua_harness import constraint_of, forge_rejected, unbalanced
from tests.prover.zkmips.alub_harness import RS, RT, Prover
from tests.vm.mips_asm import encode
from vm import Machine
from vm.errors import VMError
from vm.isa import ALIGN_MASK, OP
from vm.layout import FPR0, LLBIT

TABLE = build_mem_instr()
WORDS = ("rt", "mem_prev", "mem_new", "result")
FIELDS = ("op", "lo2", "llbit") + WORDS
BASE = 0x20000                  # the aligned word every instruction accesses
CODE = 0x1000
SLOW = pytest.mark.slow
LOADS = ("lb", "lbu", "lh", "lhu", "lw", "lwl", "lwr", "ll")
EDGE = (0, 0xFFFFFFFF, 0x80808080, 0x7F7F7F7F, 0x12345678, 0x80FF007F)


# -- the VM is the oracle ------------------------------------------------------------------
def vm_memop(m: Machine, mnemonic: str, lo2: int, rt: int, word: int, llbit: int = 0) -> tuple[int, int]:
    """Execute ``mnemonic $rt, lo2($rs)`` with ``rs = BASE`` on ``m``: (mem_new, result),
    ``result`` being rt's new value for loads and sc, 0 for the other stores (spec.py)."""
    m.set_reg(RS, BASE)
    m.set_reg(RT, rt)
    m.set_reg(LLBIT, llbit)
    m.write_word(BASE, word)
    m.write_word(CODE, encode(mnemonic, RT, lo2, RS))
    m.pc = CODE
    m.step(1)
    result = m.get_reg(RT) if mnemonic in LOADS or mnemonic == "sc" else 0
    return m.read_word(BASE), result


def vm_events(cases) -> dict[str, np.ndarray]:
    """Events for ``(mnemonic, lo2, rt, word, llbit)`` cases, mem_new/result from the VM."""
    m = Machine()
    ev: dict[str, list[int]] = {k: [] for k in FIELDS}
    for mn, lo2, rt, word, llbit in cases:
        new, res = vm_memop(m, mn, lo2, rt, word, llbit)
        for k, v in zip(FIELDS, (OP[mn], lo2, llbit, rt, word, new, res)):
            ev[k].append(v)
    return {k: np.array(v, dtype=np.int64) for k, v in ev.items()}


def aligned(mnemonic: str, lo2: int) -> bool:
    """The VM's own alignment rule."""
    return lo2 & int(ALIGN_MASK[OP[mnemonic]]) == 0


def all_cases(rng: np.random.Generator, per: int) -> list[tuple[str, int, int, int, int]]:
    """Every aligned (op, lo2), on edge words and ``per`` random (rt, word) pairs; sc with
    both LL bits."""
    out = []
    for mn in MNEMONICS:
        for lo2 in range(4):
            if not aligned(mn, lo2):
                continue
            pairs = [(EDGE[i], EDGE[-1 - i]) for i in range(len(EDGE))]
            pairs += [(int(a), int(b)) for a, b in rng.integers(0, 1 << 32, (per, 2))]
            for i, (rt, word) in enumerate(pairs):
                out.append((mn, lo2, rt, word, i & 1 if mn == "sc" else 0))
    return out


# -- the driver that plays the CPU ------------------------------------------------------------
def memop_driver() -> Table:
    """Sends (op, lo2, rt, mem_prev, mem_new, result, llbit) with multiplicity ``mult``."""
    t = Table("memop_driver")
    op, lo2, llbit, mult = t.mains("op", "lo2", "llbit", "mult")
    words = [[t.main(f"{w}{i}") for i in range(4)] for w in WORDS]
    send_memop(t, op, lo2, *words, llbit, mult)
    return t


DRIVER = memop_driver()


def memop_driver_trace(events) -> np.ndarray:
    f = TraceFiller(DRIVER, len(events["op"]))
    f["mult"] = 1
    for k in ("op", "lo2", "llbit"):
        f[k] = events[k]
    for w in WORDS:
        f.set_word(w, np.asarray(events[w]))
    return f.finish()


def traces_for(ev, check: bool = True) -> dict[str, np.ndarray]:
    return {TABLE_NAME: mem_instr_trace(ev, check=check), "memop_driver": memop_driver_trace(ev)}


@pytest.fixture(scope="module")
def prover():
    return Prover([TABLE, DRIVER])


@pytest.fixture(scope="module")
def small():
    """Every aligned (op, lo2) on two value pairs; sc with llbit 0 and 1."""
    ev = vm_events(all_cases(np.random.default_rng(5), 0)[::3]
                   + [(mn, lo2, 0x80FF017F, 0xA1B2C3D4 ^ (lo2 << 4), 1 if mn == "sc" else 0)
                      for mn in MNEMONICS for lo2 in range(4) if aligned(mn, lo2)])
    return ev, traces_for(ev)


def _row(ev, mnemonic: str, lo2: int, llbit: int | None = None, pred=None) -> int:
    hit = (ev["op"] == OP[mnemonic]) & (ev["lo2"] == lo2)
    if llbit is not None:
        hit &= ev["llbit"] == llbit
    if pred is not None:
        hit &= pred(ev)
    return int(np.nonzero(hit)[0][0])


def forged_events(ev, row: int, **values: int) -> dict[str, np.ndarray]:
    out = {k: v.copy() for k, v in ev.items()}
    for k, v in values.items():
        out[k][row] = v
    return out


def constraints_reading(table: Table, *columns: str, without: tuple[str, ...] = ()) -> str:
    """A regex for the debug checker's message naming a constraint that reads every one
    of ``columns`` and none of ``without`` (so a test names the constraint it breaks)."""
    leaf = lambda c: f"main[{table.main_names.index(c)}]"  # noqa: E731
    hits = [i for i, c in enumerate(table.constraints)
            if all(leaf(x) in repr(c) for x in columns) and not any(leaf(x) in repr(c) for x in without)]
    assert hits, f"no constraint of {table.name} reads {columns}"
    return rf"table {table.name}: constraint ({'|'.join(map(str, hits))}) "


def any_of(*regexes: str) -> str:
    return "|".join(f"(?:{r})" for r in regexes)


#: Every result/mem_new constraint reads mem_prev0 or rt0; the llbit ones read llbit.
NOT_A_RESULT = ("mem_prev0", "rt0", "llbit")
ALIGN_HALF = constraints_reading(TABLE, "is_lh", "is_sh", "p3", without=NOT_A_RESULT + ("is_lb",))
ALIGN_WORD = constraints_reading(TABLE, "is_lw", "is_sc", "p3", without=NOT_A_RESULT + ("is_lb",))
P0_BOOL = constraints_reading(TABLE, "p1", "p2", "p3", "is_lb", without=NOT_A_RESULT)
MEM_NEW = any_of(*(constraint_of(TABLE, f"mem_new{j}") for j in range(4)))
RESULT = any_of(*(constraint_of(TABLE, f"result{j}") for j in range(4)))


# -- the reference against the VM ------------------------------------------------------------------
def test_reference_agrees_with_the_vm():
    """~15000 random and edge cases: every op at every aligned offset (400 each), sc with both LL bits."""
    ev = vm_events(all_cases(np.random.default_rng(1), 400))
    assert len(ev["op"]) > 10000 and set(ev["op"]) == set(MEMOP_OPS)
    mem_new, result = memop_semantics(ev["op"], ev["lo2"], ev["rt"], ev["mem_prev"], ev["llbit"])
    for name, ours in (("mem_new", mem_new), ("result", result)):
        bad = np.nonzero(ours != ev[name])[0]
        assert not bad.size, f"{name} differs from the VM on {MNEMONICS[list(OPS.values()).index(ev['op'][bad[0]])]}"


@pytest.mark.parametrize("mnemonic", [m for m in MNEMONICS if not all(aligned(m, k) for k in range(4))])
def test_unaligned_accesses_fail_in_the_vm_and_the_reference(mnemonic):
    for lo2 in range(1, 4):
        if aligned(mnemonic, lo2):
            continue
        with pytest.raises(VMError):
            vm_memop(Machine(), mnemonic, lo2, 0x11223344, 0x55667788)
        with pytest.raises(ValueError, match="unaligned"):
            memop_semantics(np.array([OP[mnemonic]]), np.array([lo2]), np.array([1]), np.array([2]), np.array([0]))


def test_sc_without_the_ll_bit_in_the_vm():
    """The VM's sc with LLBIT = 0 leaves memory alone and returns 0 (the reference's rule)."""
    assert vm_memop(Machine(), "sc", 0, 0x11223344, 0x55667788, 0) == (0x55667788, 0)
    assert vm_memop(Machine(), "sc", 0, 0x11223344, 0x55667788, 1) == (0x11223344, 1)


@pytest.mark.parametrize("ft", [20, 21])
def test_ldc1_sdc1_are_two_word_moves_in_the_vm(ft):
    """What the CPU relies on when it sends ldc1/sdc1 as lw/sw (spec.MEMOP_CANONICAL): the
    first word moves like lw/sw at offset 0 between memory and the even FPR of the pair
    (ft & 30), the second word between addr + 4 and the odd FPR; the address must be
    8-aligned (the CPU's addr_q / 2 lookup), and an odd ft names the same pair."""
    assert MEMOP_CANONICAL[OP["ldc1"]] == OP["lw"] and MEMOP_CANONICAL[OP["sdc1"]] == OP["sw"]
    even = FPR0 + (ft & 30)
    m = Machine()
    m.set_reg(RS, BASE)
    m.write_word(BASE, 0x11223344)
    m.write_word(BASE + 4, 0x55667788)
    m.write_word(CODE, encode("ldc1", ft, 0, RS))
    m.pc = CODE
    m.step(1)
    assert (m.get_reg(even), m.get_reg(even + 1)) == (0x11223344, 0x55667788)
    m.set_reg(even, 0xA0B0C0D0)
    m.set_reg(even + 1, 0x0E0F1011)
    m.write_word(CODE, encode("sdc1", ft, 8, RS))
    m.pc = CODE
    m.step(1)
    assert (m.read_word(BASE + 8), m.read_word(BASE + 12)) == (0xA0B0C0D0, 0x0E0F1011)
    for mnemonic in ("ldc1", "sdc1"):
        m.write_word(CODE, encode(mnemonic, ft, 4, RS))
        m.pc = CODE
        with pytest.raises(VMError):
            m.step(1)


def test_builder_checks_the_events(small):
    ev, _ = small
    r = _row(ev, "lbu", 1)
    with pytest.raises(ValueError, match=f"row {r}: result"):
        mem_instr_trace(forged_events(ev, r, result=int(ev["result"][r]) ^ 1))
    with pytest.raises(ValueError, match="unaligned"):
        mem_instr_trace(forged_events(ev, _row(ev, "lw", 0), lo2=2))
    with pytest.raises(ValueError, match="operation id"):
        mem_instr_trace(forged_events(ev, r, op=OP["addu"]))
    with pytest.raises(ValueError, match="out of range"):
        mem_instr_trace(forged_events(ev, r, lo2=4))


def test_ops_map_matches_the_spec():
    assert set(OPS.values()) == set(MEMOP_OPS) and len(OPS) == len(MEMOP_OPS)
    # the AIR enforces byte (mask 0), halfword (1) and word (3) alignment only
    assert {int(ALIGN_MASK[op]) for op in MEMOP_OPS} == {0, 1, 3}


def test_shape():
    assert TABLE.degree <= 3
    assert all(i.value_degree <= 2 and i.multiplicity.degree <= 1 for i in TABLE.interactions)


# -- honest proofs -----------------------------------------------------------------------------------
def test_padding_rows_are_zero(small):
    ev, traces = small
    assert not traces[TABLE_NAME][len(ev["op"]):].any()


def test_honest_proof(prover, small):
    ev, traces = small
    prover.prove_verify(traces)


def test_honest_random_sweep_debug_checker(prover):
    """Every op and offset on 8 random pairs each (constraints and buses, no proof)."""
    prover.check(traces_for(vm_events(all_cases(np.random.default_rng(3), 8))))


# -- forgeries: one per kind of lie ------------------------------------------------------------------
def _forge(prover, small, reason: str, row: int, cells=(), **values: int) -> None:
    """Claim ``values`` for the event on ``row`` (both tables rebuilt unchecked), then
    overwrite table ``cells`` [(column, value)], and require rejection for ``reason``."""
    ev, honest = small
    forged = traces_for(forged_events(ev, row, **values), check=False)
    for col, value in cells:
        forged[TABLE_NAME] = forged[TABLE_NAME].copy()
        forged[TABLE_NAME][row, TABLE.main_names.index(col)] = value
    forge_rejected(prover, honest, reason, forged)


def test_wrong_loaded_byte(prover, small):
    ev, _ = small
    r = _row(ev, "lbu", 1)
    _forge(prover, small, constraint_of(TABLE, "result0"), r, result=int(ev["result"][r]) ^ 0x40)


@pytest.mark.parametrize("mnemonic", ["lb", pytest.param("lh", marks=SLOW)])
def test_wrong_sign_extension(prover, small, mnemonic):
    """A negative byte/half loaded zero-extended: the fill must be 255 * sign."""
    ev, _ = small
    r = _row(ev, mnemonic, 2, pred=lambda e: (e["result"] >> 31) == 1)
    width = 0xFF if mnemonic == "lb" else 0xFFFF
    _forge(prover, small, constraint_of(TABLE, "result1" if mnemonic == "lb" else "result2"), r,
           result=int(ev["result"][r]) & width)


def test_lying_sign_bit(prover, small):
    """Zero-extended lb result *and* sign = 0: the fill is consistent, the top-bit lookup is not."""
    ev, _ = small
    r = _row(ev, "lb", 3, pred=lambda e: (e["result"] >> 31) == 1)
    _forge(prover, small, unbalanced("byte"), r, result=int(ev["result"][r]) & 0xFF, cells=[("sign", 0)])


def test_sign_bit_that_is_no_bit(prover, small):
    """lb of a positive byte b with sign = 1/256: the lookup value 2b - 1 is a byte, the
    fill 255/256 (mod p) is not; only sign's boolean constraint stops it."""
    ev, honest = small
    r = _row(ev, "lb", 0, pred=lambda e: (e["result"] > 0) & (e["result"] < 0x80))
    s = pow(256, P - 2, P)
    cells = [(r, f"result{j}", 255 * s % P) for j in (1, 2, 3)]
    forge_rejected(prover, honest, constraint_of(TABLE, "sign"), mem_instr=cells + [(r, "sign", s)],
                   memop_driver=cells)


def test_lh_at_odd_offset(prover, small):
    """lh at lo2 = 1 with the halfword bytes 1..2 (what a naive selection would give)."""
    ev, _ = small
    r = _row(ev, "lh", 0)
    half = (int(ev["mem_prev"][r]) >> 8) & 0xFFFF
    _forge(prover, small, ALIGN_HALF, r, lo2=1, result=(half ^ 0x8000) - 0x8000 & 0xFFFFFFFF)


def test_lw_at_offset_two(prover, small):
    ev, _ = small
    _forge(prover, small, ALIGN_WORD, _row(ev, "lw", 0), lo2=2)


def test_sb_writes_the_wrong_position(prover, small):
    """sb at lo2 = 1 that writes rt's low byte into byte 2."""
    ev, _ = small
    r = _row(ev, "sb", 1)
    prev, rt = int(ev["mem_prev"][r]), int(ev["rt"][r])
    _forge(prover, small, MEM_NEW, r, mem_new=(prev & ~0xFF0000) | ((rt & 0xFF) << 16))


@pytest.mark.parametrize("mnemonic, other", [("swl", "swr"), ("swr", "swl"),
                                             pytest.param("lwl", "lwr", marks=SLOW)])
def test_merge_of_the_other_kind(prover, small, mnemonic, other):
    """swl claiming swr's merge at the same offset (and the converse; lwl with lwr's)."""
    ev, _ = small
    r = _row(ev, mnemonic, 1)
    new, res = memop_semantics(np.array([OP[other]]), ev["lo2"][r:r + 1], ev["rt"][r:r + 1],
                               ev["mem_prev"][r:r + 1], np.array([0]))
    if mnemonic.startswith("s"):
        _forge(prover, small, MEM_NEW, r, mem_new=int(new[0]))
    else:
        _forge(prover, small, RESULT, r, result=int(res[0]))


@SLOW
def test_swl_merge_off_by_one(prover, small):
    ev, _ = small
    r = _row(ev, "swl", 2)
    new, _ = memop_semantics(np.array([OP["swl"]]), np.array([1]), ev["rt"][r:r + 1], ev["mem_prev"][r:r + 1],
                             np.array([0]))
    _forge(prover, small, MEM_NEW, r, mem_new=int(new[0]))


def test_sc_without_ll_bit_writes_memory(prover, small):
    ev, _ = small
    r = _row(ev, "sc", 0, llbit=0)
    _forge(prover, small, MEM_NEW, r, mem_new=int(ev["rt"][r]))


def test_sc_with_ll_bit_reports_failure(prover, small):
    ev, _ = small
    r = _row(ev, "sc", 0, llbit=1)
    _forge(prover, small, constraint_of(TABLE, "result0"), r, result=0)


def test_ll_bit_on_a_load(prover, small):
    ev, _ = small
    r = _row(ev, "lw", 0)
    _forge(prover, small, constraints_reading(TABLE, "llbit", "is_sc", without=("rt0",)), r, llbit=1)


def test_non_byte_limb_in_mem_new(prover, small):
    """sw with mem_new0 + 256 and mem_new1 - 1: the same integer, a limb that is no byte."""
    ev, _ = small
    r = _row(ev, "sw", 0, pred=lambda e: ((e["mem_new"] >> 8) & 0xFF) > 0)
    new = int(ev["mem_new"][r])
    cells = [(r, "mem_new0", (new & 0xFF) + 256), (r, "mem_new1", ((new >> 8) & 0xFF) - 1)]
    forge_rejected(prover, small[1], constraint_of(TABLE, "mem_new0"), mem_instr=cells, memop_driver=cells)


def test_lo2_four(prover, small):
    """lo2 = 4 sent as flags p1 = p3 = 1 (1 + 3 = 4): p0 = 1 - 2 is no boolean."""
    ev, _ = small
    r = _row(ev, "sb", 0)
    _forge(prover, small, P0_BOOL, r, lo2=4, cells=[("p1", 1), ("p3", 1)])


@SLOW
def test_lo2_four_as_a_scaled_flag(prover, small):
    """lo2 = 4 as p2 = 2 (p2's own boolean fails too; p0 = 1 - 2 is checked first)."""
    ev, _ = small
    r = _row(ev, "sb", 0)
    _forge(prover, small, P0_BOOL, r, lo2=4, cells=[("p2", 2)])


def test_op_outside_the_table(prover, small):
    ev, honest = small
    driver = honest["memop_driver"].copy()
    driver[_row(ev, "lw", 0), DRIVER.main_names.index("op")] = OP["addu"]
    forge_rejected(prover, honest, unbalanced("memop"), {**honest, "memop_driver": driver})


def test_padding_row_receiving_an_unsent_tuple(prover, small):
    ev, honest = small
    t = honest[TABLE_NAME].copy()
    t[len(ev["op"]), TABLE.main_names.index("is_lw")] = 1
    forge_rejected(prover, honest, unbalanced("memop"), {**honest, TABLE_NAME: t})


def test_reason_regexes_are_specific():
    """The alignment and flag regexes each name exactly one constraint."""
    for r in (ALIGN_HALF, ALIGN_WORD, P0_BOOL):
        assert re.fullmatch(r"table mem_instr: constraint \(\d+\) ", r), r
