"""What happens to jobs and money: the one layer the portal, the API and the tasks call.

Every function that changes a job runs in one database transaction that locks the job's
row (``select_for_update``), checks the move with :mod:`marketplace.states`, moves the
money with :mod:`marketplace.ledger` and records a :class:`JobEvent`; either all of it
happens or none. Work that takes long (dry runs, receipt verification, broker calls) runs
outside the transaction, and the state is checked again inside it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

import vm
from marketplace import ledger, limits, pricing
from marketplace.errors import Conflict, Forbidden, MarketError, NotFound, PaymentRequired, TooLarge
from marketplace.models import CHAIN_MODES, Attempt, Job, JobEvent, MLModel, Operator, Program, Transfer
from marketplace.states import HELD, JobState, check_transition
from prover.keccak import keccak256

log = logging.getLogger("marketplace")
#: A receipt still unsettled this long after its upload was probably never queued (the broker
#: was down); the sweep settles it itself. (Settling twice is harmless: settle is idempotent.)
SETTLEMENT_GRACE_SECONDS = 30
S = JobState


# ---------------------------------------------------------------- accounts

def register(username: str, password: str, *, operator: bool = False):
    """A new user (an operator too when ``operator``), credited from the faucet when it is on."""
    User = get_user_model()
    if not username or len(username) > 80 or not all(c.isalnum() or c in "-_." for c in username):
        raise MarketError("a user name is 1-80 letters, digits, '-', '_' or '.'")
    if len(password or "") < 8:
        raise MarketError("a password has at least 8 characters")
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"the name {username!r} is taken")
        user = User.objects.create_user(username=username, password=password)
        if operator:
            Operator.objects.create(user=user, name=username)
        ledger.client_account(user)
        if settings.FAUCET_CREDITS:
            faucet(user, settings.FAUCET_CREDITS)
    return user


def faucet(user, amount: int, *, to_operator: bool = False) -> None:
    """Credits from outside (a payment provider in production; the faucet on embedded defaults)."""
    if amount <= 0 or amount > 10**12:
        raise MarketError("a deposit is between 1 and 10^12 credits")
    with transaction.atomic():
        target = ledger.operator_account(operator_of(user)) if to_operator else ledger.client_account(user)
        ledger.transfer(ledger.external(), target, amount, Transfer.DEPOSIT, memo="deposit")


def operator_of(user) -> Operator:
    try:
        return user.operator
    except Operator.DoesNotExist:
        raise Forbidden("this account is not a worker operator") from None


# ---------------------------------------------------------------- programs

@dataclass(frozen=True)
class DryRun:
    cycles: int
    exit_code: int
    journal: bytes


def upload_program(user, elf: bytes, name: str) -> Program:
    """The program of ``elf``, stored once per image id; a bad ELF is refused with the VM's error."""
    if len(elf) > limits.MAX_ELF_BYTES:
        raise TooLarge(f"the program is {len(elf):,} bytes; the limit is {limits.MAX_ELF_BYTES:,}")
    try:
        program = vm.load_elf(elf, name=name)
        image = vm.image_id(program).hex()
    except vm.VMError as e:
        raise MarketError(f"not a runnable MIPS program: {e}") from None
    existing = Program.objects.filter(image_id=image).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return Program.objects.create(image_id=image, name=name[:200] or "program", elf=elf, size=len(elf),
                                          entry=program.entry, uploaded_by=user)
    except IntegrityError:                      # uploaded at the same moment by someone else
        return Program.objects.get(image_id=image)


def get_program(image_id: str) -> Program:
    try:
        return Program.objects.get(image_id=image_id.lower())
    except Program.DoesNotExist:
        raise NotFound(f"no program with image id {image_id}") from None


def dry_run(program: Program, public_input: bytes = b"", private_input: bytes = b"",
            max_cycles: int = limits.DEFAULT_MAX_CYCLES) -> DryRun:
    """Execute without proving: cycles, exit code and journal, or the VM's error in one line."""
    try:
        result = vm.execute(vm.load_elf(bytes(program.elf), name=program.name), public_input, private_input,
                            max_cycles=max_cycles)
    except vm.CycleLimitExceeded:
        raise MarketError(f"the program did not halt within {max_cycles:,} cycles (raise max cycles?)") from None
    except vm.VMError as e:
        raise MarketError(f"the program fails on this input: {e}") from None
    return DryRun(result.cycles, result.exit_code, bytes(result.journal))


# ---------------------------------------------------------------- jobs

