"""Prove one execution of a MIPS program: ELF and inputs in, receipt out.

The pipeline: the program's proving key (cached per ELF, :mod:`prover.zkmips.keys`), a
traced run with the syscall recorder on, the witness of every table
(:func:`prover.zkmips.machine.execution_witness`), the STARK proof, the receipt. Stages
are reported to ``progress`` (see :data:`STAGES`) so the CLI and the workers can show
them.

One proof covers at most :data:`MAX_PROOF_CYCLES` cycles: the memory argument checks
timestamp gaps below 2^24 with 8 timestamps per cycle. Longer runs are cut into
segments (issue [4/7]).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from prover import proof as stark_bytes
from prover import stark
from prover.security import DEFAULT, FriParams
from prover.zkmips import machine as MC
from prover.zkmips.claim import MAX_IO_BYTES, Claim
from prover.zkmips.keys import ProgramKey, program_key
from prover.zkmips.receipt import Receipt
from prover.zkmips.syscall import PUBLICS, SYSCALL_TABLE
from vm.elf import Program
from vm.errors import CycleLimitExceeded
from vm.executor import Executor
from vm.syscall_log import SyscallLog
from vm.tracer import iter_trace

MAX_PROOF_CYCLES = 1 << 21
#: Stages reported to ``progress``, in order (the STARK's own stages in the middle).
STAGES = ("setup", "execute", "witness", *stark.PROVE_STAGES, "encode")


#: Test-only fault injection: alters a finished witness (traces, publics) and returns the
#: claim to put in the receipt; the prover then proves whatever it was given.
Fault = Callable[[MC.ExecutionWitness, Claim], Claim]


class NotProvableError(ValueError):
    """The run cannot be proven (too long, an unsupported instruction or system call);
    ``str(e)`` is one line that says which and where."""


def prove(elf: Program | bytes, public_input: bytes = b"", private_input: bytes = b"", *, params: FriParams = DEFAULT,
          max_cycles: int = MAX_PROOF_CYCLES, progress: Callable[[str], None] | None = None,
          check: bool = False, fault: Fault | None = None) -> Receipt:
    """The receipt of running ``elf`` on the inputs. ``check`` also runs the engine's
    debug checker before proving (slow; a bug-hunting aid). ``fault`` is the test-only
    hook that builds dishonest receipts (it turns ``check`` off, so the verifier alone
    must catch the fault)."""
    report = progress or (lambda stage: None)
    if len(public_input) > MAX_IO_BYTES:
        raise NotProvableError(f"public input of {len(public_input)} bytes exceeds the limit of {MAX_IO_BYTES}")
    report("setup")
    key = program_key(elf, params)
    report("execute")
    ex = Executor.for_program(key.program, public_input, private_input)
    log = SyscallLog.attach(ex)
    limit = min(max_cycles, MAX_PROOF_CYCLES)
    try:
        rows = np.concatenate([c.rows for c in iter_trace(ex, 1 << 20, limit)])
    except CycleLimitExceeded as e:
        raise NotProvableError(f"{e} (one proof covers at most {limit} cycles)") from None
    result = ex.result()
    report("witness")
    io = MC.RunIO(log.records, bytes(public_input), bytes(private_input), key.program.end, result.journal)
    try:
        wit = MC.execution_witness(rows, key.program_rows, key.image, io)
    except ValueError as e:
        raise NotProvableError(str(e)) from None
    claim = Claim(key.image_id, bytes(public_input), bytes(result.journal), result.exit_code, result.cycles)
    traces = MC.with_lookups(key.tables, wit.traces, wit.publics)
    if fault is not None:
        honest = {name: traces[name].copy() for name in MC.LOOKUP_TABLES}
        wit.traces = traces
        claim, check = fault(wit, claim), False
        traces = _forged_traces(key, wit, honest)
    publics = wit.publics
    del wit, rows                        # memory: the engine frees each trace once committed
    proof = stark.prove(key.pk, _handed_over(traces), publics, check=check, progress=report)
    report("encode")
    vk = key.pk.vk
    input_read = publics[SYSCALL_TABLE][PUBLICS.index("input_read")]
    return Receipt(claim, params.name, vk.pre_root, vk.pre_log_heights, key.entry, input_read,
                   stark_bytes.encode(proof, vk.digest, vk.hiding))


def _handed_over(traces: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A new dict with the arrays moved out of ``traces`` (left empty), so that the
    engine holds the only references and frees each trace when done with it."""
    out = dict(traces)
    traces.clear()
    return out


def _forged_traces(key: ProgramKey, wit: MC.ExecutionWitness, honest: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The traces a fault left in ``wit``, with the Byte and Range16 multiplicities
    recounted from them unless the fault changed those itself or made a lookup illegal
    (then they stay as they are, and the lookup buses must catch the forgery)."""
    if any(not np.array_equal(wit.traces[name], honest[name]) for name in MC.LOOKUP_TABLES):
        return wit.traces
    try:
        return MC.with_lookups(key.tables, wit.traces, wit.publics)
    except ValueError:
        return wit.traces
