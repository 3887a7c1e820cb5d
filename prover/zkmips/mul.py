"""The Mul table: MUL on the ``alu`` bus; MULT, MULTU, MADD, MADDU, MSUB, MSUBU on ``hilo``.

One row proves, with 64-bit arithmetic on byte limbs,

    Y + 2^64 t = X + A * B        (mod 2^64 by dropping t)

where ``A``, ``B`` are the operands extended to 8 limbs (sign-extended for the signed
ops: limbs 4..7 are ``255 * n`` with ``n`` the proven top bit, so the 8-limb product is
``sx(a) * sx(b) mod 2^64``) and

* MUL, MULT, MULTU: ``X = 0``, ``Y = (hi_out, lo_out)`` (MUL sends only ``c = lo_out``);
* MADD(U): ``X = (hi_in, lo_in)``, ``Y = (hi_out, lo_out)``;
* MSUB(U): ``X = (hi_out, lo_out)``, ``Y = (hi_in, lo_in)`` (``out = in - A B`` iff
  ``in = out + A B`` mod 2^64).

The product is the convolution ``p_k = sum_(i+j=k) A_i B_j`` with one carry chain
``Y_k + 256 c_k = X_k + p_k + c_(k-1)``; every term is below 2^21, so the field equations
are integer ones, and with ``Y_k`` bytes and ``c_k < 2^16`` (range16 lookups) the chain
determines ``Y`` from ``X`` and the operands. The output limbs are range-checked here
(this table produces them); operand and ``hi_in/lo_in`` limbs come from the sender, which
checked them (spec.py). For MUL/MULT/MULTU the ``*_in`` columns are unconstrained: the
VM ignores HI/LO there.

:func:`product_chain` / :func:`chain_carries` are shared with the DivRem table.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.zkmips.alu_words import (TraceFiller, event_words, limbs, require_ops, top_bit_remainder,
                                     word_columns)
from prover.zkmips.spec import BUS_BYTE, BUS_RANGE16, BYTE_RANGE, range_check_bytes, receive_alu, receive_hilo
from vm.isa import OP

TABLE_NAME = "mul"
#: Selector column -> operation id; MUL is the only one on the alu bus.
OPS: dict[str, int] = {"is_mul": OP["mul"], "is_mult": OP["mult"], "is_multu": OP["multu"],
                       "is_madd": OP["madd"], "is_maddu": OP["maddu"], "is_msub": OP["msub"],
                       "is_msubu": OP["msubu"]}
SIGNED = ("is_mul", "is_mult", "is_madd", "is_msub")
ACCUMULATE = ("is_madd", "is_maddu")
SUBTRACT = ("is_msub", "is_msubu")


# -- shared with divrem --------------------------------------------------------------------
def sign_extended(word: Sequence[ExprLike], negative: ExprLike) -> list[Expr]:
    """The 8 limbs of a 4-limb word sign-extended by the bit ``negative`` (0 for unsigned)."""
    fill = lift(negative) * 255
    return [lift(x) for x in word] + [fill] * 4


def convolution(x: Sequence[Expr], y: Sequence[Expr]) -> list[Expr]:
    """``p_k = sum_(i+j=k) x_i y_j`` for k < len(x): the limbs of x*y before carries,
    truncated mod 2^(8 len(x))."""
    return [sum(x[i] * y[k - i] for i in range(k + 1)) for k in range(len(x))]


def product_chain(t: Table, x: Sequence[Expr], y: Sequence[Expr], add: Sequence[ExprLike], target: Sequence[ExprLike],
                  carries: Sequence[Expr], multiplicity: ExprLike) -> None:
    """Constrain ``target = add + x * y (mod 2^(8 len))`` limb by limb:
    ``target_k + 256 c_k = add_k + p_k + c_(k-1)``, and range-check the carries (< 2^16,
    with ``multiplicity``). The caller range-checks ``target`` (or ``add``) limbs."""
    prev: ExprLike = 0
    for k, pk in enumerate(convolution(x, y)):
        t.assert_eq(lift(target[k]) + carries[k] * 256, lift(add[k]) + pk + prev)
        prev = carries[k]
    for c in carries:
        t.send(BUS_RANGE16, [c], multiplicity)


def sign_extended_limbs(words: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """``int64[rows, 8]``: numpy twin of :func:`sign_extended`."""
    return np.concatenate([limbs(words), np.repeat((255 * negative)[:, None], 4, axis=1)], axis=1)


def chain_carries(x: np.ndarray, y: np.ndarray, add: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The carries ``c_k`` of :func:`product_chain` for honest limbs (``int64[rows, 8]``
    each). Inconsistent inputs give carries the AIR rejects (the debug checker says where)."""
    rows, n = x.shape
    carries = np.zeros((rows, n), dtype=np.int64)
    prev = np.zeros(rows, dtype=np.int64)
    for k in range(n):
        pk = sum(x[:, i] * y[:, k - i] for i in range(k + 1))
        carries[:, k] = (add[:, k] + pk + prev - target[:, k]) // 256
        prev = carries[:, k]
    return carries


