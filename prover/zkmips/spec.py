"""The contract between the zkMIPS tables: value encoding, bus names and tuple layouts.

Every table module builds its interactions with the helpers here, so a bus has exactly
one definition of what its tuples mean (docs/zkmips.md explains the design).

Values
    A 32-bit word is four byte limbs, little-endian: ``w = b0 + 2^8 b1 + 2^16 b2 + 2^24 b3``
    (a :data:`Word` is a list of four expressions). Limbs are range-checked through the
    ``byte`` bus by whichever table *produces* them (a table that receives a word on a bus
    may rely on its sender's checks, as the tuple is matched exactly).

Operation ids
    The ``op`` element of ALU tuples is :data:`vm.isa.OP` of the *register* form of the
    operation: the CPU turns ``addiu`` into ``ADDU`` with ``b = sign_extend(imm)``, ``andi``
    into ``AND`` with ``b = zero_extend(imm)``, ``sll rd, rt, sa`` into ``SLL`` with
    ``a = rt``, ``b = sa``, ``sllv rd, rt, rs`` into ``SLL`` with ``a = rt``, ``b = rs``
    (shift tables use ``b & 31``), and so on. Semantics are those of ``vm/isa.py::run``.

Buses (tuple layouts; every tuple on a bus has the same length)
    ``byte``   (kind, x, y, z): the Byte table holds all pairs of bytes x, y and
               z = x AND y (kind 0), x OR y (1), x XOR y (2), or z = 0 for a plain range
               check of both x and y (kind 3). Senders look up; the Byte table receives
               with one multiplicity column per kind.
    ``range16`` (v,): v in [0, 2^16), received by the Range16 table.
    ``alu``    (op, a[4], b[4], c[4], aux): c = op(a, b). ``aux`` is a field element for
               operations that need more than two words: ext (aux = pos + 32 * size),
               ins (aux = lsb + 32 * msb, b = the old rt). 0 otherwise.
    ``hilo``   (op, a[4], b[4], hi_in[4], lo_in[4], hi_out[4], lo_out[4]) for mult, multu,
               madd, maddu, msub, msubu, div, divu (hi_in/lo_in matter for madd/msub only).
    ``mem``    (key, v[4], ts): offline memory checking (docs/zkmips.md "Memory checking").
    ``program`` (pc, fields...): see :mod:`prover.zkmips.program`.
    ``memop``  (op, lo2, rt[4], mem_prev[4], mem_new[4], result[4], llbit): one load or
               store, sent by the CPU after it has computed the address and accessed the
               aligned word ``addr & ~3``. ``op`` is the canonical memory operation
               (:data:`MEMOP_CANONICAL`: lwc1 and ldc1 travel as LW, swc1 and sdc1 as SW:
               for ldc1/sdc1 the tuple is the first word, the CPU moves the second one
               itself); ``lo2 = addr & 3``;
               ``rt`` the register's value before the instruction (store source, lwl/lwr
               merge base); ``mem_new = mem_prev`` for loads; ``result`` the register's new
               value (loads, sc; 0 for the other stores); ``llbit`` the LL bit before an sc
               (0 for the other operations). The MemInstr table proves the byte selection,
               sign extension, merges and alignment.
    ``syscall`` (ts,): the CPU sends one tuple per executed ``syscall`` with ``ts`` the
               first timestamp of its cycle (:func:`timestamp` slot 0); the Syscall table
               receives it and makes every access of that system call at timestamps
               ``ts + slot`` (slots :data:`SLOT_*`).
    ``input``, ``journal`` (open buses): (position, byte).

Timestamps
    Cycle ``clk`` (1, 2, ... for the executed instructions) owns the timestamps
    ``TS_PER_CYCLE * clk + slot``; every access of that cycle uses one of the slots below,
    so the accesses of one instruction are ordered (a register read before the write of
    the same register) and no two accesses of one cell share a timestamp.
"""

from __future__ import annotations

from typing import Sequence

from prover.air import Table
from prover.expr import Expr, ExprLike
from vm.isa import OP

Word = Sequence[ExprLike]

BYTE_AND, BYTE_OR, BYTE_XOR, BYTE_RANGE = 0, 1, 2, 3

BUS_BYTE = "byte"
BUS_RANGE16 = "range16"
BUS_ALU = "alu"
BUS_HILO = "hilo"
BUS_MEM = "mem"
BUS_PROGRAM = "program"
BUS_MEMOP = "memop"
BUS_SYSCALL = "syscall"
BUS_INPUT = "input"
BUS_JOURNAL = "journal"
#: (kind, pc, next_pc, clk): a segment's start (kind 0) and end (kind 1) state, between the
#: CPU and the Boundary table (prover/zkmips/boundary.py).
BUS_BOUNDARY = "boundary"

#: Memory keys: RAM word ``addr >> 2``; registers (the vm.layout state index) above it.
REGISTER_KEY_BASE = 1 << 30

