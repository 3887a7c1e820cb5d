"""Races on the real PostgreSQL, with threads: one lock, one receipt, one payout.

Each thread has its own database connection (Django's are per thread), so these are real
concurrent transactions: the row locks (select_for_update) and the constraints decide.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from marketplace import ledger, services
from marketplace.models import Attempt, Job, Transfer
from tests.marketplace.conftest import HELLO_INPUT, real_receipt

THREADS = 8

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races are tested on PostgreSQL (CI=true always uses it)")


def _race(fn, n: int = THREADS) -> list:
    """Run fn(i) in n threads started together; each result or the exception it raised."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as e:          # noqa: BLE001 - the race's losers are part of the result
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def _open_job(elf: bytes, stake: int = 100):
    client = services.register("client", "password-client")
    services.faucet(client, 100_000)
    program = services.upload_program(client, elf, "hello")
    job = services.submit_job(client, program, services.JobRequest(
        public_input=HELLO_INPUT, price_min=1000, price_max=1000, stake=stake))
    services.publish_offer(job.pk)
    return client, job


def _operator(name: str):
    user = services.register(name, f"password-{name}", operator=True)
    services.faucet(user, 10_000, to_operator=True)
    return user.operator


def test_many_operators_lock_at_once_and_exactly_one_wins(elf):
    _, job = _open_job(elf)
    operators = [_operator(f"op{i}") for i in range(THREADS)]
    results = _race(lambda i: services.lock_job(operators[i], job.pk))
    winners = [r for r in results if isinstance(r, Attempt)]
    assert len(winners) == 1, results
    assert all("not open" in str(r) for r in results if not isinstance(r, Attempt))
    assert Job.objects.get(pk=job.pk).state == "locked"
    assert ledger.audit() == []


def test_the_same_receipt_submitted_concurrently_settles_and_pays_once(elf):
    _, job = _open_job(elf)
    operator = _operator("op")
    attempt = services.lock_job(operator, job.pk)
    receipt = real_receipt()
    results = _race(lambda i: services.submit_receipt(operator, job.pk, receipt))
    assert sum(isinstance(r, Attempt) for r in results) == 1, results
    # and the settlement task delivered many times over, concurrently
    verdicts = _race(lambda i: services.settle(attempt.pk))
    assert verdicts == [Attempt.ACCEPTED] * THREADS
    assert Transfer.objects.filter(job=job, kind=Transfer.PAYOUT).count() == 1
    assert ledger.balance(ledger.operator_account(operator)) == 10_000 + 1000
    assert Job.objects.get(pk=job.pk).state == "paid"
    assert ledger.audit() == []


def test_concurrent_submissions_never_overdraw_a_client(elf):
    client = services.register("client", "password-client")
    services.faucet(client, 5_000)
    program = services.upload_program(client, elf, "hello")
    results = _race(lambda i: services.submit_job(client, program, services.JobRequest(
        public_input=HELLO_INPUT, price_min=1000, price_max=1000)))
    assert sum(isinstance(r, Job) for r in results) == 5
    assert all("insufficient balance" in str(r) for r in results if not isinstance(r, Job))
    assert ledger.balance(ledger.client_account(client)) == 0
    assert Job.objects.count() == 5 and ledger.audit() == []
