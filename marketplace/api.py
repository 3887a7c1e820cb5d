"""The JSON API (django-ninja): OpenAPI schema at /api/openapi.json, docs at /api/docs.

Authentication: ``Authorization: Bearer <token>`` (a token from registration or the portal's
account page). Clients reach their own jobs; operators lock open jobs and then reach only
the jobs they hold. Every error is ``{"detail": "<one line>"}`` with a fitting status.
"""

from __future__ import annotations

import base64
from typing import Literal, Optional

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import File, Form, NinjaAPI, Schema, Status
from ninja.errors import ValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer
from ninja.throttling import AnonRateThrottle, AuthRateThrottle

from marketplace import ledger, limits, pricing, services, stats
from marketplace.errors import Forbidden, MarketError, TooLarge
from marketplace.models import ApiToken, Job
from marketplace.states import JobState

# ---------------------------------------------------------------- auth


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        row = ApiToken.objects.select_related("user").filter(digest=ApiToken.digest_of(token)).first()
        if row is None or not row.user.is_active:
            return None
        ApiToken.objects.filter(pk=row.pk).update(last_used=timezone.now())
        request.user = row.user
        return row.user


rate = f"{settings.API_RATE_PER_MINUTE}/m"
api = NinjaAPI(title="zkMIPS marketplace", version="1.0", auth=TokenAuth(), urls_namespace="api",
               description="Post MIPS programs to be proven; lock, prove and settle jobs as a worker operator.",
               throttle=[AnonRateThrottle(rate), AuthRateThrottle(rate)])


@api.exception_handler(ValidationError)
def validation_error(request, exc: ValidationError):
    """Malformed requests get 400 and one line naming the fields, like every other error."""
    parts = []
    for error in exc.errors[:5]:
        where = ".".join(str(x) for x in error.get("loc", ()) if x not in ("body", "form", "file", "query", "path"))
        parts.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
    return api.create_response(request, {"detail": "; ".join(parts) or "malformed request"}, status=400)


@api.exception_handler(MarketError)
def market_error(request, exc: MarketError):
    return api.create_response(request, {"detail": str(exc)}, status=exc.status)


# ---------------------------------------------------------------- schemas

JobStateName = Literal[tuple(s.value for s in JobState)]  # type: ignore[valid-type]


class Error(Schema):
    detail: str


class RegisterIn(Schema):
    username: str
    password: str
    operator: bool = False


class TokenOut(Schema):
    username: str
    token: str
    operator: bool


class AccountOut(Schema):
    username: str
    operator: Optional[str]
    balance: int
    collateral: Optional[int]


class DepositIn(Schema):
    amount: int
    to_collateral: bool = False


class DryRunOut(Schema):
    cycles: int
    exit_code: int
    journal_preview: str
    journal_preview_hex: str
    price_min: int
    price_max: int
    #: the suggested price range per offered settlement mode (chain modes add the gas a worker pays)
    by_settlement: dict[str, dict[str, int]]


class ProgramOut(Schema):
    image_id: str
    name: str
    size: int
    entry: int
    dry_run: Optional[DryRunOut] = None


class JobTermsOut(Schema):
    """What a job asks for: the fields its offer and its full view share."""
    image_id: str
    input_digest: str
    input_bytes: int
    private_input_bytes: int
    max_cycles: int
    expected_cycles: int
    price_min: int
    price_max: int
    ramp_seconds: int
    stake: int
    lock_timeout_seconds: int
    deadline: str
    settlement: str
    state: str
    #: for chain-settled jobs: the chain id, contract addresses, proving preset, credit rate
    #: and the job's request id; null for local settlement
    chain: Optional[dict] = None
    #: a clinic job: the registered model ({name, commitment}) whose provider alone proves it
    model: Optional[dict] = None


class ChainTxOut(Schema):
    what: str
    tx_hash: str
    sender: str
    by_worker: bool
    gas_used: int
    block: int
    ok: bool


class JobOut(JobTermsOut):
    id: str
    program: str
    price_now: int
    operator: Optional[str]
    lock_price: Optional[int]
    lock_expires_at: Optional[str]
    progress: Optional[dict]
    cycles: Optional[int]
    exit_code: Optional[int]
    journal_hex: Optional[str]
    rejections: int
    created: str
    events: list[dict]
    #: chain-settled jobs: the request's state on chain and every transaction with its gas
    chain_state: Optional[str] = None
    chain_txs: list[ChainTxOut] = []


class OfferOut(JobTermsOut):
    job_id: str
    program_bytes: int
    auction_start: str
    price: int


