"""A job's whole life through marketplace.services, with real receipts and the real broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from marketplace import ledger, services
from marketplace.errors import Conflict, Forbidden, MarketError, PaymentRequired
from marketplace.models import Attempt, Job, Transfer
from tests.marketplace.conftest import HELLO_INPUT, real_receipt


def _job(market, program, **kw) -> Job:
    req = services.JobRequest(public_input=HELLO_INPUT, price_min=100, price_max=1000, ramp_seconds=0, **kw)
    job = services.submit_job(market.client, program, req)
    assert services.publish_offer(job.pk), "the offer must reach the broker (RabbitMQ on 127.0.0.1)"
    job.refresh_from_db()
    assert job.state == "open"
    return job


def _balances(market):
    return (ledger.balance(ledger.client_account(market.client)),
            ledger.balance(ledger.operator_account(market.operator)))


def test_upload_refuses_a_bad_elf_with_the_vms_reason(market):
    with pytest.raises(MarketError, match="not a runnable MIPS program: .*ELF"):
        services.upload_program(market.client, b"\x7fELF" + b"\0" * 60, "bad.elf")


def test_a_job_that_never_halts_is_refused_at_submission(market, program):
    with pytest.raises(MarketError, match="did not halt within 1,000 cycles"):
        services.submit_job(market.client, program, services.JobRequest(public_input=HELLO_INPUT, max_cycles=1000))
    assert not Job.objects.exists()


def test_too_little_balance_is_refused_and_nothing_is_kept(market, program):
    with pytest.raises(PaymentRequired, match="insufficient balance: 2,000,000 credits needed, 1,000,000"):
        services.submit_job(market.client, program, services.JobRequest(public_input=HELLO_INPUT,
                                                                         price_min=1, price_max=2_000_000))
    assert not Job.objects.exists()
    assert _balances(market)[0] == 1_000_000 and ledger.audit() == []


def test_happy_path_pays_the_lock_price_and_refunds_the_rest(market, program):
    job = _job(market, program, private_input=b"secret")
    assert b"secret" not in bytes(job.private_input_encrypted)        # encrypted at rest
    attempt = services.lock_job(market.operator, job.pk)
    assert attempt.price == 1000 and Job.objects.get(pk=job.pk).state == "locked"
    got = services.fetch_inputs(market.operator, job.pk)
    assert got.private_input == b"secret" and got.public_input == HELLO_INPUT
    assert Job.objects.get(pk=job.pk).state == "proving"
    services.report_progress(market.operator, job.pk, "prove", 1, 2)
    services.submit_receipt(market.operator, job.pk, real_receipt("hello", HELLO_INPUT, b"secret"))
    assert Job.objects.get(pk=job.pk).state == "verifying"
    assert services.settle(attempt.pk) == Attempt.ACCEPTED
    job.refresh_from_db()
    assert job.state == "paid" and bytes(job.journal).startswith(b"Hello") and job.cycles > 0
    assert _balances(market) == (1_000_000 - 1000, 1_000_000 + 1000)
    assert ledger.audit() == []
    assert services.settle(attempt.pk) == Attempt.ACCEPTED                 # idempotent: paid once
    assert Transfer.objects.filter(job=job, kind=Transfer.PAYOUT).count() == 1
    assert [e.to_state for e in job.events.all()] == ["submitted", "open", "locked", "proving", "verifying", "paid"]


def test_a_forged_receipt_is_rejected_slashed_and_the_job_reopens(market, program):
    job = _job(market, program, stake=400)
    attempt = services.lock_job(market.operator, job.pk)
    services.fetch_inputs(market.operator, job.pk)
    forged = bytearray(real_receipt())
    forged[len(forged) // 2] ^= 1
    services.submit_receipt(market.operator, job.pk, bytes(forged))
    assert services.settle(attempt.pk) == Attempt.REJECTED
    job.refresh_from_db()
    assert job.state == "open" and job.rejections == 1 and job.operator is None
    assert "invalid receipt" in Attempt.objects.get(pk=attempt.pk).reason
    # half of the stake to the client, half waits for the next prover
    assert _balances(market) == (1_000_000 - 1000 + 200, 1_000_000 - 400)
    assert ledger.balance(ledger.bounty_account(job)) == 200
    # an honest operator finishes it and earns the price plus the bounty
    honest = services.register("prover2", "password-prover2", operator=True)
    services.faucet(honest, 1000, to_operator=True)
    second = services.lock_job(honest.operator, job.pk)
    services.fetch_inputs(honest.operator, job.pk)
    services.submit_receipt(honest.operator, job.pk, real_receipt())
    assert services.settle(second.pk) == Attempt.ACCEPTED
    assert ledger.balance(ledger.operator_account(honest.operator)) == 1000 + 1000 + 200
    assert ledger.audit() == []


def test_another_jobs_receipt_is_rejected(market, program):
    job = _job(market, program)
    attempt = services.lock_job(market.operator, job.pk)
    services.submit_receipt(market.operator, job.pk, real_receipt("hello", b"another input\n"))
    assert services.settle(attempt.pk) == Attempt.REJECTED
    assert "another public input" in Attempt.objects.get(pk=attempt.pk).reason
    assert Job.objects.get(pk=job.pk).state == "open"


def test_three_rejections_fail_the_job_and_refund_the_client(market, program):
    job = _job(market, program, stake=10)
    for _ in range(3):
        attempt = services.lock_job(market.operator, job.pk)
        services.submit_receipt(market.operator, job.pk, b"ZKMS not a receipt")
        services.settle(attempt.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    # the client got its escrow back and every slashed stake
    assert _balances(market) == (1_000_000 + 30, 1_000_000 - 30)
    assert ledger.audit() == []


def test_only_the_lock_holder_reaches_the_job(market, program):
    job = _job(market, program)
    services.lock_job(market.operator, job.pk)
    other = services.register("mallory", "password-mallory", operator=True).operator
    with pytest.raises(Conflict, match="is locked, not open"):
        services.lock_job(other, job.pk)
    for call in (lambda: services.fetch_inputs(other, job.pk),
                 lambda: services.report_progress(other, job.pk, "x", 0, 0),
                 lambda: services.submit_receipt(other, job.pk, real_receipt())):
        with pytest.raises(Forbidden, match="not locked by mallory"):
            call()


def test_an_expired_lock_slashes_the_stake_and_reopens_the_job(market, program):
    job = _job(market, program, stake=300, lock_timeout_seconds=60)
    services.lock_job(market.operator, job.pk)
    assert services.expire_locks(timezone.now()) == 0
    assert services.expire_locks(timezone.now() + timedelta(seconds=61)) == 1
    job.refresh_from_db()
    assert job.state == "open"
    assert _balances(market) == (1_000_000 - 1000 + 150, 1_000_000 - 300)
    with pytest.raises(Forbidden, match="not locked by prover1"):
        services.submit_receipt(market.operator, job.pk, real_receipt())


def test_a_job_past_its_deadline_is_refunded(market, program):
    job = _job(market, program, deadline_seconds=60)
    assert _balances(market)[0] == 1_000_000 - 1000
    services.expire_deadlines(timezone.now() + timedelta(seconds=61))
    job.refresh_from_db()
    assert job.state == "refunded"
    assert _balances(market)[0] == 1_000_000 and ledger.audit() == []
    assert [e.to_state for e in job.events.all()][-2:] == ["expired", "refunded"]


def test_the_auction_price_ramps_from_min_to_max(market, program):
    job = _job(market, program)
    job.ramp_seconds, job.auction_start = 100, timezone.now() - timedelta(seconds=25)
    job.save()
    attempt = services.lock_job(market.operator, job.pk)
    assert 325 <= attempt.price <= 330
