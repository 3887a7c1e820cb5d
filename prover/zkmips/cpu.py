"""The CPU table: one row per executed instruction, tying every other zkMIPS table together.

Each real row

* fetches its control word from the Program table (``program`` bus): the operation's
  flags, the cells its operand slots use, its immediate and static target. The CPU never
  decodes an instruction itself, so it cannot decode one differently from the ELF;
* makes its register and memory accesses through the offline memory argument
  (:func:`prover.zkmips.memory.memory_access`), one slot each at timestamp
  ``8 clk + slot`` (spec.py "Timestamps"): ``a`` (read, normally rs), ``b`` (read,
  normally rt), ``mem`` (the aligned word of a load/store, read-modify-write), ``d`` (the
  destination, read-modify-write, so its previous value is known for movz/movn), ``hi``,
  ``lo`` (read-modify-write), ``sys`` (the LL bit), and for ldc1/sdc1 (``is_dbl``) two
  accesses of the double's second word, the word column ``e``: ``mem2`` (the RAM word
  ``addr + 4``) and ``odd`` (the pair's odd FPR, cell ``key_e``); ldc1 reads ``mem2`` and
  writes ``odd``, sdc1 reads ``odd`` and writes ``mem2``, so the same limbs leave one cell
  and arrive in the other. They are different cells (RAM and register keys), so both
  use the timestamp slot ``SLOT_EXTRA``. The first word is an ordinary lw/sw between the
  aligned word and the pair's even FPR (``d`` or ``b``);
* proves what its result is: by sending the operation to a table that proves it
  (``alu``, ``hilo``, ``memop`` buses), or by a constraint here (moves, links, HI/LO
  moves, movz/movn);
* proves the next pc: ``pc' = next_pc`` (plus 4 when a branch-likely is not taken) and
  ``next_pc' = `` the branch/jump target or ``next_pc + 4``, with branch conditions
  computed here (equality, sign and zero gadgets);
* proves that a trap does not fire (a trap that fires stops the VM: not a valid step);
* hands a ``syscall`` to the Syscall table on the ``syscall`` bus.

Values: every word is four byte limbs. A slot that is not used has its value forced to 0
(so no constraint can read a free value by mistake). Byte ranges: values read from memory
were range-checked by whoever wrote them, ALU/memop/hilo results by the table producing
them; the only words the CPU produces itself are link addresses (``pc + 8``), which it
range-checks, together with the bound ``top limb < 0x78`` that makes a word's field value
``b0 + 2^8 b1 + 2^16 b2 + 2^24 b3`` exact (below p) wherever the CPU equates a word with a
field element (link addresses, jump-register targets).

Rows: real rows form a prefix (``is_real' <= is_real``); the first row is real, has
``clk = 1`` and starts at the public ``start_pc``/``start_npc``; ``clk`` counts rows; the
last real row is a ``syscall`` and its ``clk`` is the public ``cycles``. That this last
syscall is *the* exit is not proven here: the Syscall table must tie its exit row's
timestamp to ``cycles`` (not wired yet, docs/zkmips.md). Padding rows have every flag 0 (constrained), so they make no
access, send nothing and receive nothing.
"""

from __future__ import annotations

from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.field import P as FIELD_P
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips.alu_words import top_bit_remainder
from prover.zkmips.spec import (
    BUS_BOUNDARY, BUS_BYTE, BUS_PROGRAM, BUS_SYSCALL, BYTE_RANGE, SLOT_EXTRA, SLOT_HI, SLOT_LO, SLOT_MEMORY,
    SLOT_READ_A, SLOT_READ_B, SLOT_SYSTEM, SLOT_WRITE_D, range_check_bytes, send_alu, send_hilo, send_memop,
    timestamp, word_value,
)
from vm.isa import OP

TABLE_NAME = "cpu"
#: Word columns (four limbs each): operand slots, ALU operands, HI/LO, memory, address,
#: and ``e``, the second word of an ldc1/sdc1.
WORDS = ("a", "b", "d", "x", "y", "hi", "lo", "mem", "addr", "e")
#: Gadget columns: branch/trap comparisons and the address's low bits.
GADGETS = ("eq", "eq_inv", "a_zero", "a_inv", "a_neg", "b_zero", "b_inv", "taken",
           "addr_q", "lo2_b0", "lo2_b1")