@dataclass(frozen=True)
class JobRequest:
    public_input: bytes = b""
    private_input: bytes | None = None
    max_cycles: int = limits.DEFAULT_MAX_CYCLES
    price_min: int | None = None
    price_max: int | None = None
    ramp_seconds: int = 60
    lock_timeout_seconds: int = 600
    deadline_seconds: int = 3600
    stake: int | None = None
    settlement: str = "local"


def _fernet() -> Fernet:
    return Fernet(settings.DATA_KEY.encode())


def _check_request(req: JobRequest) -> None:
    if len(req.public_input) > limits.MAX_PUBLIC_INPUT_BYTES:
        raise TooLarge(f"the public input is {len(req.public_input):,} bytes; the limit is "
                       f"{limits.MAX_PUBLIC_INPUT_BYTES:,}")
    if req.private_input is not None and len(req.private_input) > limits.MAX_PRIVATE_INPUT_BYTES:
        raise TooLarge(f"the private input is {len(req.private_input):,} bytes; the limit is "
                       f"{limits.MAX_PRIVATE_INPUT_BYTES:,}")
    if not 1 <= req.max_cycles <= limits.MAX_JOB_CYCLES:
        raise MarketError(f"max cycles must be between 1 and {limits.MAX_JOB_CYCLES:,}")
    if not limits.MIN_LOCK_TIMEOUT_S <= req.lock_timeout_seconds <= limits.MAX_LOCK_TIMEOUT_S:
        raise MarketError(f"the lock timeout must be between {limits.MIN_LOCK_TIMEOUT_S} and "
                          f"{limits.MAX_LOCK_TIMEOUT_S} seconds")
    if not limits.MIN_DEADLINE_S <= req.deadline_seconds <= limits.MAX_DEADLINE_S:
        raise MarketError(f"the deadline must be between {limits.MIN_DEADLINE_S} and {limits.MAX_DEADLINE_S} "
                          "seconds away")
    if not 0 <= req.ramp_seconds <= req.deadline_seconds:
        raise MarketError("the auction ramp must end before the deadline")
    offered = settlement_modes()
    if req.settlement not in offered:
        raise MarketError(f"settlement mode {req.settlement!r} is not offered (choose: {', '.join(offered)})")


def _check_chain_io(public_input: bytes, journal: bytes) -> None:
    """The verifier contract and the optimistic claim carry the input and the journal as
    calldata, up to a limit: refuse a chain-settled job that could never settle."""
    from settlement.onchain_verifier import MAX_IO_BYTES
    for what, data in (("public input", public_input), ("journal of the dry run", journal)):
        if len(data) > MAX_IO_BYTES:
            raise TooLarge(f"the {what} is {len(data):,} bytes; on chain the limit is {MAX_IO_BYTES:,} "
                           "(choose local settlement)")


def settlement_modes() -> list[str]:
    """The modes offered now: local always, the chain modes when a chain is configured."""
    from marketplace import onchain
    return ["local", *sorted(CHAIN_MODES)] if onchain.enabled() else ["local"]


def estimates(cycles: int) -> dict[str, dict[str, int]]:
    """The suggested price range of a run in each offered settlement mode (the difference is
    the gas a worker pays to settle on chain)."""
    from settlement import WEI_PER_CREDIT
    return {mode: pricing.estimate(cycles, mode, gas_price_gwei=settings.GAS_PRICE_GWEI,
                                   wei_per_credit=WEI_PER_CREDIT) for mode in settlement_modes()}


def _model_run(program: Program, model: MLModel, req: JobRequest) -> DryRun:
    """A clinic job cannot be dry-run here: the weights are the provider's alone. The private
    input must be an ECG, the program the model's; its cycles are the provider's measure."""
    from marketplace.clinic import ecg_format
    if program.pk != model.program_id:
        raise MarketError(f"model {model.name} runs program {model.program.image_id[:16]}…, not this one")
    if req.settlement != "local":
        raise MarketError("a model's jobs settle locally (their journal is checked against the registry)")
    try:
        ecg_format.decode_ecg(req.private_input or b"")
    except ecg_format.FormatError as e:
        raise MarketError(f"the private input is not an ECG: {e}") from None
    cycles = model.cycles or req.max_cycles
    if cycles > req.max_cycles:
        raise MarketError(f"model {model.name} takes about {cycles:,} cycles, over max cycles {req.max_cycles:,}")
    return DryRun(cycles, 0, b"")


