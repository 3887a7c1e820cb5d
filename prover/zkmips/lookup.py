"""The lookup tables every other zkMIPS table leans on: Byte and Range16.

Why they exist: a STARK works over BabyBear (p = 2^31 - 2^27 + 1), so "this column is a
byte" or "this difference is below 2^16" is not a polynomial identity of low degree.
Instead a table *sends* the claimed tuple on a LogUp bus and a preprocessed table that
lists every legal tuple exactly once *receives* it with a multiplicity column; the bus
balances only if every sent tuple is one of the listed rows (docs/stark.md, LogUp).

Byte (2^16 rows, preprocessed ``x, y, and, or, xor``; row ``r`` holds ``x = r & 255``,
``y = r >> 8``) receives, per row, the four ``byte`` tuples of :mod:`prover.zkmips.spec`::

    (BYTE_AND, x, y, x & y)   multiplicity column m_and
    (BYTE_OR,  x, y, x | y)   multiplicity column m_or
    (BYTE_XOR, x, y, x ^ y)   multiplicity column m_xor
    (BYTE_RANGE, x, y, 0)     multiplicity column m_range

so a lookup of any kind also proves that x, y (and z) are bytes.

Range16 (2^16 rows, preprocessed ``v = 0..65535``) receives ``(v,)`` with column ``m``.

Neither table has a constraint: their soundness is entirely the fixed contents (bound in
the verifying key) plus the bus. The multiplicities are a free witness: a prover that
lies about them only unbalances the bus.

Filling the multiplicities
    :class:`LookupCounter` accumulates how often each tuple is looked up. Table
    builders either report explicitly (vectorised)::

        lc = LookupCounter()
        lc.add_byte(BYTE_XOR, a_limbs, b_limbs)     # arrays of bytes, any shape
        lc.add_range_bytes([c0, c1, c2, c3])        # paired exactly as spec.range_check_bytes
        lc.add_range16(ts_diff_low)

    or, with no chance of disagreeing with their AIR, let the counter evaluate the
    table's own ``byte``/``range16`` sends on the finished trace::

        lc.add_table(build_add_sub(), add_sub_trace(events))

    and then ``byte_trace(lc)`` / ``range16_trace(lc)`` give the two main traces;
    ``lookup_traces(tables, traces)`` does all of it for a set of tables at once.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import numpy as np

from prover import expr as E
from prover import field
from prover.air import Table, trace_env
from prover.zkmips.spec import BUS_BYTE, BUS_RANGE16, BYTE_AND, BYTE_OR, BYTE_RANGE, BYTE_XOR

BYTE_TABLE = "byte"
RANGE16_TABLE = "range16"
BYTE_ROWS = 1 << 16
RANGE16_ROWS = 1 << 16
#: Byte kinds in the order of the Byte table's multiplicity columns.
BYTE_KINDS = (BYTE_AND, BYTE_OR, BYTE_XOR, BYTE_RANGE)
_KIND_NAMES = {BYTE_AND: "m_and", BYTE_OR: "m_or", BYTE_XOR: "m_xor", BYTE_RANGE: "m_range"}


def byte_preprocessed() -> np.ndarray:
    """``uint32[65536, 5]``: columns x, y, x & y, x | y, x ^ y; row ``x + 256 * y``."""
    r = np.arange(BYTE_ROWS, dtype=np.uint32)
    x, y = r & 0xFF, r >> 8
    return np.stack([x, y, x & y, x | y, x ^ y], axis=1)


def build_byte() -> Table:
    """The Byte table: every pair of bytes with its AND/OR/XOR, one receive per kind.

    The range kind receives ``(3, x, y, 0)``: a plain "x and y are bytes" check costs one
    lookup for two limbs."""
    t = Table(BYTE_TABLE)
    x, y, z_and, z_or, z_xor = (t.pre(n) for n in ("x", "y", "and", "or", "xor"))
    mults = {k: t.main(_KIND_NAMES[k]) for k in BYTE_KINDS}
    t.set_preprocessed(byte_preprocessed())
    t.receive(BUS_BYTE, [BYTE_AND, x, y, z_and], mults[BYTE_AND])
    t.receive(BUS_BYTE, [BYTE_OR, x, y, z_or], mults[BYTE_OR])
    t.receive(BUS_BYTE, [BYTE_XOR, x, y, z_xor], mults[BYTE_XOR])
    t.receive(BUS_BYTE, [BYTE_RANGE, x, y, 0], mults[BYTE_RANGE])
    return t


def build_range16() -> Table:
    """The Range16 table: v = 0..65535 (preprocessed) received with multiplicity ``m``."""
    t = Table(RANGE16_TABLE)
    v = t.pre("v")
    m = t.main("m")
    t.set_preprocessed(np.arange(RANGE16_ROWS, dtype=np.uint32)[:, None])
    t.receive(BUS_RANGE16, [v], m)
    return t


def _as_int64(a: object, what: str, bound: int) -> np.ndarray:
    """Flatten ``a`` to int64 and require every value in ``[0, bound)``."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what}: expected integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False).reshape(-1)
    if arr.size and (arr.min() < 0 or arr.max() >= bound):
        bad = arr[(arr < 0) | (arr >= bound)][0]
        raise ValueError(f"{what}: value {int(bad)} is outside [0, {bound})")
    return arr


