"""The portal: server-rendered pages with htmx for the live parts (no single-page app).

Every view that changes something calls :mod:`marketplace.services` (the one source of truth
for jobs and money); views only parse forms, pick templates and turn a
:class:`~marketplace.errors.MarketError` into a one-line message on the page. Job pages show
what :func:`marketplace.api.job_out` says, so the portal and the API never disagree.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from marketplace import ledger, pricing, services, stats
from marketplace.api import job_out
from marketplace.errors import Forbidden, MarketError, NotFound
from marketplace.forms import FaucetForm, JobForm, SignupForm, TokenForm, VerifyForm
from marketplace.models import ApiToken, Attempt, Job, Operator, Program, Transfer
from marketplace.states import TERMINAL, JobState

#: The happy path a job walks, drawn as the pipeline on its page.
PIPELINE = [JobState.SUBMITTED, JobState.OPEN, JobState.LOCKED, JobState.PROVING, JobState.VERIFYING,
            JobState.PAID]
#: What the worker's progress stages (prover.zkmips.segment_receipt.prove_segmented) mean.
STAGE_LABELS = {"setup": "setting up the program", "execute": "executing and cutting segments",
                "commit": "committing segments", "memory": "proving memory", "prove": "proving segments",
                "encode": "writing the receipt"}
#: How much of a journal the pages show (the download link gives all of it).
PREVIEW_BYTES = 4096


# ---------------------------------------------------------------- helpers

def _htmx(request: HttpRequest) -> bool:
    """htmx asks for fragments; a plain browser (or a test) gets the whole page."""
    return request.headers.get("HX-Request") == "true"


def _preview(data: bytes | None) -> dict | None:
    """A journal's first bytes as text when they are UTF-8, else as hex."""
    if data is None:
        return None
    head = bytes(data[:PREVIEW_BYTES])
    try:
        text, is_text = head.decode("utf-8"), True
    except UnicodeDecodeError:
        text, is_text = head.hex(" "), False
    return {"text": text, "is_text": is_text, "size": len(data), "truncated": len(data) > PREVIEW_BYTES}


def _operator(user) -> Operator | None:
    if not user.is_authenticated:
        return None
    try:
        return services.operator_of(user)
    except Forbidden:
        return None


def _own_job(request: HttpRequest, job_id: UUID) -> Job:
    """The job if it is the requester's: 404 when there is no such job, 403 when it is someone else's."""
    try:
        return services.client_job(request.user, job_id)
    except NotFound as e:
        raise Http404(str(e)) from None
    except Forbidden as e:
        raise PermissionDenied(str(e)) from None


def _download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _known_programs(user) -> list[Program]:
    """Programs the user uploaded or ran, offered by image id in the submit form."""
    return list(Program.objects.filter(uploaded_by=user).order_by("-created")[:50]) + list(
        Program.objects.filter(jobs__client=user).exclude(uploaded_by=user).distinct().order_by("-created")[:50])


def _program(user, form: JobForm) -> Program:
    """The form's program: the uploaded ELF (stored once per image id) or the one named by image id."""
    elf = form.cleaned_data.get("elf")
    if elf is not None:
        program = services.upload_program(user, elf, form.program_name())
        wanted = form.cleaned_data.get("image_id")
        if wanted and wanted != program.image_id:
            raise MarketError("the uploaded program's image id differs from the image id given")
        return program
    return services.get_program(form.cleaned_data["image_id"])


# ---------------------------------------------------------------- the market

def market(request: HttpRequest) -> HttpResponse:
    """Anyone: what the market is doing (the charts draw stats.market_stats())."""
    figures = stats.market_stats()
    by_state = [(state, figures["jobs_by_state"][state.value]) for state in JobState]
    return render(request, "marketplace/market.html", {
        "stats": figures, "by_state": by_state, "total_jobs": sum(n for _, n in by_state),
        "paid_24h": sum(figures["jobs_paid_per_hour"])})


# ---------------------------------------------------------------- accounts

@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Open an account through services.register (which also runs the faucet), then log in."""
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = services.register(d["username"], d["password"], operator=d["operator"])
        except MarketError as e:
            form.add_error(None, str(e))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {user.username}.")
            return redirect("operator" if d["operator"] else settings.LOGIN_REDIRECT_URL)
    return render(request, "marketplace/signup.html", {"form": form}, status=400 if form.errors else 200)


def _account_page(request: HttpRequest, *, new_token: str | None = None, token_form: TokenForm | None = None,
                  faucet_form: FaucetForm | None = None, status: int = 200) -> HttpResponse:
    user = request.user
    op = _operator(user)
    faucet = settings.FAUCET_CREDITS
    return render(request, "marketplace/account.html", {
        "balance": ledger.balance(ledger.client_account(user)),
        "operator": op, "collateral": ledger.balance(ledger.operator_account(op)) if op else None,
        "tokens": user.tokens.order_by("-created"), "new_token": new_token,
        "token_form": token_form or TokenForm(),
        "faucet_credits": faucet,
        "faucet_form": faucet_form or (FaucetForm(limit=faucet, operator=op is not None) if faucet else None),
    }, status=status)


@login_required
def account(request: HttpRequest) -> HttpResponse:
    """Balances, API tokens and (where the market runs one) the faucet."""
    return _account_page(request)


@login_required
@require_POST
def issue_token(request: HttpRequest) -> HttpResponse:
    """A new API token, shown in this one response and never again (only its digest is kept)."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _account_page(request, token_form=form, status=400)
    _, token = ApiToken.issue(request.user, form.cleaned_data["label"] or "portal")
    return _account_page(request, new_token=token)