def submit_job(client, program: Program, req: JobRequest, model: MLModel | None = None) -> Job:
    """Dry-run the job, escrow its maximum price from the client and record it (state
    submitted); its offer is published once the transaction commits. A job of a registered
    ``model`` is not dry-run (see _model_run) and only the model's provider may lock it."""
    _check_request(req)
    if model is not None:
        run = _model_run(program, model, req)
    else:
        run = dry_run(program, req.public_input, req.private_input or b"", req.max_cycles)
    if req.settlement in CHAIN_MODES:
        _check_chain_io(req.public_input, run.journal)
    estimate = estimates(run.cycles)[req.settlement]
    price_min = estimate["price_min"] if req.price_min is None else req.price_min
    price_max = max(estimate["price_max"], price_min) if req.price_max is None else req.price_max
    if not 0 < price_min <= price_max <= 10**12:
        raise MarketError("prices must satisfy 0 < min <= max <= 10^12 credits")
    stake = price_max if req.stake is None else req.stake
    if not 0 <= stake <= 10**12:
        raise MarketError("the stake must be between 0 and 10^12 credits")
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.create(
            client=client, program=program, public_input=req.public_input,
            input_digest=keccak256(req.public_input).hex(),
            private_input_encrypted=None if req.private_input is None else _fernet().encrypt(req.private_input),
            private_input_size=len(req.private_input or b""), max_cycles=req.max_cycles,
            expected_cycles=run.cycles, price_min=price_min, price_max=price_max, ramp_seconds=req.ramp_seconds,
            auction_start=now, stake=stake, lock_timeout_seconds=req.lock_timeout_seconds,
            deadline=now + timedelta(seconds=req.deadline_seconds), settlement=req.settlement, model=model)
        try:
            ledger.transfer(ledger.client_account(client), ledger.escrow_account(job), price_max, Transfer.ESCROW,
                            job=job, memo="maximum price escrowed")
        except ledger.InsufficientFunds as e:
            raise PaymentRequired(str(e)) from None
        how = f"about {run.cycles:,} cycles (model {model.name})" if model else f"{run.cycles:,} cycles in the dry run"
        JobEvent.objects.create(job=job, to_state=S.SUBMITTED.value, note=f"{how}; {price_max:,} credits escrowed")
        transaction.on_commit(lambda: publish_offer(job.pk))
    return job


def _find_job(jobs, job_id) -> Job:
    try:
        return jobs.get(pk=job_id)
    except (Job.DoesNotExist, ValueError, ValidationError):   # a malformed id names no job either
        raise NotFound(f"no job {job_id}") from None


def _locked_job(job_id) -> Job:
    """The job, its row locked until the end of the caller's transaction."""
    return _find_job(Job.objects.select_for_update(), job_id)


def _move(job: Job, target: JobState, note: str = "") -> None:
    check_transition(job.state, target)
    JobEvent.objects.create(job=job, from_state=job.state, to_state=target.value, note=note[:300])
    job.state = target.value
    job.save()


def get_job(job_id) -> Job:
    return _find_job(Job.objects.select_related("program", "operator", "client"), job_id)


def client_job(user, job_id) -> Job:
    """A job as its client sees it: NotFound when there is none, Forbidden when it is another's."""
    job = get_job(job_id)
    if job.client_id != user.pk:
        raise Forbidden(f"job {job_id} is not yours")
    return job


def current_price(job: Job, now=None) -> int:
    return pricing.price_at(job.price_min, job.price_max, job.auction_start, job.ramp_seconds, now or timezone.now())


def offer_of(job: Job) -> dict:
    """What a worker needs to decide whether to lock the job (nothing private)."""
    return {
        "job_id": str(job.pk), "image_id": job.program.image_id, "program_bytes": job.program.size,
        "input_digest": job.input_digest, "input_bytes": len(job.public_input),
        "private_input_bytes": job.private_input_size, "max_cycles": job.max_cycles,
        "expected_cycles": job.expected_cycles, "price_min": job.price_min, "price_max": job.price_max,
        "auction_start": job.auction_start.isoformat(), "ramp_seconds": job.ramp_seconds, "stake": job.stake,
        "lock_timeout_seconds": job.lock_timeout_seconds, "deadline": job.deadline.isoformat(),
        "settlement": job.settlement, "state": job.state, "chain": chain_fields(job), "model": model_fields(job),
    }


def model_fields(job: Job) -> dict | None:
    """The registered model whose weights a clinic job needs (only its provider holds them)."""
    if job.model_id is None:
        return None
    return {"name": job.model.name, "commitment": job.model.commitment}


def chain_fields(job: Job) -> dict | None:
    """The chain a chain-settled job is on: contracts, preset, rate, the request id."""
    if job.settlement not in CHAIN_MODES:
        return None
    from marketplace import onchain
    try:
        return onchain.offer_fields(job)
    except onchain.ChainUnavailable:
        return None


