"""The clinic on the marketplace's side: the model registry over the API, clinic jobs that
only the model's provider can lock (other workers refuse their offers), settlement that
checks the journal against the registry and the job's ECG, the doctor's checks, and what a
receipt does not reveal. Receipts are real (default preset), proven once (clinic_fixtures)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from marketplace import services
from marketplace.clinic import ecg_format
from marketplace.clinic.check import check_diagnosis
from marketplace.errors import Forbidden, MarketError
from marketplace.models import ApiToken, Attempt, Job
from tests.clinic.clinic_fixtures import (MODEL_NAME, diagnosis_receipt, ecg_elf, model, report, sample,  # noqa: F401
                                          swapped_weights, weights)
from tests.conftest import guest
from tests.marketplace.conftest import market  # noqa: F401


def _api(user=None) -> Client:
    if user is None:
        return Client()
    _, token = ApiToken.issue(user)
    return Client(headers={"Authorization": f"Bearer {token}"})


def _clinic_job(market, model, ecg: bytes) -> Job:
    req = services.JobRequest(private_input=ecg, price_min=100, price_max=1000, ramp_seconds=0)
    job = services.submit_job(market.client, model.program, req, model=model)
    assert services.publish_offer(job.pk)
    job.refresh_from_db()
    return job


def _settle(market, job: Job, receipt: bytes) -> Attempt:
    attempt = services.lock_job(market.operator, job.pk)
    got = services.fetch_inputs(market.operator, job.pk)
    assert got.private_input == bytes(job_ecg(job)) and got.model_commitment == job.model.commitment
    services.submit_receipt(market.operator, job.pk, receipt)
    services.settle(attempt.pk)
    return Attempt.objects.get(pk=attempt.pk)


def job_ecg(job: Job) -> bytes:
    return services._fernet().decrypt(bytes(job.private_input_encrypted))


# ---------------------------------------------------------------- registry

def test_the_registry_over_the_api(market):
    provider, clinic = _api(market.op_user), _api(market.client)
    commitment = ecg_format.weights_commitment(weights()).hex()
    fields = {"name": MODEL_NAME, "commitment": commitment, "report": json.dumps(report())}
    r = provider.post("/api/models", {**fields, "program": SimpleUploadedFile("ecg-O2.elf", ecg_elf())})
    assert r.status_code == 201, r.content
    got = r.json()
    assert got["name"] == MODEL_NAME and got["provider"] == "prover1" and got["commitment"] == commitment
    assert got["classes"] == list(ecg_format.CLASSES) and got["report"] == report()
    assert clinic.get("/api/models").json() == [got]
    assert clinic.get(f"/api/models/{MODEL_NAME}").json() == got
    assert clinic.get("/api/models/nope").status_code == 404
    assert Client().get("/api/models").status_code == 401
    # only operators register; names are unique; a commitment is 64 hex digits; a program must exist
    assert clinic.post("/api/models", {**fields, "name": "x", "image_id": got["image_id"]}).status_code == 403
    assert provider.post("/api/models", {**fields, "image_id": got["image_id"]}).status_code == 409
    bad = provider.post("/api/models", {**fields, "name": "y", "commitment": "abc", "image_id": got["image_id"]})
    assert bad.status_code == 400 and "64 hex digits" in bad.json()["detail"]
    assert provider.post("/api/models", {**fields, "name": "z", "image_id": "0" * 64}).status_code == 404


def test_a_diagnosis_job_over_the_api(market, model):
    clinic, other = _api(market.client), _api(_operator("prover2"))
    r = clinic.post("/api/jobs", {"model": MODEL_NAME, "private_input": SimpleUploadedFile("a.ecg", b"\0" * 10),
                                  "price_min": "100", "price_max": "1000"})
    assert r.status_code == 400 and "not an ECG" in r.json()["detail"]
    r = clinic.post("/api/jobs", {"model": MODEL_NAME, "private_input": SimpleUploadedFile("a.ecg", sample(0)),
                                  "price_min": "100", "price_max": "1000", "ramp_seconds": "0"})
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["model"] == {"name": MODEL_NAME, "commitment": model.commitment}
    assert job["image_id"] == model.program.image_id
    assert services.publish_offer(job["id"])            # (on commit, outside a test's transaction)
    offer = next(o for o in _api(market.op_user).get("/api/offers").json() if o["job_id"] == job["id"])
    assert offer["model"] == job["model"]
    # another operator cannot lock it: it does not hold the weights
    r = other.post(f"/api/jobs/{job['id']}/lock", data="{}", content_type="application/json")
    assert r.status_code == 403 and "provider" in r.json()["detail"]
    # another program than the model's is refused
    hello = services.upload_program(market.client, guest("hello").read_bytes(), "hello")
    with pytest.raises(MarketError, match="runs program"):
        services.submit_job(market.client, hello, services.JobRequest(private_input=sample(0)), model=model)


def _operator(name: str):
    user = services.register(name, "password-" + name, operator=True)
    services.faucet(user, 1_000_000, to_operator=True)
    return user


def test_only_the_provider_locks_and_it_gets_the_ecg_not_the_weights(market, model):
    job = _clinic_job(market, model, sample(0))
    assert job.expected_cycles > 0 and job.state == "open"
    other = _operator("prover2").operator
    with pytest.raises(Forbidden, match="only prover1, the provider of model ecg-test"):
        services.lock_job(other, job.pk)
    services.lock_job(market.operator, job.pk)
    got = services.fetch_inputs(market.operator, job.pk)
    assert got.private_input == sample(0) and got.model_commitment == model.commitment


class _FakeClient:
    def account(self) -> dict:
        return {"operator": "prover2", "collateral": 10**6}


def test_workers_without_the_weights_refuse_the_offer(market, model):
    from worker.market_worker import MarketWorker
    offer = {**services.offer_of(_clinic_job(market, model, sample(0))), "price": 1000}
    assert "does not hold" in MarketWorker(_FakeClient()).acceptable(offer)
    holder = MarketWorker(_FakeClient(), models={model.commitment: weights()})
    assert holder.acceptable(offer) is None
    assert "does not hold" in MarketWorker(_FakeClient(), models={
        ecg_format.weights_commitment(swapped_weights()).hex(): swapped_weights()}).acceptable(offer)


# ---------------------------------------------------------------- settlement

def test_an_honest_diagnosis_settles_and_pays(market, model):
    job = _clinic_job(market, model, sample(0))
    attempt = _settle(market, job, diagnosis_receipt(weights(), sample(0)))
    assert attempt.state == Attempt.ACCEPTED, attempt.reason
    job.refresh_from_db()
    assert job.state == "paid"
    assert ecg_format.decode_journal(bytes(job.journal)) == ecg_format.infer(weights(), sample(0))


def test_settlement_rejects_a_diagnosis_by_other_weights(market, model):
    job = _clinic_job(market, model, sample(0))
    attempt = _settle(market, job, diagnosis_receipt(swapped_weights(), sample(0)))
    assert attempt.state == Attempt.REJECTED
    assert attempt.reason.startswith("the receipt claims another model commitment")
    job.refresh_from_db()
    assert job.state == "open" and job.rejections == 1


def test_settlement_rejects_a_diagnosis_of_another_ecg(market, model):
    job = _clinic_job(market, model, sample(1))
    attempt = _settle(market, job, diagnosis_receipt(weights(), sample(0)))
    assert attempt.state == Attempt.REJECTED
    assert attempt.reason == "the receipt claims another ECG (its digest differs from the job's ECG)"


# ---------------------------------------------------------------- the doctor's check

def _answers(result) -> dict[str, bool]:
    return {c.key: c.ok for c in result.checks}


def test_the_doctors_check(market, model):
    honest = diagnosis_receipt(weights(), sample(0))
    result = check_diagnosis(honest, sample(0), model)
    assert _answers(result) == {"receipt": True, "program": True, "commitment": True, "ecg": True} and result.ok
    assert result.diagnosis == ecg_format.infer(weights(), sample(0))
    # swapped weights: a valid proof, but of another model
    swapped = check_diagnosis(diagnosis_receipt(swapped_weights(), sample(0)), sample(0), model)
    assert _answers(swapped) == {"receipt": True, "program": True, "commitment": False, "ecg": True}
    # another ECG than the one diagnosed
    assert _answers(check_diagnosis(honest, sample(1), model))["ecg"] is False
    # a tampered diagnosis: one byte of the journal (a score) changed in the receipt
    journal = ecg_format.encode_journal(result.diagnosis)
    at = honest.find(journal)
    assert at > 0 and honest.count(journal) == 1
    tampered = bytearray(honest)
    tampered[at + len(journal) - 4] ^= 1
    bad = check_diagnosis(bytes(tampered), sample(0), model)
    assert not bad.ok and all(ok is False for ok in _answers(bad).values())
    assert bad.checks[0].detail.startswith("invalid receipt")
    assert not check_diagnosis(b"garbage", sample(0), model).ok


def _shares_a_window(secret: bytes, data: bytes, width: int = 16) -> bool:
    """Whether any ``width``-byte window of ``secret`` occurs in ``data`` (candidates by their
    first 8 bytes with numpy, then compared in full)."""
    heads = {secret[i:i + 8]: [] for i in range(len(secret) - width + 1)}
    for i in range(len(secret) - width + 1):
        heads[secret[i:i + 8]].append(secret[i:i + width])
    wanted = np.array([int.from_bytes(h, "little") for h in heads], dtype=np.uint64)
    for offset in range(8):
        n = (len(data) - offset) // 8
        words = np.frombuffer(data, dtype="<u8", count=n, offset=offset)
        for k in np.nonzero(np.isin(words, wanted))[0]:
            pos = offset + 8 * int(k)
            if data[pos:pos + width] in heads.get(data[pos:pos + 8], ()):
                return True
    return False


def test_the_receipt_reveals_neither_the_weights_nor_the_ecg():
    receipt = diagnosis_receipt(weights(), sample(0))
    assert _shares_a_window(b"x" * 8 + sample(0)[:40], b"..." + sample(0)[:40])  # the search finds what is there
    assert not _shares_a_window(weights(), receipt), "16 bytes of the weights appear in the receipt"
    assert not _shares_a_window(sample(0), receipt), "16 bytes of the ECG appear in the receipt"


def test_the_clinic_pages_submit_and_check(market, model):
    page = Client()
    page.force_login(market.client)
    html = page.get("/clinic/").content.decode()
    assert model.commitment in html and model.program.image_id in html and 'id="model-ecg-test"' in html
    r = page.post("/clinic/", {"model": MODEL_NAME})
    assert r.status_code == 400 and "upload an ECG file or pick a sample ECG" in r.content.decode()
    r = page.post("/clinic/", {"model": MODEL_NAME, "ecg": SimpleUploadedFile("a.ecg", b"123")})
    assert r.status_code == 400 and "the private input is not an ECG" in r.content.decode()
    r = page.post("/clinic/", {"model": MODEL_NAME, "ecg": SimpleUploadedFile("a.ecg", sample(0))})
    assert r.status_code == 302
    job = Job.objects.get()
    assert job.model == model and job_ecg(job) == sample(0)
    assert 'id="job-live"' in page.get(r["Location"]).content.decode()
    # the check page: a receipt that is not one says no everywhere
    r = page.post("/clinic/check/", {"model": MODEL_NAME, "receipt": SimpleUploadedFile("r.zkm", b"junk"),
                                     "ecg": SimpleUploadedFile("e.ecg", sample(0))})
    assert r.status_code == 200
    assert r.content.decode().count('<tr id="check-') == 4 and 'data-ok="yes"' not in r.content.decode()