#: Access slots: (name, timestamp slot).
SLOTS = (("acc_a", SLOT_READ_A), ("acc_b", SLOT_READ_B), ("acc_mem", SLOT_MEMORY), ("acc_d", SLOT_WRITE_D),
         ("acc_hi", SLOT_HI), ("acc_lo", SLOT_LO), ("acc_sys", SLOT_SYSTEM), ("acc_mem2", SLOT_EXTRA),
         ("acc_odd", SLOT_EXTRA))
PUBLICS = ("cycles",)
#: Program fields that enable an access, a send or a receive: all 0 on padding rows.
ENABLES = ("read_a", "read_b", "has_dst", "write_d", "is_alu", "is_movz", "is_movn", "move_a", "move_b",
           "move_imm", "hi_en", "lo_en", "is_hilo", "br_eq", "br_ne", "br_lez", "br_gtz", "br_ltz",
           "br_gez", "link", "jump_static", "jump_reg", "is_mem", "is_dbl", "sys_en", "trap_eq", "trap_ne",
           "trap_cmp", "is_syscall")
#: Bound on a word's top limb that keeps its field value below p (0x78 << 24 < p).
TOP_LIMB_LIMIT = 0x78
#: 1/2 in the field.
_HALF = (FIELD_P + 1) // 2


def _bounded_top_limb(t: Table, limb: ExprLike, multiplicity: ExprLike) -> None:
    """Prove ``limb < TOP_LIMB_LIMIT`` (``limb + 256 - limit`` is a byte)."""
    t.send(BUS_BYTE, [BYTE_RANGE, lift(limb) + (256 - TOP_LIMB_LIMIT), 0, 0], multiplicity)


def _is_zero(t: Table, value: Expr, flag: Expr, inverse: Expr) -> None:
    """``flag = 1`` iff ``value = 0`` (``flag * value = 0``, ``flag = 1 - value * inverse``)."""
    t.assert_zero(flag * value)
    t.assert_zero(flag - 1 + value * inverse)


def _words(t: Table) -> dict[str, list[Expr]]:
    return {w: [t.main(f"{w}{i}") for i in range(4)] for w in WORDS}


