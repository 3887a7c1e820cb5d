"""The market worker's decisions, without a marketplace: which offers it takes and when."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from marketplace import pricing
from marketplace.client import ApiError
from worker.market_worker import MarketWorker, Policy, price_now


def _offer(job_id="j1", **kw) -> dict:
    now = datetime.now(timezone.utc)
    return {"job_id": job_id, "state": "open", "deadline": (now + timedelta(hours=1)).isoformat(),
            "expected_cycles": 10_000, "max_cycles": 1 << 20, "private_input_bytes": 0, "price_min": 100,
            "price_max": 1000, "auction_start": now.isoformat(), "ramp_seconds": 0, "stake": 500, **kw}


class FakeClient:
    url = "http://market"

    def __init__(self, collateral=1000, operator="op"):
        self.collateral, self.operator, self.locked = collateral, operator, []

    def account(self):
        return {"username": "op", "operator": self.operator, "balance": 0, "collateral": self.collateral}


def _worker(collateral=1000, **policy) -> MarketWorker:
    return MarketWorker(FakeClient(collateral), None, Policy(**policy))


def test_a_client_token_cannot_start_a_worker():
    with pytest.raises(ApiError, match="not a worker operator"):
        MarketWorker(FakeClient(operator=None), None)


def test_offers_it_cannot_afford_or_does_not_want_are_refused():
    w = _worker(collateral=400)
    assert "exceeds our free collateral" in w.acceptable(_offer(), collateral=400)
    w = _worker()
    assert w.acceptable(_offer(), collateral=1000) is None
    assert "too long" in _worker(max_cycles=5000).acceptable(_offer(), 1000)
    assert "below our" in _worker(min_price=2000).acceptable(_offer(), 1000)
    past = (datetime.now(timezone.utc) - timedelta(seconds=1)).isoformat()
    assert "deadline" in w.acceptable(_offer(deadline=past), 1000)
    assert "is locked" in w.acceptable(_offer(state="locked"), 1000)


def test_the_worker_prices_offers_exactly_as_the_marketplace_does():
    start = datetime.now(timezone.utc) - timedelta(seconds=30)
    offer = _offer(auction_start=start.isoformat(), ramp_seconds=60)
    at = start + timedelta(seconds=30)
    assert price_now(offer, at) == pricing.price_at(100, 1000, start, 60, at) == 550


def test_it_picks_the_best_paying_offer_and_waits_for_a_rising_price():
    w = _worker(min_price=500)
    now = datetime.now(timezone.utc)
    cheap = _offer("cheap", price_max=600)
    rich = _offer("rich", price_max=900)
    rising = _offer("rising", auction_start=now.isoformat(), ramp_seconds=3600)   # at 100 now
    assert w._candidate([cheap, rich, rising])["job_id"] == "rich"
    assert "rising" in w._waiting                        # looked at again as its price rises
