"""LogUp: buses between tables, checked with running sums.

After every main trace is committed the verifier draws two extension challenges
``z`` and ``beta``.  A tuple ``v`` on bus ``b`` is fingerprinted as
``fp(v) = b_id + sum_j beta^(j+1) * v_j`` and contributes ``m / (z - fp(v))`` (sends
count ``+m``, receives ``-m``).  If every bus is balanced as a multiset, the sum of all
contributions over all tables is zero; if not, it is a non-zero rational function of
``(z, beta)`` and the sum vanishes only with probability about ``(fractions * tuple
length) / |F^4|`` (Schwartz-Zippel; not yet among prover/security.py's rated terms:
docs/audit-stark.md F7).

A table's *closed* buses (balanced inside one proof) share one running sum: their
fingerprints differ in the constant term ``b_id``, so as polynomials in ``beta`` no tuple
of one bus equals a tuple of another, and the total over all closed buses vanishes
identically only if each of them balances (the usual single-accumulator LogUp argument,
as SP1's).  Only an *open* bus (balanced across proofs: its total is returned to the
caller) keeps a running sum of its own.  A table then pays four permutation columns (and
in hiding mode four blinding columns) per open bus it touches plus four in all for its
closed ones, instead of eight per bus: a zkMIPS segment proof commits ~270 fewer columns.

Layout of a table's permutation trace (extension columns, 4 base columns each):

* helper columns ``h_k``, one per *batch* of interactions of the same sum, with
  ``h_k = sum_{i in batch} m_i / d_i`` enforced as
  ``h_k * prod d_i - sum_i m_i * prod_{j != i} d_j = 0`` on every row; interactions
  are batched greedily while that constraint's degree stays within the table's
  budget (``max(main degree, 2)``), so LogUp never raises the quotient's size alone;
* one running-sum column ``S_s`` per sum ``s`` (:data:`CLOSED_SUM`, then the table's open
  buses): ``S_s[0] = sum h_k[0]``, ``S_s[i+1] = S_s[i] + sum h_k[i+1]`` and
  ``S_s[last] = sum_s``, the table's final sum, which the proof exposes.

The verifier adds the exposed sums per sum name over all tables and rejects a non-zero
total of the closed sum (open buses' totals are returned, for cross-proof checks).

Hiding mode: a table's exposed sum is a function of its private multiset (one can test a
guess of it), so each ``S_s`` starts at a blinding value ``rho`` instead of zero:
``S_s[0] = sum h_k[0] + rho``.  ``rho`` lives in four extra main columns (constant over
the rows), so it is committed before ``z`` and ``beta`` are drawn; the honest prover
picks the ``rho`` of one sum uniformly at random subject to summing to zero over the
tables with that sum.  The exposed sums are then uniform subject to their total, and
soundness is unchanged: ``sum_t rho_t`` is a constant fixed before ``z``, while an
unbalanced bus makes the total a non-constant rational function of ``z``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from numba import njit, prange

from prover import expr as E
from prover import field
from prover.air import Interaction, System, Table, trace_env
from prover.errors import VerificationError
from prover.field import addmod
from prover.expr import Expr

#: Challenge indices (in the order the transcript samples them).
Z_CHALLENGE, BETA_CHALLENGE = 0, 1
NUM_CHALLENGES = 2

#: The running sum a table keeps for all its closed buses together.
CLOSED_SUM = "(closed)"
#: Version of the layout below, part of every circuit's digest (``prover.stark.circuit_digest``):
#: 2 since closed buses share one running sum per table.
LAYOUT_VERSION = 2


@dataclass(frozen=True)
class Batch:
    sum: str  # the running sum its helper is added to: an open bus, or CLOSED_SUM
    interactions: tuple[Interaction, ...]


@dataclass(frozen=True)
class LogupLayout:
    """How one table's interactions map to permutation columns and constraints."""

    batches: tuple[Batch, ...]
    sums: tuple[str, ...]  # name of each running-sum column, in order (table_sums)
    constraints: tuple[Expr, ...]
    blind_offset: int  # first main column of the blinding values (hiding mode)
    hiding: bool

    @property
    def blind_width(self) -> int:
        """Extra main columns the prover appends: 4 per running sum in hiding mode."""
        return 4 * len(self.sums) if self.hiding else 0

    @property
    def num_ext_columns(self) -> int:
        return len(self.batches) + len(self.sums)

    @property
    def width(self) -> int:
        """Width in base columns (4 per extension column)."""
        return 4 * self.num_ext_columns


