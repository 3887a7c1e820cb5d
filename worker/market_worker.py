"""An operator's market worker: take offers, lock jobs, prove them, upload receipts, get paid.

    zkmips worker start --market URL --token T [--broker URL] [--min-price N] [--workers N]

The worker trusts nothing it did not compute and is trusted by no one: it talks to the
marketplace only over the JSON API with its operator token (which reaches only the jobs it
holds) and reads offers from its own queue on the broker (an account that can only read
offers). It never touches the marketplace's database. One job at a time per process: start
several processes (or machines) to prove several jobs at once; they share the operator's
offer queue, and each takes an offer only when it is idle.

Offers are hints: the worker checks each against its own limits (stake it can afford,
price, cycles, deadline) and locks over the API; a lost race is a 409 and nothing more.
When the broker does not answer, it falls back to polling the API's /offers.

A model provider's worker also holds its models' weights (``models``: commitment -> weights,
``--model PATH``): it takes only the clinic jobs of models it holds, and composes each job's
private input from the weights and the client's ECG itself, so the weights never leave it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from marketplace.client import ApiError, MarketClient
from marketplace.offers import worker_queue

log = logging.getLogger("zkmips.worker")

#: Seconds between two polls of the API's /offers, when the broker is quiet or unreachable.
API_POLL_SECONDS = 10.0
#: The worker posts progress at most this often (seconds).
PROGRESS_EVERY = 1.0
#: A job whose lock we lost is not tried again for this long (it may reopen later); a job we
#: attempted ourselves, for longer (our receipt was rejected or our lock expired: let others try).
LOST_RACE_PAUSE = 5.0
OWN_ATTEMPT_PAUSE = 120.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


#: The fields of an offer the worker reads before it decides (marketplace.services.offer_of).
OFFER_FIELDS: dict[str, type] = {
    "job_id": str, "deadline": str, "auction_start": str, "expected_cycles": int, "private_input_bytes": int,
    "price_min": int, "price_max": int, "ramp_seconds": int, "stake": int,
}


def unreadable(offer: object) -> str | None:
    """Why ``offer`` cannot be an offer (a stale or foreign message on our queue: the offers
    exchange is a fanout that anything allowed to publish reaches), or None. The worker skips
    such a message with a warning instead of dying on it."""
    if not isinstance(offer, dict):
        return f"not a JSON object but {type(offer).__name__}"
    for key, kind in OFFER_FIELDS.items():
        value = offer.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"field {key!r} is missing or not {kind.__name__}"
    for key in ("deadline", "auction_start"):
        try:
            if datetime.fromisoformat(offer[key]).tzinfo is None:
                return f"field {key!r} has no time zone"
        except ValueError:
            return f"field {key!r} is not an ISO 8601 time"
    return None


def price_now(offer: dict, now: datetime | None = None) -> int:
    """The offer's auction price now (the same integer formula as marketplace.pricing)."""
    from marketplace.pricing import price_at
    return price_at(offer["price_min"], offer["price_max"], datetime.fromisoformat(offer["auction_start"]),
                    offer["ramp_seconds"], now or _now())


@dataclass
class Policy:
    """What this operator accepts."""
    min_price: int = 0                 # wait until the auction reaches this price
    max_cycles: int = 1 << 26          # refuse longer runs
    max_private_input: int = 64 << 20


@dataclass
class JobOutcome:
    job_id: str
    state: str
    seconds: float
    detail: str = ""


