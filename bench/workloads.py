"""Real integer workloads of several million cycles proven end to end, as a user runs them.

Each workload (hashing, sorting, compression, matrix code, parsing: guests/bench_*) is
proven with ``zkmips prove`` (local process pool) or, with ``--distributed``, with
``zkmips prove --distributed`` through RabbitMQ to two ``zkmips worker prove-segments``
processes on this machine. Every receipt is checked as a client would:

* ``zkmips verify`` accepts it, and its journal equals qemu-mipsel's stdout for the same
  program and input;
* changed copies are refused by ``zkmips verify``: another journal in the claim, and one
  byte flipped in the middle of a segment proof.

Writes bench/results/workloads.json (cycles, segments, seconds, cycles/s, peak RSS of the
whole process tree, receipt bytes, verify seconds). Usage:
``python bench/workloads.py [--only hashing,sorting] [--distributed] [--scale 1.0] [--out F]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.prove import BROKER, prove_receipt, start_workers, stop_workers, verify_receipt  # noqa: E402

#: name -> (guest, public input at scale 1: about 3 million cycles each)
WORKLOADS: dict[str, tuple[str, int]] = {
    "hashing": ("bench_sha256", 48),       # SHA-256 of 48 KiB
    "sorting": ("bench_qsort", 8000),      # libc qsort of 8,000 ints
    "compression": ("bench_lz", 10),       # LZ77 of 10 KiB of text and back
    "matrix": ("bench_matmul", 70),        # a 70 x 70 integer matrix product
    "parsing": ("bench_parse", 24),        # a JSON parser over 24 KiB
}


def _qemu_journal(elf: Path, public: bytes) -> bytes:
    from guests.guest_corpus import run_qemu
    return run_qemu(elf, public).stdout


def _refused(receipt: Path) -> bool:
    proc = subprocess.run([sys.executable, "-m", "zkmips.cli", "verify", str(receipt)], capture_output=True, cwd=ROOT)
    return proc.returncode != 0


def _tampered(receipt: Path, tmp: Path) -> dict[str, bool]:
    """Changed copies of the receipt, each of which ``zkmips verify`` must refuse."""
    from prover.zkmips.segment_receipt import decode
    rec = decode(receipt.read_bytes())
    journal = bytearray(rec.claim.journal)
    journal[0] ^= 1
    other_claim = dataclasses.replace(rec, claim=dataclasses.replace(rec.claim, journal=bytes(journal)))
    proofs = list(rec.segment_proofs)
    mid = bytearray(proofs[len(proofs) // 2])
    mid[len(mid) // 2] ^= 1
    proofs[len(proofs) // 2] = bytes(mid)
    flipped = dataclasses.replace(rec, segment_proofs=tuple(proofs))
    out = {}
    for name, changed in (("other_journal_refused", other_claim), ("flipped_proof_byte_refused", flipped)):
        path = tmp / f"{receipt.stem}.{name}.receipt"
        path.write_bytes(changed.encode())
        out[name] = _refused(path)
    return out


def run_workload(tmp: Path, name: str, scale: float, distributed: bool) -> dict:
    guest, size = WORKLOADS[name]
    size = max(1, round(size * scale))
    elf = ROOT / "guests" / "build" / f"{guest}-O2.elf"
    public = f"{size}\n".encode()
    receipt = tmp / f"{name}{'-distributed' if distributed else ''}.receipt"
    procs: list[subprocess.Popen] = []
    extra: list[str] = []
    if distributed:
        queue = f"zkmips.workloads.{uuid.uuid4().hex[:8]}"
        procs = start_workers(2, queue)
        extra = ["--distributed", "--queue", queue, "--broker", BROKER]
    try:
        row = {"workload": name, "guest": f"{guest}-O2", "input": size, "mode": "distributed" if distributed else "local",
               **prove_receipt(elf, public, receipt, extra, [p.pid for p in procs])}
    finally:
        stop_workers(procs)
    row.update(verify_receipt(receipt))
    from prover.zkmips.segment_receipt import decode
    row["journal_matches_qemu"] = decode(receipt.read_bytes()).claim.journal == _qemu_journal(elf, public)
    row.update(_tampered(receipt, tmp))
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(WORKLOADS), help="comma-separated workloads")
    ap.add_argument("--distributed", action="store_true", help="prove through Celery with 2 workers instead")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every workload's input size")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "workloads.json"))
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(",") if n]
    unknown = sorted(set(names) - set(WORKLOADS))
    if unknown:
        ap.error(f"unknown workloads: {', '.join(unknown)} (known: {', '.join(WORKLOADS)})")
    rows = []
    with tempfile.TemporaryDirectory() as t:
        for name in names:
            rows.append(run_workload(Path(t), name, args.scale, args.distributed))
    from prover.security import DEFAULT
    from prover.zkmips.segments import DEFAULT_SEGMENT_LOG
    report = {"preset": DEFAULT.name, "default_segment_log": DEFAULT_SEGMENT_LOG, "cores": os.cpu_count(),
              "machine": platform.processor() or platform.machine(), "python": platform.python_version(),
              "workloads": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    bad = [r["workload"] for r in rows if not (r["journal_matches_qemu"] and r["other_journal_refused"]
                                               and r["flipped_proof_byte_refused"])]
    if bad:
        print(f"FAILED checks: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
