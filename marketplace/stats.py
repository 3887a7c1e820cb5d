"""Figures the market page and the operator dashboard draw (read-only queries)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from marketplace import ledger
from marketplace.models import Attempt, Job, JobEvent, Operator, Transfer
from marketplace.states import JobState


def market_stats(hours: int = 24) -> dict:
    now = timezone.now()
    since = now - timedelta(hours=hours)
    by_state = dict(Job.objects.values_list("state").annotate(n=Count("pk")))
    paid_per_hour = dict(JobEvent.objects.filter(to_state=JobState.PAID.value, at__gte=since)
                         .annotate(h=TruncHour("at")).values_list("h").annotate(n=Count("pk")))
    posted_per_hour = dict(JobEvent.objects.filter(to_state=JobState.SUBMITTED.value, at__gte=since)
                           .annotate(h=TruncHour("at")).values_list("h").annotate(n=Count("pk")))
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    hours_axis = [start + timedelta(hours=i) for i in range(hours)]
    recent = list(Attempt.objects.filter(state=Attempt.ACCEPTED).select_related("job")
                  .defer("receipt").order_by("-finished_at")[:100])    # receipts are megabytes each
    recent.reverse()
    speed = []
    for a in recent:
        began = a.inputs_fetched_at or a.locked_at
        seconds = (a.submitted_at - began).total_seconds() if a.submitted_at else 0
        if seconds > 0 and a.job.cycles:
            speed.append({"at": a.finished_at.isoformat(), "cycles_per_second": round(a.job.cycles / seconds, 1),
                          "cycles": a.job.cycles, "price": a.price})
    return {
        "jobs_by_state": {s.value: by_state.get(s.value, 0) for s in JobState},
        "hours": [h.isoformat() for h in hours_axis],
        "jobs_paid_per_hour": [paid_per_hour.get(h, 0) for h in hours_axis],
        "jobs_posted_per_hour": [posted_per_hour.get(h, 0) for h in hours_axis],
        "recent": speed,
        "operators": Operator.objects.count(),
    }


def operator_stats(operator: Operator) -> dict:
    counts = dict(operator.attempts.values_list("state").annotate(n=Count("pk")))
    accepted = counts.get(Attempt.ACCEPTED, 0)
    rejected = counts.get(Attempt.REJECTED, 0)
    expired = counts.get(Attempt.EXPIRED, 0)
    finished = accepted + rejected + expired
    account = ledger.operator_account(operator)
    earned = Transfer.objects.filter(destination=account, kind__in=[Transfer.PAYOUT, Transfer.BOUNTY]) \
        .aggregate(s=Sum("amount"))["s"] or 0
    slashed = operator.attempts.filter(state__in=[Attempt.REJECTED, Attempt.EXPIRED]) \
        .aggregate(s=Sum("stake"))["s"] or 0
    locked = Attempt.objects.filter(operator=operator, state__in=[Attempt.ACTIVE, Attempt.SUBMITTED]) \
        .aggregate(s=Sum("stake"))["s"] or 0
    return {
        "attempts": sum(counts.values()), "accepted": accepted, "rejected": rejected, "expired": expired,
        "active": counts.get(Attempt.ACTIVE, 0) + counts.get(Attempt.SUBMITTED, 0),
        # of the receipts it uploaded, how many verified; of the jobs it locked, how many it delivered
        "acceptance_rate": accepted / (accepted + rejected) if accepted + rejected else None,
        "fulfilment_rate": accepted / finished if finished else None,
        "earned": earned, "slashed": slashed, "collateral": account.balance, "stake_locked": locked,
    }