def _batch_degree(inters: list[Interaction]) -> int:
    dens = [i.value_degree for i in inters]
    total = sum(dens)
    return max([1 + total] + [i.multiplicity.degree + total - d for i, d in zip(inters, dens)])


def sum_of(system: System, bus: str) -> str:
    """The running sum that ``bus``'s fractions are added to."""
    return bus if bus in system.open_buses else CLOSED_SUM


def table_sums(system: System, table: Table) -> tuple[str, ...]:
    """``table``'s running sums, in column order: :data:`CLOSED_SUM` if it has a closed
    bus, then its open buses (sorted)."""
    buses = table.buses
    if CLOSED_SUM in buses:
        raise ValueError(f"table {table.name}: {CLOSED_SUM!r} names the closed buses' running sum, not a bus")
    closed = (CLOSED_SUM,) if any(b not in system.open_buses for b in buses) else ()
    return closed + tuple(b for b in buses if b in system.open_buses)


def system_sums(system: System) -> list[str]:
    """Every running-sum name of ``system``, sorted (the EVM verifier's numbering)."""
    return sorted({s for t in system.tables for s in table_sums(system, t)})


def _batches(system: System, table: Table, budget: int) -> list[Batch]:
    out: list[Batch] = []
    for name in table_sums(system, table):
        current: list[Interaction] = []
        for inter in (i for i in table.interactions if sum_of(system, i.bus) == name):
            if current and _batch_degree(current + [inter]) > budget:
                out.append(Batch(name, tuple(current)))
                current = []
            current.append(inter)
        if current:
            out.append(Batch(name, tuple(current)))
    return out


def fingerprint(values: tuple[Expr, ...], bus_id: int) -> Expr:
    """``z - (bus_id + sum_j beta^(j+1) v_j)`` as an expression (beta powers are hoisted
    constants in the compiled program)."""
    beta = E.challenge(BETA_CHALLENGE)
    acc: Expr = E.const(bus_id)
    power: Expr = beta
    for v in values:
        acc = acc + power * v
        power = power * beta
    return E.challenge(Z_CHALLENGE) - acc


def _signed(inter: Interaction) -> Expr:
    return inter.multiplicity if inter.is_send else -inter.multiplicity


def _ext_from_main(first: int) -> Expr:
    """The extension value held coefficient-wise in main columns first..first+3."""
    acc: Expr = E.const(0)
    for t in range(4):
        basis = [0, 0, 0, 0]
        basis[t] = 1
        acc = acc + E.ext_const(basis) * E.main_col(first + t)
    return acc


def layout(system: System, table: Table, hiding: bool = False) -> LogupLayout:
    """Batches, running sums and the permutation constraints of ``table``.

    Permutation column ``k < len(batches)`` is helper ``h_k``; the next ones are the
    running sums; extension public ``j`` is the final sum of running-sum column ``j``.
    With ``hiding``, main columns ``table.width + 4j ..`` hold bus j's blinding value.
    """
    budget = max(table.degree, 2)
    batches = _batches(system, table, budget)
    sums = table_sums(system, table)
    cons: list[Expr] = []
    for k, batch in enumerate(batches):
        dens = [fingerprint(i.values, system.bus_id(i.bus)) for i in batch.interactions]
        h = E.perm_col(k)
        prod: Expr = E.const(1)
        for d in dens:
            prod = prod * d
        rhs: Expr = E.const(0)
        for i, inter in enumerate(batch.interactions):
            term = _signed(inter)
            for j, d in enumerate(dens):
                if j != i:
                    term = term * d
            rhs = rhs + term
        cons.append(h * prod - rhs)
    for j, name in enumerate(sums):
        s = E.perm_col(len(batches) + j)
        hs = [E.perm_col(k) for k, b in enumerate(batches) if b.sum == name]
        row_sum: Expr = E.const(0)
        next_sum: Expr = E.const(0)
        for h in hs:
            row_sum = row_sum + h
            next_sum = next_sum + h.next
        if hiding:
            first = table.width + 4 * j
            row_sum = row_sum + _ext_from_main(first)
            for t in range(4):
                cons.append(E.is_transition() * (E.main_col(first + t).next - E.main_col(first + t)))
        cons.append(E.is_first_row() * (s - row_sum))
        cons.append(E.is_transition() * (s.next - s - next_sum))
        cons.append(E.is_last_row() * (s - E.ext_public(j)))
    return LogupLayout(tuple(batches), sums, tuple(cons), table.width, hiding)


