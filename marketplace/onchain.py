"""The marketplace's side of the chain modes (``onchain``, ``optimistic``): the chain decides.

For a chain-settled job the market contract, not the database ledger, holds the money that
moves: the marketplace posts the job as a request (escrowing ``price_max`` from its own chain
balance, for the client whose credits it escrows off chain), the operator's worker locks it
on chain with its stake and then either has the receipt verified by the verifier contract
and calls ``fulfill`` (``onchain``) or posts the journal with a bond (``optimistic``).
This module reads what the chain says and mirrors it into the ledger and the job's state
(:mod:`marketplace.services` calls it); it never pays on a worker's word. It also acts as a
watchdog in optimistic mode: it checks the uploaded receipt with the Python verifier and
challenges a proposed claim that the receipt does not prove (or that comes without one).

Every transaction of a job, the marketplace's and those its worker reports, is read back from
the chain and recorded as a :class:`~marketplace.models.ChainTx` with its gas (the portal's
table). Nothing here runs inside a database transaction: chain calls are slow and may fail;
callers re-check the job's state inside their own transaction afterwards.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone as dt_timezone

from django.conf import settings
from django.db import IntegrityError

from marketplace.models import CHAIN_MODES, Attempt, ChainTx, Job
from prover.keccak import keccak256
from settlement import chain as chainlib
from settlement.deployment import Contracts, attach, load_or_deploy, request_id_of

log = logging.getLogger("marketplace")
_lock = threading.Lock()
_contracts: Contracts | None = None


class ChainUnavailable(Exception):
    """The chain modes are off (no ZKMIPS_CHAIN_URL) or the node does not answer."""


def enabled() -> bool:
    return bool(settings.CHAIN_URL)


def is_chain_job(job: Job) -> bool:
    return job.settlement in CHAIN_MODES


def contracts() -> Contracts:
    """The deployment of this marketplace on its chain, deployed on first use."""
    global _contracts
    if not enabled():
        raise ChainUnavailable("the chain modes are off (set ZKMIPS_CHAIN_URL to a JSON-RPC node)")
    with _lock:
        if _contracts is None or _contracts.w3.provider.endpoint_uri != settings.CHAIN_URL:
            try:
                w3 = chainlib.connect(settings.CHAIN_URL)
                sender = settings.CHAIN_ACCOUNT or w3.eth.accounts[0]
                w3.eth.default_account = sender
                dep = load_or_deploy(w3, settings.VAR_DIR / f"chain-{w3.eth.chain_id}.json", sender=sender,
                                     challenge_window=settings.CHALLENGE_WINDOW_SECONDS,
                                     response_window=settings.RESPONSE_WINDOW_SECONDS)
            except (OSError, ConnectionError) as e:
                raise ChainUnavailable(f"the chain at {settings.CHAIN_URL} does not answer: {e}") from None
            _contracts = attach(w3, dep)
        return _contracts


def reset() -> None:
    """Forget the cached deployment (tests that restart the chain)."""
    global _contracts
    with _lock:
        _contracts = None


def account() -> str:
    return contracts().w3.eth.default_account


def wei(credits: int) -> int:
    return credits * contracts().deployment.wei_per_credit


def credits(wei_amount: int) -> int:
    return wei_amount // contracts().deployment.wei_per_credit


def request_id(job: Job) -> bytes:
    return request_id_of(str(job.pk))


def chain_now() -> int:
    """The time the next block will carry, at least: the latest block's or the wall clock's."""
    latest = contracts().w3.eth.get_block("latest")["timestamp"]
    return max(int(latest), int(time.time()))


def to_datetime(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=dt_timezone.utc)


@functools.lru_cache(maxsize=256)
def _image_id_at(elf_digest: str, program_id: int, preset: str) -> bytes:
    from prover.zkmips.receipt import params_of
    from prover.zkmips.segments import image_id
    from marketplace.models import Program
    elf = bytes(Program.objects.get(pk=program_id).elf)
    return image_id(elf, params_of(preset, allow_insecure=False))


def chain_image_id(job: Job) -> bytes:
    """The program's image id at the deployment's preset: the image id binds the verifying
    keys, so a receipt proven for the chain names this one, not the default preset's."""
    return _image_id_at(job.program.image_id, job.program_id, contracts().deployment.preset)


