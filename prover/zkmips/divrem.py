"""The DivRem table: DIV and DIVU on the ``hilo`` bus (``lo_out = q``, ``hi_out = r``).

The VM (vm/isa.py, docs/vm.md) follows qemu: the divisor is replaced by 1 when ``b = 0``,
and for DIV also when ``a = INT_MIN, b = -1``; then ``q = a, r = 0``. Otherwise
``q = trunc(a / b)`` and ``r = a - q b`` (C semantics). A row proves, for the divisor
``d`` (``b``, or 1 when the flag ``bz`` (b = 0) or ``ovf`` (INT_MIN / -1) is set):

1. ``a = q d + r`` over the integers: the 64-bit identity ``ext(a) = ext(r) + ext(q) ext(d)``
   with the Mul table's carry chain (mul.product_chain), operands sign-extended for DIV.
   All values are below 2^63 in magnitude, so the identity mod 2^64 is an integer one.
2. ``|r| < |d|``: ``S + 1 + |r| = |d|`` with ``S`` four byte limbs and a carry chain whose
   last carry is 0. ``|x|`` is ``x`` or, when the sign bit is set, ``~x + 1`` (limbs
   ``255 - x_k`` and a carry-in), so no 32-bit value ever has to fit a field element.
3. Truncation towards zero: ``r < 0`` only if ``a < 0`` (``nr => na``), and a negative
   ``a`` with a non-negative ``r`` means ``r = 0`` (``na and not nr => r = 0``).

(1)-(3) have exactly one solution (q, r) for ``d != 0``. The flags can only be set when
their condition holds (``bz * sum(b) = 0``; ``ovf`` pins every limb of a and b, and only
for DIV); a prover that leaves a flag clear when it should be set cannot satisfy (2)
(``d = 0``) or (1) (``-INT_MIN`` does not fit in 32 signed bits).
Sign bits are proven by byte lookups (alu_words.top_bit_remainder) and are 0 for DIVU.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from prover.air import Table
from prover.zkmips.alu_words import (TraceFiller, event_words, limbs, require_ops, top_bit_remainder,
                                     word_columns)
from prover.zkmips.mul import chain_carries, product_chain, sign_extended, sign_extended_limbs
from prover.zkmips.spec import BUS_BYTE, BYTE_RANGE, range_check_bytes, receive_hilo
from vm.isa import OP

TABLE_NAME = "divrem"
OPS: dict[str, int] = {"is_div": OP["div"], "is_divu": OP["divu"]}
INT_MIN = 0x80000000


def build_divrem() -> Table:
    """Declare the DivRem table (module docstring: what it proves and why)."""
    t = Table(TABLE_NAME)
    is_div, is_divu = t.mains(*OPS)
    a, b, hi_in, lo_in = (word_columns(t, n) for n in ("a", "b", "hi_in", "lo_in"))
    q, r, d, s = (word_columns(t, n) for n in ("q", "r", "d", "s"))
    bz, ovf, na, nq, nd, nr = t.mains("bz", "ovf", "na", "nq", "nd", "nr")
    carries = word_columns(t, "carry", 8)
    bound_carries = word_columns(t, "bc", 3)

    for v in (is_div, is_divu, bz, ovf, na, nq, nd, nr):
        t.assert_bool(v)
    is_real = is_div + is_divu
    t.assert_bool(is_real)

    # The divisor: b, or 1 under a flag that is only allowed when its condition holds.
    t.assert_zero(bz * (b[0] + b[1] + b[2] + b[3]))       # limbs are bytes: sum 0 iff b = 0
    t.assert_zero(ovf * is_divu)
    for limb, want in zip(list(a) + list(b), (0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF, 0xFF)):
        t.assert_zero(ovf * (limb - want))
    flag = bz + ovf
    for i in range(4):
        t.assert_eq(d[i], b[i] + flag * ((1 if i == 0 else 0) - b[i]))

    # Sign bits: proven top bits for DIV, 0 for DIVU.
    for n in (na, nq, nd, nr):
        t.assert_zero(is_divu * n)
    t.send(BUS_BYTE, [BYTE_RANGE, top_bit_remainder(a[3], na), top_bit_remainder(q[3], nq), 0], is_div)
    t.send(BUS_BYTE, [BYTE_RANGE, top_bit_remainder(d[3], nd), top_bit_remainder(r[3], nr), 0], is_div)

    # 1. a = q d + r (64-bit, sign-extended).
    product_chain(t, sign_extended(q, nq), sign_extended(d, nd), sign_extended(r, nr), sign_extended(a, na),
                  carries, is_real)
    range_check_bytes(t, list(q) + list(r), is_real)

    # 2. S + 1 + |r| = |d|, with |x| = (x or ~x) + n_x limb-wise: carry-in is_real + nr - nd.
    abs_r = [r[k] + nr * (255 - 2 * r[k]) for k in range(4)]
    abs_d = [d[k] + nd * (255 - 2 * d[k]) for k in range(4)]
    prev = is_real + nr - nd
    for k in range(4):
        out = bound_carries[k] * 256 if k < 3 else 0
        t.assert_eq(s[k] + abs_r[k] + prev, abs_d[k] + out)
        if k < 3:
            c = bound_carries[k]
            t.assert_zero(c * (c - 1) * (c - 2))
            prev = c
    range_check_bytes(t, s, is_real)

    # 3. truncation: the remainder has the dividend's sign, or is zero.
    t.assert_zero(nr * (1 - na))
    t.assert_zero(na * (1 - nr) * (r[0] + r[1] + r[2] + r[3]))

    receive_hilo(t, is_div * OP["div"] + is_divu * OP["divu"], a, b, hi_in, lo_in, r, q, is_real)
    return t


def divrem_trace(events: Mapping[str, object]) -> np.ndarray:
    """The DivRem trace from events ``op``, ``a``, ``b``, the VM's ``hi_out`` (remainder)
    and ``lo_out`` (quotient); ``hi_in``/``lo_in`` (ignored by the VM) may be omitted."""
    events = dict(events)
    rows = len(np.asarray(events.get("op", ())))
    for name in ("hi_in", "lo_in"):
        events.setdefault(name, np.zeros(rows, dtype=np.int64))
    rows, ev = event_words(events, ("op", "a", "b", "hi_in", "lo_in", "hi_out", "lo_out"), TABLE_NAME)
    op = ev["op"]
    require_ops(op, {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    a, b, q, r = ev["a"], ev["b"], ev["lo_out"], ev["hi_out"]
    signed = op == OP["div"]

    bz = b == 0
    ovf = signed & (a == INT_MIN) & (b == 0xFFFFFFFF)
    d = np.where(bz | ovf, 1, b)
    neg = {name: signed & (w >> 31 == 1) for name, w in (("na", a), ("nq", q), ("nd", d), ("nr", r))}

    t = build_divrem()
    f = TraceFiller(t, rows)
    f["is_div"], f["is_divu"] = signed, ~signed
    for name, w in (("a", a), ("b", b), ("hi_in", ev["hi_in"]), ("lo_in", ev["lo_in"]), ("q", q), ("r", r), ("d", d)):
        f.set_word(name, w)
    f["bz"], f["ovf"] = bz, ovf
    for name, v in neg.items():
        f[name] = v
    f.set_limbs("carry", chain_carries(sign_extended_limbs(q, neg["nq"]), sign_extended_limbs(d, neg["nd"]),
                                       sign_extended_limbs(r, neg["nr"]), sign_extended_limbs(a, neg["na"])))

    # |d| - |r| - 1 and the carries of its limb chain (the bound of step 2).
    abs_r = np.where(neg["nr"], (1 << 32) - r, r)
    abs_d = np.where(neg["nd"], (1 << 32) - d, d)
    slack = abs_d - abs_r - 1
    f.set_word("s", slack & 0xFFFFFFFF)
    lr = np.where(neg["nr"][:, None], 255 - limbs(r), limbs(r))
    ld = np.where(neg["nd"][:, None], 255 - limbs(d), limbs(d))
    ls = limbs(slack & 0xFFFFFFFF)
    prev = 1 + neg["nr"].astype(np.int64) - neg["nd"]
    for k in range(3):
        c = (ls[:, k] + lr[:, k] + prev - ld[:, k]) // 256
        f[f"bc{k}"] = c
        prev = c
    return f.finish()
