"""Trace heights of the zkMIPS tables (one rule for all of them).

Every table is at least :data:`MIN_TABLE_HEIGHT` rows tall, even when it holds a single
event: in zero-knowledge mode each committed column is masked by a random polynomial
that must have more degrees of freedom than the points a proof reveals (the queries
plus two out-of-domain points, ``prover.stark.min_hiding_rows``), and a fixed floor
keeps preprocessed heights - part of the verifying key - independent of the preset.
128 rows cover every preset with up to 125 queries; :func:`check_preset` refuses others.
"""

from __future__ import annotations

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