def chain_state(job: Job) -> str | None:
    """The state of a chain-settled job's request on chain (None for a local job; "unknown"
    when the chain does not answer)."""
    if job.settlement not in CHAIN_MODES:
        return None
    from marketplace import onchain
    try:
        return onchain.request_view(job).state
    except Exception:                           # noqa: BLE001 - shown, never relied on
        return "unknown"


def publish_offer(job_id) -> bool:
    """Offer a submitted or open job on the broker. The job is open (lockable) before its
    offer goes out, so that a worker that reads the offer at once finds it open; a broker that
    does not answer leaves it open but unannounced, and republish_offers tries again (workers
    polling the API see it meanwhile)."""
    from marketplace import offers
    if not _posted_on_chain(job_id):
        return False
    with transaction.atomic():
        job = _find_job(Job.objects.select_for_update().select_related("program"), job_id)
        if job.state == S.SUBMITTED.value:
            _move(job, S.OPEN, "offered to workers")
        elif job.state != S.OPEN.value:
            return False
        offer = offer_of(job)
    try:
        offers.publish(settings.BROKER_URL, offer)
    except Exception as e:                      # broker down: the job waits, nothing is lost
        log.warning("offer of job %s not published (%s); will retry", job_id, e)
        return False
    Job.objects.filter(pk=job_id).update(offer_published_at=timezone.now())
    return True


def _posted_on_chain(job_id) -> bool:
    """A chain-settled job is offered only once its request is on chain (posted here, before
    it opens); False when the chain does not answer (the sweep tries again)."""
    job = Job.objects.select_related("program").filter(pk=job_id).first()
    if job is None or job.settlement not in CHAIN_MODES or job.state != S.SUBMITTED.value:
        return True
    from marketplace import onchain
    try:
        onchain.post(job)
    except Exception as e:                      # noqa: BLE001 - chain down or reverted: retried
        log.warning("job %s not posted on chain (%s); will retry", job_id, e)
        return False
    return True


def republish_offers(older_than_seconds: float = 30.0) -> int:
    """Offer again submitted jobs (their first offer was lost with a crash) and open jobs
    whose offer did not go out or went out a while ago."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    stale = Q(offer_published_at__isnull=True) | Q(offer_published_at__lt=cutoff)
    ids = list(Job.objects.filter(Q(state=S.SUBMITTED.value) | (Q(state=S.OPEN.value) & stale))
               .values_list("pk", flat=True))
    return sum(publish_offer(i) for i in ids)


def open_offers() -> list[dict]:
    """Every open job's offer with its current price (the API's fallback to the broker)."""
    now = timezone.now()
    return [{**offer_of(j), "price": current_price(j, now)}
            for j in Job.objects.select_related("program").filter(state=S.OPEN.value, deadline__gt=now)
            .order_by("created")[:200]]


# ---------------------------------------------------------------- the worker's side

def lock_job(operator: Operator, job_id, chain_address: str = "") -> Attempt:
    """Lock an open job for ``operator`` at the current price, against its stake. A
    chain-settled job must be locked on chain first, by ``chain_address``: the chain's lock
    (its price, stake and expiry) is what the marketplace records."""
    chain_lock = _chain_lock(job_id, chain_address)
    with transaction.atomic():
        job = _locked_job(job_id)
        now = timezone.now()
        if job.state != S.OPEN.value:
            raise Conflict(f"job {job.pk} is {job.state}, not open")
        if now >= job.deadline:
            raise Conflict(f"job {job.pk} is past its deadline")
        if job.model_id is not None:
            from marketplace.clinic.registry import check_provider
            check_provider(job.model, operator)
        if chain_lock is not None:
            price, stake, expires = chain_lock.price, chain_lock.stake, chain_lock.expires
            where = f" on chain as {chain_address}"
        else:
            price, stake = current_price(job, now), job.stake
            expires = min(now + timedelta(seconds=job.lock_timeout_seconds), job.deadline)
            where = ""
            try:
                ledger.transfer(ledger.operator_account(operator), ledger.stake_account(job), job.stake,
                                Transfer.LOCK_STAKE, job=job, memo=f"stake of {operator.name}")
            except ledger.InsufficientFunds as e:
                raise PaymentRequired(f"cannot stake {job.stake:,} credits: {e}") from None
        attempt = Attempt.objects.create(job=job, operator=operator, price=price, stake=stake,
                                         chain_address=chain_address if chain_lock else "")
        job.operator, job.lock_price, job.lock_expires_at = operator, price, expires
        _move(job, S.LOCKED, f"locked by {operator.name}{where} at {price:,} credits")
        return attempt


def _chain_lock(job_id, chain_address: str):
    """The on-chain lock a chain-settled job needs (None for a local job)."""
    job = _find_job(Job.objects.all(), job_id)
    if job.settlement not in CHAIN_MODES:
        return None
    from marketplace import onchain
    if not chain_address:
        raise MarketError(f"job {job.pk} settles {job.settlement}: lock it on chain, then send chain_address")
    try:
        return onchain.check_lock(job, chain_address)
    except ValueError as e:
        raise Conflict(str(e)) from None
    except onchain.ChainUnavailable as e:
        raise Conflict(str(e)) from None


def _held_attempt(job: Job, operator: Operator) -> Attempt:
    """The operator's live attempt on a job it holds; Forbidden for anyone else."""
    attempt = job.attempts.filter(operator=operator, state=Attempt.ACTIVE).first()
    if attempt is None or job.state not in (S.LOCKED.value, S.PROVING.value):
        raise Forbidden(f"job {job.pk} is not locked by {operator.name}")
    if timezone.now() >= job.lock_expires_at:
        raise Conflict(f"the lock on job {job.pk} expired at {job.lock_expires_at.isoformat()}")
    return attempt