class LockOut(Schema):
    job_id: str
    price: int
    stake: int
    lock_expires_at: str


class InputsOut(Schema):
    image_id: str
    program_b64: str
    input_b64: str
    private_input_b64: str
    max_cycles: int
    lock_expires_at: str
    #: a clinic job: compose the private input from these weights and the ECG (ecg_format.private_input)
    model_commitment: Optional[str] = None


class ModelOut(Schema):
    name: str
    provider: str
    commitment: str
    image_id: str
    program: str
    classes: list[str]
    report: dict
    cycles: Optional[int]
    created: str


class ProgressIn(Schema):
    stage: str
    done: int = 0
    total: int = 0


class ClaimOut(Schema):
    valid: bool
    reason: Optional[str] = None
    image_id: Optional[str] = None
    input_digest: Optional[str] = None
    journal_hex: Optional[str] = None
    exit_code: Optional[int] = None
    cycles: Optional[int] = None


def _read(upload: UploadedFile | None, limit: int, what: str) -> bytes | None:
    if upload is None:
        return None
    if upload.size is not None and upload.size > limit:
        raise TooLarge(f"the {what} is {upload.size:,} bytes; the limit is {limit:,}")
    return upload.read()


def _named_program(request: HttpRequest, program: UploadedFile | None, image_id: str | None, missing: str,
                   default_name: str = "program"):
    """The program uploaded with the request, else the one named by ``image_id``."""
    if program is not None:
        prog = services.upload_program(request.user, _read(program, limits.MAX_ELF_BYTES, "program"),
                                       program.name or default_name)
        if image_id and image_id.lower() != prog.image_id:
            raise MarketError("the uploaded program's image id differs from image_id")
        return prog
    if image_id:
        return services.get_program(image_id)
    raise MarketError(missing)


def _own_job(request: HttpRequest, job_id: str) -> Job:
    return services.client_job(request.user, job_id)


def job_out(job: Job) -> dict:
    attempt = job.attempts.filter(state__in=["active", "submitted"]).first()
    return {
        "id": str(job.pk), "state": job.state, "image_id": job.program.image_id, "program": job.program.name,
        "input_digest": job.input_digest, "input_bytes": len(job.public_input),
        "private_input_bytes": job.private_input_size, "max_cycles": job.max_cycles,
        "expected_cycles": job.expected_cycles, "price_min": job.price_min, "price_max": job.price_max,
        "price_now": services.current_price(job), "ramp_seconds": job.ramp_seconds, "stake": job.stake,
        "lock_timeout_seconds": job.lock_timeout_seconds, "deadline": job.deadline.isoformat(),
        "settlement": job.settlement, "model": services.model_fields(job),
        "operator": job.operator.name if job.operator else None,
        "lock_price": job.lock_price,
        "lock_expires_at": job.lock_expires_at.isoformat() if job.lock_expires_at else None,
        "progress": {"stage": attempt.stage, "done": attempt.done, "total": attempt.total} if attempt else None,
        "cycles": job.cycles, "exit_code": job.exit_code,
        "journal_hex": bytes(job.journal).hex() if job.journal is not None else None,
        "rejections": job.rejections, "created": job.created.isoformat(),
        "events": [{"at": e.at.isoformat(), "from": e.from_state, "to": e.to_state, "note": e.note}
                   for e in job.events.all()],
        "chain": services.chain_fields(job), "chain_state": services.chain_state(job),
        "chain_txs": [{"what": t.what, "tx_hash": t.tx_hash, "sender": t.sender, "by_worker": t.by_worker,
                       "gas_used": t.gas_used, "block": t.block, "ok": t.ok} for t in job.chain_txs.all()],
    }


def _dry_run_out(run: services.DryRun) -> dict:
    preview = run.journal[:4096]
    return {"cycles": run.cycles, "exit_code": run.exit_code,
            "journal_preview": preview.decode("utf-8", "replace"), "journal_preview_hex": preview.hex(),
            **pricing.estimate(run.cycles), "by_settlement": services.estimates(run.cycles)}


# ---------------------------------------------------------------- accounts


@api.post("/register", auth=None, response={201: TokenOut, 400: Error, 409: Error, 401: Error, 429: Error}, tags=["accounts"])
def register(request, body: RegisterIn):
    """Open an account (a client's, or a worker operator's with ``operator``); the token is shown once."""
    user = services.register(body.username, body.password, operator=body.operator)
    _, token = ApiToken.issue(user, "registration")
    return Status(201, {"username": user.username, "token": token, "operator": body.operator})


