"""`CeleryRunner`: the prover's segment runner that fans segments out to Celery workers.

It implements the ``SegmentRunner`` contract of ``prover.zkmips.segments``::

    runner.map(phase, payloads, on_done=None) -> list[bytes]

Every payload becomes one ``zkmips.segment`` task on the segment queue; results come back
on this process's reply queue (``rpc://``), in whatever order workers finish, and are
returned in payload order. Workers are found through the broker alone: any number of
``zkmips worker prove-segments`` processes, on any machine, consuming the same queue.

Failure handling (every error is one line, a ``SegmentRunError``):
- a task that raises on a worker fails the whole map, naming the segment and the error;
- no worker consuming the queue for ``timeout`` seconds (checked all along, not only at the
  start) fails with ``NoWorkerError``;
- optionally, no result at all for ``stall_timeout`` seconds while workers are there;
- on any failure, and on KeyboardInterrupt, the segments being proved are revoked and their
  processes killed, and the reply queue is closed, so that workers skip the queued ones:
  nobody goes on proving for nobody.
A worker that dies mid-segment is not a failure: the broker redelivers the segment.
"""

from __future__ import annotations

import base64
import time
from typing import Callable, Sequence

from celery import Celery, states
from celery.result import ResultSet
from kombu.exceptions import OperationalError

from worker.celery_app import TASK_NAME, broker_url_from_env, make_app, queue_from_env

#: RabbitMQ's default max_message_size is 128 MiB; base64 adds a third, keep a margin.
MAX_PAYLOAD_BYTES = 90 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
_CHECK_EVERY = 2.0  # seconds between checks that some worker consumes the queue


class SegmentRunError(RuntimeError):
    """A distributed map failed for good (message is one line)."""


class NoWorkerError(SegmentRunError, TimeoutError):
    """No worker consumed the segment queue within the timeout."""


class _Abort(Exception):
    """Carries our own error out of Celery's result loop untouched."""

    def __init__(self, error: SegmentRunError):
        super().__init__(str(error))
        self.error = error