@dataclass(frozen=True)
class JobInputs:
    image_id: str
    elf: bytes
    public_input: bytes
    private_input: bytes
    max_cycles: int
    lock_expires_at: str
    model_commitment: str | None = None     # a clinic job: compose these weights with the ECG


def fetch_inputs(operator: Operator, job_id) -> JobInputs:
    """The program and inputs, private input decrypted, only for the lock holder (locked -> proving)."""
    with transaction.atomic():
        job = _locked_job(job_id)
        attempt = _held_attempt(job, operator)
        if attempt.inputs_fetched_at is None:
            attempt.inputs_fetched_at = timezone.now()
            attempt.save(update_fields=["inputs_fetched_at"])
        if job.state == S.LOCKED.value:
            _move(job, S.PROVING, f"{operator.name} fetched the inputs")
        private = b"" if job.private_input_encrypted is None else _fernet().decrypt(bytes(job.private_input_encrypted))
        return JobInputs(job.program.image_id, bytes(job.program.elf), bytes(job.public_input), private,
                         job.max_cycles, job.lock_expires_at.isoformat(),
                         job.model.commitment if job.model_id is not None else None)


def report_progress(operator: Operator, job_id, stage: str, done: int, total: int) -> None:
    """Record what the worker says it is doing (shown in the portal; never trusted)."""
    with transaction.atomic():
        job = _locked_job(job_id)
        attempt = _held_attempt(job, operator)
        attempt.stage, attempt.done, attempt.total = stage[:32], max(0, int(done)), max(0, int(total))
        attempt.save(update_fields=["stage", "done", "total"])


def submit_receipt(operator: Operator, job_id, receipt: bytes, transactions: list | None = None) -> Attempt:
    """Take the lock holder's receipt (proving -> verifying); settlement verifies it later.
    ``transactions`` are the hashes (with what each did) of the chain transactions the worker
    sent for a chain-settled job: recorded once read back from the chain, never believed."""
    if len(receipt) > limits.MAX_RECEIPT_BYTES:
        raise TooLarge(f"the receipt is {len(receipt):,} bytes; the limit is {limits.MAX_RECEIPT_BYTES:,}")
    with transaction.atomic():
        job = _locked_job(job_id)
        attempt = _held_attempt(job, operator)
        attempt.reported_txs = _reported(transactions)
        attempt.receipt, attempt.receipt_size = receipt, len(receipt)
        attempt.state, attempt.submitted_at = Attempt.SUBMITTED, timezone.now()
        attempt.save()
        _move(job, S.VERIFYING, f"{operator.name} uploaded a receipt of {len(receipt):,} bytes")
        attempt_id = attempt.pk
        transaction.on_commit(lambda: _queue_settlement(attempt_id))
        return attempt


def _reported(transactions: list | None) -> list[dict]:
    return [{"hash": str(t.get("hash", ""))[:66], "what": str(t.get("what", ""))[:80]}
            for t in (transactions or [])[:200] if isinstance(t, dict)]