# -- the table -------------------------------------------------------------------------------
def build_mul() -> Table:
    """Declare the Mul table (module docstring: what it proves and why)."""
    t = Table(TABLE_NAME)
    sel = {name: t.main(name) for name in OPS}
    a, b = word_columns(t, "a"), word_columns(t, "b")
    hi_in, lo_in, hi_out, lo_out = (word_columns(t, n) for n in ("hi_in", "lo_in", "hi_out", "lo_out"))
    na, nb = t.mains("na", "nb")
    carries = word_columns(t, "carry", 8)

    for s in sel.values():
        t.assert_bool(s)
    is_real = sum(sel.values())
    t.assert_bool(is_real)
    signed = sum(sel[n] for n in SIGNED)
    accumulate = sum(sel[n] for n in ACCUMULATE)
    subtract = sum(sel[n] for n in SUBTRACT)

    # Sign bits: the top bits of a3, b3 for signed ops (byte lookup), 0 for unsigned ones.
    for n in (na, nb):
        t.assert_bool(n)
        t.assert_zero((is_real - signed) * n)
    t.send(BUS_BYTE, [BYTE_RANGE, top_bit_remainder(a[3], na), top_bit_remainder(b[3], nb), 0], signed)

    acc_in, acc_out = list(lo_in) + list(hi_in), list(lo_out) + list(hi_out)
    add = [accumulate * i + subtract * o for i, o in zip(acc_in, acc_out)]
    target = [subtract * i + (is_real - subtract) * o for i, o in zip(acc_in, acc_out)]
    product_chain(t, sign_extended(a, na), sign_extended(b, nb), add, target, carries, is_real)
    range_check_bytes(t, acc_out, is_real)

    hilo_op = sum(sel[n] * code for n, code in OPS.items() if n != "is_mul")
    receive_alu(t, OP["mul"], a, b, lo_out, 0, sel["is_mul"])
    receive_hilo(t, hilo_op, a, b, hi_in, lo_in, hi_out, lo_out, is_real - sel["is_mul"])
    return t


def mul_trace(events: Mapping[str, object]) -> np.ndarray:
    """The Mul trace from events ``op``, ``a``, ``b`` and the VM's ``hi_out``, ``lo_out``
    (for MUL: ``lo_out`` = c, ``hi_out`` may be omitted), plus ``hi_in``, ``lo_in`` (HI/LO
    before the instruction; may be omitted when no madd/msub is present)."""
    events = dict(events)
    rows = len(np.asarray(events.get("op", ())))
    for name in ("hi_in", "lo_in", "hi_out"):
        events.setdefault(name, np.zeros(rows, dtype=np.int64))
    rows, ev = event_words(events, ("op", "a", "b", "hi_in", "lo_in", "hi_out", "lo_out"), TABLE_NAME)
    op = ev["op"]
    require_ops(op, {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    signed = np.isin(op, [OPS[n] for n in SIGNED])
    accumulate = np.isin(op, [OPS[n] for n in ACCUMULATE])
    subtract = np.isin(op, [OPS[n] for n in SUBTRACT])

    hi_out = ev["hi_out"].copy()
    is_mul = op == OP["mul"]
    # MUL writes only the low word; the table still carries the high half of the product.
    sx = lambda w: np.where(w >= 1 << 31, w - (1 << 32), w)  # noqa: E731
    hi_out[is_mul] = ((sx(ev["a"][is_mul]) * sx(ev["b"][is_mul])) >> 32) & 0xFFFFFFFF

    t = build_mul()
    f = TraceFiller(t, rows)
    for name, code in OPS.items():
        f[name] = op == code
    for name in ("a", "b", "hi_in", "lo_in", "lo_out"):
        f.set_word(name, ev[name])
    f.set_word("hi_out", hi_out)
    na = signed & (ev["a"] >> 31 == 1)
    nb = signed & (ev["b"] >> 31 == 1)
    f["na"], f["nb"] = na, nb

    acc_in = np.concatenate([limbs(ev["lo_in"]), limbs(ev["hi_in"])], axis=1)
    acc_out = np.concatenate([limbs(ev["lo_out"]), limbs(hi_out)], axis=1)
    add = np.where(accumulate[:, None], acc_in, np.where(subtract[:, None], acc_out, 0))
    target = np.where(subtract[:, None], acc_in, acc_out)
    carries = chain_carries(sign_extended_limbs(ev["a"], na), sign_extended_limbs(ev["b"], nb), add, target)
    f.set_limbs("carry", carries)
    return f.finish()
