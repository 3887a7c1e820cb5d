"""The marketplace's own (trusted) Celery app: settlement tasks and the periodic sweep.

    celery -A marketplace.celery_app worker -Q zkmips.settlement     verify receipts, pay or slash
    celery -A marketplace.celery_app beat                            the sweep every few seconds

Only the marketplace runs these processes; they reach the database. Operators' workers
never do: they talk to the marketplace over its HTTPS API and read offers from the broker.
"""

from __future__ import annotations

import os

from celery import Celery

from marketplace.offers import transport_options

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")

#: The settlement queue (ZKMIPS_SETTLEMENT_QUEUE): the test suite gives each of its processes
#: its own, since each has its own database.
SETTLEMENT_QUEUE = os.environ.get("ZKMIPS_SETTLEMENT_QUEUE") or "zkmips.settlement"
#: Seconds between two sweeps (lock and deadline expiry, refunds, offer re-publication).
SWEEP_SECONDS = float(os.environ.get("ZKMIPS_SWEEP_SECONDS", "5"))

BROKER_URL = os.environ.get("ZKMIPS_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672//"

app = Celery("zkmips-market")
app.conf.update(
    broker_url=BROKER_URL,
    broker_transport_options=transport_options(BROKER_URL),   # filesystem://: its folders
    task_default_queue=SETTLEMENT_QUEUE,
    task_serializer="json", accept_content=["json"], result_serializer="json",
    task_ignore_result=True,
    # A settlement task is acknowledged only when done: a settlement worker that dies while
    # verifying gives the task back to the broker (settle() is idempotent).
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    beat_schedule={"sweep": {"task": "marketplace.sweep", "schedule": SWEEP_SECONDS}},
    imports=["marketplace.tasks"],
    # tests of the portal and API alone run settlement in the request (ZKMIPS_CELERY_EAGER=1)
    task_always_eager=os.environ.get("ZKMIPS_CELERY_EAGER") == "1",
)
