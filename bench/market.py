"""Marketplace benchmark: the whole stack of `make run` on this machine, end to end.

Starts its own stack: the Procfile's portal (gunicorn), settlement worker and beat, with a
throwaway database (a new PostgreSQL database when PostgreSQL answers, else SQLite), its
own var directory and its own RabbitMQ virtual host (created with ``rabbitmqctl`` and
deleted afterwards; ``--broker filesystem`` uses kombu's filesystem transport instead,
with workers polling the API). Then:

* **throughput**: for 1, 2 and 4 operator worker processes (``zkmips worker start
  --workers 1``, one proving process each, sharing the cores: each gets
  ``NUMBA_NUM_THREADS = cores // workers``), one warm-up job per worker (a fresh process
  loads the numba kernels), then a batch of small jobs (hello, exit_code, bits with their
  inputs) submitted at once over the API; jobs per minute from the first submission to the
  last payment (the marketplace's own event times), and each job's wait / prove / settle
  seconds. Peak resident memory of the workers' process trees (psutil, every 0.2 s).
* **latency**: ``--clients`` threads (requests) for ``--load-seconds`` against the market
  page ``/``, a job page ``/jobs/<id>/`` (logged in), ``/api/jobs/<id>`` and
  ``/api/market``, round robin: p50/p99 per endpoint. The load generator runs on the
  same cores as the portal.
* **nothing lost**: every job ends paid; its journal and exit code equal qemu-mipsel's
  (``vm.execute`` where qemu is missing); ``manage.py market_audit`` (the ledger sums to
  zero, every balance equals its transfers, no account but external is negative, escrows
  and stakes of finished jobs are empty); the client paid exactly the lock prices and the
  operator earned them.

Writes bench/results/market.json. Usage:
``python bench/market.py [--quick] [--workers 1,2,4] [--jobs 9] [--db postgres|sqlite]
[--broker rabbitmq|filesystem] [--clients 8] [--load-seconds 20] [--out F]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.prove import TreeMemory  # noqa: E402  (peak RSS of process trees, as in the prover's bench)
from marketplace.client import MarketClient  # noqa: E402  (no Django: the API's HTTP client)

VENV_BIN = Path(sys.executable).parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
#: The jobs of a batch, in turn: (guest, public input file or None)
PROGRAMS = [("hello", "guests/hello/input.txt"), ("exit_code", "guests/exit_code/input.txt"), ("bits", None)]
CREDITS = 1_000_000
METHOD = {
    "throughput": "per worker count N: N `zkmips worker start --workers 1` processes of one operator sharing its "
                  "offer queue (NUMBA_NUM_THREADS = cores // N each), one warm-up hello job per worker, then the batch "
                  "submitted at once over the API. seconds: from the first job's creation to the last payment "
                  "(the marketplace's event times); jobs_per_minute = paid jobs / seconds * 60. median_seconds are "
                  "per job (waits include queueing behind the batch); submit_seconds: the client's POST /api/jobs "
                  "calls (dry run included; a program new to the portal also computes its image id)",
    "latency": "threads with one requests.Session each (logged in to the portal; the API by bearer token), each "
               "cycling through the four endpoints for the whole period, no think time, after the workers stopped; "
               "nearest-rank p50/p99 of successful (HTTP 200) requests",
    "checks": "every job paid; journal and exit code equal the reference; manage.py market_audit; the client's "
              "balance fell and the operator's collateral rose by exactly the lock prices paid",
}
TERMINAL = ("paid", "failed", "refunded")


def log(message: str) -> None:
    print(f"[market bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quantile(values: list[float], q: float) -> float | None:
    """The q-quantile by the nearest-rank method (p99 of 50 samples is the largest)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def at(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


# ---------------------------------------------------------------- processes

def stop(procs: list[subprocess.Popen], grace: float = 20.0) -> None:
    """SIGTERM each process group (a worker and its proving processes), SIGKILL the late ones."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    end = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(p.pid, signal.SIGKILL)    # whatever is left of the group
        except ProcessLookupError:
            pass
        p.wait()


class Stack:
    """The Procfile's web, settlement and beat on a throwaway database, var dir and broker."""

    def __init__(self, tmp: Path, db: str, broker: str):
        self.tmp, self.db_kind, self.broker_kind = tmp, db, broker
        self.procs: list[subprocess.Popen] = []
        self.notes: dict[str, str] = {}
        self.pg_name: str | None = None
        self.vhost: str | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    # -------------------------------------------------------- setup
    def _database(self) -> str:
        if self.db_kind == "postgres":
            import psycopg
            self.pg_name = f"zkmips_bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.pg_name}"')
                self.notes["database_version"] = "PostgreSQL " + conn.execute("SHOW server_version").fetchone()[0]
            return PG_ADMIN.rsplit("/", 1)[0] + "/" + self.pg_name
        import sqlite3
        self.notes["database_version"] = f"SQLite {sqlite3.sqlite_version}"
        return f"sqlite:///{self.tmp / 'var' / 'market.sqlite3'}"

    def _broker(self) -> str:
        if self.broker_kind == "filesystem":
            return "filesystem://"
        self.vhost = f"zkmips-bench-{uuid.uuid4().hex[:10]}"
        for args in (["add_vhost", self.vhost], ["set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*"]):
            done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
            if done.returncode != 0:
                raise SystemExit(f"rabbitmqctl {args[0]} failed (run as root on the broker's host, or "
                                 f"--broker filesystem): {(done.stderr or done.stdout).strip()[-300:]}")
        url = RABBITMQ + self.vhost
        from kombu import Connection
        with Connection(url, connect_timeout=5) as conn:
            conn.connect()
            version = conn.connection.server_properties.get("version", b"?")
            version = version.decode() if isinstance(version, bytes) else str(version)
            self.notes["broker_version"] = f"RabbitMQ {version}"
        return url

    def start(self) -> None:
        (self.tmp / "var").mkdir()
        self.broker_url = self._broker()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ZKMIPS_", "DATABASE_URL"))}
        self.env.update({
            "ZKMIPS_VAR_DIR": str(self.tmp / "var"), "DATABASE_URL": self._database(),
            "ZKMIPS_BROKER_URL": self.broker_url, "ZKMIPS_FAUCET": str(CREDITS),
            "ZKMIPS_API_RATE": "1000000",            # the load test is not an abuse to throttle
            "PORT": str(self.port), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1"})
        if self.broker_kind == "filesystem":
            self.env["ZKMIPS_BROKER_DIR"] = str(self.tmp / "broker")
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                              env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"migrate failed: {done.stderr.strip()[-2000:]}")
        from honcho.environ import parse_procfile
        procfile = parse_procfile((ROOT / "Procfile").read_text()).processes
        for name in ("web", "settlement", "beat"):
            self.procs.append(self.spawn(name, procfile[name]))
        end = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/api/market", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > end or any(p.poll() is not None for p in self.procs):
                raise SystemExit(f"the portal did not start: see {self.tmp}/web.log\n"
                                 + (self.tmp / "web.log").read_text()[-2000:])
            time.sleep(0.3)

    def spawn(self, name: str, command: str, env: dict | None = None) -> subprocess.Popen:
        out = (self.tmp / f"{name}.log").open("ab")
        return subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env or self.env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_workers(self, n: int, token: str) -> list[subprocess.Popen]:
        threads = max(1, (os.cpu_count() or 1) // n)
        offers = ["--no-broker"] if self.broker_kind == "filesystem" else ["--broker", self.broker_url]
        cmd = " ".join(["exec zkmips worker start --market", self.url, *offers,
                        "--workers 1 --quiet --loglevel INFO"])
        env = {**self.env, "ZKMIPS_TOKEN": token, "NUMBA_NUM_THREADS": str(threads)}
        return [self.spawn(f"worker{n}-{i}", cmd, env) for i in range(n)]

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=300)

    # -------------------------------------------------------- teardown
    def close(self) -> None:
        stop(self.procs)
        if self.pg_name:
            try:
                import psycopg
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
            except Exception as e:  # noqa: BLE001
                log(f"database {self.pg_name} not dropped: {e}")
        if self.vhost:
            subprocess.run(["rabbitmqctl", "delete_vhost", self.vhost], capture_output=True, timeout=60)


# ---------------------------------------------------------------- jobs

class References:
    """Each program's expected journal and exit code: qemu-mipsel (vm.execute without it)."""

    def __init__(self):
        self.cache: dict[str, tuple[bytes, int]] = {}
        self.source = "qemu-mipsel" if shutil.which("qemu-mipsel") else "vm.execute"

    def inputs(self, guest: str, input_file: str | None) -> tuple[bytes, bytes]:
        elf = (ROOT / "guests" / "build" / f"{guest}-O2.elf").read_bytes()
        return elf, (ROOT / input_file).read_bytes() if input_file else b""

    def expected(self, guest: str, input_file: str | None) -> tuple[bytes, int]:
        if guest not in self.cache:
            elf, public = self.inputs(guest, input_file)
            if self.source == "qemu-mipsel":
                done = subprocess.run(["qemu-mipsel", str(ROOT / "guests" / "build" / f"{guest}-O2.elf")],
                                      input=public, capture_output=True, timeout=120)
                self.cache[guest] = (done.stdout, done.returncode)
            else:
                import vm
                result = vm.execute(vm.load_elf(elf, name=guest), public, b"")
                self.cache[guest] = (bytes(result.journal), result.exit_code)
        return self.cache[guest]


def submit(client: MarketClient, refs: References, count: int, start: int = 0, only: str | None = None) -> list[dict]:
    jobs = []
    for i in range(start, start + count):
        guest, input_file = PROGRAMS[i % len(PROGRAMS)] if only is None else next(p for p in PROGRAMS if p[0] == only)
        elf, public = refs.inputs(guest, input_file)
        view = client.submit_job(elf, f"{guest}-O2.elf", public, lock_timeout_seconds=600, deadline_seconds=3600)
        jobs.append({"id": view["id"], "guest": guest, "input": input_file, "cycles": view["expected_cycles"]})
    return jobs


def wait_all(client: MarketClient, jobs: list[dict], timeout: float) -> list[dict]:
    """Poll until every job is paid, failed or refunded (or the time is up); the last views."""
    views: dict[str, dict] = {}
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for job in jobs:
            if views.get(job["id"], {}).get("state") not in TERMINAL:
                views[job["id"]] = client.job(job["id"])
        if all(v["state"] in TERMINAL for v in views.values()):
            break
        time.sleep(0.5)
    return [views[j["id"]] for j in jobs]


def timeline(view: dict) -> dict:
    """Seconds from submission to the lock, the uploaded receipt and the payment (event times)."""
    first = {}
    for e in view["events"]:
        first.setdefault(e["to"], at(e["at"]))
    t0 = at(view["created"])
    out = {"submitted_at": t0}
    for state in ("locked", "verifying", "paid"):
        if state in first:
            out[state + "_at"] = first[state]
    return out


def check_jobs(jobs: list[dict], views: list[dict], refs: References) -> list[str]:
    problems = []
    for job, view in zip(jobs, views):
        if view["state"] != "paid":
            problems.append(f"job {job['id']} ({job['guest']}) ended {view['state']}")
            continue
        journal, code = refs.expected(job["guest"], job["input"])
        if bytes.fromhex(view["journal_hex"]) != journal:
            problems.append(f"job {job['id']} ({job['guest']}): journal differs from {refs.source}'s")
        if view["exit_code"] != code:
            problems.append(f"job {job['id']} ({job['guest']}): exit code {view['exit_code']}, {refs.source} {code}")
    return problems


def phase(stack: Stack, client: MarketClient, op_token: str, refs: References, workers: int, count: int,
          timeout: float) -> tuple[dict, list[tuple[dict, dict]]]:
    log(f"{workers} worker(s): starting, one warm-up job each, then {count} jobs")
    procs = stack.start_workers(workers, op_token)
    done: list[tuple[dict, dict]] = []
    try:
        with TreeMemory([p.pid for p in procs]) as mem:
            warm = submit(client, refs, workers, only="hello")
            warm_views = wait_all(client, warm, timeout)
            done += list(zip(warm, warm_views))
            if any(v["state"] != "paid" for v in warm_views):
                raise RuntimeError(f"warm-up jobs did not all get paid: {[v['state'] for v in warm_views]}")
            wall = time.perf_counter()
            jobs = submit(client, refs, count)
            submitted = time.perf_counter() - wall
            views = wait_all(client, jobs, timeout)
            wall = time.perf_counter() - wall
            done += list(zip(jobs, views))
    finally:
        stop(procs)
    times = [timeline(v) for v in views]
    paid = [t for t in times if "paid_at" in t]
    first, last = min(t["submitted_at"] for t in times), max((t["paid_at"] for t in paid), default=None)
    span = None if last is None else last - first

    def median(key_from: str, key_to: str) -> float | None:
        values = [t[key_to] - t[key_from] for t in paid if key_from in t and key_to in t]
        return None if not values else round(quantile(values, 0.5), 2)

    row = {
        "workers": workers, "numba_threads_per_worker": max(1, (os.cpu_count() or 1) // workers),
        "warmup_jobs": workers, "jobs": count, "paid": len(paid),
        "programs": {g: sum(j["guest"] == g for j in jobs) for g, _ in PROGRAMS},
        "cycles": sum(j["cycles"] for j in jobs),
        "submit_seconds": round(submitted, 2),
        "seconds": None if span is None else round(span, 2),
        "jobs_per_minute": None if not span else round(len(paid) / span * 60, 2),
        "client_wall_seconds": round(wall, 2),
        "median_seconds": {"wait_for_lock": median("submitted_at", "locked_at"),
                           "prove_and_upload": median("locked_at", "verifying_at"),
                           "settle": median("verifying_at", "paid_at"),
                           "end_to_end": median("submitted_at", "paid_at")},
        "max_end_to_end_seconds": None if not paid else round(max(t["paid_at"] - t["submitted_at"] for t in paid), 2),
        "operators": sorted({v["operator"] for v in views if v.get("operator")}),
        "peak_workers_rss_bytes": mem.peak,
    }
    log(f"{workers} worker(s): {row['paid']}/{count} paid in {row['seconds']} s: {row['jobs_per_minute']} jobs/min")
    return row, done


# ---------------------------------------------------------------- latency

def login(session: requests.Session, url: str, username: str, password: str) -> None:
    import re
    page = session.get(f"{url}/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    r = session.post(f"{url}/login/", data={"username": username, "password": password,
                                           "csrfmiddlewaretoken": token.group(1) if token else ""},
                     headers={"Referer": f"{url}/login/"}, timeout=30, allow_redirects=False)
    if r.status_code != 302:
        raise RuntimeError(f"portal login failed: HTTP {r.status_code}")


def load(url: str, job_id: str, api_token: str, username: str, password: str, clients: int,
         seconds: float) -> dict:
    targets = [("/", "/", False), ("/jobs/<id>/", f"/jobs/{job_id}/", False),
               ("/api/jobs/<id>", f"/api/jobs/{job_id}", True), ("/api/market", "/api/market", False)]
    results = [{name: [] for name, _, _ in targets} for _ in range(clients)]
    errors = [{name: 0 for name, _, _ in targets} for _ in range(clients)]
    sessions = []
    for _ in range(clients):
        s = requests.Session()
        login(s, url, username, password)
        sessions.append(s)
    bearer = {"Authorization": f"Bearer {api_token}"}
    start = threading.Barrier(clients + 1)
    end_box: list[float] = []

    def client(i: int) -> None:
        s, k = sessions[i], i
        start.wait()
        end = end_box[0]
        while time.perf_counter() < end:
            name, path, api = targets[k % len(targets)]
            k += 1
            t0 = time.perf_counter()
            try:
                r = s.get(url + path, headers=bearer if api else None, timeout=30)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            dt = time.perf_counter() - t0
            if ok:
                results[i][name].append(dt)
            else:
                errors[i][name] += 1

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    end_box.append(time.perf_counter() + seconds)
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    out = {"clients": clients, "seconds": round(elapsed, 1), "endpoints": {}}
    total = 0
    for name, _, _ in targets:
        values = [v for r in results for v in r[name]]
        errs = sum(e[name] for e in errors)
        total += len(values)
        out["endpoints"][name] = {"requests": len(values), "errors": errs, "p50_ms": ms(quantile(values, 0.5)),
                                  "p99_ms": ms(quantile(values, 0.99)), "max_ms": ms(max(values, default=None))}
    out["requests_per_second"] = round(total / elapsed, 1)
    return out


# ---------------------------------------------------------------- main

def machine() -> dict:
    import psutil
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "memory_bytes": psutil.virtual_memory().total,
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


def versions() -> dict:
    from importlib.metadata import version
    return {"python": platform.python_version(),
            **{name: version(name) for name in ("django", "celery", "kombu", "gunicorn", "psycopg", "requests")}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a short smoke run: 1 and 2 workers, 3 jobs, 5 s of load")
    ap.add_argument("--workers", default=None, help="worker process counts (default 1,2,4)")
    ap.add_argument("--jobs", type=int, default=None, help="measured jobs per worker count (default 9)")
    ap.add_argument("--db", choices=("postgres", "sqlite"), default=None,
                    help="default: postgres when it answers on 127.0.0.1:5432, else sqlite")
    ap.add_argument("--broker", choices=("rabbitmq", "filesystem"), default="rabbitmq")
    ap.add_argument("--clients", type=int, default=None, help="concurrent clients of the latency test (default 8)")
    ap.add_argument("--load-seconds", type=float, default=None, help="length of the latency test (default 20)")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds a batch may take")
    ap.add_argument("--out", help="default bench/results/market.json; with --quick: print the report only")
    args = ap.parse_args(argv)
    workers = [int(x) for x in (args.workers or ("1,2" if args.quick else "1,2,4")).split(",")]
    count = args.jobs or (3 if args.quick else 9)
    clients = args.clients or (4 if args.quick else 8)
    load_seconds = args.load_seconds or (5.0 if args.quick else 20.0)
    db = args.db
    if db is None:
        try:
            with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
                db = "postgres"
        except OSError:
            db = "sqlite"
    report: dict = {"machine": machine(), "versions": versions(), "quick": args.quick, "method": METHOD}
    started = time.perf_counter()
    refs = References()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="zkmips-bench-market-") as t:
        stack = Stack(Path(t), db, args.broker)
        try:
            log(f"starting the stack ({db}, {args.broker}) in {t}")
            stack.start()
            report["stack"] = {"database": db, "broker": args.broker + (" (own virtual host)" if stack.vhost else ""),
                               **stack.notes, "portal": "the Procfile's web (gunicorn, 1 process, 8 threads)",
                               "settlement": "the Procfile's settlement and beat (Celery)"}
            password = secrets.token_urlsafe(12)
            client_token = MarketClient(stack.url).register("bench-client", password)["token"]
            client = MarketClient(stack.url, client_token, timeout=120)
            op_token = MarketClient(stack.url).register("bench-operator", secrets.token_urlsafe(12),
                                                        operator=True)["token"]
            operator = MarketClient(stack.url, op_token)
            operator.deposit(CREDITS, to_collateral=True)
            all_jobs: list[tuple[dict, dict]] = []
            rows = []
            for n in workers:
                row, done = phase(stack, client, op_token, refs, n, count, args.timeout)
                rows.append(row)
                all_jobs += done
            report["throughput"] = rows
            log(f"latency: {clients} clients for {load_seconds:.0f} s")
            report["latency"] = load(stack.url, all_jobs[-1][0]["id"], client_token, "bench-client", password,
                                     clients, load_seconds)
            # ---- nothing lost
            jobs, views = [j for j, _ in all_jobs], [v for _, v in all_jobs]
            problems += check_jobs(jobs, views, refs)
            spent = sum(v["lock_price"] or 0 for v in views if v["state"] == "paid")
            balance, collateral = client.account()["balance"], operator.account()["collateral"]
            if balance != CREDITS - spent:
                problems.append(f"the client has {balance:,} credits, expected {CREDITS - spent:,}")
            if collateral != CREDITS + spent:
                problems.append(f"the operator has {collateral:,} credits of collateral, expected {CREDITS + spent:,}")
            audit = stack.manage("market_audit", "--json")
            try:
                audit_report = json.loads(audit.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                audit_report = {"ok": False, "problems": [f"market_audit failed: {audit.stderr.strip()[-500:]}"]}
            problems += audit_report.get("problems", [])
            report["checks"] = {
                "jobs": len(jobs), "paid": sum(v["state"] == "paid" for v in views),
                "journals_checked_against": refs.source, "credits_paid_for_jobs": spent,
                "client_balance": balance, "operator_collateral": collateral,
                "ledger_audit": audit_report, "problems": problems, "ok": not problems}
        except BaseException:
            for log_file in sorted(Path(t).glob("*.log")):
                tail = log_file.read_text(errors="replace")[-1500:]
                print(f"--- {log_file.name}\n{tail}", file=sys.stderr)
            raise
        finally:
            stack.close()
    report["seconds"] = round(time.perf_counter() - started, 1)
    text = json.dumps(report, indent=2) + "\n"
    out = args.out or (None if args.quick else str(ROOT / "bench" / "results" / "market.json"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
    else:
        sys.stdout.write(text)
    log(f"{'wrote ' + out if out else 'done'} in {report['seconds']} s: "
        + ("all checks passed" if not problems else f"PROBLEMS: {problems}"))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
