"""The market worker's decisions, without a marketplace: which offers it takes and when."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest

from marketplace import pricing
from marketplace.client import ApiError
from worker.market_worker import MarketWorker, Policy, price_now, unreadable


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


NOT_OFFERS = [
    {"job_id": "x", "hello": 1},                         # what a broker-permission test publishes
    ["a", "list"],
    {**_offer(), "deadline": "tomorrow"},
    {**_offer(), "auction_start": "2026-11-27T08:00:00"},  # no time zone
    {**_offer(), "stake": "500"},
    {**_offer(), "price_max": True},
]


@pytest.mark.parametrize("message", NOT_OFFERS, ids=range(len(NOT_OFFERS)))
def test_a_message_that_is_not_an_offer_is_named_as_such(message):
    assert unreadable(message)


def test_a_real_offer_is_readable():
    assert unreadable(_offer()) is None


def test_messages_that_are_not_offers_are_skipped_and_the_worker_goes_on(caplog, monkeypatch):
    """A foreign message on the operator's queue (the offers exchange is a fanout) once killed
    `make run`'s worker with a KeyError; now it is skipped with a warning and the real offer
    beside it is still tried."""
    w = _worker()
    w.broker_url = "memory://"
    stop = threading.Event()
    tried = []
    w.client.offers = lambda: []

    def one_batch(conn, max_wait):
        stop.set()
        return [*NOT_OFFERS, _offer("real")]

    monkeypatch.setattr(w, "_broker_offers", one_batch)
    monkeypatch.setattr(w, "work_one", lambda job_id, offer: tried.append(job_id) or _Outcome())
    with caplog.at_level(logging.WARNING, logger="zkmips.worker"):
        w.run(stop)
    assert tried == ["real"]
    assert sum("ignored a message that is not an offer" in r.getMessage() for r in caplog.records) == len(NOT_OFFERS)


class _Outcome:
    state = "paid"
