"""The Shift table: SLL, SRL, SRA, ROTR (and their variable forms) on the ``alu`` bus.

Each row receives ``(op, a, b, c, 0)`` and proves ``c = op(a, b & 31)`` with the semantics
of ``vm/isa.py`` (the CPU sends ``a = rt`` and ``b = sa`` or ``rs``, spec.py).

How: write the amount ``s = b & 31 = j + 8 k`` (j < 8 bits, k < 4 bytes), from the bit
decomposition of b's low byte (the higher bits of b never matter).

1. Bit shift by multiplication. Every limb is multiplied by ``m = 2^j`` (left) or
   ``m = 2^(8 - j)`` (right) and split ``a_i m = lo_i + 256 hi_i`` with lo, hi bytes.
   Since ``a_i m < 2^16 < p`` the split is the integer one. The 40-bit value ``a m`` has
   limbs ``x_0 = lo_0, x_i = lo_i + hi_(i-1), x_4 = hi_3``: no carries, because lo_i is a
   multiple of m and hi_(i-1) < m. Left: ``w = x_0..x_3`` is ``a << j``. Right:
   ``(a m) >> 8 = x_1..x_4`` is ``a >> j``; the bits that fall off (``x_0``) go on top of
   byte 3 for ROTR, and SRA fills the top j bits with the sign (``256 - m`` when set).
2. Byte shift by a one-hot ``k`` (4 selector columns tied to bits 3 and 4): ``c_t`` picks
   ``w_(t-k)`` (left, zero fill), ``w_(t+k)`` (right, fill 0 or 255 * sign), or
   ``w_((t+k) mod 4)`` (rotate).

The result limbs need no range check: each is, by the above, a sum of bytes with
disjoint bits, hence a byte, and the whole row is determined by (a, b).
Padding rows (all selectors 0) satisfy every constraint with zero columns, except
``pw`` which is the product of its (zero) bits: 1.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from prover.air import Table
from prover.zkmips.alu_words import (TraceFiller, event_words, limbs, pow2_of_bits, require_ops, top_bit_remainder,
                                     word_columns)
from prover.zkmips.spec import BUS_BYTE, BYTE_RANGE, receive_alu
from vm.isa import OP

TABLE_NAME = "shift"
#: The operations of this table (register forms), by selector column.
OPS: dict[str, int] = {"is_sll": OP["sll"], "is_srl": OP["srl"], "is_sra": OP["sra"], "is_rotr": OP["rotr"]}


def build_shift() -> Table:
    """Declare the Shift table (see the module docstring for why each part is needed)."""
    t = Table(TABLE_NAME)
    sel = {name: t.main(name) for name in OPS}
    is_sll, is_srl, is_sra, is_rotr = (sel[n] for n in OPS)
    a, b, c = word_columns(t, "a"), word_columns(t, "b"), word_columns(t, "c")
    bits = [t.main(f"bit{i}") for i in range(8)]
    pw, m, sign = t.mains("pw", "m", "sign")
    lo, hi, w = word_columns(t, "lo"), word_columns(t, "hi"), word_columns(t, "w")
    ks = word_columns(t, "k")

    # Exactly one operation per real row; the op id is derived from the selectors, so no
    # other operation can be received here.
    is_real = sum(sel.values())
    for s in sel.values():
        t.assert_bool(s)
    t.assert_bool(is_real)
    is_right = is_srl + is_sra + is_rotr

    # The amount: b0 = sum bit_i 2^i (also forces b0 to be a byte); only bits 0..4 count.
    for bit in bits:
        t.assert_bool(bit)
    t.assert_eq(b[0], sum(bit * (1 << i) for i, bit in enumerate(bits)))
    t.assert_eq(pw, pow2_of_bits(bits[0], bits[1], bits[2]))
    # m = 2^j to shift left, 256 / 2^j to shift right (a multiple of the bit shift by 8).
    t.assert_zero(is_sll * (m - pw))
    t.assert_zero(is_right * (m * pw - 256))
    # One-hot byte shift k = bit3 + 2 bit4 (zero on padding rows).
    for k in ks:
        t.assert_bool(k)
    t.assert_eq(ks[0] + ks[1] + ks[2] + ks[3], is_real)
    t.assert_eq(bits[3], ks[1] + ks[3])
    t.assert_eq(bits[4], ks[2] + ks[3])

    # 1. bit shift
    for i in range(4):
        t.assert_eq(a[i] * m, lo[i] + hi[i] * 256)
    x = [lo[0], lo[1] + hi[0], lo[2] + hi[1], lo[3] + hi[2], hi[3]]
    t.assert_bool(sign)
    for i in range(3):
        t.assert_eq(w[i], is_sll * x[i] + is_right * x[i + 1])
    t.assert_eq(w[3], is_sll * x[3] + is_right * x[4] + is_rotr * x[0] + is_sra * sign * (256 - m))

    # 2. byte shift
    for j in range(4):
        left = sum(ks[k] * w[j - k] for k in range(j + 1))
        right = sum(ks[k] * w[j + k] for k in range(4 - j))
        fill = sum((ks[k] for k in range(4 - j, 4)), 0)
        rot = sum(ks[k] * w[(j + k) % 4] for k in range(4))
        t.assert_eq(c[j], is_sll * left + (is_srl + is_sra) * right + is_sra * sign * fill * 255 + is_rotr * rot)

    # lo/hi are bytes (so the split is the integer one); sign is a's top bit.
    for i in range(4):
        t.send(BUS_BYTE, [BYTE_RANGE, lo[i], hi[i], 0], is_real)
    t.send(BUS_BYTE, [BYTE_RANGE, top_bit_remainder(a[3], sign), 0, 0], is_real)

    op = sum(s * code for s, code in zip(sel.values(), OPS.values()))
    receive_alu(t, op, a, b, c, 0, is_real)
    return t


def shift_trace(events: Mapping[str, object]) -> np.ndarray:
    """The Shift trace from events ``op`` (OP ids of the register forms), ``a``, ``b``
    and the VM's results ``c`` (1-d integer arrays, one row per operation)."""
    rows, ev = event_words(events, ("op", "a", "b", "c"), TABLE_NAME)
    op = ev["op"]
    require_ops(op, {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    t = build_shift()
    f = TraceFiller(t, rows)
    for name, code in OPS.items():
        f[name] = op == code
    f.set_word("a", ev["a"])
    f.set_word("b", ev["b"])
    f.set_word("c", ev["c"])
    b0 = ev["b"] & 0xFF
    for i in range(8):
        f[f"bit{i}"] = (b0 >> i) & 1
    s = b0 & 31
    j, k = s & 7, s >> 3
    is_sll = op == OP["sll"]
    pw = np.left_shift(1, j)
    m = np.where(is_sll, pw, 256 >> j)
    f.set_all("pw", 1)                                # padding rows too: pw = 2^0
    f["pw"] = pw
    f["m"] = m
    a = limbs(ev["a"])
    prod = a * m[:, None]
    lo, hi = prod & 0xFF, prod >> 8
    f.set_limbs("lo", lo)
    f.set_limbs("hi", hi)
    sign = ev["a"] >> 31
    f["sign"] = sign
    x = np.concatenate([lo, np.zeros((rows, 1), np.int64)], axis=1)
    x[:, 1:] += hi
    w = np.where(is_sll[:, None], x[:, :4], x[:, 1:])
    w[:, 3] += np.where(op == OP["rotr"], x[:, 0], 0) + np.where(op == OP["sra"], sign * (256 - m), 0)
    f.set_limbs("w", w)
    f.set_limbs("k", (k[:, None] == np.arange(4)).astype(np.int64))
    return f.finish()
