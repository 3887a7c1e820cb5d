"""The AIR's constraints as bytecode for the EVM verifier (``contracts/verifier/ood.vy``).

Why bytecode and not generated Vyper: the zkMIPS segment tables hold ~11,000 expression
nodes; straight-line EVM code for them would be ~300 KB, a dozen contracts under the 24 KB
code-size limit. One interpreter (a few KB) instead evaluates a compact program that this
module derives from the very expression DAG the Python prover and verifier use
(``prover.expr.topo_order`` of each table's constraints, LogUp's included): the constraints
exist once, as ``Expr`` trees, and every back-end - numba, numpy, this one - is generated.

A table's program (all integers big-endian, so that the EVM reads a record as the top bytes
of one 32-byte word):

    u16 nodes, u16 roots, u16 ext_consts, u16 0
    nodes x 8 bytes:   u8 op, then op-specific fields (below), zero-padded
    roots x u16:       the node of each constraint, in constraint order (alpha^0, alpha^1, ...)
    ext_consts x 16:   4 x u32 coefficients
    32 zero bytes      (so that reading the last record as a word stays in bounds)

    op  name        fields
    0   main        u16 column, u8 is_next
    1   pre         u16 column, u8 is_next
    2   perm        u16 extension column, u8 is_next
    3   selector    u8 (0 is_first_row, 1 is_last_row, 2 is_transition)
    4   const       u32 value
    5   public      u16 index
    6   challenge   u16 index
    7   ext_public  u16 index (the table's LogUp sums, in bus order)
    8   ext_const   u16 index into ext_consts
    9   neg         u16 a
    10  add         u16 a, u16 b
    11  sub         u16 a, u16 b
    12  mul         u16 a, u16 b

The contract checks a program against the keccak that its circuit registered, so a prover
can never choose the constraints it is checked against.
"""

from __future__ import annotations

import struct
from typing import Sequence

from prover import expr as E

OPCODES = {E.MAIN: 0, E.PRE: 1, E.PERM: 2, "selector": 3, E.CONST: 4, E.PUBLIC: 5, E.CHALLENGE: 6,
           E.EXT_PUBLIC: 7, E.EXT_CONST: 8, E.NEG: 9, E.ADD: 10, E.SUB: 11, E.MUL: 12}
#: Most nodes one table's program may hold (the interpreter's value array).
MAX_NODES = 4096
RECORD_BYTES = 8


def _record(op: int, *fields: tuple[str, int]) -> bytes:
    body = b"".join(struct.pack(">" + fmt, v) for fmt, v in fields)
    return (bytes([op]) + body).ljust(RECORD_BYTES, b"\0")


def encode_constraints(constraints: Sequence[E.Expr]) -> bytes:
    """The program of one table's constraint list (see the module docstring)."""
    order, roots = E.topo_order(constraints)
    if len(order) > MAX_NODES:
        raise ValueError(f"{len(order)} expression nodes exceed the EVM interpreter's {MAX_NODES}")
    pos = {n.key: i for i, n in enumerate(order)}
    ext_consts: list[tuple[int, ...]] = []
    records = []
    for n in order:
        op = n.op
        if op in E.COLUMN_KINDS:
            records.append(_record(OPCODES[op], ("H", n.data[0]), ("B", int(bool(n.data[1])))))
        elif op in E.SELECTORS:
            records.append(_record(OPCODES["selector"], ("B", E.SELECTORS.index(op))))
        elif op == E.CONST:
            records.append(_record(OPCODES[op], ("I", n.data[0])))
        elif op in (E.PUBLIC, E.CHALLENGE, E.EXT_PUBLIC):
            records.append(_record(OPCODES[op], ("H", n.data[0])))
        elif op == E.EXT_CONST:
            records.append(_record(OPCODES[op], ("H", len(ext_consts))))
            ext_consts.append(tuple(n.data))
        elif op == E.NEG:
            records.append(_record(OPCODES[op], ("H", pos[n.args[0].key])))
        elif op in (E.ADD, E.SUB, E.MUL):
            records.append(_record(OPCODES[op], ("H", pos[n.args[0].key]), ("H", pos[n.args[1].key])))
        else:  # pragma: no cover - a new Expr kind must get an opcode here first
            raise ValueError(f"no EVM opcode for expression kind {op!r}")
    head = struct.pack(">HHHH", len(order), len(roots), len(ext_consts), 0)
    return (head + b"".join(records) + b"".join(struct.pack(">H", r) for r in roots)
            + b"".join(struct.pack(">4I", *c) for c in ext_consts) + bytes(32))
