"""The job state machine: every state a job can be in and every move between them.

This module is the one place that lists the transitions; :func:`marketplace.services`
moves jobs only through :func:`check_transition`, inside a database transaction that also
moves the money and records a :class:`~marketplace.models.JobEvent`. See docs/marketplace.md.

    submitted ──▶ open ──▶ locked ──▶ proving ──▶ verifying ──▶ paid
                   │  ▲       │          │           │
                   │  └───────┴──────────┴───────────┘  lock expired (stake slashed) or
                   │                                     receipt rejected (stake slashed)
                   ▼                                 verifying ──▶ failed (too many rejections:
                expired ──▶ refunded                               escrow refunded)
"""

from __future__ import annotations

from enum import Enum


class JobState(str, Enum):
    SUBMITTED = "submitted"   # recorded, payment escrowed; its offer not yet published
    OPEN = "open"             # offered to workers at a price that ramps from min to max
    LOCKED = "locked"         # one worker holds it, its stake locked, until lock_expires_at
    PROVING = "proving"       # that worker fetched the inputs and reports progress
    VERIFYING = "verifying"   # a receipt was uploaded; the settlement worker checks it
    PAID = "paid"             # the receipt verified; the worker was paid (terminal)
    FAILED = "failed"         # too many rejected receipts; the client was refunded (terminal)
    EXPIRED = "expired"       # its deadline passed with no verified receipt
    REFUNDED = "refunded"     # the escrow went back to the client (terminal)

    def __str__(self) -> str:  # templates and JSON show the plain name
        return self.value


S = JobState

#: state -> the states it may move to. Nothing else moves a job.
TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    S.SUBMITTED: frozenset({S.OPEN, S.EXPIRED}),
    S.OPEN: frozenset({S.LOCKED, S.EXPIRED}),
    S.LOCKED: frozenset({S.PROVING, S.VERIFYING, S.OPEN, S.EXPIRED}),
    S.PROVING: frozenset({S.VERIFYING, S.OPEN, S.EXPIRED}),
    S.VERIFYING: frozenset({S.PAID, S.OPEN, S.FAILED, S.EXPIRED}),
    S.EXPIRED: frozenset({S.REFUNDED}),
    S.PAID: frozenset(),
    S.FAILED: frozenset(),
    S.REFUNDED: frozenset(),
}

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
#: States in which one worker holds the job (and its stake is locked).
HELD = frozenset({S.LOCKED, S.PROVING, S.VERIFYING})
#: States in which the client's escrow is still locked for the job.
ESCROWED = frozenset(TRANSITIONS) - TERMINAL


class IllegalTransition(Exception):
    """A move the state machine does not allow (a bug, or a race lost to another request)."""


def check_transition(current: str | JobState, target: JobState) -> None:
    if target not in TRANSITIONS[JobState(current)]:
        raise IllegalTransition(f"a job cannot go from {current} to {target}")


CHOICES = [(s.value, s.value) for s in JobState]
