"""The marketplace's tables: programs, jobs and their attempts, operators, tokens, the ledger.

Money is integer credits in a double-entry ledger (:mod:`marketplace.ledger`): an
:class:`Account` holds a balance, a :class:`Transfer` moves an amount from one account to
another, and the sum of all balances is always zero (deposits come from the ``external``
account, the only one allowed below zero).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from marketplace.states import CHOICES as STATE_CHOICES
from marketplace.states import JobState

SETTLEMENT_MODES = [
    ("local", "local (the marketplace's Python verifier)"),
    ("onchain", "on-chain (the receipt verified by the verifier contract, then paid by the market contract)"),
    ("optimistic", "optimistic (the journal posted on chain with a bond; paid after an unchallenged window)"),
]
#: Modes in which the market contract, not the database ledger, decides the payout.
CHAIN_MODES = frozenset({"onchain", "optimistic"})


class Operator(models.Model):
    """A worker operator: proves jobs for pay, against a stake."""
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator")
    name = models.CharField(max_length=80, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token of the JSON API. Only its SHA-256 is kept; the token is shown once."""
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tokens")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    label = models.CharField(max_length=80, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    last_used = models.DateTimeField(null=True, blank=True)

    PREFIX = "zkm_"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user, label: str = "") -> tuple["ApiToken", str]:
        token = cls.PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(user=user, digest=cls.digest_of(token), prefix=token[:12], label=label)
        return row, token


class Program(models.Model):
    """An uploaded ELF, kept once per image id."""
    image_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    elf = models.BinaryField()
    size = models.PositiveIntegerField()
    entry = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="programs")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.image_id[:12]})"


class MLModel(models.Model):
    """A registered ML model (the clinic, docs/clinic.md): its provider proves inferences with
    the classifier ``program``, whose journal names the weights by ``commitment`` (SHA-256).
    The weights themselves never reach the marketplace; the commitment is how a doctor knows
    that the published model, and no other, produced a diagnosis."""
    name = models.CharField(max_length=80, unique=True)
    provider = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="ml_models")
    commitment = models.CharField(max_length=64)            # SHA-256 of the weights, hex
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="ml_models")
    classes = models.JSONField(default=list)
    report = models.JSONField(default=dict, blank=True)     # the provider's accuracy report
    cycles = models.PositiveBigIntegerField(null=True, blank=True)  # the provider's measure: prices jobs
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    @property
    def image_id(self) -> str:
        return self.program.image_id

    def __str__(self) -> str:
        return f"{self.name} ({self.commitment[:12]})"


class Job(models.Model):
    """A request to prove one run of a program, paid from the client's escrow."""
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs")
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="jobs")
    public_input = models.BinaryField(default=b"")
    input_digest = models.CharField(max_length=64)           # keccak-256 of public_input, hex
    private_input_encrypted = models.BinaryField(null=True)  # Fernet token; None: no private input
    private_input_size = models.PositiveIntegerField(default=0)
    max_cycles = models.PositiveBigIntegerField()
    expected_cycles = models.PositiveBigIntegerField()      # from the marketplace's dry run
    price_min = models.PositiveBigIntegerField()
    price_max = models.PositiveBigIntegerField()
    ramp_seconds = models.PositiveIntegerField()
    auction_start = models.DateTimeField()
    stake = models.PositiveBigIntegerField()
    lock_timeout_seconds = models.PositiveIntegerField()
    deadline = models.DateTimeField()
    settlement = models.CharField(max_length=16, choices=SETTLEMENT_MODES, default="local")
    # a clinic job: the provider of this model supplies the weights (the private input is the ECG)
    model = models.ForeignKey(MLModel, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    state = models.CharField(max_length=16, choices=STATE_CHOICES, default=JobState.SUBMITTED.value, db_index=True)
    # the current holder (set while locked, proving or verifying)
    operator = models.ForeignKey(Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="held_jobs")
    lock_price = models.PositiveBigIntegerField(null=True, blank=True)
    lock_expires_at = models.DateTimeField(null=True, blank=True)
    # the result, once paid
    journal = models.BinaryField(null=True)
    exit_code = models.IntegerField(null=True, blank=True)
    cycles = models.PositiveBigIntegerField(null=True, blank=True)
    rejections = models.PositiveIntegerField(default=0)
    offer_published_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            models.CheckConstraint(condition=Q(price_min__lte=models.F("price_max")), name="job_price_range"),
        ]

    @property
    def job_state(self) -> JobState:
        return JobState(self.state)

    def __str__(self) -> str:
        return f"job {self.id} ({self.state})"


