"""Build and trace the bare guest (tests/prover/zkmips/bare/kernel.c) and prove it with the
CPU and every table it feeds. Until the Syscall table lands, a test-only ``syscall_sink``
table receives the CPU's ``syscall`` tuples: the guest's only system call is its exit."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

import vm
from prover.air import Table
from prover.zkmips import machine as MC
from prover.zkmips import memory as M
from prover.zkmips import program as P
from prover.zkmips.alu_words import table_height
from prover.zkmips.spec import BUS_SYSCALL, TS_PER_CYCLE

BARE = Path(__file__).resolve().parent / "bare" / "kernel.c"
SINK = "syscall_sink"


@lru_cache(maxsize=None)
def bare_elf(opt: str, build_dir: str) -> bytes:
    out = Path(build_dir) / f"kernel-{opt}.elf"
    subprocess.run(["mipsel-linux-gnu-gcc", f"-{opt}", "-static", "-nostdlib", "-mno-abicalls", "-fno-pic",
                    "-ffreestanding", "-Wl,--no-warn-mismatch", "-o", str(out), str(BARE), "-lgcc"],
                   check=True, capture_output=True)
    return out.read_bytes()


def syscall_sink() -> Table:
    """Receives ``(ts,)`` for each syscall row (test scaffolding, not part of the prover)."""
    t = Table(SINK)
    ts, m = t.mains("ts", "m")
    t.assert_bool(m)
    t.receive(BUS_SYSCALL, [ts], m)
    return t


def sink_trace(ts: np.ndarray) -> np.ndarray:
    out = np.zeros((table_height(ts.size), 2), dtype=np.uint32)
    out[: ts.size, 0] = ts
    out[: ts.size, 1] = 1
    return out


class BareRun:
    """One traced run of the bare guest and its complete witness."""

    def __init__(self, elf: bytes):
        self.program = vm.load_elf(elf)
        tr = vm.trace(self.program)
        self.result = tr.result
        self.rows = np.concatenate([c.rows for c in tr.chunks])
        self.program_rows = P.program_rows(self.program)
        self.image = M.memory_image(self.program)
        self.tables = MC.build_tables(self.program_rows, self.image, extra=[syscall_sink()])

    def witness(self, check: bool = True) -> MC.ExecutionWitness:
        w = MC.execution_witness(self.rows, self.program_rows, self.image, check=check)
        sys_rows = np.nonzero(w.cpu.fields["is_syscall"] == 1)[0]
        w.traces[SINK] = sink_trace(TS_PER_CYCLE * (sys_rows + 1))
        return w


class ExecutionProver:
    """The proof system of one bare run (set up once) with honest and forged proofs."""

    def __init__(self, run: BareRun, params):
        from prover import stark
        from prover.air import System

        self.run = run
        self.system = System(run.tables)
        self.pk = stark.setup(self.system, params)
        self.honest = run.witness()

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
