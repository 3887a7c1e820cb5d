"""zkMIPS prover benchmark: real guests proven in segments at the DEFAULT (>= 100
conjectured bits) preset, as a user runs them (`zkmips prove`), on this machine.

Experiments (``--sets``, comma-separated):

* ``segments``: one program at several segment sizes (``--segment-logs``), the default
  local processes: speed and memory against segment size;
* ``cores``: the same program on one core (``taskset``, one numba thread), and on two
  cores with one process (two threads) and with two processes (one thread each);
* ``celery``: the same program through RabbitMQ with one and with two
  ``zkmips worker prove-segments`` processes on this machine (``--distributed``);
* ``long``: a longer run (``--long-kib``) at the default segment size.

Each proof runs ``zkmips prove`` in a fresh process; peak memory is the largest sum of
the resident sizes of its whole process tree (the CLI and its pool processes, or the
Celery workers), sampled every 0.1 s with psutil. Then ``zkmips verify`` runs cold and
:func:`prover.zkmips.verify.verify` warm. Cycles per second are wall-clock over the whole
command (key setup, execution, every segment, the memory proof, encoding).
Writes bench/results/prove.json.

Usage: ``python bench/prove.py [--sets segments,cores,celery,long] [--kib 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GUEST = "bench_sha256"          # hashes N KiB read from its input: about 66k cycles per KiB
BROKER = os.environ.get("ZKMIPS_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


class TreeMemory:
    """Peak of the summed RSS of some processes and their descendants."""

    def __init__(self, roots: list[int]):
        self.roots = roots
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        total = 0
        for pid in self.roots:
            try:
                p = psutil.Process(pid)
                for q in [p, *p.children(recursive=True)]:
                    try:
                        total += q.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            time.sleep(0.1)

    def __enter__(self) -> "TreeMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def prove_receipt(elf: Path, public: bytes, receipt: Path, extra: list[str], watch: list[int],
                  one_core: bool = False) -> dict:
    """Run ``zkmips prove`` (on CPU 0 only, one numba thread, with ``one_core``)."""
    inp = receipt.with_suffix(".in")
    inp.write_bytes(public)
    cmd = [sys.executable, "-m", "zkmips.cli", "prove", str(elf), "--input", str(inp), "-o", str(receipt),
           "--json", "-q", *extra]
    env = dict(os.environ)
    if one_core:
        cmd = ["taskset", "-c", "0", *cmd]
        env["NUMBA_NUM_THREADS"] = "1"
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    with TreeMemory([proc.pid, *watch]) as mem:
        out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"prove failed: {err.decode(errors='replace').strip()}")
    summary = json.loads(out)
    return {"cycles": summary["cycles"], "segments": summary["segments"], "prove_seconds": round(seconds, 2),
            "cycles_per_second": round(summary["cycles"] / seconds, 1), "peak_tree_rss_bytes": mem.peak,
            "receipt_bytes": summary["receipt_bytes"]}


def verify_receipt(receipt: Path) -> dict:
    from prover.zkmips.verify import verify
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "zkmips.cli", "verify", str(receipt), "--json"],
                          capture_output=True, cwd=ROOT)
    cold = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"verify failed: {proc.stderr.decode(errors='replace').strip()}")
    data = receipt.read_bytes()
    verify(data)                                      # warm the verifier (key rebuild, JIT)
    start = time.perf_counter()
    verify(data)
    return {"verify_seconds": round(time.perf_counter() - start, 3), "verify_command_seconds": round(cold, 2)}


def start_workers(n: int, queue: str) -> list[subprocess.Popen]:
    env = {**os.environ, "ZKMIPS_BROKER_URL": BROKER}
    threads = str(max(1, (os.cpu_count() or 1) // n))       # the cores shared among the workers
    procs = [subprocess.Popen([sys.executable, "-m", "zkmips.cli", "worker", "prove-segments", "--queue", queue,
                               "--concurrency", "1", "--threads", threads], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(n)]
    time.sleep(8)                                     # let them connect (the runner waits for them too)
    return procs


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, 9)
        except ProcessLookupError:
            pass
        p.wait()


def run_case(tmp: Path, label: str, kib: int, extra: list[str], workers: int = 0, one_core: bool = False) -> dict:
    elf = ROOT / "guests" / "build" / f"{GUEST}-O2.elf"
    receipt = tmp / f"{label}.receipt"
    procs: list[subprocess.Popen] = []
    if workers:
        queue = f"zkmips.bench.{uuid.uuid4().hex[:8]}"
        procs = start_workers(workers, queue)
        extra = [*extra, "--distributed", "--queue", queue, "--broker", BROKER]
    try:
        row = {"case": label, "guest": f"{GUEST}-O2", "input_kib": kib, "options": " ".join(extra),
               **prove_receipt(elf, f"{kib}\n".encode(), receipt, extra, [p.pid for p in procs], one_core)}
    finally:
        stop_workers(procs)
    row.update(verify_receipt(receipt))
    row["verify_seconds_per_segment"] = round(row["verify_seconds"] / row["segments"], 3)
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="segments,cores,celery,long")
    ap.add_argument("--kib", type=int, default=8, help="input of the segments/cores/celery runs (KiB hashed)")
    ap.add_argument("--segment-logs", default="16,17,18")
    ap.add_argument("--long-kib", type=int, default=40)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "prove.json"))
    args = ap.parse_args(argv)
    from prover.security import DEFAULT, conjectured_bits
    from prover.zkmips.segments import DEFAULT_SEGMENT_LOG
    sets = set(args.sets.split(","))
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    results = {k: v for k, v in old.get("sets", {}).items() if k not in sets}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if "segments" in sets:
            results["segments"] = [run_case(tmp, f"seg{k}", args.kib, ["--segment-log", str(k)])
                                   for k in (int(x) for x in args.segment_logs.split(","))]
        if "cores" in sets:
            seg = ["--segment-log", str(DEFAULT_SEGMENT_LOG)]
            results["cores"] = [run_case(tmp, "1core", args.kib, [*seg, "--workers", "1"], one_core=True),
                                *(run_case(tmp, f"2cores-{n}proc", args.kib, [*seg, "--workers", str(n)])
                                  for n in (1, 2))]
        if "celery" in sets:
            results["celery"] = [run_case(tmp, f"celery{n}", args.kib, ["--segment-log", str(DEFAULT_SEGMENT_LOG)],
                                          workers=n) for n in (1, 2)]
        if "long" in sets:
            results["long"] = [run_case(tmp, "long", args.long_kib, [])]
    report = {"preset": DEFAULT.name, "conjectured_bits": conjectured_bits(DEFAULT), "cores": os.cpu_count(),
              "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
              "default_segment_log": DEFAULT_SEGMENT_LOG, "sets": results}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
