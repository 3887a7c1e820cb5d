"""The Celery application that carries proof segments between provers and workers.

The broker (RabbitMQ) is the only link between a proving client (`zkmips prove --distributed`)
and the segment workers (`zkmips worker prove-segments`): tasks go out on one queue and the
results come back on the client's own reply queue on the same broker (the ``rpc://`` result
backend), so a worker machine needs nothing but the broker URL. See docs/distributed.md.

Environment (read when the app is made):
    ZKMIPS_BROKER_URL        broker URL (default amqp://guest:guest@127.0.0.1:5672//)
    ZKMIPS_SEGMENT_QUEUE     queue name (default zkmips.segments)
    ZKMIPS_TASK_TIME_LIMIT   hard limit in seconds for one segment task (default 1500)
"""

from __future__ import annotations

import os

from celery import Celery

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_QUEUE = "zkmips.segments"
TASK_NAME = "zkmips.segment"
# One segment is at most 2^21 cycles; proving 2^20 cycles whole takes ~150 s on 2 cores
# (bench/results/prove.json), so 25 minutes leaves a wide margin for slow machines while
# staying under RabbitMQ's default consumer_timeout (30 min): past that the broker would
# close the worker's channel for holding an unacknowledged delivery too long.
DEFAULT_TASK_TIME_LIMIT = 1500.0


def broker_url_from_env() -> str:
    return os.environ.get("ZKMIPS_BROKER_URL") or DEFAULT_BROKER_URL


def queue_from_env() -> str:
    return os.environ.get("ZKMIPS_SEGMENT_QUEUE") or DEFAULT_QUEUE


def _time_limit_from_env() -> float:
    raw = os.environ.get("ZKMIPS_TASK_TIME_LIMIT")
    if not raw:
        return DEFAULT_TASK_TIME_LIMIT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"ZKMIPS_TASK_TIME_LIMIT must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError("ZKMIPS_TASK_TIME_LIMIT must be positive")
    return value


def make_app(broker_url: str | None = None, queue: str | None = None) -> Celery:
    """A Celery app configured for segment proving; arguments override the environment."""
    queue = queue or queue_from_env()
    app = Celery("zkmips", include=["worker.segment_tasks"])
    app.conf.update(
        broker_url=broker_url or broker_url_from_env(),
        # Results travel back through the broker itself, to a reply queue owned by the
        # client: no Redis/database is needed, and only the client that sent a task can
        # read its result. (It cannot be fetched later by id, which we never need.)
        result_backend="rpc://",
        # For rpc:// this is the reply queues' x-expires: a reply queue nobody uses for an
        # hour is deleted by RabbitMQ (one left by a client killed before it listened, or
        # the queue a worker declares when it looks up a revoked task). A client's queue
        # stays while the client listens on it, however long the proof.
        result_expires=3600,
        # JSON only, both ways. Pickle would let anyone who can publish to the broker run
        # code in every worker (and a rogue worker run code in the client, through a
        # result); bytes travel base64-encoded.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        # Acknowledge a task message only after the task has finished (and its result has
        # been sent). Until then RabbitMQ keeps the message; if the worker dies or loses
        # its connection, RabbitMQ puts it back in the queue for another worker. Safe
        # because run_task is a pure function: running a segment twice is harmless.
        task_acks_late=True,
        # If the pool process running a task dies (SIGKILL, OOM killer, segfault in native
        # code) while the worker's main process survives, give the message back to the
        # broker (requeue) instead of acknowledging it and reporting WorkerLostError.
        # Caveat: a segment that kills its process every time would loop; the client
        # sees no progress in that case (see CeleryRunner's stall_timeout).
        task_reject_on_worker_lost=True,
        # A worker reserves exactly as many messages as it has pool processes (one by
        # default): it never hoards segments that an idle worker could be proving, and a
        # dying worker only ever puts back the ones it was actually running.
        worker_prefetch_multiplier=1,
        # A failed task (an exception, the hard time limit) is acknowledged and reported
        # to the client: retrying a deterministic failure elsewhere would fail again.
        task_acks_on_failure=True,
        task_acks_on_timeout=True,
        # Hard limit per segment: the pool process is killed and the client gets a
        # one-line error instead of waiting forever on a stuck segment.
        task_time_limit=_time_limit_from_env(),
        # Workers report STARTED (with their hostname) to the client: on a failure or ^C the
        # client stops exactly the segments that are running, on the workers running them.
        task_track_started=True,
        # All segment tasks go to this one queue (created durable on first use).
        task_default_queue=queue,
        task_routes={TASK_NAME: {"queue": queue}},
        # Task messages are persistent (delivery_mode 2, the default, stated here): they
        # survive a broker restart on a durable queue.
        task_default_delivery_mode="persistent",
        # Publisher confirms: apply_async returns only once RabbitMQ has taken the
        # message, so "sent" means "queued", not "in a socket buffer".
        broker_transport_options={"confirm_publish": True},
        # A worker started before the broker (or a broker restarting) keeps retrying the
        # connection instead of exiting at startup.
        broker_connection_retry_on_startup=True,
        # If a worker loses its broker connection, RabbitMQ requeues its unacknowledged
        # segments for other workers; stop proving them here rather than duplicate work.
        worker_cancel_long_running_tasks_on_connection_loss=True,
    )
    return app


app = make_app()
