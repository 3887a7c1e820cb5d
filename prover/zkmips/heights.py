"""Trace heights of the zkMIPS tables (one rule for all of them), and the padding that
keeps FRI's folds few (:func:`fri_friendly_heights`).

Every table is at least :data:`MIN_TABLE_HEIGHT` rows tall, even when it holds a single
event: in zero-knowledge mode each committed column is masked by a random polynomial
that must have more degrees of freedom than the points a proof reveals (the queries
plus two out-of-domain points, ``prover.stark.min_hiding_rows``), and a fixed floor
keeps preprocessed heights - part of the verifying key - independent of the preset.
128 rows cover every preset with up to 125 queries; :func:`check_preset` refuses others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

MIN_TABLE_HEIGHT = 128


def table_height(rows: int) -> int:
    """The height of a table with ``rows`` real rows: the next power of two, at least
    :data:`MIN_TABLE_HEIGHT`."""
    return max(MIN_TABLE_HEIGHT, 1 << max(rows - 1, 0).bit_length())


def check_preset(min_rows: int, preset: str) -> None:
    """Raise ValueError if a preset needs taller tables than the floor (``min_rows``:
    ``prover.stark.min_hiding_rows`` of the preset)."""
    if min_rows > MIN_TABLE_HEIGHT:
        raise ValueError(f"FRI preset {preset!r} needs tables of {min_rows} rows for zero knowledge; "
                         f"the zkMIPS tables are padded to {MIN_TABLE_HEIGHT}")


# ----------------------------------------------------------------------------- FRI-friendly heights
@dataclass(frozen=True)
class TableShape:
    """What the padding policy needs of a table: its trace height, the columns it commits per
    row (main and permutation: the prover's work per row), whether it has preprocessed
    columns (its height is in the verifying key: never raised) and whether it may be raised
    at all (its padding rows allow more of them)."""

    name: str
    log_height: int
    width: int
    preprocessed: bool
    raisable: bool = True

    @property
    def cells(self) -> int:
        return self.width << self.log_height


#: A table holding more than this share of a proof's cells is never raised: it sets a fold stop.
BIG_TABLE_SHARE = 1 / 32
#: The raised tables may add at most this share of the proof's cells.
PADDING_BUDGET = 1 / 8


def fold_ladder(stops: Sequence[int], max_log_arity: int, final: int) -> list[int]:
    """Every height a FRI fold lands on when ``stops`` are its only inputs: each stop, then
    steps of ``max_log_arity`` down to the next stop (or to ``final``)."""
    points = set(stops)
    bounds = sorted(set(stops), reverse=True) + [final]
    for hi, lo in zip(bounds, bounds[1:]):
        h = hi - max_log_arity
        while h > lo:
            points.add(h)
            h -= max_log_arity
    return sorted(points, reverse=True)


def fri_friendly_heights(shapes: Sequence[TableShape], *, extra: int, max_log_arity: int,
                         final: int) -> dict[str, int]:
    """The trace log-heights to pad the tables to, so that FRI folds by its full arity between
    few stops.

    Why: FRI stops folding at every height some input has (``prover.fri.fold_schedule``), and
    each stop is one more committed layer, one more Merkle path per query, which an on-chain
    verifier pays for in calldata (bench_matmul's one-segment proof at ``compact``: 11 layers
    where 6 do). So the heights of the tables that cannot move (preprocessed ones: their heights are
    in the verifying key; big ones: raising them costs the prover too much) set the stops, and
    every other table is raised to the next height a fold lands on anyway. Raising is padding
    with the tables' own padding rows (zeros); the verifier needs nothing, since it reads the
    heights from the proof. The raised tables add at most PADDING_BUDGET of the cells; past
    that the costliest one keeps its height and becomes a stop itself.

    Heights here are trace log-heights; all of a table's matrices sit at ``log_height +
    extra`` on FRI's scale (``extra``: 1 in zero-knowledge mode, ``prover.stark.setup``
    commits the preprocessed ones there too), shifted by the blowup like ``final`` (the
    preset's ``log_final_poly_len``)."""
    total = sum(s.cells for s in shapes)
    fixed = {s.name for s in shapes if s.preprocessed or not s.raisable or s.cells > BIG_TABLE_SHARE * total}
    while True:
        stops = {s.log_height + extra for s in shapes if s.name in fixed}
        ladder = fold_ladder(sorted(stops), max_log_arity, final) if stops else []
        targets: dict[str, int] = {}
        taller: list[str] = []
        for s in shapes:
            up = [h for h in ladder if h >= s.log_height + extra]
            if s.name not in fixed and not up:
                taller.append(s.name)
            targets[s.name] = s.log_height if s.name in fixed or not up else min(up) - extra
        if taller:                      # above every stop: it is one
            fixed.update(taller)
            continue
        growth = {s.name: (s.width << targets[s.name]) - s.cells for s in shapes if s.name not in fixed}
        if sum(growth.values()) <= PADDING_BUDGET * total:
            return targets
        fixed.add(max(growth, key=lambda name: growth[name]))
