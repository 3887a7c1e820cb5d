"""Tables (AIRs): named columns, constraints, public values and bus interactions.

A :class:`Table` is the unit a zkMIPS chip is written as: main (witness) columns,
preprocessed (fixed) columns, base-field public values, polynomial constraints from
:mod:`prover.expr`, and LogUp interactions that send or receive tuples on named buses.
A :class:`System` is the set of tables proven together; its bus names get stable ids.

The debug checker (:func:`check_constraints`, :func:`check_buses`) evaluates every
constraint on every row of a concrete trace and tallies every bus: it needs no
cryptography, runs in tests in milliseconds and reports *which* constraint failed on
*which* row - the error message a failed proof cannot give.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from typing import Sequence

import numpy as np

from prover import expr as E
from prover.keccak import keccak256
from prover import field
from prover.expr import Expr, ExprLike


@dataclass(frozen=True)
class Interaction:
    """``multiplicity`` copies of the tuple ``values`` sent (or received) on ``bus``."""

    bus: str
    values: tuple[Expr, ...]
    multiplicity: Expr
    is_send: bool

    @property
    def value_degree(self) -> int:
        return max((v.degree for v in self.values), default=0)


class ConstraintError(ValueError):
    """A concrete trace violates its table's constraints (raised by the debug checker)."""


class Table:
    """One AIR: declare columns, then constraints and interactions over them.

    Columns are declared in order; ``main("a")`` returns the expression for column ``a``
    on the current row (``.next`` for the next row).  ``private=True`` marks a table that
    holds secret data: the prover then commits it in hiding (zero-knowledge) mode.
    """

    def __init__(self, name: str, *, private: bool = False):
        if not name or not name.isprintable():
            raise ValueError("a table needs a printable, non-empty name")
        self.name = name
        self.private = private
        self.main_names: list[str] = []
        self.pre_names: list[str] = []
        self.public_names: list[str] = []
        self.constraints: list[Expr] = []
        self.interactions: list[Interaction] = []
        self.preprocessed: np.ndarray | None = None

    # -- declarations ------------------------------------------------------------------
    def main(self, name: str) -> Expr:
        return E.main_col(self._declare(self.main_names, name))

    def mains(self, *names: str) -> list[Expr]:
        return [self.main(n) for n in names]

    def pre(self, name: str) -> Expr:
        return E.pre_col(self._declare(self.pre_names, name))

    def public(self, name: str) -> Expr:
        return E.public(self._declare(self.public_names, name))

    def _declare(self, names: list[str], name: str) -> int:
        if name in self.main_names or name in self.pre_names or name in self.public_names:
            raise ValueError(f"table {self.name}: name {name!r} declared twice")
        names.append(name)
        return len(names) - 1

    def set_preprocessed(self, values: np.ndarray) -> None:
        """The fixed contents of the preprocessed columns (``uint32[height, len(pre_names)]``)."""
        values = field.canonical(values)
        if values.ndim != 2 or values.shape[1] != len(self.pre_names):
            raise ValueError(f"table {self.name}: preprocessed matrix must have {len(self.pre_names)} columns")
        _check_height(self.name, values.shape[0])
        self.preprocessed = values

    # -- constraints -------------------------------------------------------------------
    def assert_zero(self, e: ExprLike) -> None:
        e = E.lift(e)
        if e.is_ext:
            raise ValueError(f"table {self.name}: main constraints are over base-field values")
        if e.is_const:
            if e.value != 0:
                raise ValueError(f"table {self.name}: constraint is a non-zero constant")
            return
        self.constraints.append(e)

    def assert_eq(self, a: ExprLike, b: ExprLike) -> None:
        self.assert_zero(E.lift(a) - b)

    def assert_bool(self, e: ExprLike) -> None:
        e = E.lift(e)
        self.assert_zero(e * (e - 1))

    def when_first(self, e: ExprLike) -> None:
        self.assert_zero(E.is_first_row() * e)

    def when_last(self, e: ExprLike) -> None:
        self.assert_zero(E.is_last_row() * e)

    def when_transition(self, e: ExprLike) -> None:
        self.assert_zero(E.is_transition() * e)

    # -- interactions ------------------------------------------------------------------
    def send(self, bus: str, values: Sequence[ExprLike], multiplicity: ExprLike = 1) -> None:
        self._interact(bus, values, multiplicity, True)

    def receive(self, bus: str, values: Sequence[ExprLike], multiplicity: ExprLike = 1) -> None:
        self._interact(bus, values, multiplicity, False)

    def _interact(self, bus: str, values: Sequence[ExprLike], multiplicity: ExprLike, is_send: bool) -> None:
        vals = tuple(E.lift(v) for v in values)
        mult = E.lift(multiplicity)
        if not vals:
            raise ValueError(f"table {self.name}: an interaction needs at least one value")
        for v in vals + (mult,):
            if v.is_ext:
                raise ValueError(f"table {self.name}: interaction values are base-field expressions")
            if _reads_next(v):
                raise ValueError(f"table {self.name}: interactions read the current row only")
        self.interactions.append(Interaction(bus, vals, mult, is_send))

    # -- summaries ---------------------------------------------------------------------
    @property
    def width(self) -> int:
        return len(self.main_names)

    @property
    def pre_width(self) -> int:
        return len(self.pre_names)

    @property
    def degree(self) -> int:
        return E.max_degree(self.constraints)

    @property
    def buses(self) -> list[str]:
        return sorted({i.bus for i in self.interactions})

    def describe(self) -> dict:
        """Everything a verifier needs to know about the table's shape and constraints
        (hashed into the verifying key, so changing a constraint changes the key)."""
        return {
            "name": self.name,
            "private": self.private,
            "main": list(self.main_names),
            "pre": list(self.pre_names),
            "publics": list(self.public_names),
            "constraints": E.to_dict(self.constraints),
            "interactions": [
                {"bus": i.bus, "send": i.is_send, "expr": E.to_dict(list(i.values) + [i.multiplicity])}
                for i in self.interactions
            ],
        }


