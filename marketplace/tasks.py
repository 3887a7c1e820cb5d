"""Celery tasks of the marketplace (run only by its trusted settlement worker and beat)."""

from __future__ import annotations

import django

from marketplace.celery_app import app

django.setup()

from marketplace import services  # noqa: E402  (needs the app registry)


@app.task(name="marketplace.settle")
def settle_attempt(attempt_id: int) -> str:
    """Verify one uploaded receipt and pay or slash (idempotent)."""
    return services.settle(attempt_id)


@app.task(name="marketplace.sweep")
def sweep() -> dict:
    """Expire locks and deadlines, refund, re-publish offers, settle receipts whose task was lost."""
    return services.sweep()
