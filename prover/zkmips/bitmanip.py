"""The BitManip table: CLZ, CLO, SEB, SEH, WSBH, EXT, INS on the ``alu`` bus.

Operand conventions (spec.py ``alu`` tuple ``(op, a, b, c, aux)``): the single operand of
CLZ/CLO (rs) and of SEB/SEH/WSBH (rt) is ``a`` (``b`` is ignored); EXT: ``a = rs``,
``aux = pos + 32 size``; INS: ``a = rs``, ``b`` = the old rt, ``aux = lsb + 32 msb``.

The variable-width operations are *composed* from the Shift table over the same bus:
this table sends the shifts it needs as ``alu`` tuples, and the Shift table (which must be
in the same system) proves them. So the shift logic exists once.

* SEB/SEH: ``c = a_0 | 255 * sign`` (resp. two limbs); ``sign`` is the top bit of the
  limb, proven by a byte lookup (alu_words.top_bit_remainder).
* WSBH: a fixed limb permutation.
* CLZ/CLO: ``v = a`` or ``~a`` (limbs ``255 - a_i``). ``c = n`` with either ``v = 0`` and
  ``n = 32`` (flag ``is_zero``, which forces every limb of v to 0), or
  ``srl(v, 31 - n) = 1`` (one Shift row), i.e. ``2^(31-n) <= v < 2^(32-n)``. ``n`` is a
  byte and ``31 - n`` a byte (the Shift table decomposes it), so ``n`` is in [0, 31].
* EXT: ``c = srl(sll(a, 32 - pos - size), 32 - size)``.
* INS: with ``F = srl(sll(a, 32 - size), 31 - msb)`` (a's low bits moved to lsb..msb) and
  ``G = srl(sll(srl(b, lsb), 32 - size), 31 - msb)`` (b's bits lsb..msb, in place),
  ``c = b - G + F`` limb by limb: G's bits are a subset of b's (no borrow) and F's are
  disjoint from ``b - G`` (no carry).
  ``pos``/``lsb`` is a witness proven to be an integer in [0, 32) (one byte lookup of the
  pair ``(lsb, 8 lsb)``: both bytes; ``8 x`` alone would admit ``x = B / 8`` in the
  field); the other field of aux follows as ``(aux - lsb) / 32``. Both shift amounts
  are proven in [0, 32) the same way, which also rejects aux values the decoder never
  produces (size 0, pos + size > 32, msb < lsb), so the table does not rely on aux
  being well formed.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from prover.air import Table
from prover.field import P
from prover.zkmips.alu_words import (MASK32, TraceFiller, event_words, limbs, require_ops, top_bit_remainder,
                                     word_columns)
from prover.zkmips.spec import BUS_BYTE, BYTE_RANGE, receive_alu, send_alu
from vm.isa import OP

TABLE_NAME = "bitmanip"
OPS: dict[str, int] = {"is_clz": OP["clz"], "is_clo": OP["clo"], "is_seb": OP["seb"], "is_seh": OP["seh"],
                       "is_wsbh": OP["wsbh"], "is_ext": OP["ext"], "is_ins": OP["ins"]}
INV32 = pow(32, P - 2, P)
SLL, SRL = OP["sll"], OP["srl"]


def build_bitmanip() -> Table:
    """Declare the BitManip table (module docstring: what it proves and why)."""
    t = Table(TABLE_NAME)
    sel = {name: t.main(name) for name in OPS}
    is_clz, is_clo, is_seb, is_seh, is_wsbh, is_ext, is_ins = sel.values()
    a, b, c = word_columns(t, "a"), word_columns(t, "b"), word_columns(t, "c")
    aux, sign, is_zero, lsb = t.mains("aux", "sign", "is_zero", "lsb")
    t1, u, g1, g2, gm = (word_columns(t, n) for n in ("t1", "u", "g1", "g2", "gm"))

    for s in sel.values():
        t.assert_bool(s)
    is_real = sum(sel.values())
    t.assert_bool(is_real)
    count = is_clz + is_clo
    sx = is_seb + is_seh
    field_op = is_ext + is_ins

    # CLZ / CLO
    v = [a[i] + is_clo * (255 - 2 * a[i]) for i in range(4)]
    t.assert_bool(is_zero)
    t.assert_zero(is_zero * (1 - count))
    for vi in v:
        t.assert_zero(is_zero * vi)
    t.assert_zero(is_zero * (c[0] - 32))
    send_alu(t, SRL, v, [31 - c[0], 0, 0, 0], [1, 0, 0, 0], 0, count - is_zero)

    # SEB / SEH: the sign of the limb that is extended.
    t.assert_bool(sign)
    top = is_seb * a[0] + is_seh * a[1]
    t.send(BUS_BYTE, [BYTE_RANGE, count * c[0], top_bit_remainder(top, sign), 0], count + sx)
    fill = sign * 255

    # EXT / INS: aux = lsb + 32 * high, high = size (ext) or msb (ins).
    high = (aux - lsb) * INV32
    amount_a = is_ext * (32 - lsb - high) + is_ins * (31 - high + lsb)   # 32 - pos - size | 32 - size
    amount_b = is_ext * (32 - high) + is_ins * (31 - high)               # 32 - size       | 31 - msb
    for x in (lsb, amount_a, amount_b):   # x and 8x bytes: x is an integer in [0, 32)
        t.send(BUS_BYTE, [BYTE_RANGE, x, x * 8, 0], field_op)
    send_alu(t, SLL, a, [amount_a, 0, 0, 0], t1, 0, field_op)
    send_alu(t, SRL, t1, [amount_b, 0, 0, 0], u, 0, field_op)
    send_alu(t, SRL, b, [lsb, 0, 0, 0], g1, 0, is_ins)
    send_alu(t, SLL, g1, [31 - high + lsb, 0, 0, 0], g2, 0, is_ins)
    send_alu(t, SRL, g2, [31 - high, 0, 0, 0], gm, 0, is_ins)

    # The result, per operation (CLZ/CLO's c0 is pinned above: by the shift send, or 32).
    wsbh = [a[1], a[0], a[3], a[2]]
    for i in range(4):
        t.assert_eq(c[i], (count * c[0] if i == 0 else 0)
                    + is_seb * (a[0] if i == 0 else fill)
                    + is_seh * (a[i] if i < 2 else fill)
                    + is_wsbh * wsbh[i]
                    + is_ext * u[i]
                    + is_ins * (b[i] - gm[i] + u[i]))

    op = sum(s * code for s, code in zip(sel.values(), OPS.values()))
    receive_alu(t, op, a, b, c, aux, is_real)
    return t


def _intermediates(ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The words the EXT/INS rows send through the Shift table, and their amounts
    (zero on the other rows)."""
    op, a, b, aux = ev["op"], ev["a"], ev["b"], ev["aux"]
    is_ext, is_ins = op == OP["ext"], op == OP["ins"]
    field_op = is_ext | is_ins
    lsb = np.where(field_op, aux & 31, 0)
    high = np.where(field_op, aux >> 5, 0)
    amount_a = np.where(is_ext, 32 - lsb - high, np.where(is_ins, 31 - high + lsb, 0))
    amount_b = np.where(is_ext, 32 - high, np.where(is_ins, 31 - high, 0))
    if (field_op & ((amount_a < 0) | (amount_a > 31) | (amount_b < 0) | (amount_b > 31))).any():
        raise ValueError(f"{TABLE_NAME} events: ext/ins aux does not encode a valid bit field")
    amount_c, amount_d, amount_e = lsb, 31 - high + lsb, 31 - high
    sll = lambda x, s: (x << s) & MASK32  # noqa: E731 - witness helpers, amounts already < 32
    t1 = np.where(field_op, sll(a, amount_a), 0)
    u = np.where(field_op, t1 >> amount_b, 0)
    g1 = np.where(is_ins, b >> amount_c, 0)
    g2 = np.where(is_ins, sll(g1, np.where(is_ins, amount_d, 0)), 0)
    gm = np.where(is_ins, g2 >> np.where(is_ins, amount_e, 0), 0)
    return {"lsb": lsb, "amount_a": amount_a, "amount_b": amount_b, "amount_c": amount_c, "amount_d": amount_d,
            "amount_e": amount_e, "t1": t1, "u": u, "g1": g1, "g2": g2, "gm": gm}


