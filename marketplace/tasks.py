"""Celery tasks of the marketplace (run only by its trusted settlement worker and beat)."""

from __future__ import annotations

import django

from marketplace.celery_app import app

django.setup()

from celery.signals import worker_ready  # noqa: E402

from marketplace import offers, services  # noqa: E402  (needs the app registry)


@worker_ready.connect
def _declare_offers_exchange(**_) -> None:
    """Workers bind their queues to the offers exchange without declaring it: create it now."""
    from django.conf import settings
    try:
        offers.declare_exchange(settings.BROKER_URL)
    except Exception as e:  # noqa: BLE001 - the first published offer declares it too
        import logging
        logging.getLogger("marketplace").warning("offers exchange not declared yet: %s", e)


@app.task(name="marketplace.settle")
def settle_attempt(attempt_id: int) -> str:
    """Verify one uploaded receipt and pay or slash (idempotent)."""
    return services.settle(attempt_id)


@app.task(name="marketplace.sweep")
def sweep() -> dict:
    """Expire locks and deadlines, refund, re-publish offers, settle receipts whose task was lost."""
    return services.sweep()
