"""The Lt table: SLT and SLTU on the ``alu`` bus (``c`` = 1 or 0 as a word).

Each real row receives ``(op, a, b, [lt, 0, 0, 0], 0)`` and proves ``lt = [a < b]``,
unsigned for SLTU and signed for SLT (the CPU also sends branch comparisons and trap
conditions here, as SLT/SLTU of the right operands).

How
    Unsigned: ``a < b`` iff the subtraction ``a - b`` borrows. The row holds the
    difference ``d = a - b mod 2^32`` (byte limbs, range-checked) and proves
    ``d + b = a + 2^32 lt`` with the 16-bit adder of :func:`add_sub.assert_word_sum`, whose
    top carry is ``lt`` itself (boolean): for bytes, ``d + b - a`` is in
    ``(-2^32, 2^33)``, so it is ``0`` or ``2^32`` exactly when ``lt`` is the borrow.

    Signed: ``a <_s b`` iff ``a ^ 2^31 <_u b ^ 2^31``. Flipping bit 31 of a byte limb with
    sign bit ``s`` is ``limb + 128 - 256 s``, so on SLT rows the top limbs entering the
    adder are flipped (degree 2), with the sign bits of ``a`` and ``b`` pinned by one byte
    lookup of their :func:`alu_words.top_bit_remainder` (``a`` and ``b`` are bytes: the
    sender range-checks them). On SLTU rows the sign columns are unused.

Padding rows (every selector 0) are all zero and satisfy every constraint.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from prover.air import Table
from prover.zkmips.add_sub import assert_word_sum, halves
from prover.zkmips.alu_words import TraceFiller, event_words, require_ops, top_bit_remainder, word_columns
from prover.zkmips.spec import range_check_bytes, receive_alu
from vm.isa import OP

TABLE_NAME = "lt"
#: The operations of this table (register forms), by selector column.
OPS: dict[str, int] = {"is_slt": OP["slt"], "is_sltu": OP["sltu"]}
SIGN_FLIP = 1 << 31


def build_lt() -> Table:
    """Declare the Lt table (the module docstring says why each part is needed)."""
    t = Table(TABLE_NAME)
    is_slt, is_sltu = (t.main(name) for name in OPS)
    a, b, d = word_columns(t, "a"), word_columns(t, "b"), word_columns(t, "d")
    lt, carry, sign_a, sign_b = t.mains("lt", "carry_lo", "sign_a", "sign_b")

    t.assert_bool(is_slt)
    t.assert_bool(is_sltu)
    is_real = is_slt + is_sltu
    t.assert_bool(is_real)
    # Sign bits must be boolean: the byte lookup alone admits bit = k/256 (alu_words).
    t.assert_bool(sign_a)
    t.assert_bool(sign_b)

    # d + b' = a' + 2^32 lt, where ' flips bit 31 on SLT rows.
    a_lo, a_hi = halves(a)
    b_lo, b_hi = halves(b)
    a_hi = a_hi + is_slt * (128 - sign_a * 256) * 256
    b_hi = b_hi + is_slt * (128 - sign_b * 256) * 256
    assert_word_sum(t, halves(d), (b_lo, b_hi), (a_lo, a_hi), carry, lt)
    range_check_bytes(t, d, is_real)
    range_check_bytes(t, [top_bit_remainder(a[3], sign_a), top_bit_remainder(b[3], sign_b)], is_slt)

    receive_alu(t, is_slt * OPS["is_slt"] + is_sltu * OPS["is_sltu"], a, b, [lt, 0, 0, 0], 0, is_real)
    return t


def lt_trace(events: Mapping[str, object]) -> np.ndarray:
    """The Lt witness from events ``{"op", "a", "b", "c"}`` (1-d integer arrays, words in
    [0, 2^32), ``c`` the VM's result, 0 or 1). Derived here: the difference of the
    (sign-flipped, for SLT) operands, its low carry, and the sign bits."""
    rows, ev = event_words(events, ("op", "a", "b", "c"), TABLE_NAME)
    op, a, b, c = ev["op"], ev["a"], ev["b"], ev["c"]
    require_ops(op, {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    if c.size and c.max() > 1:
        raise ValueError(f"{TABLE_NAME} events: result {int(c[c > 1][0])} is not 0 or 1")
    flip = np.where(op == OP["slt"], SIGN_FLIP, 0)
    a_eff, b_eff = a ^ flip, b ^ flip
    d = (a_eff - b_eff) & 0xFFFFFFFF
    f = TraceFiller(build_lt(), rows)
    for name, op_id in OPS.items():
        f[name] = op == op_id
    for name, word in (("a", a), ("b", b), ("d", d)):
        f.set_word(name, word)
    f["sign_a"], f["sign_b"] = a >> 31, b >> 31
    f["lt"] = c
    f["carry_lo"] = ((d & 0xFFFF) + (b_eff & 0xFFFF)) >> 16
    return f.finish()


__all__ = ["TABLE_NAME", "OPS", "build_lt", "lt_trace"]