def report_transactions(operator: Operator, job_id, transactions: list) -> int:
    """More chain transactions of an operator's live attempt (a challenge answered after the
    upload): kept as hashes and recorded once the chain returns them. How many were new."""
    with transaction.atomic():
        job = _locked_job(job_id)
        attempt = job.attempts.select_for_update().filter(
            operator=operator, state__in=[Attempt.ACTIVE, Attempt.SUBMITTED]).first()
        if attempt is None or job.settlement not in CHAIN_MODES:
            raise Forbidden(f"job {job.pk} has no chain-settled attempt of {operator.name} in progress")
        known = {t["hash"] for t in attempt.reported_txs}
        new = []
        for t in _reported(transactions):
            if t["hash"] not in known:
                known.add(t["hash"])
                new.append(t)
        attempt.reported_txs = (attempt.reported_txs + new)[:400]
        attempt.save(update_fields=["reported_txs"])
        return len(new)


def _queue_settlement(attempt_id: int) -> None:
    from marketplace.tasks import settle_attempt
    try:
        settle_attempt.delay(attempt_id)
    except Exception as e:        # broker down: the periodic sweep settles it later
        log.warning("settlement of attempt %s not queued (%s); the sweep will pick it up", attempt_id, e)


# ---------------------------------------------------------------- settlement

def settle(attempt_id: int) -> str:
    """Verify a submitted receipt and pay or slash; idempotent (a settled attempt is left alone).
    Returns the attempt's final state."""
    from settlement.local import JobTerms, ReceiptRejected, check_receipt
    attempt = Attempt.objects.select_related("job", "job__program", "job__model").filter(pk=attempt_id).first()
    if attempt is None or attempt.state != Attempt.SUBMITTED:
        return attempt.state if attempt else "missing"
    if attempt.job.settlement in CHAIN_MODES:
        return settle_on_chain(attempt)
    job = attempt.job
    terms = JobTerms(bytes.fromhex(job.program.image_id), bytes.fromhex(job.input_digest), job.max_cycles)
    verdict, reason = None, ""
    try:
        verdict = check_receipt(bytes(attempt.receipt), terms, allow_insecure=settings.ALLOW_INSECURE_RECEIPTS)
    except ReceiptRejected as e:
        reason = str(e)
    if verdict is not None and job.model_id is not None:
        reason = _model_problem(job, verdict.claim.journal) or ""
        verdict = None if reason else verdict
    with transaction.atomic():
        job = _locked_job(job.pk)
        attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.state != Attempt.SUBMITTED:          # settled meanwhile by another call
            return attempt.state
        attempt.finished_at = timezone.now()
        if verdict is not None:
            _pay(job, attempt, verdict)
        else:
            _reject(job, attempt, reason)
        return attempt.state


def _model_problem(job: Job, journal: bytes) -> str | None:
    """Why a verified receipt of a clinic job does not settle it: its journal must name the
    registered model's commitment and the SHA-256 of the job's ECG (the image id, already
    checked, is the model's program)."""
    from marketplace.clinic.check import journal_problem
    ecg = _fernet().decrypt(bytes(job.private_input_encrypted)) if job.private_input_encrypted is not None else b""
    return journal_problem(journal, job.model.commitment, ecg)


def settle_on_chain(attempt: Attempt) -> str:
    """Mirror what the chain decided about a chain-settled attempt (live or submitted): paid,
    failed (its stake slashed there) or not yet. Returns the attempt's state."""
    from marketplace import onchain
    try:
        result = onchain.outcome(attempt)
    except Exception as e:                      # noqa: BLE001 - chain down or a race: next sweep
        log.warning("chain state of attempt %s not read (%s)", attempt.pk, e)
        return attempt.state
    with transaction.atomic():
        job = _locked_job(attempt.job_id)
        attempt = Attempt.objects.select_for_update().get(pk=attempt.pk)
        if attempt.state not in (Attempt.ACTIVE, Attempt.SUBMITTED):
            return attempt.state
        if result.pending:
            if attempt.state == Attempt.SUBMITTED and not job.events.filter(note=result.pending[:300]).exists():
                JobEvent.objects.create(job=job, from_state=job.state, to_state=job.state, note=result.pending[:300])
            return attempt.state
        if result.claim is not None and result.claim.journal is None and attempt.state == Attempt.ACTIVE \
                and timezone.now() < job.deadline:
            return attempt.state              # paid on chain: wait for the receipt and its journal
        attempt.finished_at = timezone.now()
        if result.claim is not None:
            _pay_on_chain(job, attempt, result.claim)
        else:
            attempt.state = Attempt.REJECTED if attempt.state == Attempt.SUBMITTED else Attempt.EXPIRED
            attempt.reason = result.reason[:300]
            attempt.save()
            _mirror_chain_slash(job, attempt, result.slashed_stake)
            job.rejections += attempt.state == Attempt.REJECTED
            _release(job, f"{attempt.operator.name}: {result.reason}")
        return attempt.state


