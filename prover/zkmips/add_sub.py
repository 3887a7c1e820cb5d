"""The AddSub table: ADDU, SUBU, ADD, SUB on the ``alu`` bus.

Each real row receives ``(op, a, b, c, 0)`` and proves ``c = a + b`` or ``c = a - b``
modulo 2^32; for ADD and SUB it also proves that the signed operation does not overflow
(the VM stops on overflow, so an overflowing ADD/SUB is never a valid step).

How
    A subtraction ``c = a - b`` is checked as the addition ``c + b = a``, so one adder
    serves all four operations: ``x + y = z + 2^32 k1`` with ``(x, y, z) = (a, b, c)`` for
    additions and ``(c, b, a)`` for subtractions. The adder works on 16-bit halves
    (:func:`assert_word_sum`): ``x_lo + y_lo = z_lo + 2^16 k0`` and
    ``x_hi + y_hi + k0 = z_hi + 2^16 k1``, with boolean carries. Both sides are below
    2^18, so the field equations are integer equations and, with every limb a byte, they
    say exactly that ``x + y = z mod 2^32``.

    Signed overflow: with sign bits ``s``, the signed values satisfy
    ``x_s + y_s = z_s + 2^32 (k1 - s_x - s_y + s_z)``; the operation is exact in 32-bit
    two's complement iff ``k1 - s_x - s_y + s_z = 0`` (``a - b`` is exact iff
    ``c + b = a`` is). The sign bits are pinned by byte lookups of
    ``2 limb - 256 sign`` (:func:`prover.zkmips.alu_words.top_bit_remainder`), sent on
    ADD/SUB rows only: for ADDU/SUBU they are unused.

    Range checks: ``c`` is produced here, so its limbs are range-checked (two byte
    lookups); ``a`` and ``b`` come from the sender, which range-checks them (spec.py).

Padding rows (every selector 0) are all zero and satisfy every constraint.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.zkmips.alu_words import TraceFiller, event_words, require_ops, top_bit_remainder, word_columns
from prover.zkmips.spec import range_check_bytes, receive_alu
from vm.isa import OP

TABLE_NAME = "add_sub"
#: The operations of this table (register forms), by selector column.
OPS: dict[str, int] = {"is_addu": OP["addu"], "is_subu": OP["subu"], "is_add": OP["add"], "is_sub": OP["sub"]}


def halves(w: Sequence[ExprLike]) -> tuple[Expr, Expr]:
    """The 16-bit halves ``(b0 + 256 b1, b2 + 256 b3)`` of a word given as byte limbs."""
    b0, b1, b2, b3 = (lift(x) for x in w)
    return b0 + b1 * 256, b2 + b3 * 256


def assert_word_sum(t: Table, x: tuple[ExprLike, ExprLike], y: tuple[ExprLike, ExprLike],
                    z: tuple[ExprLike, ExprLike], k0: Expr, k1: Expr) -> None:
    """Constrain ``x + y = z + 2^32 k1`` for words given as 16-bit halves ``(lo, hi)``,
    with carry ``k0`` out of the low half. Both carries are constrained boolean here;
    the caller must make every half a sum of range-checked bytes (then both equations
    are integer equations below 2^18, and the carries are the true ones)."""
    t.assert_bool(k0)
    t.assert_bool(k1)
    t.assert_eq(lift(x[0]) + y[0], lift(z[0]) + k0 * 65536)
    t.assert_eq(lift(x[1]) + y[1] + k0, lift(z[1]) + k1 * 65536)


def build_add_sub() -> Table:
    """Declare the AddSub table (the module docstring says why each part is needed)."""
    t = Table(TABLE_NAME)
    sel = {name: t.main(name) for name in OPS}
    is_addu, is_subu, is_add, is_sub = (sel[n] for n in OPS)
    a, b, c = word_columns(t, "a"), word_columns(t, "b"), word_columns(t, "c")
    k0, k1 = t.mains("carry_lo", "carry_hi")
    sign_a, sign_b, sign_c = t.mains("sign_a", "sign_b", "sign_c")

    # Exactly one operation per real row; the op id is derived from the selectors, so no
    # other operation can be received here.
    for s in sel.values():
        t.assert_bool(s)
    is_real = is_addu + is_subu + is_add + is_sub
    t.assert_bool(is_real)
    is_minus = is_subu + is_sub
    is_signed = is_add + is_sub
    # The byte lookup of top_bit_remainder pins a sign bit only if the bit is boolean
    # (bit = k/256 with 2 limb - k a byte passes the lookup too).
    for s in (sign_a, sign_b, sign_c):
        t.assert_bool(s)

    # x + y = z (mod 2^32): (a, b, c) for additions, (c, b, a) for subtractions.
    a_h, b_h, c_h = halves(a), halves(b), halves(c)
    x = tuple(ah + is_minus * (ch - ah) for ah, ch in zip(a_h, c_h))
    z = tuple(ch + is_minus * (ah - ch) for ah, ch in zip(a_h, c_h))
    assert_word_sum(t, x, b_h, z, k0, k1)

    # No signed overflow on ADD / SUB (sign bits of x, y, z are a/b/c's in the right order).
    t.assert_zero(is_add * (k1 - sign_a - sign_b + sign_c) + is_sub * (k1 - sign_c - sign_b + sign_a))
    range_check_bytes(t, [top_bit_remainder(a[3], sign_a), top_bit_remainder(b[3], sign_b),
                          top_bit_remainder(c[3], sign_c)], is_signed)

    range_check_bytes(t, c, is_real)
    receive_alu(t, sum(OP_ID * s for OP_ID, s in zip(OPS.values(), sel.values())), a, b, c, 0, is_real)
    return t


def add_sub_trace(events: Mapping[str, object]) -> np.ndarray:
    """The AddSub witness from events ``{"op", "a", "b", "c"}`` (1-d integer arrays, words
    in [0, 2^32), ``op`` a register-form op id of this table, ``c`` the VM's result).
    Only the carries and sign bits are derived here."""
    rows, ev = event_words(events, ("op", "a", "b", "c"), TABLE_NAME)
    op, a, b, c = ev["op"], ev["a"], ev["b"], ev["c"]
    require_ops(op, {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    minus = (op == OP["subu"]) | (op == OP["sub"])
    x = np.where(minus, c, a)
    f = TraceFiller(build_add_sub(), rows)
    for name, op_id in OPS.items():
        f[name] = op == op_id
    for name, word in (("a", a), ("b", b), ("c", c)):
        f.set_word(name, word)
        f[f"sign_{name}"] = word >> 31
    f["carry_lo"] = ((x & 0xFFFF) + (b & 0xFFFF)) >> 16
    f["carry_hi"] = (x + b) >> 32
    return f.finish()


__all__ = ["TABLE_NAME", "OPS", "build_add_sub", "add_sub_trace", "assert_word_sum", "halves"]