def offer_fields(job: Job) -> dict:
    """What an offer says about the chain: the deployment, the job's request id and the image
    id its receipt must carry at the deployment's preset."""
    return {**contracts().deployment.public(), "request_id": request_id(job).hex(),
            "image_id": chain_image_id(job).hex()}


def request_view(job: Job) -> chainlib.RequestView:
    return contracts().market.request(request_id(job))


# ---------------------------------------------------------------- recording transactions

def record(job: Job, what: str, tx_hash, *, attempt: Attempt | None = None, by_worker: bool = False) -> ChainTx | None:
    """Read ``tx_hash`` back from the chain and keep it (once) with its gas and status."""
    w3 = contracts().w3
    h = tx_hash.hex() if isinstance(tx_hash, (bytes, bytearray)) else str(tx_hash)
    h = h if h.startswith("0x") else "0x" + h
    if ChainTx.objects.filter(tx_hash=h).exists():
        return None
    r = w3.eth.get_transaction_receipt(h)
    try:
        return ChainTx.objects.create(job=job, attempt=attempt, what=what[:80], tx_hash=h, sender=r["from"],
                                      by_worker=by_worker, gas_used=int(r["gasUsed"]), block=int(r["blockNumber"]),
                                      ok=r["status"] == 1)
    except IntegrityError:                  # recorded meanwhile by another process
        return None


def _ours(tx_receipt) -> bytes:
    """The hash of a transaction the marketplace sent (to record it)."""
    return tx_receipt["transactionHash"]


def record_reported(attempt: Attempt) -> int:
    """Record the transactions the worker reported, those only that its chain address sent to
    this deployment's contracts (a worker cannot make another's transaction its own)."""
    c = contracts()
    ours = {a.lower() for a in (c.deployment.market, c.deployment.verifier_stark, c.deployment.verifier_queries,
                                c.deployment.verifier_receipt)}
    count = 0
    items = [(item.get("hash", ""), item.get("what", "")) if isinstance(item, dict) else (str(item), "")
             for item in attempt.reported_txs or []]
    known = set(ChainTx.objects.filter(tx_hash__in=[h for h, _ in items]).values_list("tx_hash", flat=True))
    for h, what in items:
        if h in known:
            continue
        try:
            tx = c.w3.eth.get_transaction(h)
        except Exception:                   # unknown or malformed hash: ignore it
            continue
        if (tx["from"] or "").lower() != attempt.chain_address.lower() or (tx["to"] or "").lower() not in ours:
            continue
        if record(attempt.job, what or "worker transaction", h, attempt=attempt, by_worker=True):
            count += 1
    return count


# ---------------------------------------------------------------- the marketplace's transactions

def post(job: Job) -> None:
    """Post ``job`` as a request on chain, escrowing its maximum price (idempotent)."""
    c = contracts()
    rid = request_id(job)
    if c.market.request(rid).state != "none":
        return
    me = account()
    need = wei(job.price_max)
    have = c.market.balance_of(me)
    if have < need:
        record(job, "deposit for the escrow", _ours(c.market.deposit(need - have, sender=me)))
    r = c.market.post_request(rid, image_id=chain_image_id(job),
                              input_digest=bytes.fromhex(job.input_digest), max_cycles=job.max_cycles,
                              price_min=wei(job.price_min), price_max=wei(job.price_max),
                              ramp_seconds=job.ramp_seconds, lock_timeout=job.lock_timeout_seconds,
                              deadline=int(job.deadline.timestamp()), stake=wei(job.stake), sender=me)
    record(job, "post request", _ours(r))


