"""The ``private_input`` table (private): the one free witness, one row per private byte
plus an end marker, and its trace.

It lives in a receipt's memory proof, once per run, not in the segments: every segment's
private reads look their bytes and the end marker up in this one table over the open
``private`` bus, so all segments read one private input of one length (a segment cannot
see the input end where a later one reads on), and a long private input (a model's
weights) is proven once, not once per segment (docs/segments.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from prover.air import Table
from prover.zkmips import memory as M
from prover.zkmips.spec import BUS_RANGE16
from prover.zkmips.syscall.cells import BUS_PRIVATE, PRIVATE_TABLE

if TYPE_CHECKING:      # pragma: no cover
    from prover.zkmips.syscall.witness import SyscallWitness


def build_private_input() -> Table:
    """The private input (the one free witness): rows ``(pos, byte, eof)`` with positions
    ``0, 1, ..., L`` and exactly one end marker, at ``L`` (byte 0). Offered on the
    ``private`` bus with the free multiplicity ``mult`` (how often a row is read), zero on
    padding rows, so only these tuples can be looked up."""
    t = Table(PRIVATE_TABLE, private=True)
    real, eof, pos, byte, mult = t.mains("is_real", "eof", "pos", "byte", "mult")
    t.assert_bool(real)
    t.assert_bool(eof)
    t.assert_zero(eof * (1 - real))
    t.when_first(real - 1)
    t.when_first(pos)
    t.when_transition(real.next - real + eof)
    t.when_transition(real.next * (pos.next - pos - 1))
    t.when_last(real - eof)
    t.assert_zero(eof * byte)
    t.assert_zero((1 - real) * mult)
    # a byte: byte < 2^16 and 256 byte < 2^16 (Range16 only, the one lookup table a
    # memory proof has)
    t.send(BUS_RANGE16, [byte], real - eof)
    t.send(BUS_RANGE16, [byte * 256], real - eof)
    t.send(BUS_PRIVATE, [pos, byte, eof], mult)
    return t


def private_input_trace(wit: SyscallWitness) -> np.ndarray:
    """Rows 0..L-1 the bytes, row L the end marker; at least one padding row. ``wit``
    must be the whole run's witness: the multiplicities count every segment's reads."""
    n = len(wit.private)
    out = np.zeros((M.table_height(n + 2), 5), np.uint32)
    out[: n + 1, 0] = 1                                   # is_real
    out[n, 1] = 1                                         # eof
    out[: n + 1, 2] = np.arange(n + 1)                    # pos
    out[:n, 3] = np.frombuffer(wit.private, np.uint8)     # byte
    out[:n, 4] = wit.private_reads
    out[n, 4] = wit.eof_reads
    return out
