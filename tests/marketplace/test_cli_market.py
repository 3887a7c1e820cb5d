"""`zkmips job submit --wait` against a running marketplace, as a user runs it: the journal
equals qemu-mipsel's output, and the receipt verifies with `zkmips verify`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from marketplace import services
from marketplace.models import ApiToken
from tests.conftest import guest
from tests.marketplace.stack import ROOT, Stack, settlement_worker

pytestmark = pytest.mark.django_db(transaction=True)


def zkmips(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zkmips.cli", *args], cwd=ROOT, capture_output=True,
                          timeout=timeout, env={**os.environ, "ZKMIPS_TOKEN": ""})


def test_job_submit_wait_gives_qemus_journal_and_a_receipt_that_verifies(live_server, tmp_path):
    with settlement_worker():
        stack = Stack(live_server.url, tmp_path)
        try:
            stack.start_worker()
            user = services.register("cli-client", "password-cli")
            services.faucet(user, 1_000_000)
            token = ApiToken.issue(user)[1]
            program, data = guest("hello"), ROOT / "guests" / "hello" / "input.txt"
            receipt = tmp_path / "hello.zkm"
            done = zkmips("job", "submit", str(program), "--input", str(data), "--market", live_server.url,
                          "--token", token, "--wait", "-o", str(receipt), "-q")
            assert done.returncode == 0, done.stderr.decode()
            qemu = subprocess.run(["qemu-mipsel", str(program)], stdin=data.open("rb"), capture_output=True,
                                  timeout=60)
            assert done.stdout == qemu.stdout and done.stdout.startswith(b"Hello")
            verified = zkmips("verify", str(receipt), "--json")
            assert verified.returncode == 0, verified.stderr.decode()
            assert bytes.fromhex(json.loads(verified.stdout)["journal"]) == qemu.stdout
            # status and fetch
            job_id = json.loads(zkmips("job", "status", "--json", "--market", live_server.url, "--token", token,
                                       _last_job(user)).stdout)["id"]
            fetched = zkmips("job", "fetch", job_id, "--market", live_server.url, "--token", token)
            assert fetched.returncode == 0 and fetched.stdout == qemu.stdout
        finally:
            stack.close()


def _last_job(user) -> str:
    return str(user.jobs.order_by("-created").first().pk)


def test_job_commands_fail_in_one_line(live_server, tmp_path):
    no_market = zkmips("job", "status", "x", "--token", "t")
    assert no_market.returncode == 125 and b"no marketplace: pass --market URL" in no_market.stderr
    bad_token = zkmips("job", "status", "x", "--market", live_server.url, "--token", "zkm_nope")
    assert bad_token.returncode == 125 and bad_token.stderr.count(b"\n") == 1 and b"HTTP 401" in bad_token.stderr
    user = services.register("poor-cli", "password-cli")
    token = ApiToken.issue(user)[1]
    poor = zkmips("job", "submit", str(guest("hello")), "--market", live_server.url, "--token", token)
    assert poor.returncode == 125 and b"insufficient balance" in poor.stderr and b"HTTP 402" in poor.stderr