class Attempt(models.Model):
    """One operator's lock on a job: from the lock to its receipt's verdict or the lock's expiry."""
    ACTIVE, SUBMITTED, ACCEPTED, REJECTED, EXPIRED = "active", "submitted", "accepted", "rejected", "expired"
    STATES = [(s, s) for s in (ACTIVE, SUBMITTED, ACCEPTED, REJECTED, EXPIRED)]

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="attempts")
    operator = models.ForeignKey(Operator, on_delete=models.PROTECT, related_name="attempts")
    state = models.CharField(max_length=16, choices=STATES, default=ACTIVE, db_index=True)
    price = models.PositiveBigIntegerField()
    stake = models.PositiveBigIntegerField()
    locked_at = models.DateTimeField(auto_now_add=True)
    inputs_fetched_at = models.DateTimeField(null=True, blank=True)
    # progress the worker reports (untrusted: shown, never relied on)
    stage = models.CharField(max_length=32, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    receipt = models.BinaryField(null=True)
    receipt_size = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verify_seconds = models.FloatField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    # chain modes: the operator's address that holds the lock on chain, and the transactions
    # its worker says it sent (hashes only; the marketplace reads each one from the chain)
    chain_address = models.CharField(max_length=42, blank=True)
    reported_txs = models.JSONField(default=list, blank=True)
    challenged = models.BooleanField(default=False)

    class Meta:
        ordering = ["-locked_at"]
        constraints = [
            # at most one live attempt per job, and at most one accepted one: the database
            # itself refuses a second payout even if the application had a bug
            models.UniqueConstraint(fields=["job"], condition=Q(state__in=["active", "submitted"]),
                                    name="one_live_attempt_per_job"),
            models.UniqueConstraint(fields=["job"], condition=Q(state="accepted"), name="one_accepted_attempt_per_job"),
        ]


class JobEvent(models.Model):
    """The audit log: one row per transition (and per notable fact), written with it."""
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]


class ChainTx(models.Model):
    """A transaction of a chain-settled job, as the chain reports it (gas, status, block)."""
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="chain_txs")
    attempt = models.ForeignKey(Attempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="chain_txs")
    what = models.CharField(max_length=80)
    tx_hash = models.CharField(max_length=66, unique=True)
    sender = models.CharField(max_length=42)
    by_worker = models.BooleanField(default=False)
    gas_used = models.PositiveBigIntegerField()
    block = models.PositiveBigIntegerField()
    ok = models.BooleanField(default=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["block", "id"]


class Account(models.Model):
    """A ledger account. Kinds: client balance, operator collateral, a job's escrow, a job's
    locked stake, a job's bounty (slashed stake waiting for whoever fulfils it), external."""
    CLIENT, OPERATOR, ESCROW, STAKE, BOUNTY, EXTERNAL = "client", "operator", "escrow", "stake", "bounty", "external"
    KINDS = [(k, k) for k in (CLIENT, OPERATOR, ESCROW, STAKE, BOUNTY, EXTERNAL)]

    key = models.CharField(max_length=80, unique=True)
    kind = models.CharField(max_length=16, choices=KINDS)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="accounts")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts")
    balance = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0) | Q(kind="external"),
                                              name="balance_never_negative")]

    def __str__(self) -> str:
        return f"{self.key}: {self.balance}"


class Transfer(models.Model):
    """One double-entry move: ``amount`` credits from ``source`` to ``destination``."""
    DEPOSIT, ESCROW, REFUND, LOCK_STAKE, RETURN_STAKE, PAYOUT, BOUNTY, SLASH = (
        "deposit", "escrow", "refund", "lock_stake", "return_stake", "payout", "bounty", "slash")
    KINDS = [(k, k) for k in (DEPOSIT, ESCROW, REFUND, LOCK_STAKE, RETURN_STAKE, PAYOUT, BOUNTY, SLASH)]

    source = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    destination = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=16, choices=KINDS)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.PROTECT, related_name="transfers")
    memo = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_positive"),
            # a job is paid out once: a second payout row cannot exist
            models.UniqueConstraint(fields=["job"], condition=Q(kind="payout"), name="one_payout_per_job"),
        ]