def refund(job: Job) -> bool:
    """Take a request past its deadline back from the chain; True once it is refunded there
    (or was never posted)."""
    c = contracts()
    view = c.market.request(request_id(job))
    if view.state in ("none", "refunded"):
        return True
    if view.state == "locked" and chain_now() > view.lock_expires:
        record(job, "slash expired lock", _ours(c.market.slash(request_id(job), sender=account())))
        view = c.market.request(request_id(job))
    if view.state != "open" or chain_now() < view.deadline:
        return False
    record(job, "refund", _ours(c.market.refund(request_id(job), sender=account())))
    return True


# ---------------------------------------------------------------- reading the chain's verdict

@dataclass(frozen=True)
class ChainLock:
    price: int            # credits
    stake: int            # credits
    expires: datetime


def check_lock(job: Job, address: str) -> ChainLock:
    """The on-chain lock of ``job`` if ``address`` holds it; ValueError saying why not."""
    view = request_view(job)
    if view.state != "locked":
        raise ValueError(f"the request of job {job.pk} is {view.state} on chain: lock it there first")
    if view.prover.lower() != address.lower():
        raise ValueError(f"the request of job {job.pk} is locked on chain by {view.prover}, not {address}")
    return ChainLock(credits(view.lock_price), credits(view.stake), to_datetime(view.lock_expires))


@dataclass(frozen=True)
class ChainClaim:
    """A claim the chain settled: its digest and, when the uploaded receipt proves it, the run."""
    digest: bytes
    journal: bytes | None
    exit_code: int | None
    cycles: int | None


@dataclass(frozen=True)
class ChainOutcome:
    """What the chain decided about an attempt: paid (``claim``), failed (``reason``), or
    nothing yet (``pending``, with what it waits for)."""
    claim: ChainClaim | None = None
    reason: str = ""
    pending: str = ""
    slashed_stake: int = 0      # credits of the stake slashed on chain (half came to the client)


def _fulfilled_digest(job: Job) -> bytes | None:
    c = contracts()
    logs = c.market.contract.events.RequestFulfilled().get_logs(
        from_block=0, argument_filters={"request_id": request_id(job)})
    return bytes(logs[-1]["args"]["claim_digest"]) if logs else None


def _receipt_claim(attempt: Attempt):
    """The claim the uploaded receipt states (not verified here), or None."""
    from prover.errors import VerificationError
    from prover.zkmips import segment_receipt as SR
    try:
        return SR.decode(bytes(attempt.receipt)).claim
    except (VerificationError, ValueError, TypeError, IndexError):
        return None


def _digest_of(job: Job, claim) -> bytes:
    return contracts().market.claim_digest(chain_image_id(job), bytes.fromhex(job.input_digest),
                                           keccak256(claim.journal), claim.exit_code, claim.cycles)


def _settled_claim(job: Job, attempt: Attempt, digest: bytes) -> ChainClaim:
    claim = _receipt_claim(attempt) if attempt.receipt is not None else None
    if claim is not None and _digest_of(job, claim) == digest:
        return ChainClaim(digest, bytes(claim.journal), claim.exit_code, claim.cycles)
    return ChainClaim(digest, None, None, None)


