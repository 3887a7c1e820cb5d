"""Chain-settled jobs (``onchain``, ``optimistic``) through marketplace.services, on anvil, with
real receipts at the chain's preset and the operator's side played by worker.chain_prover."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from marketplace import ledger, onchain, pricing, services
from marketplace.errors import Conflict, MarketError
from marketplace.models import Attempt, ChainTx, Job, Transfer
from settlement import chain
from settlement.deployment import code_version, load_or_deploy
from tests.conftest import chain_receipt
from tests.marketplace.conftest import HELLO_INPUT
from worker.chain_prover import ChainProver, ChainTxs

WINDOW = 600


@pytest.fixture(scope="session")
def chain_var(anvil_url, tmp_path_factory):
    """The marketplace's var/ for this session, with the contracts deployed once (the tests
    run between snapshots of that state)."""
    import os
    os.environ.setdefault("ZKMIPS_VYPER_CACHE", str(tmp_path_factory.getbasetemp() / "vyper-cache"))
    var = tmp_path_factory.mktemp("chain-var")
    w3 = chain.connect(anvil_url)
    load_or_deploy(w3, var / f"chain-{w3.eth.chain_id}.json", sender=w3.eth.accounts[0],
                   challenge_window=WINDOW, response_window=WINDOW)
    return var


@pytest.fixture
def on_chain(market, settings, anvil_url, chain_var):
    settings.CHAIN_URL = anvil_url
    settings.VAR_DIR = chain_var
    settings.CHALLENGE_WINDOW_SECONDS = settings.RESPONSE_WINDOW_SECONDS = WINDOW
    onchain.reset()
    w3 = chain.connect(anvil_url)
    snap = chain.snapshot(w3)
    yield market
    chain.revert(w3, snap)
    onchain.reset()


@pytest.fixture(scope="session")
def receipt(tmp_path_factory) -> bytes:
    return chain_receipt(tmp_path_factory.getbasetemp().parent / "chain-receipts", "hello", HELLO_INPUT)


@pytest.fixture
def prover(anvil_url) -> ChainProver:
    return ChainProver(anvil_url)


def _job(market, program, mode: str) -> Job:
    req = services.JobRequest(public_input=HELLO_INPUT, price_min=100, price_max=1000, ramp_seconds=0,
                              deadline_seconds=30 * 86400, lock_timeout_seconds=3600, settlement=mode)
    job = services.submit_job(market.client, program, req)
    assert services.publish_offer(job.pk)
    job.refresh_from_db()
    assert job.state == "open" and services.chain_state(job) == "open"
    return job


def _lock(market, job: Job, prover: ChainProver) -> tuple[dict, Attempt, ChainTxs]:
    offer = services.offer_of(job)
    txs = ChainTxs()
    prover.lock(offer, txs)
    attempt = services.lock_job(market.operator, job.pk, prover.address)
    services.fetch_inputs(market.operator, job.pk)
    return offer, attempt, txs


def _advance(anvil_url, seconds: int) -> None:
    """Mine a block ``seconds`` after now (the chain's clock may lag the wall clock, which
    the marketplace's deadlines follow)."""
    import time
    w3 = chain.connect(anvil_url)
    lag = max(0, int(time.time()) - w3.eth.get_block("latest")["timestamp"])
    chain.advance_time(w3, lag + seconds)


def test_chain_modes_are_offered_only_with_a_chain(market, program, settings):
    settings.CHAIN_URL = ""
    onchain.reset()
    assert services.settlement_modes() == ["local"]
    with pytest.raises(MarketError, match="settlement mode 'onchain' is not offered"):
        services.submit_job(market.client, program, services.JobRequest(public_input=HELLO_INPUT,
                                                                         settlement="onchain"))


def test_a_chain_job_whose_input_cannot_cross_the_chain_is_refused(on_chain, program):
    with pytest.raises(MarketError, match="public input is 8,193 bytes; on chain the limit is 8,192"):
        services.submit_job(on_chain.client, program, services.JobRequest(public_input=b"x" * 8193,
                                                                          settlement="optimistic"))
    assert not Job.objects.exists()


def test_the_gas_the_estimate_assumes_is_the_benchmarks():
    """pricing's gas figures follow bench/results/gas.json (a one-segment receipt's joined
    proof; a longer one's memory proof and segments, step by step), so the onchain mode's
    price moves with the verifier's cost."""
    bench = json.loads((Path(__file__).resolve().parents[2] / "bench" / "results" / "gas.json").read_text())
    one = next(c for c in bench["verify"] if c["segments"] == 1)
    many = next(c for c in bench["verify"] if c["segments"] > 1)

    def measured(case: dict, prefix: str) -> int:
        return sum(s["gas"] for s in case["steps"] if s["what"].startswith(prefix))

    per_segment = measured(many, "segment ") / many["segments"]
    for assumed, got in ((pricing.VERIFY_GAS_JOINED, measured(one, "joined proof")),
                         (pricing.VERIFY_GAS_MEMORY_PROOF, measured(many, "memory proof")),
                         (pricing.VERIFY_GAS_PER_SEGMENT, per_segment),
                         (pricing.VERIFY_GAS_RECEIPT, measured(one, "receipt"))):
        assert abs(assumed - got) <= 0.1 * got, (assumed, got)
    assert abs(pricing.OPTIMISTIC_GAS - bench["market"]["optimistic_unchallenged"]) <= 0.1 * pricing.OPTIMISTIC_GAS


def test_the_estimate_shows_what_each_mode_costs(on_chain):
    prices = services.estimates(66_000)
    assert set(prices) == {"local", "onchain", "optimistic"}
    assert prices["local"]["price_max"] < prices["optimistic"]["price_max"] < prices["onchain"]["price_max"]


def test_onchain_job_is_paid_only_after_the_verifier_contract_accepts(on_chain, program, receipt, prover):
    market = on_chain
    job = _job(market, program, "onchain")
    with pytest.raises(MarketError, match="lock it on chain"):
        services.lock_job(market.operator, job.pk)
    with pytest.raises(Conflict, match="is open on chain"):
        services.lock_job(market.operator, job.pk, prover.address)
    offer, attempt, txs = _lock(market, job, prover)
    assert attempt.price == 1000 and attempt.chain_address == prover.address
    assert services.settle_chain_jobs() == 0                       # locked, not settled yet: nothing moves
    prover.settle(offer, receipt, txs)
    services.submit_receipt(market.operator, job.pk, receipt, txs.items)
    assert services.settle(attempt.pk) == Attempt.ACCEPTED
    job.refresh_from_db()
    assert job.state == "paid" and bytes(job.journal).startswith(b"Hello") and job.cycles > 0
    assert services.chain_state(job) == "fulfilled"
    whats = list(ChainTx.objects.filter(job=job).values_list("what", flat=True))
    assert "post request" in whats and "lock" in whats and whats[-1] == "fulfill"
    assert any(w.startswith("verify: joined proof: begin") for w in whats)     # a one-segment receipt
    assert all(t.ok and t.gas_used > 21_000 for t in ChainTx.objects.filter(job=job))
    # the client paid the lock price, on chain; the ledger still balances
    assert ledger.balance(ledger.client_account(market.client)) == 1_000_000 - 1000
    assert Transfer.objects.get(job=job, kind=Transfer.PAYOUT).memo == f"paid on chain to {prover.address}"
    assert ledger.audit() == []
    assert services.settle(attempt.pk) == Attempt.ACCEPTED         # idempotent


@pytest.mark.slow
def test_the_portal_shows_the_chain_state_and_every_transaction_with_its_gas(on_chain, program, receipt,
                                                                             prover, client):
    from django.urls import reverse
    market = on_chain
    job = _job(market, program, "onchain")
    offer, attempt, txs = _lock(market, job, prover)
    prover.settle(offer, receipt, txs)
    services.submit_receipt(market.operator, job.pk, receipt, txs.items)
    services.settle(attempt.pk)
    client.force_login(market.client)
    page = client.get(reverse("job", args=[job.pk])).content.decode()
    assert 'id="chain-state">fulfilled<' in page and offer["chain"]["request_id"] in page
    for tx in ChainTx.objects.filter(job=job):
        assert tx.tx_hash[:18] in page and f"{tx.gas_used:,}" in page
    assert "verify: joined proof: begin" in page and "<progress" in page
    from marketplace.api import job_out
    view = job_out(Job.objects.get(pk=job.pk))                        # the API's view says the same
    assert view["chain_state"] == "fulfilled" and len(view["chain_txs"]) == ChainTx.objects.filter(job=job).count()


def test_the_dry_run_shows_the_price_of_each_mode(on_chain, program, client):
    from django.urls import reverse
    client.force_login(on_chain.client)
    page = client.post(reverse("dry_run"), {"image_id": program.image_id, "public_input_text": HELLO_INPUT.decode(),
                                            "max_cycles": 1 << 20, "ramp_seconds": 60, "lock_timeout_seconds": 600,
                                            "deadline_seconds": 3600, "settlement": "onchain"}).content.decode()
    assert 'id="estimates"' in page and "<td>optimistic</td>" in page and "<td>onchain</td>" in page


@pytest.mark.slow
def test_an_onchain_claim_that_was_never_verified_is_not_paid_and_the_lock_expires(on_chain, program, receipt,
                                                                                    prover, anvil_url):
    market = on_chain
    job = _job(market, program, "onchain")
    offer, attempt, txs = _lock(market, job, prover)
    c = prover.contracts(offer["chain"])
    with pytest.raises(chain.Reverted, match="claim not verified"):
        c.market.fulfill(bytes.fromhex(offer["chain"]["request_id"]), journal_digest=b"\1" * 32, exit_code=0,
                         cycles=1, sender=prover.address)
    services.submit_receipt(market.operator, job.pk, receipt, txs.items)
    assert services.settle(attempt.pk) == Attempt.SUBMITTED        # the chain has no verdict yet
    _advance(anvil_url, 3601)
    assert services.settle(attempt.pk) == Attempt.REJECTED
    job.refresh_from_db()
    assert job.state == "open" and services.chain_state(job) == "open"
    assert "lock expired on chain" in Attempt.objects.get(pk=attempt.pk).reason
    # half of the stake (1000 credits) came back to the client through the chain
    assert ledger.balance(ledger.client_account(market.client)) == 1_000_000 - 1000 + 500
    assert ledger.audit() == []


@pytest.mark.slow
def test_optimistic_claim_unchallenged_is_paid_after_the_window(on_chain, program, receipt, prover, anvil_url):
    market = on_chain
    job = _job(market, program, "optimistic")
    offer, attempt, txs = _lock(market, job, prover)
    prover.settle(offer, receipt, txs)
    services.submit_receipt(market.operator, job.pk, receipt, txs.items)
    assert services.settle(attempt.pk) == Attempt.SUBMITTED        # the window is open
    assert services.chain_state(Job.objects.get(pk=job.pk)) == "proposed"
    assert "challenge window until" in Job.objects.get(pk=job.pk).events.last().note
    _advance(anvil_url, WINDOW + 1)
    assert services.settle(attempt.pk) == Attempt.ACCEPTED
    job.refresh_from_db()
    assert job.state == "paid" and bytes(job.journal).startswith(b"Hello")
    whats = list(ChainTx.objects.filter(job=job).values_list("what", flat=True))
    assert "post journal (optimistic)" in whats and "finalize optimistic claim" in whats
    assert not any(w.startswith("verify:") for w in whats)
    gas = sum(t.gas_used for t in ChainTx.objects.filter(job=job, by_worker=True))
    assert gas < 400_000                                           # deposit + lock + post: cheap
    assert ledger.audit() == []


@pytest.mark.slow
def test_a_false_optimistic_claim_is_challenged_and_the_challenger_wins(on_chain, program, receipt, prover,
                                                                         anvil_url):
    market = on_chain
    job = _job(market, program, "optimistic")
    offer, attempt, txs = _lock(market, job, prover)
    c = prover.contracts(offer["chain"])
    rid = bytes.fromhex(offer["chain"]["request_id"])
    prover._top_up(c, c.market.optimistic_bond, txs, "deposit for the bond")
    r = c.market.submit_optimistic(rid, journal=b"a false journal", exit_code=0, cycles=1000, sender=prover.address)
    txs.add("post journal (optimistic)", r["transactionHash"])
    services.submit_receipt(market.operator, job.pk, receipt, txs.items)
    assert services.settle(attempt.pk) == Attempt.SUBMITTED
    assert services.chain_state(job) == "challenged"
    assert Attempt.objects.get(pk=attempt.pk).reason.startswith("challenged: the posted claim is not the one")
    # the prover cannot answer: its receipt verifies, but not the claim it posted
    from worker.chain_prover import PendingClaim
    prover.pending[str(job.pk)] = PendingClaim(str(job.pk), rid, receipt, c)
    assert prover.answer_challenges()[0][0] == str(job.pk)
    assert services.chain_state(job) == "challenged"
    _advance(anvil_url, WINDOW + 1)
    assert services.settle(attempt.pk) == Attempt.REJECTED
    job.refresh_from_db()
    assert job.state == "open" and services.chain_state(job) == "open"
    assert "challenged and not proven" in Attempt.objects.get(pk=attempt.pk).reason
    me = onchain.account()
    assert c.market.balance_of(me) >= 2 * c.market.optimistic_bond    # both bonds to the challenger
    assert ledger.audit() == []


@pytest.mark.slow
def test_a_true_optimistic_claim_challenged_by_anyone_is_proven_and_paid(on_chain, program, receipt, prover,
                                                                         anvil_url):
    market = on_chain
    job = _job(market, program, "optimistic")
    offer, attempt, txs = _lock(market, job, prover)
    prover.settle(offer, receipt, txs)
    services.submit_receipt(market.operator, job.pk, receipt, txs.items)
    c = prover.contracts(offer["chain"])
    rid = bytes.fromhex(offer["chain"]["request_id"])
    stranger = c.w3.eth.accounts[2]
    c.market.deposit(c.market.optimistic_bond, sender=stranger)
    c.market.challenge(rid, sender=stranger)
    assert services.settle(attempt.pk) == Attempt.SUBMITTED
    ((job_id, answer),) = prover.answer_challenges()
    assert job_id == str(job.pk) and answer.items[-1]["what"] == "respond to challenge"
    assert services.report_transactions(market.operator, job.pk, answer.items + answer.items[:1]) == len(answer.items)
    assert services.settle(attempt.pk) == Attempt.ACCEPTED
    assert ChainTx.objects.filter(job=job, what="respond to challenge", by_worker=True).exists()
    job.refresh_from_db()
    assert job.state == "paid" and bytes(job.journal).startswith(b"Hello")
    assert ledger.audit() == []


def test_an_expired_chain_job_is_refunded_on_chain_first(on_chain, program, anvil_url):
    market = on_chain
    req = services.JobRequest(public_input=HELLO_INPUT, price_min=100, price_max=1000, deadline_seconds=60,
                              ramp_seconds=0, lock_timeout_seconds=30, settlement="optimistic")
    job = services.submit_job(market.client, program, req)
    assert services.publish_offer(job.pk)
    from datetime import timedelta

    from django.utils import timezone
    _advance(anvil_url, 61)
    services.expire_deadlines(timezone.now() + timedelta(seconds=61))
    job.refresh_from_db()
    assert job.state == "refunded" and services.chain_state(job) == "refunded"
    assert "refund" in ChainTx.objects.filter(job=job).values_list("what", flat=True)
    assert ledger.balance(ledger.client_account(market.client)) == 1_000_000
    assert ledger.audit() == []


@pytest.fixture
def eager_settlement():
    from marketplace.celery_app import app
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["onchain", "optimistic"])
def test_a_worker_takes_and_settles_a_chain_job_over_the_api(mode, live_server, transactional_db, settings, anvil_url,
                                                             chain_var, receipt, eager_settlement, monkeypatch):
    """The whole path a user takes: the client posts over the API, the operator's MarketWorker
    locks on chain and over the API, proves, settles on chain and uploads; the job is paid."""
    from marketplace.client import MarketClient
    from marketplace.models import ApiToken
    from worker.market_worker import MarketWorker
    settings.CHAIN_URL, settings.VAR_DIR = anvil_url, chain_var
    settings.CHALLENGE_WINDOW_SECONDS = settings.RESPONSE_WINDOW_SECONDS = WINDOW
    onchain.reset()
    w3 = chain.connect(anvil_url)
    snap = chain.snapshot(w3)
    sessions = []
    try:
        alice = services.register("alice-c", "password-alice")
        services.faucet(alice, 1_000_000)
        op = services.register("prover-c", "password-prover", operator=True)
        client = MarketClient(live_server.url, ApiToken.issue(alice)[1])
        worker = MarketWorker(MarketClient(live_server.url, ApiToken.issue(op)[1]), broker_url=None,
                              chain=ChainProver(anvil_url))
        sessions += [client.session, worker.client.session]
        monkeypatch.setattr(worker, "_prove", lambda job_id, preset=None: (worker.client.inputs(job_id), receipt)[1])
        from tests.conftest import guest
        job = client.submit_job(guest("hello").read_bytes(), "hello-O2.elf", HELLO_INPUT, settlement=mode,
                                price_min=100, price_max=1000, ramp_seconds=0, deadline_seconds=86400)
        assert job["settlement"] == mode and job["chain"]["request_id"]
        (offer,) = [o for o in worker.client.offers() if o["job_id"] == job["id"]]
        assert worker.acceptable(offer) is None
        outcome = worker.work_one(job["id"], offer)
        assert outcome.state == ("paid" if mode == "onchain" else "verifying"), outcome
        if mode == "optimistic":
            assert client.job(job["id"])["chain_state"] == "proposed"
            _advance(anvil_url, WINDOW + 1)
            services.sweep()
        view = client.job(job["id"])
        assert view["state"] == "paid" and bytes.fromhex(view["journal_hex"]).startswith(b"Hello")
        assert view["chain_state"] == "fulfilled"
        worker_txs = [t for t in view["chain_txs"] if t["by_worker"]]
        assert worker_txs and all(t["gas_used"] > 0 and t["ok"] for t in worker_txs)
        assert any(t["what"] == ("fulfill" if mode == "onchain" else "post journal (optimistic)") for t in worker_txs)
    finally:
        for session in sessions:                     # kept-alive connections hold server threads
            session.close()
        chain.revert(w3, snap)
        onchain.reset()


