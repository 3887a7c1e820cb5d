"""manage.py market_audit: is any job or credit lost? The ledger's audit (balances sum to
zero, every balance equals its transfers' net, no account but external below zero), the
jobs by state, and each paid job's settlement (one accepted attempt, escrow and stake
accounts emptied). Exits 1 when something is wrong; --json for bench/market.py."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from marketplace import ledger
from marketplace.models import Account, Attempt, Job
from marketplace.states import JobState


def audit() -> dict:
    problems = list(ledger.audit())
    by_state = dict(Job.objects.values_list("state").annotate(n=Count("pk")))
    paid = Job.objects.filter(state=JobState.PAID.value)
    for job in paid:
        accepted = job.attempts.filter(state=Attempt.ACCEPTED).count()
        if accepted != 1:
            problems.append(f"job {job.pk} is paid with {accepted} accepted attempts")
        if job.journal is None:
            problems.append(f"job {job.pk} is paid without a journal")
    terminal = {JobState.PAID.value, JobState.FAILED.value, JobState.REFUNDED.value}
    held = Account.objects.filter(kind__in=[Account.ESCROW, Account.STAKE, Account.BOUNTY],
                                  job__state__in=terminal).exclude(balance=0)
    for account in held:
        problems.append(f"{account.key} still holds {account.balance} credits after its job ended")
    accounts = Account.objects.count()
    negative = Account.objects.filter(balance__lt=0).exclude(kind=Account.EXTERNAL).count()
    return {"ok": not problems, "problems": problems, "jobs": sum(by_state.values()), "jobs_by_state": by_state,
            "ledger_total": ledger.total(), "accounts": accounts, "negative_accounts": negative,
            "deposited": -ledger.balance(ledger.external())}


class Command(BaseCommand):
    help = "Check that no job or credit is lost: the ledger's audit and every paid job's settlement"

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="one JSON object")

    def handle(self, *args, as_json=False, **_):
        report = audit()
        if as_json:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(f"{report['jobs']} jobs {report['jobs_by_state']}; {report['accounts']} accounts, "
                              f"balances sum to {report['ledger_total']}, {report['deposited']:,} credits deposited")
            for p in report["problems"]:
                self.stdout.write(f"PROBLEM: {p}")
        if not report["ok"]:
            raise CommandError(f"{len(report['problems'])} problems")
