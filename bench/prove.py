"""zkMIPS prover benchmark: real guests of about 2^16, 2^18 and 2^20 cycles, proven at the
DEFAULT (>= 100 conjectured bits) preset as a user runs them.

Each case runs ``zkmips prove`` in a fresh process (so its peak RSS is the prover's own,
read with ``os.wait4``), then verifies the receipt twice: ``zkmips verify`` in a fresh
process (what a client waits for, interpreter and JIT start-up included) and
``verify_receipt`` in this process once warm (the verifier's own work). Cycles per second
are wall-clock over the whole ``prove`` command (key setup, execution, witness, STARK,
encoding) on all cores of this machine. Writes bench/results/prove.json.

Usage: ``python bench/prove.py [--cases 16,18,20] [--out bench/results/prove.json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: log2(cycles) target -> (guest, public input), each run just under 2^target cycles (so the
#: CPU table is 2^target rows): bench_qsort sorts N integers, bench_sha256 hashes N KiB.
CASES = {16: ("bench_qsort", b"190\n"), 18: ("bench_sha256", b"3\n"), 20: ("bench_sha256", b"14\n")}


def _prove(elf: Path, public: bytes, receipt: Path) -> dict:
    inp = receipt.with_suffix(".in")
    inp.write_bytes(public)
    cmd = [sys.executable, "-m", "zkmips.cli", "prove", str(elf), "--input", str(inp), "-o", str(receipt),
           "--json", "-q"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"prove failed: {err.decode(errors='replace').strip()}")
    summary = json.loads(out)
    return {"cycles": summary["cycles"], "prove_seconds": round(seconds, 3),
            "cycles_per_second": round(summary["cycles"] / seconds, 1),
            "peak_rss_bytes": usage.ru_maxrss * 1024, "receipt_bytes": summary["receipt_bytes"]}


def _verify(receipt: Path) -> dict:
    from prover.zkmips.receipt import verify_receipt
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "zkmips.cli", "verify", str(receipt), "--json"],
                          capture_output=True, cwd=ROOT)
    cold = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"verify failed: {proc.stderr.decode(errors='replace').strip()}")
    data = receipt.read_bytes()
    verify_receipt(data)                               # warm the verifier (key rebuild, JIT)
    start = time.perf_counter()
    verify_receipt(data)
    return {"verify_seconds": round(time.perf_counter() - start, 4), "verify_command_seconds": round(cold, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(str(k) for k in CASES), help="log2 cycle targets to run")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "prove.json"))
    args = ap.parse_args(argv)
    from prover.security import DEFAULT, conjectured_bits
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for target in (int(x) for x in args.cases.split(",")):
            guest, public = CASES[target]
            elf = ROOT / "guests" / "build" / f"{guest}-O2.elf"
            receipt = Path(tmp) / f"{guest}-{target}.receipt"
            row = {"target_log_cycles": target, "guest": f"{guest}-O2", "input": public.decode().strip(),
                   **_prove(elf, public, receipt)}
            row.update(_verify(receipt))
            print(json.dumps(row), flush=True)
            results.append(row)
    report = {"preset": DEFAULT.name, "conjectured_bits": conjectured_bits(DEFAULT), "cores": os.cpu_count(),
              "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
              "cases": results}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