def _pay_on_chain(job: Job, attempt: Attempt, claim) -> None:
    """The market contract paid the prover (in wei): the client's escrowed credits for the
    lock price leave the ledger, the rest goes back to the client."""
    escrow = ledger.escrow_account(job)
    ledger.transfer(escrow, ledger.external(), attempt.price, Transfer.PAYOUT, job=job,
                    memo=f"paid on chain to {attempt.chain_address}"[:200])
    ledger.drain(escrow, ledger.client_account(job.client), Transfer.REFUND, job=job,
                 memo="the auction price was below the maximum")
    attempt.state = Attempt.ACCEPTED
    attempt.save()
    job.journal, job.exit_code, job.cycles = claim.journal, claim.exit_code, claim.cycles
    how = "verified on chain" if job.settlement == "onchain" else "unchallenged or proven on chain"
    _move(job, S.PAID, f"claim {claim.digest.hex()[:16]}… {how}; {attempt.operator.name} paid "
                       f"{attempt.price:,} credits on chain")


def _mirror_chain_slash(job: Job, attempt: Attempt, stake: int) -> None:
    """Half of a stake slashed on chain went to the marketplace as the request's client: credit
    it to the client (the other half stays on chain as the next prover's bounty)."""
    half = stake // 2
    if half:
        ledger.transfer(ledger.external(), ledger.client_account(job.client), half, Transfer.SLASH, job=job,
                        memo=f"half of {attempt.operator.name}'s stake, slashed on chain"[:200])


def _pay(job: Job, attempt: Attempt, verdict) -> None:
    claim = verdict.claim
    operator = attempt.operator
    to_operator = ledger.operator_account(operator)
    escrow = ledger.escrow_account(job)
    ledger.transfer(escrow, to_operator, attempt.price, Transfer.PAYOUT, job=job, memo=f"paid {operator.name}")
    ledger.drain(escrow, ledger.client_account(job.client), Transfer.REFUND, job=job,
                 memo="the auction price was below the maximum")
    ledger.drain(ledger.bounty_account(job), to_operator, Transfer.BOUNTY, job=job, memo="slashed stakes earned")
    ledger.drain(ledger.stake_account(job), to_operator, Transfer.RETURN_STAKE, job=job, memo="stake returned")
    attempt.state, attempt.verify_seconds = Attempt.ACCEPTED, verdict.seconds
    attempt.save()
    job.journal, job.exit_code, job.cycles = claim.journal, claim.exit_code, claim.cycles
    _move(job, S.PAID, f"receipt verified in {verdict.seconds:.2f} s; {operator.name} paid {attempt.price:,} credits")


def _slash(job: Job, attempt: Attempt, why: str) -> None:
    """The stake of a failed attempt: half to the client, half to whoever fulfils the job later."""
    stake = ledger.stake_account(job)
    amount = ledger.balance(stake)
    ledger.transfer(stake, ledger.client_account(job.client), amount // 2, Transfer.SLASH, job=job,
                    memo=f"half of {attempt.operator.name}'s stake: {why}"[:200])
    ledger.drain(stake, ledger.bounty_account(job), Transfer.SLASH, job=job,
                 memo=f"half of {attempt.operator.name}'s stake, for the next prover"[:200])


def _release(job: Job, note: str) -> None:
    """A held job goes back to open (or expires when past its deadline) after a failed attempt."""
    job.operator, job.lock_price, job.lock_expires_at = None, None, None
    if timezone.now() >= job.deadline:
        _move(job, S.EXPIRED, note + "; past the deadline")
    else:
        _move(job, S.OPEN, note)
        job_id = job.pk
        transaction.on_commit(lambda: publish_offer(job_id))


def _reject(job: Job, attempt: Attempt, reason: str) -> None:
    attempt.state, attempt.reason = Attempt.REJECTED, reason[:300]
    attempt.save()
    _slash(job, attempt, "rejected receipt")
    job.rejections += 1
    if job.rejections >= limits.MAX_REJECTIONS:
        job.operator, job.lock_price, job.lock_expires_at = None, None, None
        _refund(job)
        _move(job, S.FAILED, f"receipt rejected ({reason}); {job.rejections} rejections: the client is refunded")
    else:
        _release(job, f"receipt of {attempt.operator.name} rejected: {reason}; stake slashed")


