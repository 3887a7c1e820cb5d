"""A marketplace stack inside a test: the live server (pytest-django), the settlement Celery
worker on the real broker (a thread of the test process, so it shares the test database),
a sweeper that sends the periodic task through the broker, and operators' workers as real
`zkmips worker start` processes that reach the marketplace only over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from marketplace.models import ApiToken, Job

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("ZKMIPS_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//"


@contextmanager
def settlement_worker():
    """The marketplace's settlement worker and a 1-second sweep, over the real broker."""
    from celery.contrib.testing.worker import start_worker

    from kombu import Connection

    from marketplace import tasks
    from marketplace.celery_app import SETTLEMENT_QUEUE, app
    app.conf.task_always_eager = False
    stop = threading.Event()

    def sweeper() -> None:
        while not stop.wait(1.0):
            try:
                tasks.sweep.delay()
            except Exception:            # broker down (the restart test): try again next second
                pass

    thread = threading.Thread(target=sweeper, daemon=True)
    try:
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False, loglevel="WARNING",
                          shutdown_timeout=60, queues=[SETTLEMENT_QUEUE]):
            thread.start()
            try:
                yield
            finally:
                stop.set()
                thread.join(5)
    finally:                         # tasks left over are of this test only: drop them
        with Connection(BROKER) as conn:
            conn.default_channel.queue_delete(SETTLEMENT_QUEUE)


@dataclass
class WorkerProcess:
    name: str
    operator: object
    proc: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and its proving processes (a machine that vanished)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Stack:
    url: str
    tmp: Path
    workers: list[WorkerProcess] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)

    def operator(self, collateral: int = 100_000):
        from marketplace import services
        name = f"op-{uuid.uuid4().hex[:8]}"
        user = services.register(name, f"password-{name}", operator=True)
        services.faucet(user, collateral, to_operator=True)
        return user

    def start_worker(self, user=None) -> WorkerProcess:
        """A `zkmips worker start` process with the operator's own broker account, which can
        only read the operator's offers (marketplace.broker_accounts)."""
        from marketplace import broker_accounts
        user = user or self.operator()
        _, token = ApiToken.issue(user)
        broker = broker_accounts.grant(user.operator.name)
        self.accounts.append(user.operator.name)
        log = self.tmp / f"{user.username}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "zkmips.cli", "worker", "start", "--market", self.url, "--token", token,
             "--broker", broker, "--workers", "1", "-q", "--loglevel", "INFO"],
            cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "NUMBA_NUM_THREADS": "1"})
        worker = WorkerProcess(user.username, user.operator, proc, log)
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        from kombu import Connection

        from marketplace import broker_accounts, offers
        for w in self.workers:
            w.stop()
        for name in self.accounts:
            broker_accounts.revoke(name)
        with Connection(BROKER) as conn:
            for name in self.accounts:
                conn.default_channel.queue_delete(offers.queue_name(name))


def wait_for(job_id, states: set[str], timeout: float = 240.0, *, stack: Stack | None = None) -> Job:
    """Wait until the job reaches one of ``states``; fail with the workers' logs otherwise."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        time.sleep(0.3)
    logs = "" if stack is None else "\n".join(f"--- {w.name}\n{w.log.read_text()[-3000:]}" for w in stack.workers)
    events = "; ".join(f"{e.to_state}: {e.note}" for e in Job.objects.get(pk=job_id).events.all())
    raise AssertionError(f"job {job_id} is {Job.objects.get(pk=job_id).state}, not {states}, after "
                         f"{timeout:.0f} s ({events})\n{logs}")
