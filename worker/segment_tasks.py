"""The Celery task that proves one segment: ``zkmips.segment(phase, payload_b64) -> result_b64``.

The phase names a handler in ``HANDLERS``, an allow-list: nothing that arrives from the
broker is ever imported or evaluated, a phase is only looked up in this dict. The real
handlers call ``prover.zkmips.segments.run_task`` (imported on first use, so that a worker
starts fast and this module imports without the prover).

Tests add fast fake phases by naming a module in the environment variable
``ZKMIPS_TEST_TASK_MODULE`` (it must be under ``tests.``): the worker imports it once at
startup and the module registers its handlers in ``HANDLERS``. Without the variable no
other module is imported.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import logging
import os
from typing import Callable

from celery import shared_task
from celery.exceptions import Ignore

from worker.celery_app import TASK_NAME

logger = logging.getLogger(__name__)

Handler = Callable[[bytes], bytes]
TEST_MODULE_ENV = "ZKMIPS_TEST_TASK_MODULE"
PROVER_PHASES = ("commit", "prove", "joined")


def _prover_handler(phase: str) -> Handler:
    def handle(payload: bytes) -> bytes:
        from prover.zkmips.segments import run_task  # lazy: the prover is heavy to import
        return run_task(phase, payload)
    handle.__name__ = f"run_task_{phase}"
    return handle


#: phase -> handler. The only way a broker message selects code.
HANDLERS: dict[str, Handler] = {phase: _prover_handler(phase) for phase in PROVER_PHASES}


def _load_test_module() -> None:
    name = os.environ.get(TEST_MODULE_ENV)
    if not name:
        return
    if not name.startswith("tests."):
        raise RuntimeError(f"{TEST_MODULE_ENV}={name!r}: only test modules (tests.*) may add handlers")
    importlib.import_module(name)
    logger.warning("test handlers loaded from %s: phases %s", name, ", ".join(sorted(HANDLERS)))


class UnknownPhase(ValueError):
    """The task names a phase that is not in the allow-list."""


class BadPayload(ValueError):
    """The payload is not base64 text."""


def _client_gone(task) -> bool:
    """True when the client that sent this task no longer exists (its reply queue is gone).

    Such a task was abandoned (the client timed out, was interrupted, or crashed): proving
    it would only burn minutes of a worker. Any doubt (no reply_to, broker hiccup) counts
    as "still there".
    """
    reply_to = getattr(task.request, "reply_to", None)
    if not reply_to:
        return False
    try:
        with task.app.connection_for_read() as conn:
            channel = conn.channel()
            try:
                channel.queue_declare(queue=reply_to, passive=True)
            except conn.channel_errors as e:
                return getattr(e, "code", None) == 404
            finally:
                try:
                    channel.close()
                except Exception:  # the channel is already closed by the 404
                    pass
    except Exception:  # noqa: BLE001 - a failed check must never lose a segment
        return False
    return False


# shared_task: registered on every Celery app (the default one and any made by make_app
# for another broker or queue), which all include this module.
@shared_task(name=TASK_NAME, bind=True)
def segment(self, phase: str, payload_b64: str) -> str:
    """Run the handler of ``phase`` on the decoded payload; return the result base64-encoded."""
    if not isinstance(phase, str) or phase not in HANDLERS:
        raise UnknownPhase(f"unknown segment phase {phase!r} (allowed: {', '.join(sorted(HANDLERS))})")
    if not isinstance(payload_b64, str):
        raise BadPayload("segment payload must be base64 text")
    try:
        payload = base64.b64decode(payload_b64.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise BadPayload("segment payload is not valid base64") from None
    if _client_gone(self):
        logger.warning("task %s: its client is gone (reply queue deleted), skipped", self.request.id)
        raise Ignore()
    result = HANDLERS[phase](payload)
    if not isinstance(result, (bytes, bytearray, memoryview)):
        raise TypeError(f"phase {phase!r} returned {type(result).__name__}, not bytes")
    return base64.b64encode(bytes(result)).decode("ascii")


_load_test_module()
