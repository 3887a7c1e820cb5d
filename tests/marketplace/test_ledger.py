"""The double-entry ledger: balances never negative, the sum constant, every move recorded."""

import pytest
from django.db import IntegrityError, transaction

from marketplace import ledger
from marketplace.models import Account, Transfer


def test_deposit_and_transfer_keep_the_sum_at_zero(market):
    a = ledger.client_account(market.client)
    b = ledger.operator_account(market.operator)
    with transaction.atomic():
        ledger.transfer(a, b, 250, Transfer.PAYOUT)
    assert ledger.balance(a) == 999_750 and ledger.balance(b) == 1_000_250
    assert ledger.total() == 0
    assert ledger.audit() == []


def test_overdraft_is_refused_and_changes_nothing(market):
    a = ledger.client_account(market.client)
    b = ledger.operator_account(market.operator)
    with pytest.raises(ledger.InsufficientFunds, match="insufficient balance: 1,000,001 credits needed"):
        with transaction.atomic():
            ledger.transfer(a, b, 1_000_001, Transfer.PAYOUT)
    assert ledger.balance(a) == 1_000_000 and ledger.audit() == []


def test_the_database_refuses_a_negative_balance_even_behind_the_ledgers_back(market):
    a = ledger.client_account(market.client)
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Account.objects.filter(pk=a.pk).update(balance=-1)


@pytest.mark.django_db(transaction=True)
def test_transfers_happen_only_inside_a_transaction():
    from marketplace import services
    a = ledger.client_account(services.register("carol", "password-carol"))
    b = ledger.external()
    with pytest.raises(RuntimeError, match="inside a database transaction"):
        ledger.transfer(a, b, 1, Transfer.PAYOUT)


def test_audit_finds_a_balance_that_does_not_match_its_transfers(market):
    a = ledger.client_account(market.client)
    Account.objects.filter(pk=a.pk).update(balance=5)
    problems = ledger.audit()
    assert any("balances sum to" in p for p in problems)
    assert any(p.startswith(a.key) for p in problems)
