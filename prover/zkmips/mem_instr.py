"""The MemInstr table: the byte selection, sign extension, merges and alignment of every
load and store, received from the CPU on the ``memop`` bus.

The CPU computes the address, accesses the aligned word through the memory argument and
sends ``(op, lo2, rt, mem_prev, mem_new, result, llbit)`` (spec.py); this table proves
that ``mem_new`` and ``result`` are what ``vm/isa.py::run`` computes from the other
elements, for the operation ``op`` and the byte offset ``lo2 = addr & 3``.

Columns: one boolean selector per operation (their sum ``is_real`` is boolean and is the
receive multiplicity; the received op id is derived from them, so a row proves exactly
one operation), the position flags ``p1, p2, p3`` with ``p0 = is_real - p1 - p2 - p3``,
the four words and ``llbit``, and ``sign``.

* Position. ``p0..p3`` are boolean, so on a real row exactly one is 1 and
  ``lo2 = p1 + 2 p2 + 3 p3`` is in {0, 1, 2, 3}; on a padding row all are 0 (three
  booleans cannot sum to -1). Flags rather than the two bits of lo2: a byte "at lo2"
  is then ``sum_k p_k m_k`` of degree 2, and the per-operation formulas (degree 2)
  times a selector stay within degree 3. Alignment is a constraint on the flags:
  halfword operations need ``p1 = p3 = 0``, word operations (lw, ll, sw, sc) ``p0 = 1``.
* Results. Per limb, ``result_j = sum_op sel_op * R_op,j`` and
  ``mem_new_j = sum_op sel_op * M_op,j`` where ``R``/``M`` are the byte formulas of the
  VM's shifts and masks (little-endian; lwl at offset k takes bytes ``0..k`` of the word
  into the top of rt, lwr bytes ``k..3`` into the bottom, swl/swr the converse).
  Loads keep ``mem_new = mem_prev``; stores other than sc have ``result = 0``; sc writes
  ``rt`` and returns 1 when ``llbit = 1``, and changes nothing and returns 0 otherwise
  (``llbit`` is boolean, and 0 on every row that is not an sc).
* Sign. lb and lh fill the upper limbs with ``255 * sign``; ``sign`` is the top bit of
  the loaded byte (``result_0`` for lb, ``result_1`` for lh, both already pinned to a
  byte of mem_prev), proven by one byte lookup of ``2 top - 256 sign``
  (alu_words.top_bit_remainder) *together with* ``sign`` boolean: the lookup alone
  holds for every ``sign = k / 256`` with ``2 top - k`` in [0, 256), whose fill
  ``255 k / 256`` is no byte.

Range checks: none of the produced limbs needs one. With one selector and one position
flag set, every ``result`` and ``mem_new`` limb is constrained to equal a limb of ``rt``
or ``mem_prev`` (range-checked by the sender), 0, ``255 * sign`` (sign boolean) or
``llbit`` (boolean). A padding row (all zeros) satisfies every constraint and receives
nothing.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from prover.air import Table
from prover.expr import Expr
from prover.zkmips.alu_words import (MASK32, TraceFiller, event_words, limbs, require_ops, top_bit_remainder,
                                     word_columns)
from prover.zkmips.spec import BUS_BYTE, BYTE_RANGE, MEMOP_OPS, receive_memop
from vm.isa import ALIGN_MASK, OP

TABLE_NAME = "mem_instr"
MNEMONICS = ("lb", "lbu", "lh", "lhu", "lw", "lwl", "lwr", "ll", "sb", "sh", "sw", "swl", "swr", "sc")
#: The operations of this table, by selector column.
OPS: dict[str, int] = {f"is_{m}": OP[m] for m in MNEMONICS}
#: Halfword and word accesses, from the VM's alignment rule (``addr & ALIGN_MASK[op] == 0``).
HALF_OPS = tuple(m for m in MNEMONICS if ALIGN_MASK[OP[m]] == 1)
WORD_OPS = tuple(m for m in MNEMONICS if ALIGN_MASK[OP[m]] == 3)


def build_mem_instr() -> Table:
    """Declare the MemInstr table (module docstring: what it proves and why)."""
    t = Table(TABLE_NAME)
    sel = {m: t.main(f"is_{m}") for m in MNEMONICS}
    p1, p2, p3 = t.mains("p1", "p2", "p3")
    rt, mp, mn, res = (word_columns(t, n) for n in ("rt", "mem_prev", "mem_new", "result"))
    llbit, sign = t.mains("llbit", "sign")

    for s in sel.values():
        t.assert_bool(s)
    is_real = sum(sel.values())
    t.assert_bool(is_real)
    p0 = is_real - p1 - p2 - p3
    p = [p0, p1, p2, p3]
    for pk in p:
        t.assert_bool(pk)
    lo2 = p1 + p2 * 2 + p3 * 3

    t.assert_zero(sum(sel[m] for m in HALF_OPS) * (p1 + p3))
    t.assert_zero(sum(sel[m] for m in WORD_OPS) * (p1 + p2 + p3))
    t.assert_bool(llbit)
    t.assert_zero((1 - sel["sc"]) * llbit)
    t.assert_bool(sign)   # the lookup alone admits sign = k / 256 (2 top - k in [0, 256))

    byte_at = sum(pk * mk for pk, mk in zip(p, mp))          # mem_prev's byte at lo2
    half = [p0 * mp[0] + p2 * mp[2], p0 * mp[1] + p2 * mp[3]]  # its halfword (lo2 even)
    fill = sign * 255

    def result(j: int) -> Expr:
        lwl = sum(pk * (mp[j + k - 3] if j + k >= 3 else rt[j]) for k, pk in enumerate(p))
        lwr = sum(pk * (mp[j + k] if j + k <= 3 else rt[j]) for k, pk in enumerate(p))
        return (sel["lb"] * (byte_at if j == 0 else fill) + sel["lbu"] * (byte_at if j == 0 else 0)
                + sel["lh"] * (half[j] if j < 2 else fill) + sel["lhu"] * (half[j] if j < 2 else 0)
                + (sel["lw"] + sel["ll"]) * mp[j] + sel["lwl"] * lwl + sel["lwr"] * lwr
                + sel["sc"] * (llbit if j == 0 else 0))

    def mem_new(j: int) -> Expr:
        sh = (p0 * (rt[j] - mp[j])) if j < 2 else (p2 * (rt[j - 2] - mp[j]))
        swl = sum(p[k] * (rt[j + 3 - k] - mp[j]) for k in range(j, 4))
        swr = sum(p[k] * (rt[j - k] - mp[j]) for k in range(j + 1))
        return (is_real * mp[j] + sel["sb"] * p[j] * (rt[0] - mp[j]) + sel["sh"] * sh
                + sel["sw"] * (rt[j] - mp[j]) + sel["swl"] * swl + sel["swr"] * swr
                + sel["sc"] * llbit * (rt[j] - mp[j]))

    for j in range(4):
        t.assert_eq(res[j], result(j))
        t.assert_eq(mn[j], mem_new(j))

    t.send(BUS_BYTE, [BYTE_RANGE, top_bit_remainder(sel["lb"] * res[0] + sel["lh"] * res[1], sign), 0, 0],
           sel["lb"] + sel["lh"])
    op = sum(code * sel[m] for m, code in zip(MNEMONICS, OPS.values()))
    receive_memop(t, op, lo2, rt, mp, mn, res, llbit, is_real)
    return t


def _sx(x: np.ndarray, bits: int) -> np.ndarray:
    """Sign-extend the low ``bits`` of ``x`` to a 32-bit word."""
    top = 1 << (bits - 1)
    return (((x & ((1 << bits) - 1)) ^ top) - top) & MASK32


def memop_semantics(op: np.ndarray, lo2: np.ndarray, rt: np.ndarray, mem_prev: np.ndarray,
                    llbit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mem_new, result)`` of each memory operation, written with the VM's shifts and
    masks (vm/isa.py::run; the tests check it against the VM itself). Raises ValueError
    naming the first row with an unknown op, ``lo2`` outside 0..3, an unaligned access
    or an llbit that is not 0/1 (not 0 for a non-sc op): no row can prove those."""
    op, lo2, rt, word, llbit = (np.asarray(x, dtype=np.int64) for x in (op, lo2, rt, mem_prev, llbit))
    known = np.isin(op, MEMOP_OPS)
    align = np.where(known, ALIGN_MASK[np.where(known, op, 0)], 0)
    bad = (~known | (lo2 < 0) | (lo2 > 3) | ((lo2 & align) != 0)
           | (llbit < 0) | (llbit > 1) | ((op != OP["sc"]) & (llbit != 0)))
    if bad.any():
        r = int(np.nonzero(bad)[0][0])
        raise ValueError(f"{TABLE_NAME} events: row {r}: op {int(op[r])} at lo2={int(lo2[r])} with llbit="
                         f"{int(llbit[r])} is not a provable memory operation (unknown, out of range or unaligned)")
    s = lo2 << 3                     # the VM's (addr & 3) << 3
    sl = (3 - lo2) << 3              # the VM's (3 - (addr & 3)) << 3
    is_ = {m: op == OP[m] for m in MNEMONICS}
    result = np.select(
        [is_["lbu"], is_["lb"], is_["lhu"], is_["lh"], is_["lw"] | is_["ll"], is_["lwl"], is_["lwr"], is_["sc"]],
        [(word >> s) & 0xFF, _sx(word >> s, 8), (word >> s) & 0xFFFF, _sx(word >> s, 16), word,
         ((word << sl) | (rt & ((1 << sl) - 1))) & MASK32,
         (word >> s) | (rt & ~(MASK32 >> s) & MASK32), llbit], 0)
    swl_mask = MASK32 >> sl
    swr_mask = (MASK32 << s) & MASK32
    mem_new = np.select(
        [is_["sb"], is_["sh"], is_["sw"], is_["swl"], is_["swr"], is_["sc"] & (llbit == 1)],
        [(word & ~(0xFF << s)) | ((rt & 0xFF) << s), (word & ~(0xFFFF << s)) | ((rt & 0xFFFF) << s), rt,
         (word & ~swl_mask & MASK32) | ((rt >> sl) & swl_mask), (word & ~swr_mask & MASK32) | ((rt << s) & swr_mask),
         rt], word)
    return mem_new & MASK32, result & MASK32