class LookupCounter:
    """How many times each Byte/Range16 row is looked up (the tables' multiplicities).

    Every method is vectorised: pass numpy arrays (any shape, broadcastable together)
    and an optional ``count`` (same shape, e.g. an ``is_real`` mask, or a scalar).
    Values out of range raise ``ValueError``: an honest trace never looks them up, and
    the Byte table could not answer anyway."""

    def __init__(self) -> None:
        self.byte = np.zeros((len(BYTE_KINDS), BYTE_ROWS), dtype=np.int64)
        self.range16 = np.zeros(RANGE16_ROWS, dtype=np.int64)

    # -- explicit reports --------------------------------------------------------------
    def add_byte(self, kind: int, x: object, y: object, count: object = 1) -> None:
        """Count lookups of ``(kind, x, y, op(x, y))`` (``op`` implied by ``kind``)."""
        if kind not in BYTE_KINDS:
            raise ValueError(f"unknown byte lookup kind {kind}")
        xb, yb, cb = np.broadcast_arrays(np.asarray(x), np.asarray(y), np.asarray(count))
        xs = _as_int64(xb, "byte lookup x", 256)
        ys = _as_int64(yb, "byte lookup y", 256)
        cs = _as_int64(cb, "byte lookup count", field.P)
        self.byte[BYTE_KINDS.index(kind)] += np.bincount(xs + 256 * ys, weights=cs, minlength=BYTE_ROWS).astype(np.int64)

    def add_range_bytes(self, limbs: Sequence[object], count: object = 1) -> None:
        """Count the range lookups :func:`spec.range_check_bytes` sends for ``limbs``:
        paired in order, two per lookup, an odd last limb paired with 0."""
        limbs = list(limbs)
        if len(limbs) % 2:
            limbs.append(np.zeros_like(np.asarray(limbs[-1])))
        for x, y in zip(limbs[0::2], limbs[1::2]):
            self.add_byte(BYTE_RANGE, x, y, count)

    def add_range16(self, v: object, count: object = 1) -> None:
        """Count lookups of ``(v,)`` on the range16 bus."""
        vb, cb = np.broadcast_arrays(np.asarray(v), np.asarray(count))
        vs = _as_int64(vb, "range16 lookup", RANGE16_ROWS)
        cs = _as_int64(cb, "range16 lookup count", field.P)
        self.range16 += np.bincount(vs, weights=cs, minlength=RANGE16_ROWS).astype(np.int64)

    def merge(self, other: "LookupCounter") -> None:
        self.byte += other.byte
        self.range16 += other.range16

    # -- derived from a table's own interactions -------------------------------------------
    def add_table(self, table: Table, trace: np.ndarray, publics: Sequence[int] = ()) -> None:
        """Count every ``byte``/``range16`` *send* of ``table`` on its finished ``trace``,
        by evaluating the interaction expressions themselves (so the counts match the
        AIR by construction). Rows with multiplicity 0 are skipped."""
        sends = [i for i in table.interactions if i.is_send and i.bus in (BUS_BYTE, BUS_RANGE16)]
        if not sends:
            return
        main = field.canonical(trace)
        n = main.shape[0]
        env = trace_env(main, table.preprocessed, [int(p) % field.P for p in publics])
        for inter in sends:
            cols = [np.broadcast_to(v, (n,)) for v, _ in E.evaluate(list(inter.values) + [inter.multiplicity], env)]
            mult = cols[-1].astype(np.int64)
            live = np.nonzero(mult)[0]
            if not live.size:
                continue
            where = f"table {table.name} ({inter.bus} send)"
            if inter.bus == BUS_RANGE16:
                self.add_range16(_as_int64(cols[0][live], where, RANGE16_ROWS), mult[live])
                continue
            kinds = _as_int64(cols[0][live], where + " kind", 4)
            x, y, z = (cols[j][live].astype(np.int64) for j in (1, 2, 3))
            for kind in np.unique(kinds):
                sel = kinds == kind
                self._check_result(int(kind), x[sel], y[sel], z[sel], where)
                self.add_byte(int(kind), x[sel], y[sel], mult[live][sel])

    @staticmethod
    def _check_result(kind: int, x: np.ndarray, y: np.ndarray, z: np.ndarray, where: str) -> None:
        _as_int64(x, where + " x", 256)
        _as_int64(y, where + " y", 256)
        want = {BYTE_AND: x & y, BYTE_OR: x | y, BYTE_XOR: x ^ y, BYTE_RANGE: np.zeros_like(x)}[kind]
        bad = np.nonzero(z != want)[0]
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"{where}: byte lookup kind {kind} ({int(x[i])}, {int(y[i])}) -> {int(z[i])} "
                             f"is not in the Byte table")


def lookup_traces(tables: Iterable[Table], traces: Mapping[str, np.ndarray],
                  publics: Mapping[str, Sequence[int]] | None = None) -> dict[str, np.ndarray]:
    """The Byte and Range16 main traces for every ``byte``/``range16`` send that ``tables``
    make on their ``traces`` (by table name): the one call a prover needs."""
    lc = LookupCounter()
    for t in tables:
        lc.add_table(t, traces[t.name], (publics or {}).get(t.name, ()))
    return {BYTE_TABLE: byte_trace(lc), RANGE16_TABLE: range16_trace(lc)}


def _multiplicity_column(counts: np.ndarray, what: str) -> np.ndarray:
    if counts.size and counts.max() >= field.P:
        raise ValueError(f"{what}: a multiplicity reached the field size")
    return counts.astype(np.uint32)


def byte_trace(counter: LookupCounter) -> np.ndarray:
    """The Byte table's main trace ``uint32[65536, 4]`` (m_and, m_or, m_xor, m_range)."""
    return np.ascontiguousarray(_multiplicity_column(counter.byte, "byte table").T)


def range16_trace(counter: LookupCounter) -> np.ndarray:
    """The Range16 table's main trace ``uint32[65536, 1]``."""
    return _multiplicity_column(counter.range16, "range16 table")[:, None]
