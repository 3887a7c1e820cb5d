"""Fake segment phases for the worker tests, loaded by a worker only through
``ZKMIPS_TEST_TASK_MODULE=tests.worker.fake_tasks``.

Each fake phase returns ``expected(payload)`` (a deterministic function of the payload) and
appends ``start``/``end`` lines to the file named by ``ZKMIPS_FAKE_LOG`` with the worker's
process group (= the worker's main pid, tests start workers in their own session) and the
pool process's pid, so that a test can see which worker ran (or was running) what.
"""

from __future__ import annotations

import hashlib
import os
import time

from worker.segment_tasks import HANDLERS

SLEEP = float(os.environ.get("ZKMIPS_FAKE_SLEEP", "0.2"))
SLOW_SLEEP = float(os.environ.get("ZKMIPS_FAKE_SLOW_SLEEP", "3"))


def expected(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest() + payload[::-1]


def log(event: str, payload: bytes) -> None:
    path = os.environ.get("ZKMIPS_FAKE_LOG")
    if not path:
        return
    line = f"{event} {os.getpgrp()} {os.getpid()} {payload.hex()}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)  # one write on O_APPEND: lines of concurrent workers never interleave
    finally:
        os.close(fd)


def sleeper(seconds: float):
    def handle(payload: bytes) -> bytes:
        log("start", payload)
        time.sleep(seconds)
        log("end", payload)
        return expected(payload)
    return handle


def fail(payload: bytes) -> bytes:
    log("start", payload)
    raise ValueError(f"fake failure on payload {payload.hex()}\nsecond line of the message")


def mixed(payload: bytes) -> bytes:
    """Payloads starting with b"fail" fail after a short while; the others are slow."""
    if payload.startswith(b"fail"):
        log("start", payload)
        time.sleep(0.5)
        raise ValueError(f"fake failure on payload {payload.hex()}")
    return slow(payload)


HANDLERS["fake"] = sleeper(SLEEP)
HANDLERS["fake_slow"] = slow = sleeper(SLOW_SLEEP)
HANDLERS["fake_fail"] = fail
HANDLERS["fake_mixed"] = mixed
