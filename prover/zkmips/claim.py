"""The claim of an execution proof, and how a verified proof establishes it.

A claim says: the program with image id ``image_id``, run on the public input ``input``
(whose keccak-256 is ``input_digest``) and some private input, wrote ``journal`` to fd 1
and exited with ``exit_code`` after ``cycles`` instructions.

The proof's public values carry part of it (the CPU's start pc and cycle count, the
Syscall table's exit code, input length, and a digest of input and journal absorbed
before any challenge); the input and journal bytes themselves travel on the two open
buses, whose LogUp totals the verifier recomputes from the claim with the proof's
challenges (:func:`prover.zkmips.syscall.expected_open_sums`). :func:`check_statement`
is that comparison; nothing else about the claim is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from prover.air import System
from prover.errors import VerificationError
from prover.keccak import keccak256
from prover.stark import Statement
from prover.zkmips import cpu as C
from prover.zkmips import memory as M
from prover.zkmips import syscall as S
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL

#: A claim's input and journal are kept whole in a receipt; this bounds both (bytes).
MAX_IO_BYTES = 16 << 20


@dataclass(frozen=True)
class Claim:
    image_id: bytes
    input: bytes
    journal: bytes
    exit_code: int
    cycles: int

    @property
    def input_digest(self) -> bytes:
        return keccak256(self.input)

    def to_json(self) -> dict:
        """The claim as the CLI and the API print it."""
        return {"image_id": self.image_id.hex(), "input_digest": self.input_digest.hex(),
                "journal": self.journal.hex(), "exit_code": self.exit_code, "cycles": self.cycles}


def expected_publics(claim: Claim, input_read: int, *, index: int = 1, cycles: int | None = None,
                     final: bool = True, clk_offset: int = 0) -> dict[str, list[int]]:
    """The public values a proof of ``claim`` must carry (``input_read``: how many input
    bytes the run consumed); for a segment of it: its number, cycle count, whether it
    ends with the exit, and the cycles before it (defaults: the whole run in one)."""
    cycles = claim.cycles if cycles is None else cycles
    return {C.TABLE_NAME: [cycles], M.MEMORY_TABLE: [index],
            S.SYSCALL_TABLE: S.syscall_publics(claim.input, claim.journal, claim.exit_code, input_read,
                                                 cycles, final, clk_offset)}


def check_statement(system: System, statement: Statement, claim: Claim, input_read: int) -> None:
    """Raise VerificationError unless the open buses of a verified proof carry exactly the
    claim's first ``input_read`` input bytes and its whole journal."""
    want = S.expected_open_sums(claim.input, claim.journal, input_read, statement.logup_challenges,
                                {b: system.bus_id(b) for b in (BUS_INPUT, BUS_JOURNAL)})
    for bus, label in ((BUS_INPUT, "public input"), (BUS_JOURNAL, "journal")):
        got = statement.open_bus_sums.get(bus, np.zeros(4, np.uint32))
        if not np.array_equal(np.asarray(got, np.uint32), want[bus]):
            raise VerificationError(f"the proof's {label} bytes differ from the claim's")