def _events(events: Mapping[str, object]) -> tuple[int, dict[str, np.ndarray]]:
    events = dict(events)
    events.setdefault("aux", np.zeros(len(np.asarray(events.get("op", ()))), dtype=np.int64))
    rows, ev = event_words(events, ("op", "a", "b", "c", "aux"), TABLE_NAME)
    require_ops(ev["op"], {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    return rows, ev


def bitmanip_trace(events: Mapping[str, object]) -> np.ndarray:
    """The BitManip trace from events ``op``, ``a``, ``b``, the VM's ``c`` and ``aux``
    (may be omitted when there is no EXT/INS)."""
    rows, ev = _events(events)
    op, a, c = ev["op"], ev["a"], ev["c"]
    mid = _intermediates(ev)
    t = build_bitmanip()
    f = TraceFiller(t, rows)
    for name, code in OPS.items():
        f[name] = op == code
    for name in ("a", "b", "c"):
        f.set_word(name, ev[name])
    for name in ("t1", "u", "g1", "g2", "gm"):
        f.set_word(name, mid[name])
    f["aux"], f["lsb"] = ev["aux"], mid["lsb"]
    f["is_zero"] = np.isin(op, (OP["clz"], OP["clo"])) & (c == 32)
    al = limbs(a)
    f["sign"] = np.where(op == OP["seb"], al[:, 0] >> 7, np.where(op == OP["seh"], al[:, 1] >> 7, 0))
    return f.finish()


def bitmanip_shift_events(events: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The shift operations the BitManip rows send on the ``alu`` bus, as Shift-table
    events (``op``, ``a``, ``b``, ``c``): append them to the Shift table's events."""
    rows, ev = _events(events)
    op, a, b, c = ev["op"], ev["a"], ev["b"], ev["c"]
    mid = _intermediates(ev)
    parts = []
    count = np.isin(op, (OP["clz"], OP["clo"])) & (c != 32)
    v = np.where(op == OP["clo"], ~a & MASK32, a)
    parts.append((count, SRL, v, 31 - c, np.ones(rows, np.int64)))
    field_op = np.isin(op, (OP["ext"], OP["ins"]))
    is_ins = op == OP["ins"]
    parts.append((field_op, SLL, a, mid["amount_a"], mid["t1"]))
    parts.append((field_op, SRL, mid["t1"], mid["amount_b"], mid["u"]))
    parts.append((is_ins, SRL, b, mid["amount_c"], mid["g1"]))
    parts.append((is_ins, SLL, mid["g1"], mid["amount_d"], mid["g2"]))
    parts.append((is_ins, SRL, mid["g2"], mid["amount_e"], mid["gm"]))
    out = {"op": [], "a": [], "b": [], "c": []}
    for mask, code, x, amount, result in parts:
        out["op"].append(np.full(int(mask.sum()), code, np.int64))
        out["a"].append(x[mask])
        out["b"].append(amount[mask])
        out["c"].append(result[mask])
    return {k: np.concatenate(v).astype(np.int64) for k, v in out.items()}
