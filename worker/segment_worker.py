"""A segment worker: a Celery worker that consumes the segment queue and proves segments.

    python -m worker.segment_worker [--concurrency N] [--queue Q] [--broker URL] [--loglevel L]
    zkmips worker prove-segments   [--concurrency N] [--queue Q] [--broker URL]

Start as many as you like, on any machine that reaches the broker: they share the queue.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Sequence

from worker.celery_app import queue_from_env

LOGLEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def worker_argv(concurrency: int = 1, queue: str | None = None, loglevel: str = "INFO",
                hostname: str | None = None) -> list[str]:
    """The `celery worker` arguments run_worker uses (separate so that tests can check them)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    queue = queue or queue_from_env()
    hostname = hostname or f"zkmips-segments-{os.getpid()}@{socket.gethostname()}"
    return [
        "worker",
        # Separate pool processes: a task that crashes or is killed (time limit, OOM) takes
        # only its process down, and the main process reports it to the broker. One by
        # default: a single proof already uses every core through numba's threads.
        "--pool=prefork",
        f"--concurrency={concurrency}",
        # Hand a task to a pool process only when that process is free (no task queued
        # behind a long segment inside one busy process).
        "-O", "fair",
        f"--queues={queue}",
        f"--loglevel={loglevel}",
        f"--hostname={hostname}",
        # Nothing to synchronise between workers at startup (mingle) or to gossip about;
        # both cost broker round trips and startup time. Remote control (revoke) stays on.
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]


def run_worker(concurrency: int = 1, queue: str | None = None, loglevel: str = "INFO",
               broker: str | None = None, threads: int | None = None) -> None:
    """Run a Celery worker on the segment queue until it is stopped (SIGTERM/SIGINT: warm shutdown).

    ``queue`` defaults to ``$ZKMIPS_SEGMENT_QUEUE`` or ``zkmips.segments``; ``broker`` to
    ``$ZKMIPS_BROKER_URL`` or the local RabbitMQ. ``threads``: numba threads per pool
    process (default: all cores shared among the ``concurrency`` processes); set it lower
    when other workers share this machine, since provers fighting over cores slow down.
    """
    loglevel = loglevel.upper()
    if loglevel not in LOGLEVELS:
        raise ValueError(f"loglevel must be one of {', '.join(LOGLEVELS)}")
    if threads is not None and threads < 1:
        raise ValueError("threads must be at least 1")
    # The prover (and numba, which reads this once) is imported lazily in the pool
    # processes, after this point.
    os.environ["NUMBA_NUM_THREADS"] = str(threads or max(1, (os.cpu_count() or 1) // concurrency))
    argv = worker_argv(concurrency, queue, loglevel)
    from worker.celery_app import make_app
    app = make_app(broker_url=broker, queue=queue)
    import worker.segment_tasks  # noqa: F401  (registers zkmips.segment; imports test handlers if asked)
    app.worker_main(argv=argv)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker.segment_worker", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--concurrency", type=int, default=1, metavar="N",
                        help="segments proved at once (pool processes; default 1)")
    parser.add_argument("-Q", "--queue", default=None, help="segment queue (default $ZKMIPS_SEGMENT_QUEUE or zkmips.segments)")
    parser.add_argument("--broker", default=None, metavar="URL",
                        help="broker URL (default $ZKMIPS_BROKER_URL or amqp://guest:guest@127.0.0.1:5672//)")
    parser.add_argument("-l", "--loglevel", default="INFO", type=str.upper, choices=LOGLEVELS)
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="numba threads per pool process (default: the cores shared among them)")
    args = parser.parse_args(argv)
    if args.concurrency < 1:
        parser.error("--concurrency must be at least 1")
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    run_worker(concurrency=args.concurrency, queue=args.queue, loglevel=args.loglevel, broker=args.broker,
               threads=args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
