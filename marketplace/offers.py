"""Job offers on the broker: the marketplace publishes, operators' workers consume.

Offers go to one fanout exchange, ``zkmips.offers``; each worker binds its own durable
queue ``zkmips.offers.<operator>`` to it, so every worker sees every offer and the first to
lock the job over the API wins (the others get 409 and move on). An offer is only a hint:
the database is the truth, the lock is taken over HTTPS, and the marketplace re-publishes
every open job's offer periodically (:func:`marketplace.services.republish_offers`), so an
offer lost with a broker restart costs a delay, never a job.

The broker account a worker needs can only read offers: see docs/marketplace.md
("Broker permissions") for the RabbitMQ user the marketplace creates for workers.

This module imports no Django: the worker uses the same names to bind its queue.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Queue

EXCHANGE_NAME = "zkmips.offers"
OFFER_EXCHANGE = Exchange(EXCHANGE_NAME, type="fanout", durable=True)
#: An offer nobody consumed within this time is dropped by the broker (it is re-published
#: while the job stays open).
OFFER_TTL_SECONDS = 600
#: An operator's queue unused this long (no worker running) is deleted by the broker; its
#: workers declare it again when they start, and open jobs are re-announced meanwhile.
QUEUE_IDLE_EXPIRY_SECONDS = 3600


#: The exchange as workers see it: bound to, never declared. Declaring it would need the
#: "configure" permission on it, which also allows deleting it; a worker's broker account
#: has no such right (docs/marketplace.md, "Broker permissions"). The marketplace declares it.
WORKER_VIEW_OF_EXCHANGE = Exchange(EXCHANGE_NAME, type="fanout", durable=True, no_declare=True)


def queue_name(operator_name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in operator_name)[:100]
    return f"{EXCHANGE_NAME}.{safe}"


def worker_queue(operator_name: str) -> Queue:
    """The durable queue of one operator's workers (shared by all its worker processes)."""
    return Queue(queue_name(operator_name), exchange=WORKER_VIEW_OF_EXCHANGE, durable=True,
                 queue_arguments={"x-message-ttl": OFFER_TTL_SECONDS * 1000, "x-expires": QUEUE_IDLE_EXPIRY_SECONDS * 1000})


def transport_options(broker_url: str) -> dict[str, Any]:
    """kombu's transport options for ``broker_url``: none for RabbitMQ. kombu's filesystem
    transport (``filesystem://``, the broker of `make run` when no RabbitMQ answers) keeps
    its messages in folders that every process must agree on: ``$ZKMIPS_BROKER_DIR``
    (default ``broker/`` in the var directory); see docs/running.md."""
    if not broker_url.startswith("filesystem:"):
        return {}
    var = Path(os.environ.get("ZKMIPS_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    root = Path(os.environ.get("ZKMIPS_BROKER_DIR") or var / "broker")
    for sub in ("queues", "control"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return {"data_folder_in": str(root / "queues"), "data_folder_out": str(root / "queues"),
            "control_folder": str(root / "control"), "polling_interval": 0.5}


def declare_exchange(broker_url: str, *, timeout: float = 3.0) -> None:
    """Make sure the offers exchange exists (the settlement worker does it when it starts), so
    that workers can bind to it before the first offer is published."""
    with Connection(broker_url, connect_timeout=timeout, transport_options=transport_options(broker_url)) as conn:
        OFFER_EXCHANGE(conn.default_channel).declare()


def publish(broker_url: str, offer: dict[str, Any], *, timeout: float = 3.0) -> None:
    """Publish one offer; raises (kombu/OSError) when the broker does not answer in time."""
    with Connection(broker_url, connect_timeout=timeout,
                    transport_options={"max_retries": 1, **transport_options(broker_url)}) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish(offer, exchange=OFFER_EXCHANGE, declare=[OFFER_EXCHANGE],
                         delivery_mode=2, expiration=OFFER_TTL_SECONDS, retry=False)
