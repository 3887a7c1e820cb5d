"""The clinic end to end in a real browser (Debian's chromium driven by Playwright) against the
live server: a provider registers its model with `zkmips model register` (only the weights'
commitment leaves it) and runs a MarketWorker holding the weights; a clinic user uploads a
sample ECG, watches the job get proven, reads the diagnosis with the ECG and the scores drawn,
sees every verification check say yes (the ECG's digest also checked in the browser with
crypto.subtle), and checks the downloaded receipt again on the standalone page. Screenshots go
to tests/artifacts/clinic-*.png."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from marketplace import services
from marketplace.client import MarketClient
from marketplace.clinic import ecg_format
from marketplace.models import ApiToken, Job
from tests.clinic.clinic_fixtures import MODEL_DIR, prove_cached, sample_paths, weights
from tests.conftest import guest
from tests.marketplace.test_browser import browser_page, eager_settlement, follow_until_settled  # noqa: F401

ARTIFACTS = Path(__file__).parents[1] / "artifacts"
#: The proof itself comes from the receipt cache when an earlier test proved the same run;
#: otherwise ~30-90 s of proving, plus numba compiling in a fresh process.
PAID_TIMEOUT_S = 400


class _Cached:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self) -> bytes:
        return self.data


@pytest.fixture
def provider(live_server, transactional_db, monkeypatch, capsys):
    """The model's provider: registered with the CLI, then proving with a MarketWorker that
    holds the weights (its proofs go through the tests' receipt cache)."""
    from worker.market_worker import MarketWorker, load_models, unregistered
    from zkmips.cli import main
    user = services.register("heart-lab", "password-heart", operator=True)
    services.faucet(user, 1_000_000, to_operator=True)
    _, token = ApiToken.issue(user, "clinic browser test")
    rc = main(["model", "register", "ecg-demo", "--weights", str(MODEL_DIR / "weights.bin"),
               "--program", str(guest("ecg")), "--report", str(MODEL_DIR / "report.json"),
               "--market", live_server.url, "--token", token])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert f"commitment {ecg_format.weights_commitment(weights()).hex()}" in out.out
    assert main(["model", "list", "--market", live_server.url, "--token", token]) == 0
    assert capsys.readouterr().out.startswith("ecg-demo\theart-lab\t")
    # weights that are not a weights file: one line, nothing registered
    assert main(["model", "register", "bad", "--weights", str(guest("ecg")), "--program", str(guest("ecg")),
                 "--market", live_server.url, "--token", token]) == 125
    assert "not a model's weights" in capsys.readouterr().err
    client = MarketClient(live_server.url, token)
    held = load_models([str(MODEL_DIR / "weights.bin")])
    assert unregistered(client, "heart-lab", held) == []
    monkeypatch.setattr("prover.zkmips.segment_receipt.prove_segmented",
                        lambda elf, public, private, **kw: _Cached(prove_cached(elf, public, private,
                                                                                progress=kw.get("progress"))))
    worker = MarketWorker(client, broker_url=None, models=held)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="clinic-provider", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(120)
        worker.client.session.close()
        client.session.close()
        assert not thread.is_alive(), "the provider's worker did not stop"


def _states() -> list[str]:
    from django.db import connection
    try:
        return [e.to_state for e in Job.objects.get().events.all()]
    finally:
        connection.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"clinic-{name}.png"), full_page=True)


def _answers(page) -> dict[str, str]:
    return page.eval_on_selector_all("#checks tr[id^=check-]", "rows => Object.fromEntries(rows.map("
                                     "r => [r.id.slice(6), r.dataset.ok]))")


def test_a_clinic_gets_a_proven_diagnosis_and_checks_it(live_server, transactional_db, settings, eager_settlement,
                                                       provider, browser_page):
    settings.FAUCET_CREDITS = 1_000_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("clinic-*"):
        old.unlink()
    page, url = browser_page, live_server.url
    ecg_path, other_path = sample_paths()[0], sample_paths()[1]
    expected = ecg_format.infer(weights(), ecg_path.read_bytes())

    page.goto(url + "/signup/")
    page.fill("#id_username", "dr-who")
    page.fill("#id_password", "password-dr-who")
    page.click("button:has-text('Create account')")
    page.wait_for_url(re.compile(r"/jobs/$"))
    page.click("nav >> text=Clinic")
    page.wait_for_selector("#model-ecg-demo")
    assert ecg_format.weights_commitment(weights()).hex() in page.inner_text("#model-ecg-demo .model-commitment")
    page.select_option("#id_model", "ecg-demo")
    page.select_option("#id_sample", ecg_path.name)
    _shot(page, "1-clinic")
    page.click("#diagnose-button")
    page.wait_for_url(re.compile(r"/clinic/diagnosis/[0-9a-f-]{36}/$"), timeout=60_000)

    seen = follow_until_settled(page, lambda n, state: _shot(page, f"2-job-{n}-{state}"), PAID_TIMEOUT_S, 200)
    assert seen and seen[-1] == "paid", f"the page showed {seen}; the job went {_states()}"
    assert _states() == ["submitted", "open", "locked", "proving", "verifying", "paid"]

    # the page reloads itself once the job is paid: the diagnosis, drawn, and every check yes
    page.wait_for_selector("#diagnosis", timeout=60_000)
    assert page.inner_text("#predicted") == expected.label
    assert page.inner_text("#worker") == "heart-lab"
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-ecg') && Chart.getChart('chart-scores')")
    assert page.evaluate("Chart.getChart('chart-ecg').data.datasets[0].data") == \
        [int(v) for v in ecg_format.decode_ecg(ecg_path.read_bytes())]
    assert page.evaluate("Chart.getChart('chart-scores').data.datasets[0].data") == list(expected.scores)
    assert _answers(page) == {"receipt": "yes", "program": "yes", "commitment": "yes", "ecg": "yes",
                              "browser-ecg": ""}
    # the doctor's own file, hashed in the browser: this ECG yes, another no
    page.set_input_files("#doctor-ecg", str(other_path))
    page.wait_for_selector("#check-browser-ecg[data-ok=no]")
    page.set_input_files("#doctor-ecg", str(ecg_path))
    page.wait_for_selector("#check-browser-ecg[data-ok=yes]")
    assert page.inner_text("#browser-ecg-answer") == "yes"
    _shot(page, "3-diagnosis")

    # the receipt, checked again on the standalone page: yes with this ECG, no with another
    with page.expect_download() as download:
        page.click("#download-receipt")
    receipt_path = ARTIFACTS / "clinic-receipt.zkm"
    download.value.save_as(str(receipt_path))
    for ecg, answer in ((other_path, "no"), (ecg_path, "yes")):
        page.goto(url + "/clinic/check/")
        page.select_option("#id_model", "ecg-demo")
        page.set_input_files("#id_receipt", str(receipt_path))
        page.set_input_files("#id_ecg", str(ecg))
        page.click("#check-button")
        page.wait_for_selector("#verification", timeout=60_000)
        got = _answers(page)
        assert got["ecg"] == answer and all(got[k] == "yes" for k in ("receipt", "program", "commitment")), got
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-ecg')")
    _shot(page, "4-check")
