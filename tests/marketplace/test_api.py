"""The JSON API through Django's test client: auth, ownership, errors, limits, the worker's calls."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from marketplace import limits, services
from marketplace.models import ApiToken
from tests.marketplace.conftest import HELLO_INPUT, real_receipt


def _client(user=None) -> Client:
    if user is None:
        return Client()
    _, token = ApiToken.issue(user)
    return Client(headers={"Authorization": f"Bearer {token}"})


def _submit(api: Client, elf: bytes, **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile
    data = {"program": SimpleUploadedFile("hello-O2.elf", elf), "input": SimpleUploadedFile("in", HELLO_INPUT),
            "price_min": "100", "price_max": "1000", "ramp_seconds": "0", **fields}
    return api.post("/api/jobs", data)


def test_register_gives_a_token_that_authenticates(db, settings):
    settings.FAUCET_CREDITS = 5000
    r = Client().post("/api/register", {"username": "bob", "password": "password-bob"},
                      content_type="application/json")
    assert r.status_code == 201, r.content
    token = r.json()["token"]
    me = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/account")
    assert me.json() == {"username": "bob", "operator": None, "balance": 5000, "collateral": None}
    assert ApiToken.objects.get().digest != token                  # only the digest is kept


def test_no_token_or_a_wrong_one_is_401(db):
    assert Client().get("/api/jobs").status_code == 401
    assert Client(headers={"Authorization": "Bearer zkm_wrong"}).get("/api/jobs").status_code == 401


def test_submit_status_and_the_client_only_sees_its_own_jobs(market, elf):
    api = _client(market.client)
    r = _submit(api, elf)
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["state"] in ("submitted", "open") and job["expected_cycles"] > 0
    assert api.get(f"/api/jobs/{job['id']}").json()["id"] == job["id"]
    stranger = _client(services.register("eve", "password-eve"))
    assert stranger.get(f"/api/jobs/{job['id']}").status_code == 403
    assert stranger.get(f"/api/jobs/{job['id']}/journal").status_code == 403
    assert api.get(f"/api/jobs/{job['id']}/journal").json()["detail"].endswith("no verified journal yet")
    assert api.get("/api/jobs/not-a-uuid").status_code == 404


def test_errors_are_one_line_with_a_fitting_status(market, elf):
    api = _client(market.client)
    r = _submit(api, b"not an elf")
    assert r.status_code == 400 and r.json()["detail"].startswith("not a runnable MIPS program")
    r = _submit(api, elf, price_max="5000000")
    assert r.status_code == 402 and "insufficient balance" in r.json()["detail"]
    r = _submit(api, elf, max_cycles="500")
    assert r.status_code == 400 and "did not halt within 500 cycles" in r.json()["detail"]


def test_oversized_uploads_are_refused(market, elf, monkeypatch):
    monkeypatch.setattr(limits, "MAX_PUBLIC_INPUT_BYTES", 10)
    r = _submit(_client(market.client), elf)
    assert r.status_code == 413 and "the limit is 10" in r.json()["detail"]


def test_program_upload_returns_image_id_and_dry_run(market, elf):
    from django.core.files.uploadedfile import SimpleUploadedFile
    r = _client(market.client).post("/api/programs", {"program": SimpleUploadedFile("h.elf", elf),
                                                      "input": SimpleUploadedFile("in", HELLO_INPUT)})
    assert r.status_code == 201, r.content
    body = r.json()
    assert len(body["image_id"]) == 64 and body["dry_run"]["cycles"] > 0
    assert body["dry_run"]["journal_preview"].startswith("Hello")
    assert body["dry_run"]["price_max"] >= body["dry_run"]["price_min"] > 0


def test_the_worker_side_over_the_api(market, elf):
    api = _client(market.client)
    job_id = _submit(api, elf).json()["id"]
    services.publish_offer(job_id)
    worker = _client(market.operator.user)
    assert any(o["job_id"] == job_id for o in worker.get("/api/offers").json())
    assert api.get("/api/offers").status_code == 403                     # clients are not operators
    assert worker.get(f"/api/jobs/{job_id}/inputs").status_code == 403  # not locked yet
    lock = worker.post(f"/api/jobs/{job_id}/lock")
    assert lock.status_code == 200 and lock.json()["price"] == 1000
    assert worker.post(f"/api/jobs/{job_id}/lock").status_code == 409
    got = worker.get(f"/api/jobs/{job_id}/inputs").json()
    assert base64.b64decode(got["input_b64"]) == HELLO_INPUT and base64.b64decode(got["program_b64"]) == elf
    assert worker.post(f"/api/jobs/{job_id}/progress", {"stage": "prove", "done": 1, "total": 1},
                       content_type="application/json").status_code == 204
    assert api.get(f"/api/jobs/{job_id}").json()["progress"] == {"stage": "prove", "done": 1, "total": 1}
    from django.core.files.uploadedfile import SimpleUploadedFile
    r = worker.post(f"/api/jobs/{job_id}/receipt", {"receipt": SimpleUploadedFile("r", real_receipt())})
    assert r.status_code == 202 and r.json()["state"] == "verifying"


def test_verify_endpoint_checks_any_receipt(db):
    from django.core.files.uploadedfile import SimpleUploadedFile
    good = Client().post("/api/verify", {"receipt": SimpleUploadedFile("r", real_receipt())}).json()
    assert good["valid"] and bytes.fromhex(good["journal_hex"]).startswith(b"Hello")
    bad = bytearray(real_receipt())
    bad[-100] ^= 4
    r = Client().post("/api/verify", {"receipt": SimpleUploadedFile("r", bytes(bad))}).json()
    assert r["valid"] is False and r["reason"]


def test_openapi_schema_lists_the_operations(db):
    schema = Client().get("/api/openapi.json").json()
    for path in ("/api/jobs", "/api/jobs/{job_id}/lock", "/api/jobs/{job_id}/receipt", "/api/verify"):
        assert path in schema["paths"]


def test_rate_limit_answers_429(market, settings):
    from django.core.cache import cache

    from marketplace.api import api as ninja_api
    cache.clear()
    saved = [(t, t.num_requests) for t in ninja_api.throttle]
    for t, _ in saved:
        t.num_requests = 3
    try:
        c = _client(market.client)
        codes = [c.get("/api/account").status_code for _ in range(5)]
    finally:
        for t, n in saved:
            t.num_requests = n
        cache.clear()
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
