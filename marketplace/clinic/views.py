"""The clinic in the portal (/clinic/): pick a registered model, upload an ECG (or a sample),
watch the job, then read the diagnosis with its verification panel; and the doctor's
standalone check of a receipt + ECG + model. The checks are marketplace.clinic.check's,
the same ones settlement and the tests run."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from marketplace import limits, pricing, services
from marketplace.clinic import registry
from marketplace.errors import MarketError
from marketplace.forms import read_upload
from marketplace.models import Attempt, Job, MLModel
from marketplace.views import _job_context, _own_job

#: The sample ECGs offered on the clinic's page (written by the ECG guest's author).
SAMPLES_DIR = Path(settings.BASE_DIR) / "guests" / "ecg" / "samples"


def samples() -> list[str]:
    return sorted(p.name for p in SAMPLES_DIR.glob("*.ecg")) if SAMPLES_DIR.is_dir() else []


def _model_choices() -> list[tuple[str, str]]:
    return [(m.name, f"{m.name} (by {m.provider.name})") for m in registry.list_models()]


class DiagnoseForm(forms.Form):
    model = forms.ChoiceField(label="Model")
    ecg = forms.FileField(required=False, label="ECG file (.ecg: 1000 samples, int16 µV, 100 Hz)")
    sample = forms.ChoiceField(required=False, label="or a sample ECG")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = _model_choices()
        self.fields["sample"].choices = [("", "—")] + [(s, s) for s in samples()]

    def clean(self) -> dict:
        data = super().clean()
        upload, sample = data.get("ecg"), data.get("sample")
        if bool(upload) == bool(sample):
            raise forms.ValidationError("upload an ECG file or pick a sample ECG (one of them)")
        data["ecg_bytes"] = read_upload(upload, limits.MAX_PRIVATE_INPUT_BYTES, "ECG") if upload else \
            (SAMPLES_DIR / sample).read_bytes()
        return data


class CheckForm(forms.Form):
    model = forms.ChoiceField(label="Model")
    receipt = forms.FileField(label="Receipt (from the diagnosis page)")
    ecg = forms.FileField(label="ECG file")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = _model_choices()

    def clean(self) -> dict:
        data = super().clean()
        if not self.errors:
            data["receipt_bytes"] = read_upload(data["receipt"], limits.MAX_RECEIPT_BYTES, "receipt")
            data["ecg_bytes"] = read_upload(data["ecg"], limits.MAX_PRIVATE_INPUT_BYTES, "ECG")
        return data


def _model_card(model: MLModel) -> dict:
    """A model as the clinic's page shows it: its registry entry, report and price estimate."""
    report = [(k, v if isinstance(v, (str, int, float, bool)) or v is None else _compact(v))
              for k, v in (model.report or {}).items()]
    return {**registry.model_view(model), "report_rows": report,
            "estimate": pricing.estimate(model.cycles) if model.cycles else None}


def _compact(value) -> str:
    import json
    text = json.dumps(value, separators=(", ", ": "))
    return text if len(text) <= 400 else text[:400] + "…"


@login_required
@require_http_methods(["GET", "POST"])
def clinic(request: HttpRequest) -> HttpResponse:
    """Pick a model and an ECG: the job is posted (local settlement, the estimated price) and
    the diagnosis page follows it."""
    form = DiagnoseForm(request.POST or None, request.FILES or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            model = registry.get_model(form.cleaned_data["model"])
            job = services.submit_job(request.user, model.program,
                                      services.JobRequest(private_input=form.cleaned_data["ecg_bytes"]), model=model)
        except MarketError as e:
            error = str(e)
        else:
            return redirect("clinic_diagnosis", job_id=job.pk)
    models = [_model_card(m) for m in registry.list_models()]
    status = 400 if (form.errors or error) else 200
    return render(request, "clinic/clinic.html", {"form": form, "error": error, "models": models,
                                                  "samples": samples()}, status=status)


def _diagnosis_context(check, ecg: bytes, model: MLModel) -> dict:
    """What the diagnosis partial draws: the ECG, the scores, the predicted class, the checks."""
    from marketplace.clinic import ecg_format
    try:
        trace = [int(v) for v in ecg_format.decode_ecg(ecg)]
    except ecg_format.FormatError:
        trace = None
    d = check.diagnosis
    chart = None
    if d is not None:
        names = list(model.classes)
        labels = [names[i] if i < len(names) else f"class {i}" for i in range(len(d.scores))]
        chart = {"ecg": trace, "rate": ecg_format.ECG_RATE_HZ, "classes": labels, "scores": list(d.scores),
                 "predicted": d.predicted}
        predicted = labels[d.predicted] if d.predicted < len(labels) else f"class {d.predicted}"
    return {"check": check, "diagnosis": d, "chart": chart, "ecg_trace": trace,
            "predicted": predicted if d is not None else None,
            "journal_ecg_digest": d.ecg_digest.hex() if d is not None else "",
            "model": model}


def _check_job(job: Job) -> dict | None:
    """The panel of a paid clinic job: its accepted receipt against its stored ECG and model."""
    from marketplace.clinic.check import check_diagnosis
    attempt = job.attempts.filter(state=Attempt.ACCEPTED).first()
    if attempt is None or job.model_id is None:
        return None
    ecg = services._fernet().decrypt(bytes(job.private_input_encrypted))
    check = check_diagnosis(bytes(attempt.receipt), ecg, job.model, allow_insecure=settings.ALLOW_INSECURE_RECEIPTS)
    return _diagnosis_context(check, ecg, job.model)


@login_required
def diagnosis(request: HttpRequest, job_id: UUID) -> HttpResponse:
    """A clinic job: its live state (the job page's htmx partial) until it ends, then the
    diagnosis, the drawn ECG and scores, and the verification panel."""
    job = _own_job(request, job_id)
    if job.model_id is None:
        raise Http404(f"job {job_id} is not a diagnosis")
    context = _job_context(job)
    context["model"] = job.model
    if job.state == "paid":
        context.update(_check_job(job) or {})
    return render(request, "clinic/diagnosis.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def check(request: HttpRequest) -> HttpResponse:
    """The doctor's independent check: a receipt, an ECG and a registered model -> the panel."""
    from marketplace.clinic.check import check_diagnosis
    form = CheckForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            model = registry.get_model(form.cleaned_data["model"])
        except MarketError as e:
            form.add_error(None, str(e))
        else:
            result = check_diagnosis(form.cleaned_data["receipt_bytes"], form.cleaned_data["ecg_bytes"], model,
                                     allow_insecure=settings.ALLOW_INSECURE_RECEIPTS)
            context.update(_diagnosis_context(result, form.cleaned_data["ecg_bytes"], model))
    return render(request, "clinic/check.html", context, status=400 if form.errors else 200)
