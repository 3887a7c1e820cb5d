"""Fixtures for the distributed-worker tests: the real RabbitMQ, unique queues, worker processes.

The broker is ``$ZKMIPS_BROKER_URL`` or RabbitMQ on 127.0.0.1:5672. If it is not reachable
the broker tests are skipped, except under CI (``CI=true``), where they fail.

Workers are real ``python -m worker.segment_worker`` processes, each in its own session
(so its process group is the worker's main process and its pool children): killing the
group kills the whole worker, as a machine crash would. Every worker started by a test is
killed (SIGKILL to its group) when the test's fixture ends, and every test queue is deleted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
FAKE_MODULE = "tests.worker.fake_tasks"


def _broker_url() -> str:
    return os.environ.get("ZKMIPS_BROKER_URL") or DEFAULT_BROKER


@pytest.fixture(scope="session")
def broker_url() -> str:
    from kombu import Connection
    url = _broker_url()
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as e:  # noqa: BLE001
        from worker.distributed import _redact
        message = f"RabbitMQ not reachable at {_redact(url)}: {e}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


class Broker:
    """Small helper for looking at queues directly (not through Celery)."""

    def __init__(self, url: str):
        from kombu import Connection
        self.conn = Connection(url, connect_timeout=3)

    def queue_state(self, queue: str) -> tuple[int, int] | None:
        """(messages ready, consumers) of a queue, None if it does not exist."""
        channel = self.conn.channel()
        try:
            _, messages, consumers = channel.queue_declare(queue=queue, passive=True)
            return messages, consumers
        except self.conn.channel_errors as e:
            if getattr(e, "code", None) == 404:
                return None
            raise
        finally:
            try:
                channel.close()
            except Exception:
                pass

    def delete_queue(self, queue: str) -> None:
        channel = self.conn.channel()
        try:
            channel.queue_delete(queue=queue)
        except self.conn.channel_errors:
            pass
        finally:
            try:
                channel.close()
            except Exception:
                pass

    def wait_consumers(self, queue: str, count: int, timeout: float = 30.0, procs=()) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.queue_state(queue)
            if state is not None and state[1] >= count:
                return
            for proc in procs:
                if proc.proc.poll() is not None:
                    raise AssertionError(f"worker exited with {proc.proc.returncode}:\n{proc.log_tail()}")
            time.sleep(0.1)
        tails = "\n".join(p.log_tail() for p in procs)
        raise AssertionError(f"{count} worker(s) did not start consuming {queue} in {timeout} s\n{tails}")

    def close(self) -> None:
        self.conn.release()


@pytest.fixture(scope="module")
def broker(broker_url):
    b = Broker(broker_url)
    yield b
    b.close()


def unique_queue() -> str:
    return f"zkmips.test.{uuid.uuid4().hex[:12]}"


@dataclass
class WorkerProc:
    proc: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill_group(self) -> None:
        """SIGKILL the worker's main process and its pool processes, as a crash would."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return f"--- {self.log_path.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Workers:
    """Starts segment workers for one queue and kills them all at the end."""

    def __init__(self, broker: Broker, broker_url: str, queue: str, tmp: Path, env: dict[str, str] | None = None):
        self.broker = broker
        self.broker_url = broker_url
        self.queue = queue
        self.tmp = tmp
        self.fake_log = tmp / "fake.log"
        self.env = env or {}
        self.procs: list[WorkerProc] = []

    def start(self, n: int = 1, wait: bool = True, **env: str) -> list[WorkerProc]:
        started = []
        for _ in range(n):
            log_path = self.tmp / f"worker-{len(self.procs)}.log"
            full_env = {
                **os.environ,
                "ZKMIPS_BROKER_URL": self.broker_url,
                "ZKMIPS_TEST_TASK_MODULE": FAKE_MODULE,
                "ZKMIPS_FAKE_LOG": str(self.fake_log),
                "PYTHONUNBUFFERED": "1",
                **self.env,
                **env,
            }
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "worker.segment_worker", "--concurrency", "1",
                     "--queue", self.queue, "--loglevel", "INFO"],
                    cwd=ROOT, env=full_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            w = WorkerProc(proc, log_path)
            self.procs.append(w)
            started.append(w)
        if wait:
            alive = sum(p.alive() for p in self.procs)
            self.broker.wait_consumers(self.queue, alive, procs=self.procs)
        return started

    def fake_events(self) -> list[tuple[str, int, int, bytes]]:
        """(event, worker main pid, pool pid, payload) lines written by the fake phases."""
        if not self.fake_log.exists():
            return []
        events = []
        for line in self.fake_log.read_text().splitlines():
            event, pgid, pid, payload = line.split(" ")
            events.append((event, int(pgid), int(pid), bytes.fromhex(payload)))
        return events

    def logs(self) -> str:
        return "\n".join(p.log_tail() for p in self.procs)

    def stop_all(self) -> None:
        for p in self.procs:
            p.kill_group()


def make_workers(broker, broker_url, tmp_path, env=None):
    queue = unique_queue()
    workers = Workers(broker, broker_url, queue, tmp_path, env)
    return workers


@pytest.fixture
def workers(broker, broker_url, tmp_path):
    """A fresh queue and a worker launcher for one test; everything is killed/deleted after."""
    w = make_workers(broker, broker_url, tmp_path)
    yield w
    w.stop_all()
    broker.delete_queue(w.queue)


@pytest.fixture
def runner_factory(broker_url):
    """CeleryRunners on their own app (own reply queue), closed at the end of the test."""
    from worker.celery_app import make_app
    from worker.distributed import CeleryRunner
    made = []

    def make(queue: str, **kwargs) -> CeleryRunner:
        r = CeleryRunner(make_app(broker_url=broker_url, queue=queue), queue=queue, **kwargs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()