def _watch_optimistic(job: Job, attempt: Attempt, view: chainlib.RequestView) -> str:
    """The watchdog: challenge a proposed claim that the uploaded receipt does not prove.
    Returns why it challenged ("" when it did not)."""
    from settlement.local import JobTerms, ReceiptRejected, check_receipt
    if attempt.challenged or attempt.verify_seconds is not None:    # challenged, or checked and found true
        return ""
    c = contracts()
    rid = request_id(job)
    proposed = c.market.optimistic_claim(rid).claim_digest
    why = ""
    if attempt.receipt is None:
        if chain_now() >= view.lock_expires - c.deployment.challenge_window // 2:
            why = "no receipt was uploaded for the posted claim"
    else:
        try:
            verdict = check_receipt(bytes(attempt.receipt), JobTerms(chain_image_id(job),
                                                                     bytes.fromhex(job.input_digest),
                                                                     job.max_cycles),
                                    allow_insecure=settings.ALLOW_INSECURE_RECEIPTS)
        except ReceiptRejected as e:
            why = str(e)
        else:
            if _digest_of(job, verdict.claim) != proposed:
                why = "the posted claim is not the one the uploaded receipt proves"
            else:                           # true: not checked again at the next sweep
                Attempt.objects.filter(pk=attempt.pk).update(verify_seconds=verdict.seconds)
                attempt.verify_seconds = verdict.seconds
    if not why:
        return ""
    me = account()
    bond = c.market.optimistic_bond
    have = c.market.balance_of(me)
    if have < bond:
        record(job, "deposit for the challenge bond", _ours(c.market.deposit(bond - have, sender=me)))
    record(job, "challenge", _ours(c.market.challenge(rid, sender=me)), attempt=attempt)
    Attempt.objects.filter(pk=attempt.pk).update(challenged=True, reason=f"challenged: {why}"[:300])
    attempt.challenged = True
    return why


def outcome(attempt: Attempt) -> ChainOutcome:
    """Read (and move along, where anyone may) the chain's state of an attempt's request:
    slash an expired lock, challenge a bad optimistic claim, finalize an unchallenged one,
    resolve an unanswered challenge. Idempotent; safe to call from several processes."""
    job = attempt.job
    c = contracts()
    rid = request_id(job)
    record_reported(attempt)
    me = account()
    for _ in range(3):                         # at most: finalize/resolve/slash, then read again
        view = c.market.request(rid)
        now = chain_now()
        if view.state == "fulfilled":
            digest = _fulfilled_digest(job)
            if view.prover.lower() != attempt.chain_address.lower() or digest is None:
                return ChainOutcome(reason="the request was fulfilled on chain by another prover")
            return ChainOutcome(claim=_settled_claim(job, attempt, digest))
        if view.state == "locked":
            if view.prover.lower() != attempt.chain_address.lower():
                return ChainOutcome(reason="the request is locked on chain by another prover")
            if now <= view.lock_expires:
                return ChainOutcome(pending="waiting for the verified claim and fulfil on chain")
            record(job, "slash expired lock", _ours(c.market.slash(rid, sender=me)), attempt=attempt)
            return ChainOutcome(reason="the lock expired on chain without a verified claim; stake slashed",
                                slashed_stake=credits(view.stake))
        if view.state == "proposed":
            why = _watch_optimistic(job, attempt, view)
            if why:
                return ChainOutcome(pending=f"claim challenged ({why}); waiting for the prover's on-chain proof")
            if now <= view.lock_expires:
                return ChainOutcome(pending=f"claim posted; challenge window until {to_datetime(view.lock_expires)}")
            record(job, "finalize optimistic claim", _ours(c.market.finalize_optimistic(rid, sender=me)),
                   attempt=attempt)
            continue
        if view.state == "challenged":
            if now <= view.lock_expires:
                return ChainOutcome(pending=f"challenged; the prover must verify on chain by "
                                            f"{to_datetime(view.lock_expires)}")
            record(job, "resolve challenge", _ours(c.market.resolve_challenge(rid, sender=me)), attempt=attempt)
            return ChainOutcome(reason="the claim was challenged and not proven on chain in time: bond to the "
                                       "challenger, stake slashed", slashed_stake=credits(view.stake))
        if view.state == "open":         # someone slashed the expired lock before us
            return ChainOutcome(reason="the lock was slashed on chain", slashed_stake=attempt.stake)
        return ChainOutcome(reason=f"the request is {view.state} on chain")
    return ChainOutcome(pending="the chain is moving; read again")