#: Timestamp slots within a cycle (see "Timestamps" above).
TS_PER_CYCLE = 8
SLOT_READ_A = 0      # first register operand (rs, or the cell the Program table names)
SLOT_READ_B = 1      # second register operand (rt)
SLOT_MEMORY = 2      # the aligned memory word of a load/store
SLOT_WRITE_D = 3     # destination register (read-modify-write: its previous value is known)
SLOT_HI = 4          # HI, read-modify-write
SLOT_LO = 5          # LO, read-modify-write
SLOT_SYSTEM = 6      # LL bit and kernel cells (brk, cursors...)
SLOT_EXTRA = 7       # ldc1/sdc1's second word: the RAM word after the aligned one and the
                     # odd FPR of the pair (two different cells, so one timestamp serves both)


def timestamp(clk: ExprLike, slot: int) -> Expr:
    """The timestamp of ``slot`` in cycle ``clk``."""
    from prover.expr import lift
    return lift(clk) * TS_PER_CYCLE + slot


#: The operations each ALU bus carries (register forms).
ALU_OPS = tuple(OP[m] for m in (
    "addu", "subu", "add", "sub", "and", "or", "xor", "nor", "slt", "sltu",
    "sll", "srl", "sra", "rotr", "mul", "clz", "clo", "seb", "seh", "wsbh", "ext", "ins"))
HILO_OPS = tuple(OP[m] for m in ("mult", "multu", "madd", "maddu", "msub", "msubu", "div", "divu"))


#: The memory operations of the ``memop`` bus; FPU word moves travel as their integer twins.
MEMOP_OPS = tuple(OP[m] for m in ("lb", "lbu", "lh", "lhu", "lw", "lwl", "lwr", "ll",
                                  "sb", "sh", "sw", "swl", "swr", "sc"))
MEMOP_CANONICAL = {**{op: op for op in MEMOP_OPS}, OP["lwc1"]: OP["lw"], OP["swc1"]: OP["sw"],
                   OP["ldc1"]: OP["lw"], OP["sdc1"]: OP["sw"]}


def send_memop(t: Table, op: ExprLike, lo2: ExprLike, rt: Word, mem_prev: Word, mem_new: Word,
               result: Word, llbit: ExprLike, multiplicity: ExprLike = 1) -> None:
    t.send(BUS_MEMOP, [op, lo2, *rt, *mem_prev, *mem_new, *result, llbit], multiplicity)


def receive_memop(t: Table, op: ExprLike, lo2: ExprLike, rt: Word, mem_prev: Word, mem_new: Word,
                  result: Word, llbit: ExprLike, multiplicity: ExprLike = 1) -> None:
    t.receive(BUS_MEMOP, [op, lo2, *rt, *mem_prev, *mem_new, *result, llbit], multiplicity)


def word_value(w: Word) -> Expr:
    """The field element b0 + 2^8 b1 + 2^16 b2 + 2^24 b3 (exact only when it is < p;
    use it for addresses and small values, never to compare full words)."""
    from prover.expr import lift
    b0, b1, b2, b3 = (lift(x) for x in w)
    return b0 + b1 * 256 + b2 * 65536 + b3 * 16777216


def range_check_bytes(t: Table, limbs: Sequence[ExprLike], multiplicity: ExprLike = 1) -> None:
    """Send byte range checks for ``limbs`` (paired two per lookup)."""
    limbs = list(limbs)
    if len(limbs) % 2:
        limbs.append(0)
    for x, y in zip(limbs[0::2], limbs[1::2]):
        t.send(BUS_BYTE, [BYTE_RANGE, x, y, 0], multiplicity)


def byte_op(t: Table, kind: int, x: ExprLike, y: ExprLike, z: ExprLike, multiplicity: ExprLike = 1) -> None:
    """Look up z = x (AND|OR|XOR) y in the Byte table (which also range-checks x, y, z)."""
    t.send(BUS_BYTE, [kind, x, y, z], multiplicity)


def send_alu(t: Table, op: ExprLike, a: Word, b: Word, c: Word, aux: ExprLike = 0,
             multiplicity: ExprLike = 1) -> None:
    t.send(BUS_ALU, [op, *a, *b, *c, aux], multiplicity)


def receive_alu(t: Table, op: ExprLike, a: Word, b: Word, c: Word, aux: ExprLike = 0,
                multiplicity: ExprLike = 1) -> None:
    t.receive(BUS_ALU, [op, *a, *b, *c, aux], multiplicity)


def send_hilo(t: Table, op: ExprLike, a: Word, b: Word, hi_in: Word, lo_in: Word, hi_out: Word,
              lo_out: Word, multiplicity: ExprLike = 1) -> None:
    t.send(BUS_HILO, [op, *a, *b, *hi_in, *lo_in, *hi_out, *lo_out], multiplicity)


def receive_hilo(t: Table, op: ExprLike, a: Word, b: Word, hi_in: Word, lo_in: Word, hi_out: Word,
                 lo_out: Word, multiplicity: ExprLike = 1) -> None:
    t.receive(BUS_HILO, [op, *a, *b, *hi_in, *lo_in, *hi_out, *lo_out], multiplicity)


def word_limbs(value: int) -> list[int]:
    """The four byte limbs of a 32-bit integer (for building traces)."""
    return [(value >> (8 * i)) & 0xFF for i in range(4)]