@dataclass
class MarketWorker:
    client: MarketClient
    broker_url: str | None = None
    policy: Policy = field(default_factory=Policy)
    prove_processes: int | None = None
    distributed_broker: str | None = None   # prove segments on this broker's segment workers
    on_event: Callable[[str], None] = lambda message: log.info("%s", message)
    show_progress: bool = False
    chain: Any = None                        # a worker.chain_prover.ChainProver: takes chain-settled jobs
    models: dict[str, bytes] = field(default_factory=dict)  # commitment hex -> weights (clinic jobs)

    def __post_init__(self) -> None:
        self.account = self.client.account()
        if not self.account.get("operator"):
            raise ApiError("this token is not a worker operator's (register with operator=true)")
        self.operator = self.account["operator"]
        self._runner = None
        self._waiting: dict[str, dict] = {}     # offers below our price, by job id
        self._skip_until: dict[str, float] = {}  # job id -> monotonic time: lost races, our own attempts
        self.outcomes: list[JobOutcome] = []

    # ---------------------------------------------------------------- deciding
    def acceptable(self, offer: dict, collateral: int | None = None) -> str | None:
        """Why this offer is refused, or None when we would lock it now."""
        if offer.get("state") not in (None, "open", "submitted"):
            return f"job is {offer['state']}"
        if datetime.fromisoformat(offer["deadline"]) <= _now():
            return "past its deadline"
        if offer["expected_cycles"] > self.policy.max_cycles:
            return f"too long ({offer['expected_cycles']:,} cycles)"
        if offer["private_input_bytes"] > self.policy.max_private_input:
            return "private input too large"
        if offer["price_max"] < self.policy.min_price:
            return f"pays at most {offer['price_max']:,}, below our {self.policy.min_price:,}"
        model = offer.get("model")
        if model and model.get("commitment") not in self.models:
            return f"needs the weights of model {model.get('name')}, which this worker does not hold"
        if offer.get("settlement", "local") != "local":
            if self.chain is None:
                return f"settled {offer['settlement']} and this worker has no chain account (--chain)"
            return self.chain.why_not(offer)
        if collateral is not None and offer["stake"] > collateral:
            return f"stake {offer['stake']:,} exceeds our free collateral {collateral:,}"
        return None

    def _candidate(self, offers: list[dict]) -> dict | None:
        """The best offer to lock now: the highest price among acceptable ones."""
        collateral = self.client.account()["collateral"]
        now = _now()
        best, best_price = None, -1
        for offer in offers:
            if self._skip_until.get(offer["job_id"], 0.0) > time.monotonic():
                continue
            why = self.acceptable(offer, collateral)
            if why:
                self._waiting.pop(offer["job_id"], None)
                continue
            price = price_now(offer, now)
            if price < self.policy.min_price:
                self._waiting[offer["job_id"]] = offer        # look again when the price has risen
                continue
            if price > best_price:
                best, best_price = offer, price
        return best

    # ---------------------------------------------------------------- doing
    def _get_runner(self):
        if self._runner is None:
            if self.distributed_broker:
                from worker.distributed import CeleryRunner
                self._runner = CeleryRunner(broker=self.distributed_broker)
            else:
                from prover.zkmips.segments import LocalRunner
                self._runner = LocalRunner(self.prove_processes)
        return self._runner

    def work_one(self, job_id: str, offer: dict | None = None) -> JobOutcome:
        """Lock, prove and upload one job; the outcome says how far it got. A chain-settled job
        (``offer`` says so) is locked and settled on chain too."""
        start = time.monotonic()
        on_chain = offer is not None and offer.get("settlement", "local") != "local"
        txs = None
        try:
            if on_chain:
                from worker.chain_prover import ChainTxs
                txs = ChainTxs()
                self.chain.lock(offer, txs)
            lock = self.client.lock(job_id, self.chain.address if on_chain else "")
        except Exception as e:       # another worker was first (409 or a refused chain lock), or short of funds
            self._skip_until[job_id] = time.monotonic() + LOST_RACE_PAUSE
            return JobOutcome(job_id, "not locked", time.monotonic() - start, str(e).splitlines()[0])
        self._skip_until[job_id] = time.monotonic() + OWN_ATTEMPT_PAUSE
        self.on_event(f"locked job {job_id} at {lock['price']:,} credits (stake {lock['stake']:,}, "
                      f"lock until {lock['lock_expires_at']})")
        try:
            receipt = self._prove(job_id, offer["chain"]["preset"] if on_chain else None)
            detail = f"receipt of {len(receipt):,} bytes uploaded"
            if on_chain:
                try:
                    self.chain.settle(offer, receipt, txs)
                    detail += f"; settled {offer['settlement']} in {len(txs.items)} transactions"
                except Exception as e:  # noqa: BLE001 - refused on chain: upload anyway, the chain decides
                    detail += f"; the chain refused it: {str(e).splitlines()[0][:200]}"
            view = self.client.upload_receipt(job_id, receipt, txs.items if txs else None)
        except ApiError as e:
            outcome = JobOutcome(job_id, "abandoned", time.monotonic() - start, str(e))
        except Exception as e:        # the prover failed: say so; the lock will expire
            outcome = JobOutcome(job_id, "prover failed", time.monotonic() - start,
                                 str(e).splitlines()[0] if str(e) else type(e).__name__)
        else:
            outcome = JobOutcome(job_id, view["state"], time.monotonic() - start, detail)
        self.on_event(f"job {job_id}: {outcome.state} after {outcome.seconds:.1f} s ({outcome.detail})")
        self.outcomes.append(outcome)
        return outcome

    def _prove(self, job_id: str, preset: str | None = None) -> bytes:
        """Prove the job at the default preset, or at ``preset`` (the one the chain's verifier takes)."""
        from prover.security import DEFAULT
        from prover.zkmips.receipt import params_of
        from prover.zkmips.segment_receipt import prove_segmented
        inputs = self.client.inputs(job_id)
        private = inputs["private_input"]
        if inputs.get("model_commitment"):      # a clinic job: our weights, the client's ECG
            from marketplace.clinic import ecg_format
            weights = self.models.get(inputs["model_commitment"])
            if weights is None:
                raise ValueError(f"job {job_id} needs weights {inputs['model_commitment'][:16]}… we do not hold")
            private = ecg_format.private_input(weights, private)
        last = [0.0]
        bar = None
        if self.show_progress:
            from tqdm import tqdm
            bar = tqdm(total=1, desc=f"job {job_id[:8]}", unit="step", leave=False)

        def progress(stage: str, done: int, total: int) -> None:
            if bar is not None:
                bar.set_description_str(f"job {job_id[:8]} {stage}")
                bar.total, bar.n = max(total, 1), done
                bar.refresh()
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY or done == total:
                last[0] = now
                try:
                    self.client.progress(job_id, stage, done, total)
                except ApiError as e:
                    log.warning("progress of job %s not reported: %s", job_id, e)

        try:
            receipt = prove_segmented(inputs["program"], inputs["input"], private,
                                      params=params_of(preset, allow_insecure=False) if preset else DEFAULT,
                                      max_cycles=inputs["max_cycles"], runner=self._get_runner(), progress=progress)
        finally:
            if bar is not None:
                bar.close()
        return receipt.encode()

    # ---------------------------------------------------------------- listening
    def _broker_offers(self, conn, max_wait: float) -> list[dict]:
        """Offers waiting in our queue (pulled one by one, only while idle)."""
        queue = worker_queue(self.operator)(conn.default_channel)
        queue.declare()
        got: list[dict] = []
        end = time.monotonic() + max_wait
        while True:
            message = queue.get(no_ack=True, accept=["json"])
            if message is not None:
                try:
                    got.append(message.payload)
                except Exception as e:  # noqa: BLE001 - not JSON, or not decodable: skip, never die
                    log.warning("ignored a message that is not an offer (%s)",
                                (str(e) or type(e).__name__).splitlines()[0][:200])
                continue
            if got or time.monotonic() >= end:
                return got
            time.sleep(0.1)

    def _readable(self, offers: list) -> list[dict]:
        """The offers that are offers; a warning for each message that is not."""
        keep = []
        for offer in offers:
            why = unreadable(offer)
            if why is None:
                keep.append(offer)
            else:
                log.warning("ignored a message that is not an offer (%s): %.200r", why, offer)
        return keep

    def run(self, stop: threading.Event | None = None, *, max_jobs: int | None = None) -> None:
        """Take and prove jobs until ``stop`` is set (or ``max_jobs`` were attempted)."""
        from kombu import Connection
        stop = stop or threading.Event()
        conn = Connection(self.broker_url, connect_timeout=5) if self.broker_url else None
        last_poll = 0.0
        done = 0
        try:
            while not stop.is_set() and (max_jobs is None or done < max_jobs):
                offers: list[dict] = []
                if conn is not None:
                    try:
                        offers = self._broker_offers(conn, 1.0)
                    except Exception as e:       # broker down or restarting: the API still answers
                        log.warning("broker unavailable (%s); polling the marketplace", type(e).__name__)
                        conn.release()
                        conn = Connection(self.broker_url, connect_timeout=5)
                        stop.wait(1.0)
                if time.monotonic() - last_poll > (API_POLL_SECONDS if conn is not None else 1.0) or self._waiting:
                    if time.monotonic() - last_poll > 1.0:
                        try:
                            offers += self.client.offers()
                        except ApiError as e:
                            log.warning("offers not fetched: %s", e)
                        last_poll = time.monotonic()
                offers = self._readable(offers) + list(self._waiting.values())
                self.answer_challenges()
                try:
                    best = self._candidate({o["job_id"]: o for o in offers}.values()) if offers else None
                except ApiError as e:
                    log.warning("%s", e)
                    stop.wait(1.0)
                    continue
                if best is None:
                    if not offers:
                        stop.wait(0.2)
                    continue
                self._waiting.pop(best["job_id"], None)
                outcome = self.work_one(best["job_id"], best)
                if outcome.state != "not locked":
                    done += 1
        finally:
            if conn is not None:
                conn.release()
            self.close()

    def answer_challenges(self) -> None:
        """Defend our challenged optimistic claims with on-chain proofs."""
        if self.chain is None or not self.chain.pending:
            return
        try:
            for job_id, txs in self.chain.answer_challenges():
                self.on_event(f"job {job_id}: challenge answered on chain in {len(txs.items)} transactions")
                try:
                    self.client.report_transactions(job_id, txs.items)
                except ApiError as e:   # shown in the portal only; the chain decides anyway
                    log.warning("transactions of job %s not reported: %s", job_id, e)
        except Exception as e:        # noqa: BLE001 - the node is down: try again next round
            log.warning("challenges not answered yet: %s", e)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None