def blinding_values(system: System, layouts: dict[str, LogupLayout],
                    random: Callable[[tuple[int, ...]], np.ndarray],
                    open_totals: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Per table, ``uint32[len(sums), 4]`` blinding values summing per running sum over
    the tables to zero, or for an open bus named in ``open_totals`` to that value (zero
    outside hiding mode); ``random(shape)`` gives uniform field elements.

    Each table's sum of a bus is public in the proof; the blinds make every one of them
    uniform. An open bus's total over the proof is shifted by its ``open_totals`` value,
    which the parts of a shared argument choose to sum to zero over all parts."""
    open_totals = dict(open_totals or {})
    unknown = set(open_totals) - set(system.open_buses)
    if unknown:
        raise ValueError(f"open-bus totals given for buses that are not open: {sorted(unknown)}")
    out = {name: np.zeros((len(lay.sums), 4), dtype=np.uint32) for name, lay in layouts.items()}
    for bus in system_sums(system):
        users = [(name, lay.sums.index(bus)) for name, lay in layouts.items() if lay.hiding and bus in lay.sums]
        total = np.zeros(4, dtype=np.uint32)
        for name, j in users[:-1]:
            out[name][j] = random((4,))
            total = field.ext_add(total, out[name][j])
        target = np.asarray(open_totals.pop(bus, np.zeros(4)), dtype=np.uint32)
        if users:
            name, j = users[-1]
            out[name][j] = field.ext_sub(target, total)
        elif np.any(target):
            raise ValueError(f"bus {bus}: no hiding table can carry its blinding total")
    return out


def blind_columns(blinds: np.ndarray, n: int) -> np.ndarray:
    """The blinding main columns: each running sum's value repeated on every row, ``uint32[n, 4*sums]``."""
    return np.broadcast_to(np.asarray(blinds, dtype=np.uint32).reshape(1, -1), (n, blinds.size)).copy()


def permutation_trace(system: System, table: Table, lay: LogupLayout, main: np.ndarray,
                      publics: list[int], challenges: list[np.ndarray],
                      blinds: np.ndarray | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """The permutation trace ``uint32[n, lay.width]`` and the final value of each running
    sum (``blinds[j]``, if given, is where running sum j starts).

    Raises ValueError if a denominator vanishes (a tuple's fingerprint equals ``z``:
    probability about ``n / |F^4|``; the caller may retry with a fresh transcript).

    Two numba passes: the constraint interpreter evaluates every fingerprint and
    multiplicity and sums each batch's fractions into its helper column
    (:func:`prover.expr.eval_fraction_sums`, batched inversions per block of rows), then
    a parallel scan adds the helpers of each sum into its running-sum column."""
    n = main.shape[0]
    out = np.zeros((n, lay.width), dtype=np.uint32)
    first = len(lay.batches)
    start = np.zeros((len(lay.sums), 4), dtype=np.uint32) if blinds is None else \
        np.asarray(blinds, dtype=np.uint32).reshape(len(lay.sums), 4)
    if lay.batches:
        program = _fractions_program(lay, tuple(system.bus_id(i.bus) for b in lay.batches for i in b.interactions))
        env = trace_env(main, table.preprocessed, publics)
        env.challenges = challenges
        sel = np.stack([env.selector(s) for s in E.SELECTORS]) if any(program.uses_selectors) else None
        rows = np.zeros((2, n), dtype=np.int32)
        rows[0] = np.arange(n, dtype=np.int32)  # interactions read the current row only
        groups = [k for k, b in enumerate(lay.batches) for _ in b.interactions]
        if not E.eval_fraction_sums(program, env, groups, out, n_rows=n, main=E.Source(main, rows),
                                    pre=E.Source(table.preprocessed, rows) if table.pre_width else None,
                                    selectors=sel):
            raise ValueError(f"table {table.name}: LogUp denominator vanished; resample challenges")
    sum_of_batch = np.array([lay.sums.index(b.sum) for b in lay.batches], dtype=np.int64)
    _running_sums(out, sum_of_batch, start)
    return out, [out[-1, 4 * (first + j): 4 * (first + j) + 4].copy() for j in range(len(lay.sums))]


@functools.lru_cache(maxsize=64)
def _fractions_program(lay: LogupLayout, bus_ids: tuple[int, ...]) -> E.Program:
    """The compiled fractions ``signed multiplicity / fingerprint`` of every interaction,
    in batch order (``bus_ids[i]``: interaction i's bus id); compiled once per layout."""
    inters = [i for b in lay.batches for i in b.interactions]
    return E.compile_fractions([fingerprint(i.values, bus_id) for i, bus_id in zip(inters, bus_ids, strict=True)],
                               [_signed(i) for i in inters])


_SCAN_ROWS = 1 << 14  # rows per parallel task of the running-sum scan


def _running_sums(out: np.ndarray, bus_of: np.ndarray, start: np.ndarray) -> None:
    """Fill the running-sum columns (those after the helpers, one extension column per
    sum) of the permutation trace ``out`` in place: sum b's column on row r is
    ``start[b]`` plus every helper of sum b (``bus_of[k]`` = b) on rows 0..r.

    A parallel scan: block totals, a serial pass over them, then each block from its
    offset; a short trace is one block, scanned serially (a parallel launch costs more)."""
    acc = np.asarray(start, dtype=np.uint64).reshape(-1)
    if out.shape[0] <= _SCAN_ROWS:
        _scan_serial(out, bus_of, acc)
    else:
        _scan_parallel(out, bus_of, acc)


@njit(inline="always", cache=True)
def _add_row_sums(out, r, bus_of, acc):
    """acc[4b + t] += coefficient t of every helper of bus b on row r (mod P)."""
    for k in range(bus_of.shape[0]):
        for t in range(4):
            acc[4 * bus_of[k] + t] = addmod(acc[4 * bus_of[k] + t], np.uint64(out[r, 4 * k + t]))


@njit(inline="always", cache=True)
def _scan_rows(out, bus_of, lo, hi, acc):
    """Rows lo..hi-1 of the running-sum columns, continuing from the sums ``acc``."""
    col0 = 4 * bus_of.shape[0]
    for r in range(lo, hi):
        _add_row_sums(out, r, bus_of, acc)
        for t in range(acc.shape[0]):
            out[r, col0 + t] = acc[t]


@njit(cache=True)
def _scan_serial(out, bus_of, start):
    _scan_rows(out, bus_of, 0, out.shape[0], start.copy())


@njit(parallel=True, cache=True)
def _scan_parallel(out, bus_of, start):
    n = out.shape[0]
    nblocks = (n + _SCAN_ROWS - 1) // _SCAN_ROWS
    offsets = np.zeros((nblocks + 1, start.shape[0]), dtype=np.uint64)
    offsets[0] = start
    for blk in prange(nblocks):
        for r in range(blk * _SCAN_ROWS, min(n, (blk + 1) * _SCAN_ROWS)):
            _add_row_sums(out, r, bus_of, offsets[blk + 1])
    for blk in range(nblocks):
        for t in range(start.shape[0]):
            offsets[blk + 1, t] = addmod(offsets[blk + 1, t], offsets[blk, t])
    for blk in prange(nblocks):
        _scan_rows(out, bus_of, blk * _SCAN_ROWS, min(n, (blk + 1) * _SCAN_ROWS), offsets[blk].copy())


def error_bits(system: System, log_heights: Sequence[int], field_bits: float) -> float:
    """-log2 of the probability that LogUp accepts an unbalanced bus of ``system`` with
    tables of ``2^log_heights`` rows, challenges from a field of ``field_bits`` bits.

    Schwartz-Zippel over ``(z, beta)``: clearing the denominators of the total leaves a
    polynomial of total degree ``T = sum over every row and interaction of max(1, arity)``
    (a fingerprint has degree ``arity`` in ``beta``), non-zero when a bus is unbalanced; it
    vanishes, or some denominator does, with probability at most ``2 T / |F|``. Not yet a
    rated term of prover/security.py (docs/audit-stark.md F7)."""
    if len(log_heights) != len(system.tables):
        raise ValueError(f"need a height per table ({len(system.tables)}), got {len(log_heights)}")
    degree = sum((1 << int(h)) * sum(max(1, len(i.values)) for i in t.interactions)
                 for t, h in zip(system.tables, log_heights))
    return field_bits - math.log2(2 * degree) if degree else math.inf


def check_bus_sums(system: System, sums: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Add the exposed final sums per running sum over all tables (``sums[table][name]``,
    names from :func:`table_sums`).

    Raises VerificationError if the closed buses' total is not zero; returns the totals of
    the open buses (for a caller that balances them across proofs).
    """
    totals: dict[str, np.ndarray] = {}
    for t in system.tables:
        for name in table_sums(system, t):
            try:
                v = sums[t.name][name]
            except KeyError:
                raise VerificationError(f"missing LogUp sum {name} of table {t.name}") from None
            totals[name] = field.ext_add(totals.get(name, np.zeros(4, np.uint32)), v)
    if np.any(totals.get(CLOSED_SUM, 0)):
        raise VerificationError("LogUp: a closed bus does not balance (the closed buses' total is not zero)")
    return {b: v for b, v in totals.items() if b in system.open_buses}