def test_a_recorded_deployment_is_reused_only_by_the_code_that_made_it(anvil_url, chain_var):
    """A chain kept across an upgrade (make run's) keeps the old contracts: the record names
    the code it was deployed with, and other code deploys anew instead of calling them."""
    w3 = chain.connect(anvil_url)
    path = chain_var / f"chain-{w3.eth.chain_id}.json"
    options = dict(sender=w3.eth.accounts[0], challenge_window=WINDOW, response_window=WINDOW)
    snap = chain.snapshot(w3)
    saved = path.read_text()
    try:
        first = load_or_deploy(w3, path, **options)
        assert load_or_deploy(w3, path, **options) == first
        record = json.loads(saved)
        record["code_version"] = "an older build"
        path.write_text(json.dumps(record))
        again = load_or_deploy(w3, path, **options)
        assert again.verifier_queries != first.verifier_queries and again.code_version == first.code_version
    finally:
        path.write_text(saved)
        chain.revert(w3, snap)


def test_a_worker_refuses_offers_it_cannot_settle(prover, anvil_url, chain_var):
    """No chain named, another chain, or contracts of another version than the worker's code
    speaks to: each is refused with its reason, before anything is locked."""
    w3 = chain.connect(anvil_url)
    info = json.loads((chain_var / f"chain-{w3.eth.chain_id}.json").read_text())
    assert prover.why_not({"chain": info}) is None
    assert "did not say which chain" in prover.why_not({})
    assert "is chain" in prover.why_not({"chain": {**info, "chain_id": info["chain_id"] + 1}})
    assert "update the worker" in prover.why_not({"chain": {**info, "code_version": "an older build"}})
    assert "does not know" in prover.why_not({"chain": {**info, "preset": "fastest"}})


def test_the_code_version_names_the_circuits_registered():
    """A deployment's version covers the circuits registered for its preset (the tables and FRI
    parameters), so changed parameters or tables are deployed again, not reused."""
    assert code_version("compact") != code_version("onchain")
