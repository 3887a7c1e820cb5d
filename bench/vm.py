"""Benchmark of the VM's fast executor and tracer against qemu-mipsel.

For each benchmark guest (built at -O2 by ``make -C guests``) and a workload of tens of
millions of instructions:

* VM: cycles and wall time of ``vm.execute``, best of ``--repeat`` runs after one warm-up
  run, so numba compilation is excluded; MHz = cycles / seconds / 1e6.
* qemu-mipsel: wall time of the same binary and input, best of ``--repeat``. Both
  execute the same instruction stream, so qemu's MHz is our cycle count / qemu's seconds
  (qemu's time includes its start-up, about 15 ms, reported separately).
* Tracer: rows per second of ``vm.trace`` (one row per cycle) on a smaller input.

The journals of the VM and qemu must agree (a benchmark of a wrong run is worthless).
Writes bench/results/vm.json (machine, per-program numbers, geometric means) and prints
a table. Usage: python bench/vm.py [--quick] [--repeat N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The VM from this checkout, and guests/guest_corpus.py (not part of an installed package).
sys.path[:0] = [str(ROOT), str(ROOT / "guests")]
import guest_corpus as corpus  # noqa: E402
import vm  # noqa: E402

LEVEL = "O2"


@dataclass(frozen=True)
class Workload:
    guest: str
    what: str
    bench_input: bytes   # tens of millions of instructions
    trace_input: bytes   # about a million rows


WORKLOADS = (
    Workload("bench_sha256", "SHA-256 of 1 MiB", b"1024", b"16"),
    Workload("bench_qsort", "libc qsort of 100k ints", b"100000", b"3000"),
    Workload("bench_matmul", "160x160 int matmul, int64 acc", b"160", b"48"),
    Workload("sieve", "sieve of primes to 1M (byte + bit)", b"1000000", b"20000"),
)


@dataclass
class Row:
    guest: str
    what: str
    cycles: int
    vm_seconds: float
    vm_mhz: float
    qemu_seconds: float
    qemu_mhz: float
    qemu_over_vm: float
    trace_rows: int
    trace_seconds: float
    trace_rows_per_s: float
    journal_matches_qemu: bool


def best_of(n: int, fn):
    """Run fn n times; return (fastest seconds, result of the last run)."""
    best, result = math.inf, None
    for _ in range(n):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(w: Workload, repeat: int, quick: bool) -> Row:
    elf = corpus.guest(w.guest).elf(LEVEL)
    program = vm.load_elf(elf.read_bytes())
    bench_input = w.trace_input if quick else w.bench_input
    vm.execute(program, public_input=w.trace_input)  # warm-up: numba compilation, caches
    vm_s, res = best_of(repeat, lambda: vm.execute(program, public_input=bench_input))
    qemu_s, q = best_of(repeat, lambda: corpus.run_qemu(elf, bench_input))
    trace_s, tr = best_of(repeat, lambda: vm.trace(program, public_input=w.trace_input))
    matches = res.journal == q.stdout and res.exit_code == q.exit_code
    return Row(w.guest, w.what, res.cycles, vm_s, res.cycles / vm_s / 1e6, qemu_s,
               res.cycles / qemu_s / 1e6, vm_s / qemu_s, tr.rows, trace_s, tr.rows / trace_s,
               matches)


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def _first_line(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unavailable"


def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numba
    import numpy
    return {
        "cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": numpy.__version__, "numba": numba.__version__,
        "qemu": _first_line([corpus.QEMU, "--version"]),
        "gcc": _first_line(["mipsel-linux-gnu-gcc", "--version"]),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def qemu_startup_seconds(repeat: int) -> float:
    """Wall time of qemu running hello: the fixed cost inside every qemu figure."""
    hello = corpus.guest("hello")
    return best_of(repeat, lambda: corpus.run_qemu(hello.elf(LEVEL), b"x\n"))[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="VM executor and tracer benchmark against qemu-mipsel")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept (default 3)")
    parser.add_argument("--quick", action="store_true", help="small inputs, for a smoke test; not written by default")
    parser.add_argument("--out", type=Path, default=None, help="JSON output (default bench/results/vm.json)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    missing = [w.guest for w in WORKLOADS if not corpus.guest(w.guest).elf(LEVEL).exists()]
    if missing:
        print(f"benchmark guests not built ({', '.join(missing)}): run `make -C guests`", file=sys.stderr)
        return 2
    if not corpus.qemu_available():
        print("qemu-mipsel is not installed (Debian package qemu-user)", file=sys.stderr)
        return 2

    rows = [measure(w, args.repeat, args.quick) for w in WORKLOADS]
    summary = {
        "vm_mhz_geomean": geomean([r.vm_mhz for r in rows]),
        "qemu_mhz_geomean": geomean([r.qemu_mhz for r in rows]),
        "qemu_over_vm_speed_geomean": geomean([r.qemu_over_vm for r in rows]),
        "trace_rows_per_s_geomean": geomean([r.trace_rows_per_s for r in rows]),
        "all_journals_match": all(r.journal_matches_qemu for r in rows),
    }
    result = {
        "benchmark": "vm", "quick": args.quick, "opt_level": LEVEL, "repeat": args.repeat,
        "machine": machine_info(), "qemu_startup_s": qemu_startup_seconds(args.repeat),
        "programs": [asdict(r) for r in rows], "summary": summary,
    }
    out = args.out or (None if args.quick else ROOT / "bench" / "results" / "vm.json")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"{'program':14s} {'cycles':>11s} {'vm s':>7s} {'vm MHz':>7s} {'qemu s':>7s} {'qemu MHz':>9s} "
          f"{'qemu/vm':>7s} {'trace rows/s':>13s} ok")
    for r in rows:
        print(f"{r.guest:14s} {r.cycles:11d} {r.vm_seconds:7.3f} {r.vm_mhz:7.1f} {r.qemu_seconds:7.3f} "
              f"{r.qemu_mhz:9.1f} {r.qemu_over_vm:7.1f} {r.trace_rows_per_s:13.3g} "
              f"{'yes' if r.journal_matches_qemu else 'NO'}")
    print(f"{'geomean':14s} {'':11s} {'':7s} {summary['vm_mhz_geomean']:7.1f} {'':7s} "
          f"{summary['qemu_mhz_geomean']:9.1f} {summary['qemu_over_vm_speed_geomean']:7.1f} "
          f"{summary['trace_rows_per_s_geomean']:13.3g}")
    if out is not None:
        print(f"written {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0 if summary["all_journals_match"] else 1


if __name__ == "__main__":
    sys.exit(main())
