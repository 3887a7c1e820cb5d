"""`zkmips job …` (a client of the marketplace), `zkmips worker start` (an operator's worker) and
`zkmips model register/list` (the clinic's model registry: docs/clinic.md).

The marketplace's URL and the API token come from --market/--token or the environment
(ZKMIPS_MARKET, ZKMIPS_TOKEN), so that a token need not appear in the shell history.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from zkmips.errors import CliError, read_file

TERMINAL = ("paid", "failed", "refunded")


def _client(args: argparse.Namespace):
    from marketplace.client import MarketClient
    url = args.market or os.environ.get("ZKMIPS_MARKET")
    token = args.token or os.environ.get("ZKMIPS_TOKEN")
    if not url:
        raise CliError("no marketplace: pass --market URL (or set ZKMIPS_MARKET)")
    if not token:
        raise CliError("no API token: pass --token T (or set ZKMIPS_TOKEN); the portal's account page issues one")
    return MarketClient(url, token)


def _api(call):
    from marketplace.client import ApiError
    try:
        return call()
    except ApiError as e:
        raise CliError(str(e)) from None


def _summary(job: dict) -> str:
    line = f"job {job['id']}: {job['state']}"
    if job.get("operator"):
        line += f", worker {job['operator']}"
    p = job.get("progress")
    if p and p.get("stage"):
        line += f", {p['stage']}" + (f" {p['done']}/{p['total']}" if p.get("total", 0) > 1 else "")
    if job["state"] == "paid":
        line += f", {job['cycles']:,} cycles, exit code {job['exit_code']}, paid {job['lock_price']:,} credits"
    return line


def cmd_job_submit(args: argparse.Namespace) -> int:
    client = _client(args)
    elf = read_file(args.program, "program")
    public = read_file(args.input, "input") or b""
    private = read_file(args.private_input, "private input") if args.private_input else None
    job = _api(lambda: client.submit_job(
        elf, os.path.basename(args.program), public, private, max_cycles=args.max_cycles, price_min=args.price_min,
        price_max=args.price_max, ramp_seconds=args.ramp, lock_timeout_seconds=args.lock_timeout,
        deadline_seconds=args.deadline, stake=args.stake, settlement=args.settlement))
    if not args.wait:
        print(json.dumps(job) if args.json else f"{_summary(job)} (price {job['price_min']:,}-{job['price_max']:,} "
                                                 f"credits, {job['expected_cycles']:,} cycles)")
        return 0
    if not args.json:
        print(f"submitted job {job['id']} ({job['expected_cycles']:,} cycles, price {job['price_min']:,}-"
              f"{job['price_max']:,} credits)", file=sys.stderr)
    job = _wait(client, job["id"], args)
    return _finish(client, job, args)


def _wait(client, job_id: str, args: argparse.Namespace) -> dict:
    from tqdm import tqdm
    with tqdm(total=1, desc="waiting", bar_format="{desc} {bar} [{elapsed}]", disable=args.json or args.quiet,
              file=sys.stderr) as bar:
        def on_change(job: dict) -> None:
            p = job.get("progress") or {}
            bar.set_description_str(_summary(job)[len("job ") + 37:].lstrip(": ") or job["state"])
            if p.get("total"):
                bar.total, bar.n = p["total"], p["done"]
            bar.refresh()
        return _api(lambda: client.wait(job_id, timeout=args.timeout, on_change=on_change))


def _finish(client, job: dict, args: argparse.Namespace) -> int:
    if job["state"] != "paid":
        print(json.dumps(job) if args.json else _summary(job))
        events = job.get("events") or []
        if not args.json and events:
            print(f"zkmips: job {job['state']}: {events[-1]['note']}", file=sys.stderr)
        return 1
    journal = bytes.fromhex(job["journal_hex"])
    if args.receipt_out:
        with open(args.receipt_out, "wb") as f:
            f.write(_api(lambda: client.receipt(job["id"])))
    if args.json:
        print(json.dumps(job))
    else:
        print(_summary(job), file=sys.stderr)
        sys.stdout.buffer.write(journal)
        sys.stdout.flush()
    return 0


def cmd_job_status(args: argparse.Namespace) -> int:
    job = _api(lambda: _client(args).job(args.job_id))
    print(json.dumps(job) if args.json else _summary(job))
    return 0


def cmd_job_fetch(args: argparse.Namespace) -> int:
    client = _client(args)
    wrote = []
    if args.journal:
        data = _api(lambda: client.journal(args.job_id))
        with open(args.journal, "wb") as f:
            f.write(data)
        wrote.append(f"journal ({len(data):,} bytes) -> {args.journal}")
    if args.receipt:
        data = _api(lambda: client.receipt(args.job_id))
        with open(args.receipt, "wb") as f:
            f.write(data)
        wrote.append(f"receipt ({len(data):,} bytes) -> {args.receipt}")
    if not wrote:
        sys.stdout.buffer.write(_api(lambda: client.journal(args.job_id)))
        sys.stdout.flush()
    else:
        print("; ".join(wrote), file=sys.stderr)
    return 0


def cmd_worker_start(args: argparse.Namespace) -> int:
    import logging

    from worker.market_worker import MarketWorker, Policy
    logging.basicConfig(level=getattr(logging, args.loglevel), format="%(asctime)s %(name)s %(message)s")
    client = _client(args)
    broker = None if args.no_broker else (args.broker or os.environ.get("ZKMIPS_OFFER_BROKER_URL")
                                          or os.environ.get("ZKMIPS_BROKER_URL")
                                          or "amqp://guest:guest@127.0.0.1:5672//")
    chain_url = args.chain or os.environ.get("ZKMIPS_WORKER_CHAIN_URL")
    chain_prover = None
    if chain_url:
        from worker.chain_prover import ChainProver
        chain_prover = ChainProver(chain_url, args.chain_account or os.environ.get("ZKMIPS_WORKER_CHAIN_ACCOUNT"))
    from worker.market_worker import load_models, unregistered
    try:
        held = load_models(args.model or [])
    except (OSError, ValueError) as e:
        raise CliError(str(e).splitlines()[0]) from None
    worker = _api(lambda: MarketWorker(client, broker, Policy(min_price=args.min_price, max_cycles=args.max_cycles),
                                       prove_processes=args.workers, distributed_broker=args.distributed_broker,
                                       chain=chain_prover, models=held,
                                       show_progress=not args.quiet,
                                       on_event=lambda m: print(f"zkmips worker: {m}", file=sys.stderr, flush=True)))
    print(f"zkmips worker: operator {worker.operator} on {client.url}; offers from "
          f"{'the API only' if broker is None else broker.split('@')[-1]}", file=sys.stderr, flush=True)
    if held:
        print(f"zkmips worker: holding the weights of {len(held)} model(s): "
              f"{', '.join(c[:16] + '…' for c in held)}", file=sys.stderr, flush=True)
        for problem in _api(lambda: unregistered(client, worker.operator, held)):
            print(f"zkmips worker: warning: {problem}", file=sys.stderr, flush=True)
    worker.run(max_jobs=args.jobs)
    return 0


def _market_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--market", metavar="URL", help="the marketplace (default $ZKMIPS_MARKET)")
    p.add_argument("--token", metavar="T", help="your API token (default $ZKMIPS_TOKEN)")


def add_job_parser(sub) -> None:
    p = sub.add_parser("job", help="post jobs to a marketplace and fetch their results")
    job_sub = p.add_subparsers(dest="job_command", required=True)

    p = job_sub.add_parser("submit", help="post a program and its input as a job; --wait for the verified journal")
    p.add_argument("program", help="static little-endian MIPS32 ELF executable")
    p.add_argument("--input", metavar="FILE", help="public input (fd 0); default: empty")
    p.add_argument("--private-input", metavar="FILE", help="private input (fd 3): encrypted at rest, given only "
                                                           "to the worker that locks the job")
    p.add_argument("--max-cycles", type=int, metavar="N", help="refuse runs longer than N cycles")
    p.add_argument("--price-min", type=int, metavar="CREDITS", help="auction start price (default: estimate)")
    p.add_argument("--price-max", type=int, metavar="CREDITS", help="auction end price, escrowed (default: estimate)")
    p.add_argument("--ramp", type=int, metavar="S", help="seconds for the price to rise from min to max")
    p.add_argument("--lock-timeout", type=int, metavar="S", help="seconds a worker may hold the job")
    p.add_argument("--deadline", type=int, metavar="S", help="seconds until the job expires and is refunded")
    p.add_argument("--stake", type=int, metavar="CREDITS", help="collateral a worker must lock (default: price max)")
    p.add_argument("--settlement", choices=("local", "onchain", "optimistic"), default="local",
                   help="who verifies before the worker is paid: the marketplace (local), the verifier contract "
                        "(onchain: costly, final at once) or nobody unless challenged (optimistic: cheap, final "
                        "after the challenge window)")
    p.add_argument("--wait", action="store_true", help="wait until it is paid, then print the journal")
    p.add_argument("--timeout", type=float, default=3600.0, metavar="S", help="how long --wait waits")
    p.add_argument("-o", "--receipt-out", metavar="FILE", help="with --wait: save the verified receipt here")
    p.add_argument("--json", action="store_true", help="print the job as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _market_args(p)
    p.set_defaults(func=cmd_job_submit)

    p = job_sub.add_parser("status", help="a job's state, worker and progress")
    p.add_argument("job_id")
    p.add_argument("--json", action="store_true")
    _market_args(p)
    p.set_defaults(func=cmd_job_status)

    p = job_sub.add_parser("fetch", help="download a paid job's journal (stdout by default) and receipt")
    p.add_argument("job_id")
    p.add_argument("--journal", metavar="FILE", help="write the journal here")
    p.add_argument("--receipt", metavar="FILE", help="write the receipt here")
    _market_args(p)
    p.set_defaults(func=cmd_job_fetch)


def add_worker_start_parser(worker_sub) -> None:
    p = worker_sub.add_parser("start", help="prove marketplace jobs for pay (an operator's worker)")
    _market_args(p)
    p.add_argument("--broker", metavar="URL", help="where offers are read (default $ZKMIPS_OFFER_BROKER_URL, "
                                                   "$ZKMIPS_BROKER_URL or the local RabbitMQ)")
    p.add_argument("--no-broker", action="store_true", help="poll the API for offers instead of the broker")
    p.add_argument("--min-price", type=int, default=0, metavar="CREDITS", help="lock only at this price or more")
    p.add_argument("--max-cycles", type=int, default=1 << 26, metavar="N", help="take only runs up to N cycles")
    p.add_argument("--workers", type=int, metavar="N", help="local processes proving segments")
    p.add_argument("--distributed-broker", metavar="URL",
                   help="prove segments on `zkmips worker prove-segments` processes of this broker")
    p.add_argument("--jobs", type=int, metavar="N", help="stop after N jobs (default: run until stopped)")
    p.add_argument("--chain", metavar="URL", help="JSON-RPC node to take jobs settled on chain (onchain, "
                                                  "optimistic); default $ZKMIPS_WORKER_CHAIN_URL; none: local only")
    p.add_argument("--chain-account", metavar="ADDRESS", help="our address on that node (default: its second "
                                                              "account; the first is the marketplace's on a dev node)")
    p.add_argument("--model", action="append", metavar="PATH",
                   help="weights of a model you registered (repeatable): take its clinic jobs; the weights "
                        "never leave this worker")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("--loglevel", default="WARNING", type=str.upper,
                   choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
    p.set_defaults(func=cmd_worker_start)


# ---------------------------------------------------------------- the clinic's model registry

def cmd_model_register(args: argparse.Namespace) -> int:
    """Register a model by the commitment of its weights, computed here: the weights stay here."""
    from marketplace.clinic.provider import commitment_of, measure_cycles
    weights = read_file(args.weights, "weights")
    elf = read_file(args.program, "program")
    try:
        commitment = commitment_of(weights)
        report = json.loads(read_file(args.report, "report")) if args.report else {}
    except ValueError as e:
        raise CliError(f"{str(e).splitlines()[0]}") from None
    try:
        cycles = measure_cycles(elf, weights)
    except Exception as e:          # noqa: BLE001 - the registry prices with max cycles instead
        print(f"zkmips: warning: cycles not measured ({str(e).splitlines()[0]})", file=sys.stderr)
        cycles = None
    client = _client(args)
    model = _api(lambda: client.register_model(args.name, commitment, elf=elf, report=report, cycles=cycles))
    print(json.dumps(model) if args.json else
          f"model {model['name']}: commitment {model['commitment']}, classifier {model['image_id']}"
          + (f", {model['cycles']:,} cycles an inference" if model.get("cycles") else ""))
    return 0


def cmd_model_list(args: argparse.Namespace) -> int:
    models = _api(lambda: _client(args).models())
    if args.json:
        print(json.dumps(models))
        return 0
    for m in models:
        print(f"{m['name']}\t{m['provider']}\t{m['commitment']}\t{m['image_id'][:16]}…")
    if not models:
        print("no models registered", file=sys.stderr)
    return 0


def add_model_parser(sub) -> None:
    p = sub.add_parser("model", help="the clinic's model registry: register your model's weights commitment")
    model_sub = p.add_subparsers(dest="model_command", required=True)
    p = model_sub.add_parser("register", help="register a model by the SHA-256 of its weights (not sent)")
    p.add_argument("name", help="the model's name in the registry")
    p.add_argument("--weights", required=True, metavar="PATH", help="the weights: only their commitment is sent")
    p.add_argument("--program", required=True, metavar="ELF", help="the classifier guest (e.g. guests/build/ecg-O2.elf)")
    p.add_argument("--report", metavar="JSON", help="the accuracy report shown to clinics")
    p.add_argument("--json", action="store_true")
    _market_args(p)
    p.set_defaults(func=cmd_model_register)
    p = model_sub.add_parser("list", help="registered models: name, provider, commitment, classifier")
    p.add_argument("--json", action="store_true")
    _market_args(p)
    p.set_defaults(func=cmd_model_list)
