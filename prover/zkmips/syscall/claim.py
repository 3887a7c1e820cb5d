"""What a claim fixes for the Syscall tables: the header table's public values (with
``io_digest``, which binds the input and journal before the LogUp challenges are drawn)
and the totals the open ``input`` and ``journal`` buses must show."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from prover import field as F
from prover.keccak import keccak256
from prover.zkmips.spec import BUS_INPUT, BUS_JOURNAL

IO_DIGEST_DOMAIN = b"zkmips-syscall-io-v1"


def io_digest(public_input: bytes, journal: bytes) -> bytes:
    return keccak256(IO_DIGEST_DOMAIN + len(public_input).to_bytes(8, "little") + bytes(public_input)
                     + len(journal).to_bytes(8, "little") + bytes(journal))


def io_digest_limbs(public_input: bytes, journal: bytes) -> list[int]:
    """The 16 public values ``io_digest0..15`` (16-bit limbs of :func:`io_digest`)."""
    d = io_digest(public_input, journal)
    return [int.from_bytes(d[2 * i: 2 * i + 2], "little") for i in range(16)]


def syscall_publics(public_input: bytes, journal: bytes, exit_code: int, input_read: int, cycles: int,
                    final: bool = True, clk_offset: int = 0) -> list[int]:
    """The header table's public values for a claim (what the verifier must check), for a
    segment of ``cycles`` cycles that starts after ``clk_offset`` cycles of the run;
    ``final``: the segment that ends with the run's exit."""
    return [exit_code & 0xFF, len(public_input), input_read, *io_digest_limbs(public_input, journal), cycles,
            int(bool(final)), clk_offset]


def expected_open_sums(public_input: bytes, journal: bytes, input_read: int, challenges: Sequence[np.ndarray],
                       bus_ids: dict[str, int]) -> dict[str, np.ndarray]:
    """The totals the open buses must show for a claim: ``input`` carries
    ``(i, input[i])`` for ``i < input_read`` and ``journal`` ``(i, journal[i])`` for every
    i, each sent once, so the LogUp total is ``sum 1 / (z - (id + beta i + beta^2 b_i))``.

    ``challenges`` = (z, beta) of the proof and ``bus_ids`` = ``System.bus_id`` of both
    buses. The engine's ``Statement`` exposes the open sums but not z, beta: a verifier
    needs them from the engine (see the report of this module's issue)."""
    if not 0 <= input_read <= len(public_input):
        raise ValueError(f"input_read {input_read} is outside [0, {len(public_input)}]")
    z, beta = (np.asarray(c, dtype=np.uint32) for c in challenges)
    beta2 = F.ext_mul(beta, beta)
    out = {}
    for bus, data in ((BUS_INPUT, bytes(public_input[:input_read])), (BUS_JOURNAL, bytes(journal))):
        if not data:
            out[bus] = np.zeros(4, np.uint32)
            continue
        pos = np.arange(len(data), dtype=np.int64)
        vals = np.frombuffer(data, np.uint8).astype(np.int64)
        fp = F.ext_add(F.ext_add(F.ext_from_base(np.full(len(data), bus_ids[bus], np.uint32)),
                                 F.ext_mul_base(np.broadcast_to(beta, (len(data), 4)), pos.astype(np.uint32))),
                       F.ext_mul_base(np.broadcast_to(beta2, (len(data), 4)), vals.astype(np.uint32)))
        inv = F.ext_batch_inv(F.ext_sub(np.broadcast_to(z, (len(data), 4)), fp))
        out[bus] = (inv.astype(np.uint64).sum(axis=0) % F.P).astype(np.uint32)
    return out
