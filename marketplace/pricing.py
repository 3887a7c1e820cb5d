"""Prices: the estimate shown for a dry run, and the reverse Dutch auction's ramp.

A job's price rises linearly from ``price_min`` at ``auction_start`` to ``price_max`` after
``ramp_seconds`` and stays there: the first worker to lock takes it at the current price,
so a job is proven by whoever finds it worth the least (Boundless's auction).
"""

from __future__ import annotations

import math
from datetime import datetime

from marketplace.limits import CREDITS_PER_MEGACYCLE, MIN_PRICE


def estimate(cycles: int) -> dict[str, int]:
    """A suggested price range for a run of ``cycles`` cycles."""
    fair = max(MIN_PRICE, math.ceil(cycles * CREDITS_PER_MEGACYCLE / 1_000_000))
    return {"price_min": max(MIN_PRICE, fair // 2), "price_max": 2 * fair}


def price_at(price_min: int, price_max: int, auction_start: datetime, ramp_seconds: int, now: datetime) -> int:
    """The auction's price at ``now`` (integer credits, rounded down; exact integer arithmetic)."""
    if ramp_seconds <= 0:
        return price_max
    delta = now - auction_start
    elapsed_us = max(0, (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)
    ramp_us = ramp_seconds * 1_000_000
    return price_min + (price_max - price_min) * min(elapsed_us, ramp_us) // ramp_us
