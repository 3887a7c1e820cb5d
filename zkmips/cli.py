"""`zkmips`: execute, prove and verify MIPS programs; post jobs to a marketplace and prove them for pay.

Every failure is reported as one line on stderr (``zkmips: error: ...``) with exit
status 125, so that it cannot be mistaken for the guest's own exit code; ``--debug``
shows the Python traceback instead. Usage errors exit with status 2 (argparse).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from zkmips.errors import CliError
from zkmips.errors import read_file as _read_file
from zkmips.market_cli import add_job_parser, add_model_parser, add_worker_start_parser

ERROR_EXIT = 125


def _load_program(path: str):
    import vm
    data = _read_file(path, "program")
    return vm.load_elf(data, name=path.rsplit("/", 1)[-1])


def cmd_execute(args: argparse.Namespace) -> int:
    import vm
    program = _load_program(args.program)
    public = _read_file(args.input, "input")
    if public is None:
        public = sys.stdin.buffer.read() if sys.stdin is not None else b""
    private = _read_file(args.private_input, "private input") or b""
    result = vm.execute(program, public, private, max_cycles=args.max_cycles)
    if args.json:
        print(json.dumps({
            "exit_code": result.exit_code,
            "cycles": result.cycles,
            "journal": result.journal.hex(),
            "image_id": vm.image_id(program).hex(),
            "seconds": round(result.seconds, 6),
        }))
        return 0
    sys.stdout.buffer.write(result.journal)
    sys.stdout.flush()
    sys.stderr.buffer.write(result.log)
    sys.stderr.flush()
    return result.exit_code


def cmd_image_id(args: argparse.Namespace) -> int:
    import vm
    print(vm.image_id(_load_program(args.program)).hex())
    return 0


def _preset(name: str):
    from prover.security import PRESETS
    if name not in PRESETS:
        raise CliError(f"unknown preset {name!r} (choose from {', '.join(PRESETS)})")
    return PRESETS[name]


def cmd_prove(args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from prover.zkmips.segment_receipt import prove_segmented
    from prover.zkmips.segments import DEFAULT_SEGMENT_LOG, LocalRunner, NotProvableError
    program = _read_file(args.program, "program")
    _load_program(args.program)                  # a malformed ELF fails here, in one line
    public = _read_file(args.input, "input") or b""
    private = _read_file(args.private_input, "private input") or b""
    params = _preset(args.preset)
    if args.distributed:
        from worker.distributed import CeleryRunner
        runner = CeleryRunner(broker=args.broker, queue=args.queue)
    else:
        runner = LocalRunner(args.workers)
    start = time.perf_counter()
    with tqdm(total=4, desc="prove", unit="step", disable=args.quiet,
              bar_format="{desc:<26} {bar} {n_fmt}/{total_fmt} [{elapsed}<{remaining}]") as bar:
        steps = {"setup": 0, "execute": 1}

        def progress(stage: str, done: int, total: int) -> None:
            if stage == "commit" and done == 0:
                bar.total = 4 + 2 * total
                steps.update(commit=2, memory=2 + total, prove=3 + total, encode=3 + 2 * total)
            bar.set_description_str(f"prove: {stage}" + (f" {done}/{total}" if total > 1 else ""))
            bar.update(steps.get(stage, bar.n) + (done if stage in ("commit", "prove") else 0) - bar.n)

        try:
            receipt = prove_segmented(program, public, private, params=params,
                                      segment_log=args.segment_log or DEFAULT_SEGMENT_LOG,
                                      max_cycles=args.max_cycles or (1 << 40), runner=runner, progress=progress)
        except NotProvableError as e:
            raise CliError(f"cannot prove this run: {e}") from None
        except Exception as e:                      # a worker's failure, the broker, ...: one line
            if args.debug:
                raise
            raise CliError(f"proving failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        finally:
            runner.close()
        data = receipt.encode()
        bar.set_description_str("prove: done")
        bar.update(bar.total - bar.n)
    try:
        with open(args.output, "wb") as f:
            f.write(data)
    except OSError as e:
        raise CliError(f"cannot write receipt {args.output}: {e.strerror}") from None
    seconds = time.perf_counter() - start
    c = receipt.claim
    summary = {"cycles": c.cycles, "seconds": round(seconds, 3), "receipt_bytes": len(data),
               "segments": len(receipt.segment_proofs), "exit_code": c.exit_code, "image_id": c.image_id.hex(),
               "receipt": args.output}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"proved {c.cycles} cycles in {len(receipt.segment_proofs)} segments in {seconds:.2f} s "
              f"({c.cycles / seconds:,.0f} cycles/s); receipt {len(data):,} bytes -> {args.output}; "
              f"exit code {c.exit_code}")
    return 0


def _read_receipt(path: str) -> bytes:
    data = _read_file(path, "receipt")
    assert data is not None
    return data


def cmd_verify(args: argparse.Namespace) -> int:
    from prover.errors import VerificationError
    from prover.zkmips.verify import verify
    expected = None
    if args.image_id is not None:
        try:
            expected = bytes.fromhex(args.image_id)
        except ValueError:
            raise CliError("--image-id must be 64 hex digits") from None
        if len(expected) != 32:
            raise CliError("--image-id must be 64 hex digits")
    try:
        claim = verify(_read_receipt(args.receipt), expected, allow_insecure=args.allow_insecure)
    except VerificationError as e:
        print(f"zkmips: invalid receipt: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(claim.to_json()))
    else:
        print(f"valid: image {claim.image_id.hex()}, exit code {claim.exit_code}, {claim.cycles} cycles, "
              f"journal {len(claim.journal)} bytes")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from prover.errors import VerificationError
    from prover.zkmips import receipt, segment_receipt
    data = _read_receipt(args.receipt)
    try:
        if data[:4] == segment_receipt.MAGIC:
            rec = segment_receipt.decode(data)
            shape = rec.proof_shape
            extra = {}
        else:
            rec = receipt.decode(data)
            shape = rec.proof_shape
            extra = {"entry": f"0x{rec.entry:08x}"}
    except VerificationError as e:
        raise CliError(f"malformed receipt: {e}") from None
    out = {**rec.claim.to_json(), "input": rec.claim.input.hex(), "input_read": rec.input_read, **extra,
           "receipt_bytes": len(data), "verified": False, **shape}
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            if key != "tables":
                print(f"{key:<14} {value}")
        for name, t in shape["tables"].items():
            print(f"  table {name:<16} 2^{t['log_height']} rows, {t['publics']} public values")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from prover import security
    report = security.params_report(security.DEFAULT)
    if args.json:
        print(json.dumps(report))
    else:
        width = max(len(k) for k in report)
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
    return 0


def cmd_worker_prove_segments(args: argparse.Namespace) -> int:
    """Run a segment worker (Celery, consuming the segment queue) until stopped."""
    if args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    if args.threads is not None and args.threads < 1:
        raise CliError("--threads must be at least 1")
    from worker.segment_worker import run_worker
    run_worker(concurrency=args.concurrency, queue=args.queue, loglevel=args.loglevel, broker=args.broker,
               threads=args.threads)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zkmips", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show Python tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("execute", help="run a MIPS ELF program (no proof)")
    p.add_argument("program", help="static little-endian MIPS32 ELF executable")
    p.add_argument("--input", metavar="FILE", help="public input (fd 0); default: standard input")
    p.add_argument("--private-input", metavar="FILE", help="private input (fd 3)")
    p.add_argument("--max-cycles", type=int, metavar="N", help="stop with an error after N cycles")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the journal")
    p.set_defaults(func=cmd_execute)

    p = sub.add_parser("image-id", help="print the program's image id (what its receipts claim)")
    p.add_argument("program")
    p.set_defaults(func=cmd_image_id)

    p = sub.add_parser("prove", help="execute a program and prove it: write a receipt")
    p.add_argument("program", help="static little-endian MIPS32 ELF executable")
    p.add_argument("--input", metavar="FILE", help="public input (fd 0); default: empty")
    p.add_argument("--private-input", metavar="FILE", help="private input (fd 3), kept secret by the proof")
    p.add_argument("-o", "--output", metavar="RECEIPT", required=True, help="where to write the receipt")
    p.add_argument("--preset", default="default", help="FRI preset (default, compact, onchain; tests: INSECURE_FAST_TEST_PARAMS)")
    p.add_argument("--max-cycles", type=int, metavar="N", help="refuse runs longer than N cycles")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--segment-log", type=int, metavar="K", help="segments of 2^K cycles (default: 18)")
    p.add_argument("--workers", type=int, metavar="N", help="local processes proving segments (default: one per two cores, each with two threads)")
    p.add_argument("--distributed", action="store_true",
                   help="send the segments to `zkmips worker prove-segments` processes through the broker")
    p.add_argument("--broker", metavar="URL", help="broker of --distributed (default: $ZKMIPS_BROKER_URL or the local RabbitMQ)")
    p.add_argument("--queue", metavar="NAME", help="segment queue of --distributed (default: zkmips.segments)")
    p.set_defaults(func=cmd_prove)

    p = sub.add_parser("verify", help="verify a receipt; print its claim only if valid")
    p.add_argument("receipt")
    p.add_argument("--image-id", metavar="HEX", help="also require this image id")
    p.add_argument("--json", action="store_true", help="print the claim as JSON")
    p.add_argument("--allow-insecure", action="store_true", help="accept the insecure test preset (tests only)")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("inspect", help="print a receipt's claim and proof shape without verifying it")
    p.add_argument("receipt")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("params", help="print the prover's soundness parameters")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("worker", help="prove for a marketplace (start) or for distributed proofs (prove-segments)")
    worker_sub = p.add_subparsers(dest="worker_command", required=True)
    p = worker_sub.add_parser("prove-segments", help="prove segments sent by `zkmips prove --distributed`")
    p.add_argument("--concurrency", type=int, default=1, metavar="N",
                   help="segments proved at once (default 1: one proof already uses every core)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="numba threads per segment (default: the cores shared among --concurrency; "
                        "use 1 per worker when several workers share a machine)")
    p.add_argument("--broker", metavar="URL", help="broker URL (default $ZKMIPS_BROKER_URL or amqp://guest:guest@127.0.0.1:5672//)")
    p.add_argument("--queue", metavar="Q", help="segment queue (default $ZKMIPS_SEGMENT_QUEUE or zkmips.segments)")
    p.add_argument("--loglevel", default="INFO", type=str.upper,
                   choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    p.set_defaults(func=cmd_worker_prove_segments)
    add_worker_start_parser(worker_sub)
    add_job_parser(sub)
    add_model_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.func
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("zkmips: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return ERROR_EXIT
    except Exception as e:  # every failure becomes one line unless --debug
        if args.debug:
            raise
        from vm.errors import VMError
        message = str(e) if isinstance(e, (CliError, VMError)) else f"{type(e).__name__}: {e}"
        print(f"zkmips: error: {message.splitlines()[0] if message else type(e).__name__}", file=sys.stderr)
        return ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main())