def load_models(paths: list[str]) -> dict[str, bytes]:
    """Weights files by their commitment (SHA-256, hex), each checked by ecg_format.check_weights."""
    from marketplace.clinic import ecg_format
    models: dict[str, bytes] = {}
    for path in paths:
        with open(path, "rb") as f:
            weights = f.read()
        try:
            ecg_format.check_weights(weights)
        except ecg_format.FormatError as e:
            raise ValueError(f"{path}: not a model's weights: {e}") from None
        models[ecg_format.weights_commitment(weights).hex()] = weights
    return models


def unregistered(client: MarketClient, operator: str, models: dict[str, bytes]) -> list[str]:
    """One line per held model the registry does not list as this operator's (its jobs would
    never be offered to us, or would be another provider's)."""
    registry = client.models()
    problems = []
    for commitment in models:
        entries = [m for m in registry if m["commitment"] == commitment]
        if not entries:
            problems.append(f"weights {commitment[:16]}… are not registered (zkmips model register)")
        elif not any(m["provider"] == operator for m in entries):
            problems.append(f"weights {commitment[:16]}… are registered as {entries[0]['name']} by "
                            f"{entries[0]['provider']}, not by {operator}")
    return problems


def describe(outcomes: list[JobOutcome]) -> dict[str, Any]:
    return {"jobs": len(outcomes), "by_state": {s: sum(o.state == s for o in outcomes)
                                                 for s in {o.state for o in outcomes}}}
