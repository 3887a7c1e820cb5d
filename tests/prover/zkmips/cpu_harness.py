"""Build and trace the bare guest (tests/prover/zkmips/bare/kernel.c) and prove it with the
whole machine (prover.zkmips.machine): the guest's only system call is its exit."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

import vm
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips import syscall as S
from vm.executor import Executor
from vm.syscall_log import SyscallLog
from vm.tracer import iter_trace

BARE = Path(__file__).resolve().parent / "bare" / "kernel.c"


@lru_cache(maxsize=None)
def bare_elf(opt: str, build_dir: str) -> bytes:
    out = Path(build_dir) / f"kernel-{opt}.elf"
    subprocess.run(["mipsel-linux-gnu-gcc", f"-{opt}", "-static", "-nostdlib", "-mno-abicalls", "-fno-pic",
                    "-ffreestanding", "-Wl,--no-warn-mismatch", "-o", str(out), str(BARE), "-lgcc"],
                   check=True, capture_output=True)
    return out.read_bytes()


class BareRun:
    """One traced run of the bare guest and its complete witness."""

    def __init__(self, elf: bytes):
        self.program = vm.load_elf(elf)
        ex = Executor.for_program(self.program)
        log = SyscallLog.attach(ex)
        self.rows = np.concatenate([c.rows for c in iter_trace(ex, 1 << 20, 1 << 22)])
        self.result = ex.result()
        self.io = MC.RunIO(log.records, b"", b"", self.program.end, self.result.journal)
        self.program_rows = P.program_rows(self.program)
        self.image = S.kernel_image(M.memory_image(self.program), self.program.end)
        self.tables = MC.build_tables(self.program_rows, self.image)

    def witness(self, check: bool = True) -> MC.ExecutionWitness:
        return MC.execution_witness(self.rows, self.program_rows, self.image, self.io, check=check)


class ExecutionProver:
    """The proof system of one bare run (set up once) with honest and forged proofs."""

    def __init__(self, run: BareRun, params, honest: MC.ExecutionWitness | None = None):
        """``honest``: the witness the forgeries start from (default: the run's, checked)."""
        from prover import stark

        self.run = run
        self.system = MC.build_system(run.tables)
        self.pk = stark.setup(self.system, params)
        self.honest = run.witness() if honest is None else honest

    def full(self, traces: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Lookup multiplicities recounted from ``traces`` when its lookups are legal, else
        the honest counts (the lookup bus must then catch the illegal tuple)."""
        try:
            return MC.with_lookups(self.run.tables, traces, self.honest.publics)
        except ValueError:
            return {**MC.with_lookups(self.run.tables, self.honest.traces, self.honest.publics), **traces}

    def what_fails(self, traces: dict[str, np.ndarray], publics: dict[str, list[int]] | None = None) -> str:
        from prover.air import ConstraintError, check_buses, check_constraints

        publics = publics or self.honest.publics
        full = self.full(traces)
        try:
            for t in self.run.tables:
                check_constraints(t, full[t.name], publics.get(t.name, ()))
            check_buses(self.system, full, publics)
        except ConstraintError as e:
            return str(e)
        return ""

    def prove_verify(self, traces: dict[str, np.ndarray], publics: dict[str, list[int]] | None = None,
                     check: bool = True):
        from prover import stark

        publics = publics or self.honest.publics
        proof = stark.prove(self.pk, self.full(traces), publics, check=check)
        return stark.verify(self.pk.vk, proof, publics)
