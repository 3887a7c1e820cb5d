"""The Bitwise table: AND, OR, XOR, NOR on the ``alu`` bus, one byte lookup per limb.

Each real row receives ``(op, a, b, c, 0)`` and proves ``c = op(a, b)`` limb by limb
through the Byte table, which lists ``x & y``, ``x | y`` and ``x ^ y`` for every pair
of bytes (prover/zkmips/lookup.py). Per limb ``i`` the row looks up
``(kind, a_i, b_i, z_i)`` with

* ``kind`` = AND, OR or XOR (NOR uses OR), a linear function of the selectors;
* ``z_i = c_i`` for AND/OR/XOR and ``z_i = 255 - c_i`` for NOR (``~(a | b)`` byte-wise).

The lookup also proves that ``a_i``, ``b_i`` and ``z_i`` (hence ``c_i``) are bytes, so
``c`` needs no separate range check. The selectors are boolean with a boolean sum and the
received op id is derived from them, so a row proves exactly one of the four operations.
Padding rows (every selector 0) look nothing up and receive nothing.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from prover.air import Table
from prover.zkmips.alu_words import TraceFiller, event_words, require_ops, word_columns
from prover.zkmips.spec import BYTE_AND, BYTE_OR, BYTE_XOR, byte_op, receive_alu
from vm.isa import OP

TABLE_NAME = "bitwise"
#: The operations of this table (register forms), by selector column.
OPS: dict[str, int] = {"is_and": OP["and"], "is_or": OP["or"], "is_xor": OP["xor"], "is_nor": OP["nor"]}


def build_bitwise() -> Table:
    """Declare the Bitwise table (the module docstring says why each part is needed)."""
    t = Table(TABLE_NAME)
    sel = {name: t.main(name) for name in OPS}
    is_and, is_or, is_xor, is_nor = (sel[n] for n in OPS)
    a, b, c = word_columns(t, "a"), word_columns(t, "b"), word_columns(t, "c")

    for s in sel.values():
        t.assert_bool(s)
    is_real = is_and + is_or + is_xor + is_nor
    t.assert_bool(is_real)

    kind = is_and * BYTE_AND + (is_or + is_nor) * BYTE_OR + is_xor * BYTE_XOR
    for ai, bi, ci in zip(a, b, c):
        byte_op(t, kind, ai, bi, ci + is_nor * (255 - ci * 2), is_real)
    receive_alu(t, sum(op_id * s for op_id, s in zip(OPS.values(), sel.values())), a, b, c, 0, is_real)
    return t


def bitwise_trace(events: Mapping[str, object]) -> np.ndarray:
    """The Bitwise witness from events ``{"op", "a", "b", "c"}`` (1-d integer arrays, words
    in [0, 2^32), ``c`` the VM's result): selectors and limbs, nothing derived."""
    rows, ev = event_words(events, ("op", "a", "b", "c"), TABLE_NAME)
    require_ops(ev["op"], {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    f = TraceFiller(build_bitwise(), rows)
    for name, op_id in OPS.items():
        f[name] = ev["op"] == op_id
    for name in "abc":
        f.set_word(name, ev[name])
    return f.finish()


__all__ = ["TABLE_NAME", "OPS", "build_bitwise", "bitwise_trace"]
