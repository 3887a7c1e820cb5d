"""The local runner's pool processes: their share of the cores, and no orphans when the
coordinator is killed (an idle pool process would otherwise live on, holding a
program's keys: gigabytes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from prover.zkmips import segments as SG

ROOT = Path(__file__).resolve().parents[3]

COORDINATOR = r"""
import os, sys, time
from prover.zkmips.segments import LocalRunner
if __name__ == "__main__":
    r = LocalRunner(2)
    r.map("commit", [])                                   # starts the pool
    pids = {r._pool.submit(os.getpid).result() for _ in range(8)}
    print(" ".join(map(str, sorted(pids))), flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:                                   # a zombie is gone for our purpose
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_pool_processes_exit_when_the_coordinator_is_killed(tmp_path):
    script = tmp_path / "coordinator.py"
    script.write_text(COORDINATOR)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, cwd=ROOT, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        children = [int(p) for p in proc.stdout.readline().split()]
        assert children and all(_alive(p) for p in children)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 15
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in children)


def test_pool_processes_share_the_cores():
    cores = os.cpu_count() or 1
    assert SG.threads_per_process(1) == cores
    assert SG.threads_per_process(cores) == 1
    assert SG.threads_per_process(2 * cores) == 1
    assert SG.default_processes() == max(1, cores // SG.CORES_PER_PROCESS)