@login_required
@require_POST
def faucet(request: HttpRequest) -> HttpResponse:
    """Draw credits through services.faucet (only where settings.FAUCET_CREDITS > 0)."""
    if not settings.FAUCET_CREDITS:
        raise PermissionDenied("this marketplace has no faucet")
    op = _operator(request.user)
    form = FaucetForm(request.POST, limit=settings.FAUCET_CREDITS, operator=op is not None)
    if not form.is_valid():
        return _account_page(request, faucet_form=form, status=400)
    to_operator = bool(form.cleaned_data.get("to_operator"))
    try:
        services.faucet(request.user, form.cleaned_data["amount"], to_operator=to_operator)
    except MarketError as e:
        form.add_error(None, str(e))
        return _account_page(request, faucet_form=form, status=e.status)
    messages.success(request, f"{form.cleaned_data['amount']:,} credits added to your "
                              f"{'collateral' if to_operator else 'balance'}.")
    return redirect("account")


# ---------------------------------------------------------------- jobs

def _jobs_page(request: HttpRequest, form: JobForm, *, error: str | None = None, status: int = 200) -> HttpResponse:
    return render(request, "marketplace/jobs.html", {
        "form": form, "error": error, "programs": _known_programs(request.user),
        "jobs": _jobs_table(request.user), "balance": ledger.balance(ledger.client_account(request.user)),
    }, status=status)


def _jobs_table(user) -> dict:
    jobs = list(Job.objects.filter(client=user).select_related("program", "operator")[:100])
    terminal = {s.value for s in TERMINAL}
    return {"rows": jobs, "live": any(j.state not in terminal for j in jobs)}


@login_required
@require_http_methods(["GET", "POST"])
def jobs(request: HttpRequest) -> HttpResponse:
    """The user's jobs and the submit form. A submission goes through services.submit_job;
    its error comes back as one line on the form with every field kept (under htmx the
    browser keeps even the chosen files; without it the uploaded program is kept by image id)."""
    if request.method == "GET":
        return _jobs_page(request, JobForm())
    form = JobForm(request.POST, request.FILES)
    program = None
    error = None
    if form.is_valid():
        try:
            program = _program(request.user, form)
            job = services.submit_job(request.user, program, form.job_request())
        except MarketError as e:
            error = str(e)
            status = e.status
        else:
            url = reverse("job", args=[job.pk])
            if _htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    else:
        status = 400
    if _htmx(request):           # only the messages: the form in the browser stays as it was
        return render(request, "marketplace/partials/form_errors.html", {"form": form, "error": error})
    if program is not None:      # a re-rendered form cannot keep a file: keep the program by image id
        data = request.POST.copy()
        data["image_id"] = program.image_id
        kept = JobForm(data)
        kept.is_valid()
        form = kept
    dropped = [request.FILES[f].name for f in ("public_input_file", "private_input_file") if f in request.FILES]
    if error and dropped:
        error += f" (choose {', '.join(dropped)} again)"
    return _jobs_page(request, form, error=error, status=status)


@login_required
def jobs_table(request: HttpRequest) -> HttpResponse:
    """The jobs table alone, polled by htmx while some job is still moving."""
    return render(request, "marketplace/partials/jobs_table.html", {"jobs": _jobs_table(request.user)})


@login_required
@require_POST
def dry_run(request: HttpRequest) -> HttpResponse:
    """Run the program on the form's inputs without proving or paying (htmx fragment): image id,
    cycles, exit code, journal preview and the price estimate the job would get."""
    form = JobForm(request.POST, request.FILES)
    context: dict = {"form": form}
    if form.is_valid():
        d = form.cleaned_data
        try:
            program = _program(request.user, form)
            run = services.dry_run(program, d["public_input"], d["private_input"] or b"", d["max_cycles"])
        except MarketError as e:
            context["error"] = str(e)
        else:
            context.update(program=program, run=run, journal=_preview(run.journal),
                           estimate=pricing.estimate(run.cycles), estimates=_estimate_rows(run.cycles))
    return render(request, "marketplace/partials/dry_run.html", context)


def _estimate_rows(cycles: int) -> list[dict]:
    """The price range of each offered settlement mode, and what it adds to local's."""
    by_mode = services.estimates(cycles)
    local = by_mode["local"]["price_max"]
    return [{"mode": mode, **e, "extra": e["price_max"] - local} for mode, e in by_mode.items()]