def _redact(url: str) -> str:
    """The broker URL without its password, for error messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= 300 else text[:297] + "..."


class CeleryRunner:
    """Run segment tasks on Celery workers through the broker.

    Arguments:
        app: the Celery app (default: ``worker.celery_app.app``, or a new one for ``broker``).
        queue: the segment queue (default ``$ZKMIPS_SEGMENT_QUEUE`` or ``zkmips.segments``).
        timeout: seconds to wait while *no* worker consumes the queue before giving up
            (checked throughout the map, so losing every worker mid-proof also ends it).
        stall_timeout: if set, give up when no result has arrived for this many seconds
            although workers are there (None: wait; each task is bounded by the workers'
            ``task_time_limit``).
        broker: a broker URL; only used when ``app`` is None.
    """

    def __init__(self, app: Celery | None = None, queue: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 stall_timeout: float | None = None, broker: str | None = None):
        if app is None:
            if broker is not None:
                app = make_app(broker_url=broker, queue=queue)
            else:
                from worker.celery_app import app as default_app
                app = default_app
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.app = app
        self.queue = queue or queue_from_env()
        self.timeout = float(timeout)
        self.stall_timeout = None if stall_timeout is None else float(stall_timeout)
        self._check_conn = None

    # -- the SegmentRunner contract ---------------------------------------------------
    def map(self, phase: str, payloads: Sequence[bytes],
            on_done: Callable[[int], None] | None = None) -> list[bytes]:
        """Run ``run_task(phase, p)`` on workers for every payload; results in payload order.

        ``on_done(i)`` is called once per payload, as its result arrives. Raises
        ``SegmentRunError`` (one line) if a task fails or no worker is there.
        """
        if not isinstance(phase, str) or not phase:
            raise ValueError("phase must be a non-empty string")
        encoded = []
        for i, p in enumerate(payloads):
            if not isinstance(p, (bytes, bytearray, memoryview)):
                raise TypeError(f"payload {i} is {type(p).__name__}, not bytes")
            if len(p) > MAX_PAYLOAD_BYTES:
                raise SegmentRunError(f"payload {i} is {len(p):,} bytes, over the broker's message limit "
                                      f"({MAX_PAYLOAD_BYTES:,} bytes before base64)")
            encoded.append(base64.b64encode(bytes(p)).decode("ascii"))
        n = len(encoded)
        if n == 0:
            return []

        results: list[bytes | None] = [None] * n
        sent = []
        index: dict[str, int] = {}
        running: dict[str, str] = {}  # task id -> hostname of the worker that started it
        try:
            try:
                for i, b64 in enumerate(encoded):
                    r = self.app.send_task(TASK_NAME, args=(phase, b64), queue=self.queue)
                    index[r.id] = i
                    sent.append(r)
            except (OperationalError, OSError) as e:
                raise SegmentRunError(f"cannot send segment tasks to the broker at "
                                      f"{_redact(self.app.conf.broker_url)}: {_one_line(e)}") from None
            del encoded
            self._collect(phase, sent, index, results, running, on_done)
        except BaseException:
            self._abandon(running)
            raise
        return results  # type: ignore[return-value]

    # -- internals ------------------------------------------------------------------------
    def _collect(self, phase, sent, index, results, running, on_done) -> None:
        n = len(sent)
        start = time.monotonic()
        last_progress = start
        no_worker_since: float | None = None
        next_check = start  # check right away, then every _CHECK_EVERY seconds

        def on_message(meta: dict) -> None:
            # every state message on the reply queue; STARTED says which worker took a task
            task_id = meta.get("task_id")
            if task_id not in index:
                return
            if meta.get("status") == states.STARTED:
                info = meta.get("result")
                host = info.get("hostname") if isinstance(info, dict) else None
                running[task_id] = host or ""
            elif meta.get("status") in states.READY_STATES:
                running.pop(task_id, None)

        def on_interval() -> None:
            nonlocal no_worker_since, next_check
            now = time.monotonic()
            if self.stall_timeout is not None and now - last_progress > self.stall_timeout:
                left = sum(r is None for r in results)
                raise _Abort(SegmentRunError(
                    f"{phase}: no segment result for {self.stall_timeout:g} s "
                    f"({left} of {n} outstanding on queue {self.queue!r})"))
            if now < next_check:
                return
            next_check = now + _CHECK_EVERY
            consumers = self._consumer_count()
            if consumers is None or consumers > 0:
                no_worker_since = None
                return
            if no_worker_since is None:
                no_worker_since = now
            if now - no_worker_since >= self.timeout:
                raise _Abort(NoWorkerError(
                    f"no worker is consuming queue {self.queue!r} at {_redact(self.app.conf.broker_url)} "
                    f"(waited {self.timeout:g} s): start `zkmips worker prove-segments`"))

        rs = ResultSet(sent, app=self.app)
        arrivals = rs.iter_native(timeout=None, on_interval=on_interval, on_message=on_message)
        done = 0
        while True:
            try:
                task_id, meta = next(arrivals)
            except StopIteration:
                break
            except _Abort as abort:
                # raised through Celery's drain loop, which would turn a TimeoutError into its own
                raise abort.error from None
            except (OperationalError, OSError, RuntimeError) as e:
                raise SegmentRunError(f"{phase}: lost the broker at {_redact(self.app.conf.broker_url)} "
                                      f"while waiting for results: {_one_line(e)}") from None
            i = index.get(task_id)
            if i is None or results[i] is not None:
                continue  # a duplicate (a segment that ran twice) or someone else's
            running.pop(task_id, None)
            status = meta.get("status")
            if status == states.SUCCESS:
                value = meta.get("result")
                if not isinstance(value, str):
                    raise SegmentRunError(f"segment {i} ({phase}): malformed result from worker")
                results[i] = base64.b64decode(value)
                done += 1
                last_progress = time.monotonic()
                if on_done is not None:
                    on_done(i)
            else:
                raise SegmentRunError(f"segment {i} of {n} ({phase}) failed on a worker: "
                                      f"{self._describe_failure(meta)}")
        if done != n:  # iter_native ended without every result: should not happen
            missing = [i for i, r in enumerate(results) if r is None]
            raise SegmentRunError(f"{phase}: no result for segments {missing}")

    @staticmethod
    def _describe_failure(meta: dict) -> str:
        status = meta.get("status")
        exc = meta.get("result")
        if status == states.REVOKED:
            return "the task was revoked"
        if isinstance(exc, BaseException):
            name = type(exc).__name__
            text = str(exc)
            return _one_line(f"{name}: {text}" if text else name)
        return _one_line(f"{status}: {exc!r}")

    def _consumer_count(self) -> int | None:
        """Consumers of the segment queue (workers), 0 if it does not exist, None if unknown."""
        try:
            if self._check_conn is None:
                self._check_conn = self.app.connection_for_read()
            conn = self._check_conn
            conn.ensure_connection(max_retries=1)
            channel = conn.channel()
            try:
                _, _, consumers = channel.queue_declare(queue=self.queue, passive=True)
                return consumers
            except conn.channel_errors as e:
                if getattr(e, "code", None) == 404:
                    return 0
                return None
            finally:
                try:
                    channel.close()
                except Exception:
                    pass
        except Exception:  # noqa: BLE001 - a broker hiccup is not "no worker"
            self._drop_check_conn()
            return None

    def _drop_check_conn(self) -> None:
        conn, self._check_conn = self._check_conn, None
        if conn is not None:
            try:
                conn.release()
            except Exception:
                pass

    def _abandon(self, running: dict[str, str]) -> None:
        """Stop what is left of a failed or interrupted map.

        Running segments are revoked and their pool processes killed, on the workers that
        reported running them (terminate: the worker's main process kills the pool process
        and acknowledges the message). Queued segments are not revoked one by one (Celery
        5.7 makes every worker look each revoked id up in the result backend): closing the
        reply queue is enough, a worker skips a task whose client's reply queue is gone
        (``worker.segment_tasks._client_gone``), including workers started later.
        """
        # First the reply queue, so that a worker freed by the revoke below already finds
        # its next (queued) task orphaned.
        self.close()
        if running:
            hosts = sorted({h for h in running.values() if h})
            try:
                self.app.control.revoke(list(running), terminate=True, signal="SIGKILL",
                                        destination=hosts or None)
            except Exception:  # noqa: BLE001 - best effort: we are already failing
                pass

    def close(self) -> None:
        """Stop receiving results and delete this client's reply queue (workers then skip
        any task of ours still queued). The runner stays usable: a later map starts over."""
        backend = self.app.backend
        consumer = getattr(backend, "result_consumer", None)
        if consumer is not None and getattr(consumer, "_consumer", None) is not None:
            try:
                consumer.stop()
            except Exception:
                pass
            consumer._consumer = None
            consumer._connection = None
        # The reply queue is auto-delete, but only once it has had a consumer: delete it
        # explicitly for the case where none ever started (e.g. sending failed half-way).
        reply_queue = getattr(backend, "oid", None)
        if reply_queue:
            try:
                if self._check_conn is None:
                    self._check_conn = self.app.connection_for_read()
                channel = self._check_conn.channel()
                try:
                    channel.queue_delete(queue=reply_queue)
                finally:
                    channel.close()
            except Exception:  # noqa: BLE001 - cleanup only
                pass
        self._drop_check_conn()

    def __enter__(self) -> "CeleryRunner":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"CeleryRunner(broker={_redact(self.app.conf.broker_url)!r}, queue={self.queue!r}, "
                f"timeout={self.timeout:g})")


__all__ = ["CeleryRunner", "SegmentRunError", "NoWorkerError", "MAX_PAYLOAD_BYTES", "broker_url_from_env"]
