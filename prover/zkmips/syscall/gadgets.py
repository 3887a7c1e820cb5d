"""AIR helpers the Syscall tables share: a register or memory read through the memory
argument, exact comparisons of two words given as byte limbs, and byte-range checks of
small integers (with :func:`_lt_witness`, the witness of :func:`_less_than`)."""

from __future__ import annotations

from typing import Sequence

from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.zkmips import memory as M
from prover.zkmips.spec import BUS_MEM, BUS_RANGE16


def _read_access(t: Table, name: str, key: ExprLike, ts: ExprLike, mult: ExprLike) -> M.AccessColumns:
    """A read of ``key`` at ``ts``: the received value is sent back unchanged, so the
    ``prev`` columns *are* the value (no separate value columns). Same columns as
    :func:`memory.memory_access`, so :func:`memory.access_witness` fills them. The caller
    byte-checks ``gap_hi``."""
    cols = t.mains(*(f"{name}_{c}" for c in M.ACCESS_WITNESS))
    prev, prev_ts, gap_lo, gap_hi = cols[:4], cols[4], cols[5], cols[6]
    t.assert_zero(lift(mult) * (lift(ts) - prev_ts - 1 - gap_lo - gap_hi * 65536))
    t.send(BUS_RANGE16, [gap_lo], mult)
    t.receive(BUS_MEM, [key, *prev, prev_ts], mult)
    t.send(BUS_MEM, [key, *prev, ts], mult)
    return M.AccessColumns(prev, prev_ts, gap_lo, gap_hi)


def _less_than(t: Table, name: str, x: Sequence[ExprLike], y: Sequence[ExprLike], when: ExprLike) -> Expr:
    """``x < y`` for two words (byte limbs) as a boolean column ``{name}_lt``: with
    16-bit halves, ``x - y = d - 2^32 lt`` where ``d = d_lo + 2^16 d_hi`` and the borrow
    ``c`` between halves; d_lo, d_hi in range16 and c, lt boolean make it exact."""
    c, lt, d_lo, d_hi = t.mains(f"{name}_c", f"{name}_lt", f"{name}_dlo", f"{name}_dhi")
    x_lo, x_hi = lift(x[0]) + lift(x[1]) * 256, lift(x[2]) + lift(x[3]) * 256
    y_lo, y_hi = lift(y[0]) + lift(y[1]) * 256, lift(y[2]) + lift(y[3]) * 256
    t.assert_bool(c)
    t.assert_bool(lt)
    t.assert_zero(lift(when) * (x_lo - y_lo + c * 65536 - d_lo))
    t.assert_zero(lift(when) * (x_hi - y_hi - c + lt * 65536 - d_hi))
    t.send(BUS_RANGE16, [d_lo], when)
    t.send(BUS_RANGE16, [d_hi], when)
    return lt


def _lt_witness(x: int, y: int) -> tuple[int, int, int, int]:
    """The columns (c, lt, d_lo, d_hi) of :func:`_less_than` for words x, y."""
    borrow = int((x & 0xFFFF) < (y & 0xFFFF))
    return (borrow, int(x < y), (x & 0xFFFF) - (y & 0xFFFF) + 65536 * borrow,
            (x >> 16) - (y >> 16) - borrow + 65536 * int(x < y))


def _word_cols(t: Table, name: str) -> list[Expr]:
    return t.mains(*(f"{name}_{j}" for j in range(4)))


def _at_least(t: Table, name: str, x: Sequence[ExprLike], y: Sequence[ExprLike], offset: int, when: ExprLike) -> None:
    """``x - y - offset >= 0`` for two words (byte limbs) and ``0 <= offset < 2^16``:
    ``x_lo - y_lo - offset + 2^16 c = d_lo`` and ``x_hi - y_hi - c = d_hi`` with ``d_lo``,
    ``d_hi`` in range16 and the borrow ``c = c1 + c2`` (two booleans: the low half can
    need 2), so ``x - y - offset = d_lo + 2^16 d_hi >= 0``; every value is far below p."""
    c1, c2, d_lo, d_hi = t.mains(f"{name}_c1", f"{name}_c2", f"{name}_dlo", f"{name}_dhi")
    x_lo, x_hi = lift(x[0]) + lift(x[1]) * 256, lift(x[2]) + lift(x[3]) * 256
    y_lo, y_hi = lift(y[0]) + lift(y[1]) * 256, lift(y[2]) + lift(y[3]) * 256
    t.assert_bool(c1)
    t.assert_bool(c2)
    t.assert_zero(lift(when) * (x_lo - y_lo - offset + (c1 + c2) * 65536 - d_lo))
    t.assert_zero(lift(when) * (x_hi - y_hi - c1 - c2 - d_hi))
    t.send(BUS_RANGE16, [d_lo], when)
    t.send(BUS_RANGE16, [d_hi], when)


def _below(t: Table, checks: list, x: ExprLike, bound: int, when: ExprLike) -> None:
    """Queue the byte checks of ``x`` and ``x + 256 - bound``: an integer in [0, bound)."""
    checks.append((x, when))
    checks.append((lift(x) + (256 - bound), when))