def _job_context(job: Job) -> dict:
    """What the job page draws: the API's view of the job plus the pipeline and timeline."""
    view = job_out(job)
    reached = {e["to"] for e in view["events"]}
    state = JobState(view["state"])
    on_path = state in PIPELINE
    pipeline = []
    for i, step in enumerate(PIPELINE):
        if step == state:
            status = "current"
        elif (on_path and i < PIPELINE.index(state)) or (not on_path and step.value in reached):
            status = "done"
        else:
            status = "todo"
        pipeline.append({"name": step.value, "status": status})
    progress = view["progress"]
    if progress and progress["stage"]:
        total = progress["total"]
        label = STAGE_LABELS.get(progress["stage"], progress["stage"])
        per_segment = progress["stage"] in ("commit", "prove") and total
        progress = {**progress, "text": f"{label}: {progress['done']}/{total} segments" if per_segment else label,
                    "percent": round(100 * progress["done"] / total) if total else None}
    else:
        progress = None
    events = [{**e, "at": datetime.fromisoformat(e["at"])} for e in view["events"]]
    journal = bytes.fromhex(view["journal_hex"]) if view["journal_hex"] is not None else None
    return {
        "job": view, "state": state, "terminal": state in TERMINAL, "off_path": not on_path,
        "pipeline": pipeline, "progress": progress, "events": events, "journal": _preview(journal),
        "created": datetime.fromisoformat(view["created"]), "deadline": datetime.fromisoformat(view["deadline"]),
        "has_receipt": job.attempts.filter(state=Attempt.ACCEPTED).exists(),
        "auction": state in (JobState.SUBMITTED, JobState.OPEN),
        "chain_gas": sum(t["gas_used"] for t in view["chain_txs"]),
        "chain_max_gas": max((t["gas_used"] for t in view["chain_txs"]), default=1),
    }


@login_required
def job(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """One of the user's jobs; its live part polls job_live every second until the job ends."""
    return render(request, "marketplace/job.html", _job_context(_own_job(request, job_id)))


@login_required
def job_live(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The live part of the job page (htmx polls it; it stops polling itself once terminal)."""
    return render(request, "marketplace/partials/job_live.html", _job_context(_own_job(request, job_id)))


@login_required
def job_journal(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The verified journal of a paid job, only for its client."""
    job = _own_job(request, job_id)
    if job.journal is None:
        raise Http404(f"job {job_id} is {job.state}: no verified journal yet")
    return _download(bytes(job.journal), f"journal-{job.pk}.bin")


@login_required
def job_receipt(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """The verified receipt of a paid job, only for its client (check it on the verify page)."""
    job = _own_job(request, job_id)
    attempt = job.attempts.filter(state=Attempt.ACCEPTED).first()
    if attempt is None:
        raise Http404(f"job {job_id} is {job.state}: no verified receipt yet")
    return _download(bytes(attempt.receipt), f"receipt-{job.pk}.zkm")


# ---------------------------------------------------------------- receipts

@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Anyone: check a receipt (and optionally its image id) with the marketplace's verifier."""
    from prover.errors import VerificationError
    from prover.zkmips.verify import verify as verify_receipt
    form = VerifyForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            claim = verify_receipt(form.cleaned_data["receipt"], form.cleaned_data["image_id"],
                                   allow_insecure=settings.ALLOW_INSECURE_RECEIPTS)
        except VerificationError as e:
            result = {"valid": False, "reason": str(e)}
        else:
            result = {"valid": True, "image_id": claim.image_id.hex(), "input_digest": claim.input_digest.hex(),
                      "journal": _preview(claim.journal), "exit_code": claim.exit_code, "cycles": claim.cycles}
    template = "marketplace/partials/verify_result.html" if _htmx(request) else "marketplace/verify.html"
    status = 400 if form.errors and not _htmx(request) else 200
    return render(request, template, {"form": form, "result": result}, status=status)


# ---------------------------------------------------------------- operators

@login_required
def operator(request: HttpRequest) -> HttpResponse:
    """An operator's dashboard: its record, its attempts, its earnings and how to start a worker."""
    op = _operator(request.user)
    if op is None:
        return render(request, "marketplace/not_operator.html", status=403)
    figures = stats.operator_stats(op)
    first = op.attempts.order_by("locked_at").values_list("locked_at", flat=True).first()
    earned, points = 0, ([{"at": first.isoformat(), "earned": 0}] if first else [])
    for at, amount in Transfer.objects.filter(destination=ledger.operator_account(op),
                                              kind__in=[Transfer.PAYOUT, Transfer.BOUNTY]) \
            .order_by("at").values_list("at", "amount")[:1000]:
        earned += amount
        points.append({"at": at.isoformat(), "earned": earned})
    return render(request, "marketplace/operator.html", {
        "operator": op, "stats": figures, "earnings": points,
        "attempts": op.attempts.select_related("job", "job__program")[:100],
        "market_url": request.build_absolute_uri("/").rstrip("/"),
    })
