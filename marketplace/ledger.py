"""The double-entry ledger: every credit that moves, moves here, inside the caller's transaction.

Rules (also enforced by the database: see the constraints on Account and Transfer):
- a transfer moves a positive amount from one account to another; the sum of all balances
  never changes (it is zero: deposits come from the ``external`` account);
- no account but ``external`` goes below zero: a transfer that would is refused with
  :class:`InsufficientFunds` and changes nothing;
- accounts are locked in a fixed order (by primary key) so that two transfers never
  deadlock on each other.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Sum

from marketplace.models import Account, Job, Transfer

EXTERNAL_KEY = "external"


class InsufficientFunds(Exception):
    """A transfer larger than the source's balance."""

    def __init__(self, account: Account, need: int):
        super().__init__(f"insufficient balance: {need:,} credits needed, {account.balance:,} available")
        self.account, self.need = account, need


def _account(key: str, kind: str, *, user=None, job: Job | None = None) -> Account:
    account, _ = Account.objects.get_or_create(key=key, defaults={"kind": kind, "user": user, "job": job})
    return account


def external() -> Account:
    return _account(EXTERNAL_KEY, Account.EXTERNAL)


def client_account(user) -> Account:
    return _account(f"client:{user.pk}", Account.CLIENT, user=user)


def operator_account(operator) -> Account:
    """An operator's free collateral: what it can lock as stake on jobs, and where its pay goes."""
    return _account(f"operator:{operator.pk}", Account.OPERATOR, user=operator.user)


def escrow_account(job: Job) -> Account:
    return _account(f"escrow:{job.pk}", Account.ESCROW, job=job)


def stake_account(job: Job) -> Account:
    return _account(f"stake:{job.pk}", Account.STAKE, job=job)


def bounty_account(job: Job) -> Account:
    return _account(f"bounty:{job.pk}", Account.BOUNTY, job=job)


def transfer(source: Account, destination: Account, amount: int, kind: str, *, job: Job | None = None,
             memo: str = "") -> Transfer | None:
    """Move ``amount`` credits; nothing for zero. Must run inside ``transaction.atomic``."""
    if amount < 0:
        raise ValueError("a transfer moves a non-negative amount")
    if amount == 0:
        return None
    if source.pk == destination.pk:
        raise ValueError("a transfer needs two different accounts")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.transfer must run inside a database transaction")
    locked = {a.pk: a for a in Account.objects.select_for_update().filter(pk__in=[source.pk, destination.pk])
              .order_by("pk")}
    src = locked[source.pk]
    if src.kind != Account.EXTERNAL and src.balance < amount:
        raise InsufficientFunds(src, amount)
    Account.objects.filter(pk=src.pk).update(balance=F("balance") - amount)
    Account.objects.filter(pk=destination.pk).update(balance=F("balance") + amount)
    source.balance = src.balance - amount
    destination.balance = locked[destination.pk].balance + amount
    return Transfer.objects.create(source=src, destination=locked[destination.pk], amount=amount, kind=kind,
                                   job=job, memo=memo)


def drain(source: Account, destination: Account, kind: str, *, job: Job | None = None, memo: str = "") -> int:
    """Move a whole balance (escrows and stakes at the end of a job); the amount moved."""
    source.refresh_from_db(fields=["balance"])
    amount = source.balance
    transfer(source, destination, amount, kind, job=job, memo=memo)
    return amount


def balance(account: Account) -> int:
    account.refresh_from_db(fields=["balance"])
    return account.balance


def total() -> int:
    """The sum of all balances: zero unless the ledger is broken."""
    return Account.objects.aggregate(s=Sum("balance"))["s"] or 0


def audit() -> list[str]:
    """What is wrong with the ledger (empty when all is well): the sum of balances is zero,
    no account but external is negative, and every balance equals its transfers' net."""
    problems = []
    if total() != 0:
        problems.append(f"balances sum to {total()}, not 0")
    credits = dict(Transfer.objects.values_list("destination").annotate(s=Sum("amount")))
    debits = dict(Transfer.objects.values_list("source").annotate(s=Sum("amount")))
    for account in Account.objects.all():
        net = credits.get(account.pk, 0) - debits.get(account.pk, 0)
        if net != account.balance:
            problems.append(f"{account.key}: balance {account.balance} but transfers net {net}")
        if account.balance < 0 and account.kind != Account.EXTERNAL:
            problems.append(f"{account.key} is negative")
    return problems
