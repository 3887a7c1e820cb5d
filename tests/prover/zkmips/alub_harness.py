"""Test harness for the ALU-B tables (shift, bitmanip, mul, divrem).

* :func:`run_one`: the VM is the oracle: one instruction executed on ``vm.Machine``.
* driver tables play the CPU: they send the events on the ``alu`` / ``hilo`` bus.
* :class:`Prover`: one ``stark.setup`` per system, honest and forged proofs; a forged
  proof recounts the Byte/Range16 multiplicities from the forged traces when they are
  still legal lookups, so a rejection comes from the constraint under test and not from
  stale multiplicities.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pytest

from prover import stark
from prover.air import System, Table, check_buses, check_constraints
from prover.errors import VerificationError
from prover.field import P
from prover.security import INSECURE_FAST_TEST_PARAMS as FAST
from prover.zkmips.alu_words import TraceFiller
from prover.zkmips.lookup import LookupCounter, build_byte, build_range16, byte_trace, range16_trace
from prover.zkmips.spec import send_alu, send_hilo
from vm import Machine

#: Registers the harness uses: rs, rt, rd.
RS, RT, RD = 8, 9, 10
EDGES = (0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0x80000001,
         0xFFFFFFFE, 0xFFFFFFFF, 0x12345678)


def run_one(word: int, rs: int = 0, rt: int = 0, hi: int = 0, lo: int = 0) -> Machine:
    """Execute one instruction word on a fresh machine with the given rs/rt/HI/LO."""
    m = Machine()
    m.set_reg(RS, rs)
    m.set_reg(RT, rt)
    m.hi, m.lo = hi, lo
    m.write_word(0x1000, word)
    m.pc = 0x1000
    m.step(1)
    return m


def edge_pairs(rng: np.random.Generator, n_random: int) -> list[tuple[int, int]]:
    """All pairs of a few edge values plus ``n_random`` random pairs."""
    pairs = [(x, y) for x in EDGES[::2] for y in EDGES[1::2]]
    pairs += [(int(x), int(y)) for x, y in rng.integers(0, 1 << 32, (n_random, 2), dtype=np.int64)]
    return pairs


# -- drivers ------------------------------------------------------------------------------
def alu_driver() -> Table:
    """Plays the CPU on the alu bus: sends (op, a, b, c, aux) with multiplicity ``mult``."""
    t = Table("alu_driver")
    op, aux, mult = t.mains("op", "aux", "mult")
    words = [[t.main(f"{w}{i}") for i in range(4)] for w in "abc"]
    send_alu(t, op, *words, aux, mult)
    return t


def alu_driver_trace(events: Mapping[str, np.ndarray]) -> np.ndarray:
    op = np.asarray(events["op"])
    f = TraceFiller(alu_driver(), len(op))
    f["op"], f["mult"] = op, 1
    f["aux"] = np.asarray(events.get("aux", np.zeros(len(op), np.int64)))
    for w in "abc":
        f.set_word(w, np.asarray(events[w]))
    return f.finish()


HILO_WORDS = ("a", "b", "hi_in", "lo_in", "hi_out", "lo_out")


def hilo_driver() -> Table:
    """Plays the CPU on the hilo bus."""
    t = Table("hilo_driver")
    op, mult = t.mains("op", "mult")
    words = [[t.main(f"{w}{i}") for i in range(4)] for w in HILO_WORDS]
    send_hilo(t, op, *words, mult)
    return t


def hilo_driver_trace(events: Mapping[str, np.ndarray]) -> np.ndarray:
    op = np.asarray(events["op"])
    f = TraceFiller(hilo_driver(), len(op))
    f["op"], f["mult"] = op, 1
    for w in HILO_WORDS:
        f.set_word(w, np.asarray(events[w]))
    return f.finish()


# -- proving --------------------------------------------------------------------------------
class Prover:
    """A system of ``tables`` + Byte + Range16, set up once."""

    def __init__(self, tables: Sequence[Table]):
        self.tables = list(tables)
        self.system = System(self.tables + [build_byte(), build_range16()])
        self.pk = stark.setup(self.system, FAST)

    def full_traces(self, traces: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Add the lookup tables' multiplicities counted from ``traces``."""
        lc = LookupCounter()
        for t in self.tables:
            lc.add_table(t, traces[t.name])
        return {**traces, "byte": byte_trace(lc), "range16": range16_trace(lc)}

    def check(self, traces: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Debug-check every constraint and bus (names the failing row)."""
        full = self.full_traces(traces)
        for t in self.system.tables:
            check_constraints(t, full[t.name])
        check_buses(self.system, full)
        return full

    def prove_verify(self, traces: Mapping[str, np.ndarray]) -> None:
        full = self.check(traces)
        proof = stark.prove(self.pk, full)
        stark.verify(self.pk.vk, proof)

    def rejects(self, forged: Mapping[str, np.ndarray], honest: Mapping[str, np.ndarray]) -> None:
        """A forged witness must not verify. Lookup multiplicities are recounted from the
        forgery when it only looks up legal tuples; otherwise (a non-byte limb...) they
        are the honest traces' counts, and the unbalanced lookup bus must catch it."""
        try:
            full = self.full_traces(forged)
        except ValueError:
            full = {**self.full_traces(honest), **forged}
        proof = stark.prove(self.pk, full, check=False)
        with pytest.raises(VerificationError):
            stark.verify(self.pk.vk, proof)


def set_cell(trace: np.ndarray, table: Table, row: int, column: str, value: int) -> np.ndarray:
    """A copy of ``trace`` with one cell changed (value taken mod p)."""
    out = trace.copy()
    out[row, table.main_names.index(column)] = value % P
    return out


def get_cell(trace: np.ndarray, table: Table, row: int, column: str) -> int:
    return int(trace[row, table.main_names.index(column)])