@api.get("/account", response={200: AccountOut, 400: Error, 401: Error, 429: Error}, tags=["accounts"])
def account(request):
    """Your balances: as a client, and as an operator your free collateral."""
    user = request.user
    op = getattr(user, "operator", None)
    return {"username": user.username, "operator": op.name if op else None,
            "balance": ledger.balance(ledger.client_account(user)),
            "collateral": ledger.balance(ledger.operator_account(op)) if op else None}


@api.post("/account/deposit", response={200: AccountOut, 400: Error, 403: Error, 401: Error, 429: Error}, tags=["accounts"])
def deposit(request, body: DepositIn):
    """Draw credits from the faucet (only where the marketplace runs one: ZKMIPS_FAUCET)."""
    if not settings.FAUCET_CREDITS:
        raise Forbidden("this marketplace has no faucet; deposits come from its payment provider")
    if not 0 < body.amount <= settings.FAUCET_CREDITS:
        raise MarketError(f"the faucet gives 1 to {settings.FAUCET_CREDITS:,} credits at a time")
    services.faucet(request.user, body.amount, to_operator=body.to_collateral)
    return account(request)


# ---------------------------------------------------------------- programs


@api.post("/programs", response={201: ProgramOut, 400: Error, 413: Error, 401: Error, 429: Error}, tags=["programs"])
def upload_program(request, program: UploadedFile = File(...), input: UploadedFile = File(None),
                   private_input: UploadedFile = File(None), max_cycles: int = Form(limits.DEFAULT_MAX_CYCLES)):
    """Upload an ELF once: its image id, and a dry run (cycles, journal preview, price estimate)
    on the given inputs (empty by default)."""
    elf = _read(program, limits.MAX_ELF_BYTES, "program")
    public = _read(input, limits.MAX_PUBLIC_INPUT_BYTES, "public input") or b""
    private = _read(private_input, limits.MAX_PRIVATE_INPUT_BYTES, "private input") or b""
    if not 1 <= max_cycles <= limits.MAX_JOB_CYCLES:
        raise MarketError(f"max cycles must be between 1 and {limits.MAX_JOB_CYCLES:,}")
    prog = services.upload_program(request.user, elf, program.name or "program")
    run = services.dry_run(prog, public, private, max_cycles)
    return Status(201, {"image_id": prog.image_id, "name": prog.name, "size": prog.size, "entry": prog.entry,
                        "dry_run": _dry_run_out(run)})


@api.get("/programs/{image_id}", response={200: ProgramOut, 404: Error, 400: Error, 401: Error, 429: Error}, tags=["programs"])
def get_program(request, image_id: str):
    prog = services.get_program(image_id)
    return {"image_id": prog.image_id, "name": prog.name, "size": prog.size, "entry": prog.entry}


# ---------------------------------------------------------------- jobs (clients)


@api.post("/jobs", response={201: JobOut, 400: Error, 402: Error, 404: Error, 413: Error, 401: Error, 429: Error}, tags=["jobs"])
def submit_job(request, image_id: str = Form(None), program: UploadedFile = File(None),
               input: UploadedFile = File(None), private_input: UploadedFile = File(None),
               max_cycles: int = Form(limits.DEFAULT_MAX_CYCLES), price_min: Optional[int] = Form(None),
               price_max: Optional[int] = Form(None), ramp_seconds: int = Form(60),
               lock_timeout_seconds: int = Form(600), deadline_seconds: int = Form(3600),
               stake: Optional[int] = Form(None), settlement: Literal["local", "onchain", "optimistic"] = Form("local"),
               model: Optional[str] = Form(None)):
    """Post a job: name an uploaded program by ``image_id`` or upload it here. Its maximum
    price is escrowed from your balance (402 when it is too low). With ``model`` (a registered
    model's name) the job is a diagnosis: the private input is the ECG, the program the
    model's (by default), and the model's provider supplies the weights."""
    from marketplace.clinic import registry
    ml = registry.get_model(model) if model else None
    if program is None and not image_id and ml is not None:
        prog = ml.program
    else:
        prog = _named_program(request, program, image_id, "name a program by image_id or upload one")
    req = services.JobRequest(
        public_input=_read(input, limits.MAX_PUBLIC_INPUT_BYTES, "public input") or b"",
        private_input=_read(private_input, limits.MAX_PRIVATE_INPUT_BYTES, "private input"),
        max_cycles=max_cycles, price_min=price_min, price_max=price_max, ramp_seconds=ramp_seconds,
        lock_timeout_seconds=lock_timeout_seconds, deadline_seconds=deadline_seconds, stake=stake,
        settlement=settlement)
    job = services.submit_job(request.user, prog, req, model=ml)
    return Status(201, job_out(services.get_job(job.pk)))