def mem_instr_trace(events: Mapping[str, object], check: bool = True) -> np.ndarray:
    """The MemInstr trace from events ``op, lo2, rt, mem_prev, mem_new, result, llbit``
    (1-d integer arrays, words in [0, 2^32)). With ``check`` (the default) every event
    must agree with :func:`memop_semantics`; ``check=False`` builds whatever the events
    say (forged-witness tests), with ``sign`` taken from the claimed result."""
    rows, ev = event_words(events, ("op", "lo2", "rt", "mem_prev", "mem_new", "result", "llbit"), TABLE_NAME)
    require_ops(ev["op"], {v: k[3:] for k, v in OPS.items()}, TABLE_NAME)
    op, lo2 = ev["op"], ev["lo2"]
    if check:
        mem_new, result = memop_semantics(op, lo2, ev["rt"], ev["mem_prev"], ev["llbit"])
        for name, want in (("mem_new", mem_new), ("result", result)):
            bad = np.nonzero(ev[name] != want)[0]
            if bad.size:
                r = int(bad[0])
                raise ValueError(f"{TABLE_NAME} events: row {r}: {name} {int(ev[name][r]):#x} contradicts the "
                                 f"semantics (expected {int(want[r]):#x})")
    f = TraceFiller(build_mem_instr(), rows)
    for name, code in OPS.items():
        f[name] = op == code
    for k in (1, 2, 3):
        f[f"p{k}"] = lo2 == k
    for name in ("rt", "mem_prev", "mem_new", "result"):
        f.set_word(name, ev[name])
    f["llbit"] = ev["llbit"]
    res = limbs(ev["result"])
    f["sign"] = np.where(op == OP["lb"], res[:, 0] >> 7, np.where(op == OP["lh"], res[:, 1] >> 7, 0))
    return f.finish()


__all__ = ["TABLE_NAME", "OPS", "build_mem_instr", "mem_instr_trace", "memop_semantics"]