def _reads_next(e: Expr) -> bool:
    order, _ = E.topo_order([e])
    return any(n.op in E.COLUMN_KINDS and n.data[1] for n in order)


def _check_height(name: str, n: int) -> None:
    if n < 2 or n & (n - 1):
        raise ValueError(f"table {name}: height must be a power of two >= 2, got {n}")


@dataclass
class System:
    """Tables proven together; bus ids are positions in the sorted list of bus names
    (so they are fixed by the tables, and bound into the verifying key with them).
    ``open_buses`` are balanced outside one proof (e.g. across segments): their sums are
    returned to the caller instead of being required to vanish."""

    tables: list[Table]
    open_buses: frozenset[str] = dc_field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = [t.name for t in self.tables]
        if not self.tables:
            raise ValueError("a system needs at least one table")
        if len(set(names)) != len(names):
            raise ValueError(f"table names must be unique, got {names}")
        self.open_buses = frozenset(self.open_buses)

    def check_buses_arity(self) -> None:
        """Every tuple on a bus must have the same length: the fingerprint of ``(v,)`` and
        ``(v, 0)`` coincide, so mixed arities would let different tuples match."""
        arity: dict[str, int] = {}
        for t in self.tables:
            for i in t.interactions:
                if arity.setdefault(i.bus, len(i.values)) != len(i.values):
                    raise ValueError(f"bus {i.bus!r} carries tuples of lengths {arity[i.bus]} and {len(i.values)}")

    @property
    def bus_names(self) -> list[str]:
        return sorted({b for t in self.tables for b in t.buses})

    def bus_id(self, bus: str) -> int:
        """The field element that tags ``bus``'s fingerprints: its position for a closed bus;
        for an open bus a value derived from its name alone (``OPEN_BUS_ID_BASE`` + 24 bits
        of keccak), so that systems sharing an open bus (a receipt's segment and memory
        proofs) fingerprint its tuples alike."""
        if bus in self.open_buses:
            return OPEN_BUS_ID_BASE + int.from_bytes(keccak256(b"zkmips-bus:" + bus.encode())[:3], "little")
        return self.bus_names.index(bus) + 1

    def describe(self) -> dict:
        return {"tables": [t.describe() for t in self.tables], "open_buses": sorted(self.open_buses)}


#: Open buses' ids lie above every closed bus's position (below p: 2^25 < p).
OPEN_BUS_ID_BASE = 1 << 24


