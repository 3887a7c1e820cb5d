"""The portal's pages through Django's test client: accounts, tokens, the faucet, dry runs,
submissions and their errors, the live job page, downloads, who may see a job, the verify
page with a real receipt, and the operator dashboard."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import vm
from marketplace import ledger, services
from marketplace.models import ApiToken, Job
from tests.marketplace.conftest import HELLO_INPUT, real_receipt

HX = {"HTTP_HX_REQUEST": "true"}


def _elf_upload(elf: bytes, name: str = "hello-O2.elf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, elf, content_type="application/octet-stream")


def _job_form(elf: bytes | None = None, **fields) -> dict:
    data = {"public_input_text": HELLO_INPUT.decode(), "max_cycles": 1 << 24, "price_min": "", "price_max": "",
            "ramp_seconds": 0, "lock_timeout_seconds": 600, "deadline_seconds": 3600, "settlement": "local",
            "image_id": ""}
    if elf is not None:
        data["program"] = _elf_upload(elf)
    data.update(fields)
    return data


@pytest.fixture
def alice(client, market):
    client.force_login(market.client)
    return client


def _submit(client, elf: bytes, **fields) -> Job:
    response = client.post(reverse("jobs"), _job_form(elf, **fields))
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.get()
    assert response["Location"] == reverse("job", args=[job.pk])
    return job


# ---------------------------------------------------------------- public pages

def test_market_page_shows_jobs_by_state_charts_and_the_api_docs(client, db):
    page = client.get(reverse("market"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Jobs by state" in html and 'id="market-stats"' in html
    for canvas in ("chart-per-hour", "chart-prices", "chart-speed"):
        assert f'id="{canvas}"' in html
    assert "/api/docs" in html
    # htmx and Chart.js come from node_modules (npm ci), the stylesheet from the app, all through WhiteNoise
    for asset in ("htmx.org/dist/htmx.min.js", "chart.js/dist/chart.umd.min.js", "marketplace/portal.css",
                  "marketplace/charts.js"):
        assert f"/static/{asset}" in html
        assert client.get(f"/static/{asset}").status_code == 200, f"{asset} is not served: run `npm ci`"


def test_pages_that_need_an_account_send_to_login(client, db):
    for name in ("jobs", "account", "operator"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# ---------------------------------------------------------------- accounts

def test_signup_logs_in_and_credits_from_the_faucet(client, db, settings):
    settings.FAUCET_CREDITS = 5000
    assert client.get(reverse("signup")).status_code == 200
    response = client.post(reverse("signup"), {"username": "carol", "password": "password-carol"})
    assert response.status_code == 302 and response["Location"] == reverse("jobs")
    page = client.get(reverse("account"))
    assert page.status_code == 200 and 'id="balance">5,000<' in page.content.decode()
    assert "Draw from the faucet" in page.content.decode()


def test_operator_signup_goes_to_the_dashboard(client, db, settings):
    settings.FAUCET_CREDITS = 0
    response = client.post(reverse("signup"), {"username": "op1", "password": "password-op1", "operator": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("operator")
    page = client.get(reverse("account")).content.decode()
    assert 'id="collateral">0<' in page and "no faucet here" in page


def test_signup_errors_are_one_line_on_the_form(client, market):
    response = client.post(reverse("signup"), {"username": "alice", "password": "password-xyz"})
    assert response.status_code == 400 and "the name &#x27;alice&#x27; is taken" in response.content.decode()
    response = client.post(reverse("signup"), {"username": "bad name!", "password": "password-xyz"})
    assert response.status_code == 400 and "a user name is 1-80 letters" in response.content.decode()
    assert 'value="bad name!"' in response.content.decode()          # what was typed is kept


def test_login_and_logout(client, market):
    assert client.get(reverse("login")).status_code == 200
    bad = client.post(reverse("login"), {"username": "alice", "password": "wrong-password"})
    assert bad.status_code == 200 and "error-line" in bad.content.decode()
    response = client.post(reverse("login"), {"username": "alice", "password": "password-alice"})
    assert response.status_code == 302 and response["Location"] == reverse("jobs")
    assert client.get(reverse("jobs")).status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("market")
    assert client.get(reverse("jobs")).status_code == 302


def test_account_issues_a_token_shown_once(alice, market):
    response = alice.post(reverse("issue_token"), {"label": "laptop"})
    assert response.status_code == 200
    token = re.search(r'id="new-token">(zkm_[^<]+)<', response.content.decode()).group(1)
    row = ApiToken.objects.get(digest=ApiToken.digest_of(token))
    assert row.user == market.client and row.label == "laptop"
    again = alice.get(reverse("account")).content.decode()
    assert token not in again and row.prefix in again


def test_faucet_form(alice, market, settings):
    settings.FAUCET_CREDITS = 1000
    assert "Draw from the faucet" in alice.get(reverse("account")).content.decode()
    response = alice.post(reverse("faucet"), {"amount": 500})
    assert response.status_code == 302
    assert ledger.balance(ledger.client_account(market.client)) == 1_000_500
    too_much = alice.post(reverse("faucet"), {"amount": 5000})
    assert too_much.status_code == 400 and "less than or equal to 1000" in too_much.content.decode()
    settings.FAUCET_CREDITS = 0
    assert alice.post(reverse("faucet"), {"amount": 1}).status_code == 403
    assert ledger.balance(ledger.client_account(market.client)) == 1_000_500


def test_operators_draw_the_faucet_into_their_collateral(client, market, settings):
    settings.FAUCET_CREDITS = 1000
    client.force_login(market.op_user)
    assert client.post(reverse("faucet"), {"amount": 700, "to_operator": "on"}).status_code == 302
    assert ledger.balance(ledger.operator_account(market.operator)) == 1_000_700


# ---------------------------------------------------------------- jobs

def test_dry_run_shows_image_id_cycles_journal_and_price(alice, elf):
    # a text area's CRLF line ends reach the program as \n
    response = alice.post(reverse("dry_run"), _job_form(elf, public_input_text="zkMIPS market\r\n"), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    expected = vm.execute(vm.load_elf(elf), HELLO_INPUT, b"")
    image = vm.image_id(vm.load_elf(elf)).hex()
    assert image in html and f'id="dry-cycles">{expected.cycles:,}<' in html
    assert expected.journal.decode() in html and "Price estimate" in html


def test_dry_run_of_a_bad_elf_says_why(alice):
    response = alice.post(reverse("dry_run"), _job_form(b"\x7fELF" + b"\0" * 60), **HX)
    assert response.status_code == 200 and "not a runnable MIPS program" in response.content.decode()


def test_submit_creates_the_job_and_lists_it(alice, market, elf):
    job = _submit(alice, elf)
    assert job.state in ("submitted", "open") and job.client == market.client
    assert bytes(job.public_input) == HELLO_INPUT
    page = alice.get(reverse("jobs")).content.decode()
    assert reverse("job", args=[job.pk]) in page and "state-submitted" in page
    # the htmx form gets a redirect header instead of a page; a known program is named by image id
    response = alice.post(reverse("jobs"), _job_form(None, image_id=job.program.image_id, price_min=50,
                                                     price_max=60), **HX)
    assert response.status_code == 204
    second = Job.objects.exclude(pk=job.pk).get()
    assert response["HX-Redirect"] == reverse("job", args=[second.pk])
    assert (second.price_min, second.price_max) == (50, 60)


def test_a_bad_elf_is_one_line_on_the_form_and_nothing_is_lost(alice):
    response = alice.post(reverse("jobs"), _job_form(b"\x7fELF" + b"\0" * 60, public_input_text="keep me",
                                                     price_max=777))
    html = response.content.decode()
    assert response.status_code == 400 and "not a runnable MIPS program" in html
    assert "keep me" in html and 'value="777"' in html
    assert not Job.objects.exists()


def test_too_little_balance_is_shown_and_the_program_kept(alice, market, elf):
    response = alice.post(reverse("jobs"), _job_form(elf, price_min=1, price_max=2_000_000))
    html = response.content.decode()
    assert response.status_code == 402
    assert "insufficient balance: 2,000,000 credits needed" in html
    image = vm.image_id(vm.load_elf(elf)).hex()
    assert f'value="{image}"' in html and 'value="2000000"' in html      # resubmit without uploading again
    assert not Job.objects.exists()
    partial = alice.post(reverse("jobs"), _job_form(elf, price_min=1, price_max=2_000_000), **HX)
    assert partial.status_code == 200 and "insufficient balance" in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_a_form_without_a_program_is_refused(alice):
    response = alice.post(reverse("jobs"), _job_form(None))
    assert response.status_code == 400 and "upload a program" in response.content.decode()


def test_the_job_page_follows_the_job_until_paid(alice, market, elf):
    job = _submit(alice, elf, price_min=100, price_max=1000)
    live = reverse("job_live", args=[job.pk])
    page = alice.get(reverse("job", args=[job.pk])).content.decode()
    assert 'id="job-live"' in page and 'hx-trigger="every 1s"' in page and "current price" in page.lower()

    assert services.publish_offer(job.pk)
    services.lock_job(market.operator, job.pk)
    services.fetch_inputs(market.operator, job.pk)
    services.report_progress(market.operator, job.pk, "prove", 3, 7)
    html = alice.get(live, **HX).content.decode()
    assert 'data-state="proving"' in html and "proving segments: 3/7 segments" in html and "prover1" in html
    assert 'hx-trigger="every 1s"' in html and "<html" not in html
    assert alice.get(reverse("job_journal", args=[job.pk])).status_code == 404

    receipt = real_receipt("hello", HELLO_INPUT, b"")
    attempt = services.submit_receipt(market.operator, job.pk, receipt)
    assert 'data-state="verifying"' in alice.get(live).content.decode()
    services.settle(attempt.pk)
    html = alice.get(live).content.decode()
    journal = vm.execute(vm.load_elf(elf), HELLO_INPUT, b"").journal
    assert 'data-state="paid"' in html and "hx-trigger" not in html       # terminal: polling stops
    assert journal.decode() in html and 'id="download-journal"' in html and 'id="download-receipt"' in html
    got = alice.get(reverse("job_journal", args=[job.pk]))
    assert got.status_code == 200 and got.content == journal
    assert alice.get(reverse("job_receipt", args=[job.pk])).content == receipt


def test_another_users_job_is_403_and_a_missing_one_404(client, market, elf):
    client.force_login(market.client)
    job = _submit(client, elf)
    bob = services.register("bob", "password-bob")
    client.force_login(bob)
    for name in ("job", "job_live", "job_journal", "job_receipt"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 403, name
        assert client.get(reverse(name, args=[uuid.uuid4()])).status_code == 404, name
    assert reverse("job", args=[job.pk]) not in client.get(reverse("jobs")).content.decode()


# ---------------------------------------------------------------- receipts

def test_verify_page_accepts_a_real_receipt_and_says_why_a_forged_one_fails(client, db, elf):
    assert client.get(reverse("verify")).status_code == 200
    receipt = real_receipt()
    image = vm.image_id(vm.load_elf(elf)).hex()
    response = client.post(reverse("verify"), {"receipt": SimpleUploadedFile("r.zkm", receipt), "image_id": image})
    html = response.content.decode()
    assert response.status_code == 200 and "Valid receipt" in html and image in html
    assert vm.execute(vm.load_elf(elf), HELLO_INPUT, b"").journal.decode() in html

    forged = bytearray(receipt)
    forged[len(forged) // 2] ^= 1
    response = client.post(reverse("verify"), {"receipt": SimpleUploadedFile("r.zkm", bytes(forged))}, **HX)
    html = response.content.decode()
    reason = re.search(r'id="verify-reason">([^<]+)<', html).group(1)
    assert "Invalid receipt" in html and len(reason.strip()) > 5        # e.g. "merkle: root mismatch"
    assert "<html" not in html

    wrong = client.post(reverse("verify"), {"receipt": SimpleUploadedFile("r.zkm", receipt), "image_id": "00" * 32})
    assert "Invalid receipt" in wrong.content.decode() and "image" in wrong.content.decode()
    garbage = client.post(reverse("verify"), {"receipt": SimpleUploadedFile("r.zkm", b"not a receipt")})
    assert garbage.status_code == 200 and "Invalid receipt" in garbage.content.decode()
    bad_id = client.post(reverse("verify"), {"receipt": SimpleUploadedFile("r.zkm", receipt), "image_id": "xyz"})
    assert bad_id.status_code == 400 and "64 hex digits" in bad_id.content.decode()


# ---------------------------------------------------------------- operators

def test_operator_dashboard(client, market, program):
    job = services.submit_job(market.client, program, services.JobRequest(public_input=HELLO_INPUT, price_min=100,
                                                                          price_max=1000, ramp_seconds=0))
    services.publish_offer(job.pk)
    services.lock_job(market.operator, job.pk)
    client.force_login(market.op_user)
    html = client.get(reverse("operator")).content.decode()
    assert "zkmips worker start --market http://testserver --token" in html
    assert "Attempts" in html and "Acceptance" in html and str(job.pk)[:8] in html
    assert 'id="op-collateral">999,000<' in html and "Stake locked" in html
    client.force_login(market.client)
    response = client.get(reverse("operator"))
    assert response.status_code == 403 and "Not an operator" in response.content.decode()
