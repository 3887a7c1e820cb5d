"""Small helpers shared by the ALU tables of shift.py, bitmanip.py, mul.py and divrem.py.

Why a module: those tables all (1) name their word columns ``x0..x3``, (2) prove a limb's
top bit the same way, (3) turn event arrays into padded traces. Keeping those three
things here means each table module only holds its own constraints.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from prover import field
from prover.air import Table
from prover.expr import Expr, ExprLike, lift
from prover.zkmips.heights import table_height  # noqa: F401  (re-exported)

MASK32 = 0xFFFFFFFF


def word_columns(t: Table, name: str, n: int = 4) -> list[Expr]:
    """Declare ``n`` byte-limb columns ``name0..name{n-1}`` (little-endian)."""
    return [t.main(f"{name}{i}") for i in range(n)]


def top_bit_remainder(limb: ExprLike, bit: ExprLike) -> Expr:
    """``2 * limb - 256 * bit``: for a *boolean* ``bit``, a byte exactly when ``bit`` is the
    top bit of the byte ``limb`` (if bit = 0 it is ``2 limb < 256`` iff limb < 128; if
    bit = 1 it is ``2 limb - 256 >= 0`` iff limb >= 128). Send it in a byte range lookup
    *and* constrain ``bit`` boolean: a field value ``bit = k / 256`` with ``2 limb - k``
    a byte also passes the lookup (tests/prover/zkmips/test_sign_bits.py)."""
    return lift(limb) * 2 - lift(bit) * 256


def pow2_of_bits(b0: ExprLike, b1: ExprLike, b2: ExprLike) -> Expr:
    """``2^(b0 + 2 b1 + 4 b2)`` for boolean b0..b2 (degree 3): (1+b0)(1+3b1)(1+15b2)."""
    return (lift(b0) + 1) * (lift(b1) * 3 + 1) * (lift(b2) * 15 + 1)


def event_words(events: Mapping[str, object], names: Sequence[str], table: str) -> tuple[int, dict[str, np.ndarray]]:
    """Validate and convert event arrays: every name present, same length, integers in
    [0, 2^32). Returns (rows, {name: int64 array})."""
    out: dict[str, np.ndarray] = {}
    rows = None
    for name in names:
        if name not in events:
            raise ValueError(f"{table} events: missing array {name!r}")
        arr = np.asarray(events[name])
        if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
            raise ValueError(f"{table} events: {name!r} must be a 1-d integer array")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() > MASK32):
            raise ValueError(f"{table} events: {name!r} holds a value outside [0, 2^32)")
        if rows is not None and arr.shape[0] != rows:
            raise ValueError(f"{table} events: {name!r} has {arr.shape[0]} rows, expected {rows}")
        rows = arr.shape[0]
        out[name] = arr
    return rows or 0, out


def require_ops(op: np.ndarray, allowed: Mapping[int, str], table: str) -> None:
    """One clear line if an event carries an operation this table does not implement."""
    bad = ~np.isin(op, np.array(sorted(allowed), dtype=np.int64))
    if bad.any():
        raise ValueError(f"{table} events: operation id {int(op[bad][0])} is not one of {sorted(allowed.values())}")


def limbs(words: np.ndarray, n: int = 4) -> np.ndarray:
    """``int64[rows, n]`` byte limbs (little-endian) of non-negative integers."""
    words = np.asarray(words, dtype=np.int64)
    return (words[:, None] >> (8 * np.arange(n, dtype=np.int64))) & 0xFF


class TraceFiller:
    """A zero trace of ``table``'s width at the padded height, filled by column name.

    Rows past ``rows`` stay zero unless set with :meth:`set_all`: tables are designed so
    that the all-zero row (every selector 0) satisfies every constraint, which is what
    padding needs. Columns are stored contiguously (column-major) while filling, and
    transposed once by :meth:`finish`."""

    def __init__(self, table: Table, rows: int):
        self.table = table
        self.rows = rows
        self._columns = np.zeros((table.width, table_height(rows)), dtype=np.int64)
        self._index = {name: i for i, name in enumerate(table.main_names)}

    def __setitem__(self, name: str, values: object) -> None:
        self._columns[self._index[name], : self.rows] = values

    def set_all(self, name: str, value: int) -> None:
        """Set column ``name`` on every row, padding included."""
        self._columns[self._index[name]] = value

    def set_word(self, name: str, words: np.ndarray, n: int = 4) -> None:
        """Columns ``name0..`` from the limbs of ``words``."""
        self.set_limbs(name, limbs(words, n))

    def set_limbs(self, name: str, values: np.ndarray) -> None:
        for i in range(values.shape[1]):
            self[f"{name}{i}"] = values[:, i]

    def finish(self) -> np.ndarray:
        """The trace ``uint32[height, width]`` of canonical field elements (entries
        outside [0, p), which only inconsistent events produce, are reduced mod p)."""
        cols = self._columns
        if cols.size and (cols.min() < 0 or cols.max() >= field.P):
            cols = cols % field.P
        out = np.empty(cols.shape[::-1], dtype=np.uint32)
        out[...] = cols.T
        return out