# -- the debug checker -------------------------------------------------------------------
def trace_env(main: np.ndarray, pre: np.ndarray | None, publics: Sequence[int], perm: np.ndarray | None = None,
              challenges: Sequence[np.ndarray] = (), ext_publics: Sequence[np.ndarray] = ()) -> E.Env:
    """Leaf values on the trace domain itself: next row wraps around; the selectors take
    their values on H (exactly what the prover's and verifier's polynomials give there):
    1 on the first (last) row and 0 elsewhere, and ``omega^i - omega^-1`` for
    ``is_transition``; ``perm`` holds extension columns as 4 base columns each."""
    n = main.shape[0]

    def column(kind: str, i: int, is_next: bool) -> np.ndarray:
        m = {E.MAIN: main, E.PRE: pre, E.PERM: perm}[kind]
        if m is None:
            raise ValueError(f"no {kind} columns on the trace")
        col = m[:, 4 * i: 4 * i + 4] if kind == E.PERM else m[:, i]
        return np.roll(col, -1, axis=0) if is_next else col

    def selector(kind: str) -> np.ndarray:
        if kind == E.TRANSITION:
            omega = field.two_adic_generator(n.bit_length() - 1)
            return field.sub(field.powers(omega, n), pow(omega, field.P - 2, field.P))
        s = np.zeros(n, dtype=np.uint32)
        s[0 if kind == E.FIRST else -1] = 1
        return s

    return E.Env(column, selector, list(publics), list(challenges), list(ext_publics))


def check_shapes(table: Table, main: np.ndarray, publics: Sequence[int]) -> None:
    if main.ndim != 2 or main.shape[1] != table.width:
        raise ValueError(f"table {table.name}: trace must have {table.width} columns, got shape {main.shape}")
    _check_height(table.name, main.shape[0])
    if len(publics) != len(table.public_names):
        raise ValueError(f"table {table.name}: expected {len(table.public_names)} public values, got {len(publics)}")
    if table.pre_width and (table.preprocessed is None or table.preprocessed.shape[0] != main.shape[0]):
        raise ValueError(f"table {table.name}: preprocessed columns must be set, with the trace's height")


def check_constraints(table: Table, main: np.ndarray, publics: Sequence[int] = ()) -> None:
    """Raise :class:`ConstraintError` naming the first failing constraint and row."""
    main = field.canonical(main)
    check_shapes(table, main, publics)
    env = trace_env(main, table.preprocessed, [int(p) % field.P for p in publics])
    for ci, (values, _) in enumerate(E.evaluate(table.constraints, env)):
        bad = np.nonzero(np.broadcast_to(values, (main.shape[0],)))[0]
        if bad.size:
            raise ConstraintError(f"table {table.name}: constraint {ci} {table.constraints[ci]!r} "
                                  f"fails at row {int(bad[0])} ({bad.size} rows)")


def bus_tally(table: Table, main: np.ndarray, publics: Sequence[int] = ()) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per bus, the tuples this table puts on it and their signed multiplicities (sends
    positive, receives negative; a field multiplicity above p/2 counts as negative):
    ``(int64[r, arity], int64[r])`` over the rows with a non-zero multiplicity."""
    env = trace_env(field.canonical(main), table.preprocessed, publics)
    n = main.shape[0]
    tally: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for inter in table.interactions:
        exprs = list(inter.values) + [inter.multiplicity]
        cols = [np.broadcast_to(v, (n,)).astype(np.int64) for v, _ in E.evaluate(exprs, env)]
        mult = cols[-1]
        rows = np.nonzero(mult)[0]
        signed = np.where(mult[rows] > field.P // 2, mult[rows] - field.P, mult[rows])
        keys = np.stack([c[rows] for c in cols[:-1]], axis=1)
        old_keys, old_mults = tally.get(inter.bus, (np.zeros((0, keys.shape[1]), np.int64), np.zeros(0, np.int64)))
        tally[inter.bus] = (np.concatenate([old_keys, keys]),
                            np.concatenate([old_mults, signed if inter.is_send else -signed]))
    return tally


def check_buses(system: System, traces: dict[str, np.ndarray], publics: dict[str, Sequence[int]] | None = None) -> None:
    """Raise :class:`ConstraintError` if a closed bus does not balance across the tables."""
    publics = publics or {}
    system.check_buses_arity()
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for t in system.tables:
        for bus, part in bus_tally(t, traces[t.name], publics.get(t.name, ())).items():
            parts.setdefault(bus, []).append(part)
    for bus, items in parts.items():
        if bus in system.open_buses:
            continue
        keys = np.concatenate([k for k, _ in items])
        mults = np.concatenate([m for _, m in items])
        if not len(mults):
            continue
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        net = np.zeros(len(uniq), dtype=np.int64)
        np.add.at(net, inverse.reshape(-1), mults)
        bad = np.nonzero(net)[0]
        if bad.size:
            key = tuple(int(x) for x in uniq[bad[0]])
            raise ConstraintError(f"bus {bus!r} unbalanced: tuple {key} has net multiplicity {int(net[bad[0]])} "
                                  f"({bad.size} tuples off)")