def _refund(job: Job) -> None:
    client = ledger.client_account(job.client)
    ledger.drain(ledger.escrow_account(job), client, Transfer.REFUND, job=job, memo="job refunded")
    ledger.drain(ledger.bounty_account(job), client, Transfer.REFUND, job=job, memo="slashed stakes refunded")


# ---------------------------------------------------------------- the periodic sweep

def expire_locks(now=None) -> int:
    """Locks past their expiry: the attempt fails, the stake is slashed, the job reopens."""
    now = now or timezone.now()
    count = 0
    for job_id in Job.objects.filter(state__in=[S.LOCKED.value, S.PROVING.value], lock_expires_at__lte=now) \
            .exclude(settlement__in=CHAIN_MODES).values_list("pk", flat=True):
        with transaction.atomic():
            job = _locked_job(job_id)
            if job.state not in (S.LOCKED.value, S.PROVING.value) or job.lock_expires_at > now:
                continue
            attempt = job.attempts.select_for_update().filter(state=Attempt.ACTIVE).first()
            if attempt is None:          # cannot happen (a lock creates its attempt); reopen anyway
                log.error("job %s is %s without a live attempt", job.pk, job.state)
                _release(job, "the lock expired")
                continue
            attempt.state, attempt.finished_at, attempt.reason = Attempt.EXPIRED, now, "lock expired"
            attempt.save()
            _slash(job, attempt, "lock expired")
            _release(job, f"the lock of {attempt.operator.name} expired; stake slashed")
            count += 1
    return count


def expire_deadlines(now=None) -> int:
    """Jobs nobody holds past their deadline expire; expired jobs are refunded."""
    now = now or timezone.now()
    count = 0
    for job_id in Job.objects.filter(state__in=[S.SUBMITTED.value, S.OPEN.value], deadline__lte=now) \
            .values_list("pk", flat=True):
        with transaction.atomic():
            job = _locked_job(job_id)
            if job.state in (S.SUBMITTED.value, S.OPEN.value) and job.deadline <= now:
                _move(job, S.EXPIRED, "deadline passed with no receipt")
                count += 1
    for job_id in Job.objects.filter(state=S.EXPIRED.value).values_list("pk", flat=True):
        if not _refunded_on_chain(job_id):
            continue
        with transaction.atomic():
            job = _locked_job(job_id)
            if job.state == S.EXPIRED.value:
                _refund(job)
                _move(job, S.REFUNDED, "escrow returned to the client")
    return count


def _refunded_on_chain(job_id) -> bool:
    """A chain-settled job is refunded off chain only once the chain refunded its escrow."""
    job = Job.objects.select_related("program").get(pk=job_id)
    if job.settlement not in CHAIN_MODES:
        return True
    from marketplace import onchain
    try:
        return onchain.refund(job)
    except Exception as e:                      # noqa: BLE001 - chain down: next sweep
        log.warning("job %s not refunded on chain yet (%s)", job_id, e)
        return False


def settle_chain_jobs() -> int:
    """Read the chain for every live attempt of a chain-settled job (expired locks, posted,
    challenged and fulfilled claims move along there and are mirrored here)."""
    ids = list(Attempt.objects.filter(state__in=[Attempt.ACTIVE, Attempt.SUBMITTED],
                                      job__settlement__in=CHAIN_MODES).values_list("pk", flat=True))
    moved = 0
    for attempt_id in ids:
        attempt = Attempt.objects.select_related("job", "job__program", "operator").get(pk=attempt_id)
        before = attempt.state
        moved += settle_on_chain(attempt) != before
    return moved


def settle_pending() -> int:
    """Settle submitted receipts whose task was lost (broker down when they arrived)."""
    stale = timezone.now() - timedelta(seconds=SETTLEMENT_GRACE_SECONDS)
    ids = list(Attempt.objects.filter(state=Attempt.SUBMITTED, submitted_at__lt=stale)
               .exclude(job__settlement__in=CHAIN_MODES).values_list("pk", flat=True))
    for attempt_id in ids:
        settle(attempt_id)
    return len(ids)


def sweep() -> dict[str, int]:
    """One pass of the periodic task (celery beat): expiries, refunds, offers, lost settlements."""
    return {"locks_expired": expire_locks(), "jobs_expired": expire_deadlines(),
            "offers_published": republish_offers(), "settled": settle_pending(),
            "chain_settled": settle_chain_jobs() if CHAIN_MODES & set(settlement_modes()) else 0}


__all__ = ["register", "faucet", "upload_program", "dry_run", "submit_job", "lock_job", "fetch_inputs",
           "report_progress", "submit_receipt", "settle", "sweep", "HELD"]