@api.get("/jobs", response={200: list[JobOut], 400: Error, 401: Error, 429: Error}, tags=["jobs"])
def list_jobs(request, state: Optional[JobStateName] = None, limit: int = 50):
    """Your jobs, newest first."""
    jobs = Job.objects.filter(client=request.user).select_related("program", "operator")
    if state:
        jobs = jobs.filter(state=state)
    return [job_out(j) for j in jobs[:max(1, min(limit, 200))]]


@api.get("/jobs/{job_id}", response={200: JobOut, 403: Error, 404: Error, 400: Error, 401: Error, 429: Error}, tags=["jobs"])
def get_job(request, job_id: str):
    """One of your jobs (or one you hold, as an operator)."""
    job = services.get_job(job_id)
    op = getattr(request.user, "operator", None)
    if job.client_id != request.user.pk and not (op and job.operator_id == op.pk):
        raise Forbidden(f"job {job_id} is not yours")
    return job_out(job)


@api.get("/jobs/{job_id}/journal", response={200: None, 403: Error, 404: Error, 409: Error, 400: Error, 401: Error, 429: Error}, tags=["jobs"])
def job_journal(request, job_id: str):
    """The journal (what the program wrote to fd 1) of a paid job, as bytes."""
    job = _own_job(request, job_id)
    if job.journal is None:
        raise MarketError(f"job {job_id} is {job.state}: no verified journal yet", status=409)
    response = HttpResponse(bytes(job.journal), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="journal-{job.pk}.bin"'
    return response


@api.get("/jobs/{job_id}/receipt", response={200: None, 403: Error, 404: Error, 409: Error, 400: Error, 401: Error, 429: Error}, tags=["jobs"])
def job_receipt(request, job_id: str):
    """The verified receipt of a paid job (check it yourself: ``zkmips verify``)."""
    job = _own_job(request, job_id)
    attempt = job.attempts.filter(state="accepted").first()
    if attempt is None:
        raise MarketError(f"job {job_id} is {job.state}: no verified receipt yet", status=409)
    response = HttpResponse(bytes(attempt.receipt), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="receipt-{job.pk}.zkm"'
    return response


# ---------------------------------------------------------------- jobs (operators)


def _operator(request):
    return services.operator_of(request.user)


@api.get("/offers", response={200: list[OfferOut], 403: Error, 400: Error, 401: Error, 429: Error}, tags=["operators"])
def offers(request):
    """Open jobs with their current price (what the broker also announces)."""
    _operator(request)
    return services.open_offers()


@api.post("/jobs/{job_id}/lock", response={200: LockOut, 402: Error, 403: Error, 404: Error, 409: Error, 400: Error, 401: Error, 429: Error},
          tags=["operators"])
def lock(request, job_id: str, chain_address: str = Form("")):
    """Lock an open job at its current price, staking its stake from your collateral. A job
    settled on chain is locked on chain first (stake there); send the address that did."""
    attempt = services.lock_job(_operator(request), job_id, chain_address)
    job = attempt.job
    return {"job_id": str(job.pk), "price": attempt.price, "stake": attempt.stake,
            "lock_expires_at": job.lock_expires_at.isoformat()}


@api.get("/jobs/{job_id}/inputs", response={200: InputsOut, 403: Error, 404: Error, 409: Error, 400: Error, 401: Error, 429: Error},
         tags=["operators"])
def inputs(request, job_id: str):
    """The program and inputs (private input included) of a job you hold."""
    got = services.fetch_inputs(_operator(request), job_id)
    return {"image_id": got.image_id, "program_b64": base64.b64encode(got.elf).decode(),
            "input_b64": base64.b64encode(got.public_input).decode(),
            "private_input_b64": base64.b64encode(got.private_input).decode(), "max_cycles": got.max_cycles,
            "lock_expires_at": got.lock_expires_at, "model_commitment": got.model_commitment}


@api.post("/jobs/{job_id}/progress", response={204: None, 403: Error, 404: Error, 409: Error, 400: Error, 401: Error, 429: Error},
          tags=["operators"])
def progress(request, job_id: str, body: ProgressIn):
    """Say how far the proof is (shown to the client)."""
    services.report_progress(_operator(request), job_id, body.stage, body.done, body.total)
    return Status(204, None)


@api.post("/jobs/{job_id}/receipt", response={202: JobOut, 403: Error, 404: Error, 409: Error, 413: Error, 400: Error, 401: Error, 429: Error},
          tags=["operators"])
def upload_receipt(request, job_id: str, receipt: UploadedFile = File(...), transactions: str = Form("")):
    """Upload the receipt of a job you hold; it is verified before you are paid. For a job
    settled on chain, ``transactions`` is a JSON list of {"hash", "what"} of the transactions
    you sent for it (recorded once read back from the chain)."""
    import json
    data = _read(receipt, limits.MAX_RECEIPT_BYTES, "receipt")
    try:
        txs = json.loads(transactions) if transactions else []
    except ValueError:
        raise MarketError("transactions must be a JSON list of {hash, what}") from None
    if not isinstance(txs, list):
        raise MarketError("transactions must be a JSON list of {hash, what}")
    services.submit_receipt(_operator(request), job_id, data, txs)
    return Status(202, job_out(services.get_job(job_id)))


class TransactionIn(Schema):
    hash: str
    what: str = ""


@api.post("/jobs/{job_id}/transactions", response={200: dict, 403: Error, 404: Error, 400: Error, 401: Error, 429: Error},
          tags=["operators"])
def report_transactions(request, job_id: str, body: list[TransactionIn]):
    """Report more chain transactions of your attempt on a chain-settled job (e.g. a challenge
    you answered): the marketplace reads each back from the chain before showing it."""
    new = services.report_transactions(_operator(request), job_id, [t.dict() for t in body])
    return {"recorded": new}


# ---------------------------------------------------------------- the clinic's model registry


@api.post("/models", response={201: ModelOut, 400: Error, 403: Error, 404: Error, 409: Error, 413: Error, 401: Error, 429: Error},
          tags=["models"])
def register_model(request, name: str = Form(...), commitment: str = Form(...), image_id: str = Form(None),
                   program: UploadedFile = File(None), report: str = Form("{}"), classes: str = Form(""),
                   cycles: Optional[int] = Form(None)):
    """Register your ML model (operators only): its name, the SHA-256 of its weights (computed
    by you: the weights never come here), its classifier program (``image_id`` of an uploaded
    one, or the ELF), the accuracy report (JSON object), optionally the class names (JSON list)
    and the cycles of one inference (prices its jobs: the marketplace cannot dry-run without
    the weights)."""
    import json

    from marketplace.clinic import registry
    provider = _operator(request)
    prog = _named_program(request, program, image_id, "name the classifier by image_id or upload it",
                          "classifier")
    try:
        report_obj = json.loads(report or "{}")
        class_list = json.loads(classes) if classes else None
    except ValueError:
        raise MarketError("report must be a JSON object and classes a JSON list") from None
    if class_list is not None and not isinstance(class_list, list):
        raise MarketError("classes must be a JSON list of names")
    ml = registry.register_model(provider, name, commitment, prog, report_obj, class_list, cycles)
    return Status(201, registry.model_view(registry.get_model(ml.name)))


@api.get("/models", response={200: list[ModelOut], 400: Error, 401: Error, 429: Error}, tags=["models"])
def list_models(request):
    """Every registered model: provider, commitment, classifier, accuracy report."""
    from marketplace.clinic import registry
    return [registry.model_view(m) for m in registry.list_models()]


@api.get("/models/{name}", response={200: ModelOut, 404: Error, 400: Error, 401: Error, 429: Error}, tags=["models"])
def get_model(request, name: str):
    from marketplace.clinic import registry
    return registry.model_view(registry.get_model(name))


# ---------------------------------------------------------------- anyone


@api.post("/verify", auth=None, response={200: ClaimOut, 413: Error, 400: Error, 401: Error, 429: Error}, tags=["receipts"])
def verify(request, receipt: UploadedFile = File(...), image_id: str = Form(None)):
    """Verify any receipt: its claim if valid, the reason if not."""
    from prover.errors import VerificationError
    from prover.zkmips.verify import verify as verify_receipt
    data = _read(receipt, limits.MAX_RECEIPT_BYTES, "receipt")
    try:
        expected = bytes.fromhex(image_id) if image_id else None
    except ValueError:
        return {"valid": False, "reason": "image_id must be hex"}
    try:
        claim = verify_receipt(data, expected, allow_insecure=settings.ALLOW_INSECURE_RECEIPTS)
    except VerificationError as e:
        return {"valid": False, "reason": str(e)}
    return {"valid": True, "image_id": claim.image_id.hex(), "input_digest": claim.input_digest.hex(),
            "journal_hex": claim.journal.hex(), "exit_code": claim.exit_code, "cycles": claim.cycles}


@api.get("/market", auth=None, response={200: dict, 429: Error}, tags=["market"])
def market(request) -> dict:
    """Market figures: jobs by state, jobs per hour, prices and proving speed (what the charts draw)."""
    return stats.market_stats()
