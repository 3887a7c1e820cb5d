"""The portal in a real browser (Debian's chromium driven by Playwright) against the live
server: sign up, dry-run and submit the hello guest through the form, watch the job page go
locked -> proving -> verifying -> paid while a real market worker proves it over the API,
download the journal through the page's link, check the receipt on the verify page and look
at the operator's dashboard. Screenshots of each stage go to tests/artifacts/."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

import vm
from marketplace import services
from marketplace.client import MarketClient
from marketplace.models import ApiToken, Job
from tests.conftest import guest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
PUBLIC_INPUT = "browser\n"
#: Proving hello takes ~5-10 s on 2 cores, plus ~60 s of numba compiling in a fresh process.
PAID_TIMEOUT_S = 300


@pytest.fixture
def browser_page(monkeypatch):
    from playwright.sync_api import sync_playwright
    # Playwright's sync API runs an event loop in this thread: Django would refuse the ORM here
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make setup does it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture
def eager_settlement():
    """Settlement runs inline in the server's request (no Celery worker in this test)."""
    from marketplace.celery_app import app
    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = before


@pytest.fixture
def market_worker(live_server, transactional_db, settings):
    """An operator's MarketWorker proving over the live server's API in a background thread."""
    from worker.market_worker import MarketWorker
    user = services.register("prover-b", "password-prover", operator=True)
    services.faucet(user, 1_000_000, to_operator=True)
    _, token = ApiToken.issue(user, "browser test")
    worker = MarketWorker(MarketClient(live_server.url, token), broker_url=None)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="market-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(120)
        # its kept-alive HTTP connection holds a server thread, and that thread a database session
        worker.client.session.close()
        assert not thread.is_alive(), "the market worker did not stop"


def _job() -> tuple[Job, list[str]]:
    """The one job and its states so far. While Playwright runs, Django keys database
    connections by context rather than by thread, so the connection used here is closed at
    once (left open, it would outlive the test and block the test database's teardown)."""
    from django.db import connection
    try:
        job = Job.objects.select_related("client", "program").get()
        return job, [e.to_state for e in job.events.all()]
    finally:
        connection.close()


def follow_until_settled(page, shot, timeout_s: float, poll_ms: int = 100) -> list[str]:
    """Every state the live job page (``#job-live``, swapped by htmx) shows, in order, until
    the job is paid, failed or refunded or ``timeout_s`` passes; ``shot(n, state)`` is
    called at each new state (a screenshot)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = page.get_attribute("#job-live", "data-state", timeout=10_000)
        if state and (not seen or seen[-1] != state):
            seen.append(state)
            shot(len(seen), state)
        if state in ("paid", "failed", "refunded"):
            break
        page.wait_for_timeout(poll_ms)
    return seen


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"browser-{name}.png"), full_page=True)


def test_a_client_submits_watches_and_downloads_in_the_browser(live_server, transactional_db, settings,
                                                               eager_settlement, market_worker, browser_page):
    settings.FAUCET_CREDITS = 1_000_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("browser-*"):
        old.unlink()
    page = browser_page
    url = live_server.url
    elf_path = guest("hello")

    # the market page, then sign up as a client
    page.goto(url + "/")
    page.wait_for_selector("#chart-per-hour")
    _shot(page, "1-market")
    page.click("text=Sign up")
    page.fill("#id_username", "carol")
    page.fill("#id_password", "password-carol")
    _shot(page, "2-signup")
    page.click("button:has-text('Create account')")
    page.wait_for_url(re.compile(r"/jobs/$"))
    assert page.inner_text("#balance") == "1,000,000"

    # dry run through htmx, then submit
    page.set_input_files("#id_program", str(elf_path))
    page.fill("#id_public_input_text", PUBLIC_INPUT)
    page.click("#dry-run-button")
    page.wait_for_selector("#dry-cycles", timeout=60_000)
    expected = vm.execute(vm.load_elf(elf_path.read_bytes()), PUBLIC_INPUT.encode(), b"")
    assert page.inner_text("#dry-cycles") == f"{expected.cycles:,}"
    assert page.inner_text("#dry-journal").rstrip("\n") == expected.journal.decode().rstrip("\n")
    _shot(page, "3-dry-run")

    # an error comes back as one line above the form, and the browser keeps every field
    page.fill("#id_price_max", "2000000")
    page.click("#submit-button")
    page.wait_for_selector("#submit-errors .error-line", timeout=60_000)
    assert "insufficient balance" in page.inner_text("#submit-errors")
    assert page.eval_on_selector("#id_program", "e => e.files.length") == 1
    assert page.input_value("#id_public_input_text") == PUBLIC_INPUT
    _shot(page, "3-submit-error")
    page.fill("#id_price_max", "")
    page.click("#submit-button")
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"), timeout=60_000)
    job, _ = _job()
    assert job.client.username == "carol" and bytes(job.public_input) == PUBLIC_INPUT.encode()

    # the live page: htmx swaps #job-live every second until the job is paid
    seen = follow_until_settled(page, lambda n, state: _shot(page, f"4-job-{n}-{state}"), PAID_TIMEOUT_S)
    job, states = _job()
    assert seen and seen[-1] == "paid", f"the page showed {seen}; the job went {states}"
    assert {"locked", "proving"} & set(seen), f"the page never showed the worker at work: {seen}"
    assert states == ["submitted", "open", "locked", "proving", "verifying", "paid"]
    assert page.inner_text("#worker") == "prover-b"

    # the journal through the page's link: exactly what the VM writes
    with page.expect_download() as download:
        page.click("#download-journal")
    assert Path(download.value.path()).read_bytes() == expected.journal
    with page.expect_download() as download:
        page.click("#download-receipt")
    receipt_path = ARTIFACTS / "browser-receipt.zkm"
    download.value.save_as(str(receipt_path))

    # the receipt checks out on the verify page
    page.click("nav >> text=Verify")
    page.set_input_files("#id_receipt", str(receipt_path))
    page.fill("#id_image_id", job.program.image_id)
    page.click("button:has-text('Verify')")
    page.wait_for_selector("#verdict", timeout=60_000)
    assert "Valid receipt" in page.inner_text("#verdict")
    _shot(page, "5-verify")

    # the operator's dashboard shows the paid attempt
    page.click("text=Log out")
    page.wait_for_url(url + "/")
    page.click("text=Log in")
    page.fill("#id_username", "prover-b")
    page.fill("#id_password", "password-prover")
    page.click("button:has-text('Log in')")
    page.wait_for_url(re.compile(r"/jobs/$"))
    page.click("nav >> text=Operator")
    page.wait_for_selector("#chart-earnings")
    assert page.inner_text("#op-accepted") == "1"
    page.wait_for_timeout(1000)                                  # the chart's first animation
    _shot(page, "6-operator")
    page.goto(url + "/")
    page.wait_for_selector("#chart-speed")
    page.wait_for_timeout(1000)                                  # the charts' first animation
    _shot(page, "7-market-after")