def build_cpu() -> Table:
    """The CPU table (docstring of this module for what and why)."""
    t = Table(TABLE_NAME)
    is_real, clk, pc, next_pc = t.mains("is_real", "clk", "pc", "next_pc")
    f = {name: t.main(name) for name in P.FIELDS[1:] if name != "pc"}
    w = _words(t)
    g = {name: t.main(name) for name in GADGETS}
    (cycles,) = (t.public(n) for n in PUBLICS)
    is_first, is_last, end_pc, end_npc = t.mains("is_first", "is_last", "end_pc", "end_npc")
    a, b, d, x, y, hi, lo, mem, addr, e = (w[n] for n in WORDS)
    imm = [f[f"imm{i}"] for i in range(4)]

    # -- rows: a real prefix, counted by clk ----------------------------------------------
    t.assert_bool(is_real)
    t.when_first(is_real - 1)
    t.when_first(clk - 1)
    t.when_transition(clk.next - clk - 1)
    t.when_transition(is_real.next * (1 - is_real))
    # is_first marks row 0, is_last the last real row; the segment's state enters on the
    # first and leaves after the last through the Boundary table (its PC/NPC cells)
    t.when_first(is_first - 1)
    t.when_transition(is_first.next)
    t.when_transition(is_last - is_real + is_real.next)
    t.when_last(is_last - is_real)
    t.assert_zero(is_last * (clk - cycles))
    for name in ENABLES:
        t.assert_zero((1 - is_real) * f[name])

    # -- fetch ------------------------------------------------------------------------------
    t.receive(BUS_PROGRAM, [pc, *(f[n] for n in P.FIELDS[2:])], is_real)

    # -- accesses ---------------------------------------------------------------------------
    def ts(slot: int) -> Expr:
        return timestamp(clk, slot)

    key = {"a": f["key_a"], "b": f["key_b"], "d": f["key_d"], "hi": P.HI_KEY, "lo": P.LO_KEY, "sys": P.LLBIT_KEY}
    addr_q, l0, l1 = g["addr_q"], g["lo2_b0"], g["lo2_b1"]
    mem_key = addr_q + addr[1] * 64 + addr[2] * 16384 + addr[3] * 4194304
    sys_value = [f["sys_val"], 0, 0, 0]
    acc = {
        "a": M.memory_access(t, "acc_a", key["a"], a, ts(SLOT_READ_A), 0, f["read_a"]),
        "b": M.memory_access(t, "acc_b", key["b"], b, ts(SLOT_READ_B), 0, f["read_b"]),
        "mem": M.memory_access(t, "acc_mem", mem_key, mem, ts(SLOT_MEMORY), f["is_store"], f["is_mem"]),
        "d": M.memory_access(t, "acc_d", key["d"], d, ts(SLOT_WRITE_D), 1, f["write_d"]),
        "hi": M.memory_access(t, "acc_hi", key["hi"], hi, ts(SLOT_HI), f["hi_wr"], f["hi_en"]),
        "lo": M.memory_access(t, "acc_lo", key["lo"], lo, ts(SLOT_LO), f["lo_wr"], f["lo_en"]),
        "sys": M.memory_access(t, "acc_sys", key["sys"], sys_value, ts(SLOT_SYSTEM), 1, f["sys_en"]),
        # ldc1/sdc1's second word e: the RAM word after the aligned one (key + 1: the address
        # is 8-aligned below, so this is the key of addr + 4), read by ldc1 and written by
        # sdc1, and the pair's odd FPR, written by ldc1 and read by sdc1.
        "mem2": M.memory_access(t, "acc_mem2", mem_key + 1, e, ts(SLOT_EXTRA), f["is_store"], f["is_dbl"],
                             check_gap_hi=False),
        "odd": M.memory_access(t, "acc_odd", f["key_e"], e, ts(SLOT_EXTRA), 1 - f["is_store"], f["is_dbl"],
                             check_gap_hi=False),
    }
    # Unused slots hold 0; so does d when the instruction has no destination value.
    for word, enable in ((a, f["read_a"]), (b, f["read_b"]), (d, f["has_dst"]), (hi, f["hi_en"]),
                         (lo, f["lo_en"]), (mem, f["is_mem"]), (e, f["is_dbl"])):
        for limb in word:
            t.assert_zero((1 - enable) * limb)
    d_prev = acc["d"].prev

    # -- ALU operands and dispatch ----------------------------------------------------------
    for i in range(4):
        t.assert_zero(x[i] - a[i] - f["x_is_b"] * (b[i] - a[i]))
        t.assert_zero(y[i] - b[i] - f["y_is_imm"] * (imm[i] - b[i]) - f["y_is_a"] * (a[i] - b[i]))
    send_alu(t, f["alu_op"], x, y, d, f["aux"], f["is_alu"])
    send_hilo(t, f["alu_op"], a, b, acc["hi"].prev, acc["lo"].prev, hi, lo, f["is_hilo"])

    # -- moves ------------------------------------------------------------------------------
    _is_zero(t, sum(b[1:], lift(b[0])), g["b_zero"], g["b_inv"])
    for i in range(4):
        t.assert_zero(f["move_a"] * (d[i] - a[i]))
        t.assert_zero(f["move_b"] * (d[i] - b[i]))
        t.assert_zero(f["move_imm"] * (d[i] - imm[i]))
        t.assert_zero(f["d_from_hi"] * (d[i] - hi[i]))
        t.assert_zero(f["d_from_lo"] * (d[i] - lo[i]))
        t.assert_zero(f["hi_from_a"] * (hi[i] - a[i]))
        t.assert_zero(f["lo_from_a"] * (lo[i] - a[i]))
        # movz: rd <- rs if rt == 0, else keeps its value; movn the other way round.
        moved = g["b_zero"] * (a[i] - d_prev[i])
        t.assert_zero(f["is_movz"] * (d[i] - d_prev[i] - moved))
        t.assert_zero(f["is_movn"] * (d[i] - a[i] + moved))

    # -- comparisons: a == y, a == 0, a < 0 -------------------------------------------------
    diff_sq = sum(((lift(a[i]) - y[i]) * (lift(a[i]) - y[i]) for i in range(1, 4)), (lift(a[0]) - y[0]) * (a[0] - y[0]))
    _is_zero(t, diff_sq, g["eq"], g["eq_inv"])
    _is_zero(t, sum(a[1:], lift(a[0])), g["a_zero"], g["a_inv"])
    t.assert_bool(g["a_neg"])
    sign_branch = f["br_lez"] + f["br_gtz"] + f["br_ltz"] + f["br_gez"]
    t.send(BUS_BYTE, [BYTE_RANGE, top_bit_remainder(a[3], g["a_neg"]), 0, 0], sign_branch)

    # -- traps: the condition that fires must be false --------------------------------------
    t.assert_zero(f["trap_eq"] * g["eq"])
    t.assert_zero(f["trap_ne"] * (1 - g["eq"]))
    send_alu(t, f["trap_op"], a, y, [f["trap_expect"], 0, 0, 0], 0, f["trap_cmp"])

    # -- control flow -----------------------------------------------------------------------
    eq, a_zero, a_neg, taken = g["eq"], g["a_zero"], g["a_neg"], g["taken"]
    t.assert_zero(taken - f["br_eq"] * eq - f["br_ne"] * (1 - eq) - f["br_lez"] * (a_neg + a_zero)
                  - f["br_gtz"] * (1 - a_neg - a_zero) - f["br_ltz"] * a_neg - f["br_gez"] * (1 - a_neg))
    skip = f["likely"] * (1 - taken)               # a branch-likely not taken skips its slot
    jumps = f["jump_static"] + f["jump_reg"] + taken
    new_pc = next_pc + skip * 4
    new_npc = ((f["jump_static"] + taken) * f["target"] + f["jump_reg"] * word_value(a)
               + (1 - jumps) * (next_pc + 4) + skip * 4)
    t.when_transition(is_real.next * (pc.next - new_pc))
    t.when_transition(is_real.next * (next_pc.next - new_npc))
    t.assert_zero(is_last * (end_pc - new_pc))
    t.assert_zero(is_last * (end_npc - new_npc))
    t.receive(BUS_BOUNDARY, [0, pc, next_pc, 0], is_first)
    t.send(BUS_BOUNDARY, [1, end_pc, end_npc, clk], is_last)
    _bounded_top_limb(t, a[3], f["jump_reg"])
    # link: d = pc + 8, produced here, so range-checked here
    t.assert_zero(f["link"] * (word_value(d) - pc - 8))
    range_check_bytes(t, d, f["link"])
    _bounded_top_limb(t, d[3], f["link"])

    # -- loads and stores -------------------------------------------------------------------
    # addr = a + sext(imm) (AddSub proves it and range-checks addr); addr0 = 4 q + lo2 with
    # q a byte, so q < 64 and the cell key is addr >> 2 exactly.
    send_alu(t, OP["addu"], a, imm, addr, 0, f["is_mem"])
    t.assert_bool(l0)
    t.assert_bool(l1)
    t.assert_zero(addr[0] - addr_q * 4 - l1 * 2 - l0)
    t.send(BUS_BYTE, [BYTE_RANGE, addr_q, 0, 0], f["is_mem"])
    llbit = f["is_sc"] * acc["sys"].prev[0]
    send_memop(t, f["memop"], l0 + l1 * 2, b, acc["mem"].prev, mem, d, llbit, f["is_mem"])
    # ldc1/sdc1: the first word travels as lw/sw (MemInstr proves addr & 3 = 0 and the
    # move between the FPR in d/b and memory); the address is 8-aligned (addr_q even:
    # addr_q / 2 is a byte, while an odd addr_q < 64 gives (addr_q + p) / 2, no byte); the
    # second word e is moved by the mem2/odd accesses above. The byte checks of their
    # gap_hi ride along in the same lookups.
    range_check_bytes(t, [addr_q * _HALF, acc["mem2"].gap_hi, acc["odd"].gap_hi], f["is_dbl"])

    # -- system calls -----------------------------------------------------------------------
    t.send(BUS_SYSCALL, [ts(0)], f["is_syscall"])
    return t


__all__ = ["TABLE_NAME", "WORDS", "GADGETS", "SLOTS", "PUBLICS", "build_cpu"]
