"""Failures on the real broker and database, with workers as real processes:
a worker killed mid-job, a forged receipt and another job's receipt, a job past its
deadline, a client short of credits, and RabbitMQ restarted with jobs in flight."""

from __future__ import annotations

import subprocess
import time

import pytest

from marketplace import ledger, services
from marketplace.client import ApiError, MarketClient
from marketplace.models import ApiToken, Attempt
from tests.marketplace.conftest import HELLO_INPUT, real_receipt
from tests.marketplace.stack import Stack, settlement_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def stack(live_server, tmp_path, settings):
    settings.ALLOW_INSECURE_RECEIPTS = False
    s = Stack(live_server.url, tmp_path)
    with settlement_worker():
        try:
            yield s
        finally:
            s.close()


@pytest.fixture
def client_api(stack, elf):
    from marketplace import services
    user = services.register("clinic", "password-clinic")
    services.faucet(user, 1_000_000)
    return MarketClient(stack.url, ApiToken.issue(user)[1]), user


def _submit(api: MarketClient, elf: bytes, public_input: bytes = HELLO_INPUT, **fields) -> str:
    fields = {"price_min": 500, "price_max": 1000, "ramp_seconds": 0, "stake": 400, **fields}
    return api.submit_job(elf, "hello-O2.elf", public_input, **fields)["id"]


def test_a_worker_killed_mid_job_is_slashed_and_another_finishes(stack, client_api, elf):
    api, user = client_api
    victim = stack.start_worker()
    # long enough for the rescuer to prove on a loaded 2-core machine; the victim holds it as long
    job_id = _submit(api, elf, lock_timeout_seconds=75)
    wait_for(job_id, {"proving"}, stack=stack)
    victim.kill()                                     # the machine vanished with the job
    rescuer = stack.start_worker()
    job = wait_for(job_id, {"paid"}, stack=stack)
    assert job.operator is None or job.operator == rescuer.operator
    attempts = {a.operator_id: a for a in job.attempts.all()}
    assert attempts[victim.operator.pk].state == Attempt.EXPIRED
    assert attempts[rescuer.operator.pk].state == Attempt.ACCEPTED
    # the victim lost its stake: half to the client, half (the bounty) to the rescuer
    assert ledger.balance(ledger.operator_account(victim.operator)) == 100_000 - 400
    assert ledger.balance(ledger.operator_account(rescuer.operator)) == 100_000 + 1000 + 200
    assert ledger.balance(ledger.client_account(user)) == 1_000_000 - 1000 + 200
    assert bytes(job.journal) == bytes(api.journal(job_id)) and bytes(job.journal).startswith(b"Hello")
    assert ledger.audit() == []


@pytest.mark.parametrize("bad", ["forged", "another job's"])
def test_a_bad_receipt_is_rejected_slashed_and_the_job_reopens(stack, client_api, elf, bad):
    api, user = client_api
    cheat_user = stack.operator()
    cheat = MarketClient(stack.url, ApiToken.issue(cheat_user)[1])
    job_id = _submit(api, elf)
    wait_for(job_id, {"open"})
    cheat.lock(job_id)
    cheat.inputs(job_id)
    if bad == "forged":
        receipt = bytearray(real_receipt())
        receipt[len(receipt) // 3] ^= 0x10
    else:                                              # a valid receipt, of another input
        receipt = real_receipt("hello", b"someone else's input\n")
    cheat.upload_receipt(job_id, bytes(receipt))
    wait_for(job_id, {"open"})
    attempt = Attempt.objects.get(operator=cheat_user.operator)
    assert attempt.state == Attempt.REJECTED
    assert ("invalid receipt" if bad == "forged" else "another public input") in attempt.reason
    assert ledger.balance(ledger.operator_account(cheat_user.operator)) == 100_000 - 400
    honest = stack.start_worker()
    wait_for(job_id, {"paid"}, stack=stack)
    assert ledger.balance(ledger.operator_account(honest.operator)) == 100_000 + 1000 + 200
    assert ledger.audit() == []


def test_a_job_past_its_deadline_is_refunded(stack, client_api, elf):
    api, user = client_api
    job_id = _submit(api, elf, deadline_seconds=10)   # no worker is running
    assert ledger.balance(ledger.client_account(user)) == 1_000_000 - 1000
    job = wait_for(job_id, {"refunded"}, timeout=60)
    assert [e.to_state for e in job.events.all()][-2:] == ["expired", "refunded"]
    assert ledger.balance(ledger.client_account(user)) == 1_000_000 and ledger.audit() == []


def test_a_client_short_of_credits_is_told_and_nothing_is_kept(stack, elf):
    poor = services.register("poor", "password-poor")
    services.faucet(poor, 50)
    api = MarketClient(stack.url, ApiToken.issue(poor)[1])
    with pytest.raises(ApiError, match=r"insufficient balance: 1,000 credits needed, 50 available \(HTTP 402\)"):
        _submit(api, elf)
    assert api.jobs() == [] and ledger.balance(ledger.client_account(poor)) == 50


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=120)


@pytest.mark.serial
def test_rabbitmq_restarted_with_jobs_in_flight_loses_nothing(stack, client_api, elf):
    api, user = client_api
    worker = stack.start_worker()
    inputs = [f"job {i}\n".encode() for i in range(4)]
    jobs = [_submit(api, elf, data) for data in inputs[:2]]
    wait_for(jobs[0], {"locked", "proving", "verifying", "paid"}, stack=stack)
    _rabbitmqctl("stop_app")
    try:
        jobs += [_submit(api, elf, data) for data in inputs[2:]]   # offers cannot go out now
        time.sleep(3)
    finally:
        _rabbitmqctl("start_app")
    for job_id, data in zip(jobs, inputs):
        job = wait_for(job_id, {"paid"}, timeout=300, stack=stack)
        assert bytes(job.journal) == b"Hello, " + data.rstrip(b"\n") + b"!\n"
    assert ledger.balance(ledger.operator_account(worker.operator)) == 100_000 + 4 * 1000
    assert ledger.audit() == []
