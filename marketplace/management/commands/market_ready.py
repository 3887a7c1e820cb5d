"""manage.py market_ready: wait until the portal and the settlement worker answer, then print `make run`'s banner
(the portal's URL, the broker, the demo accounts and tokens, a command to paste).

The Procfile's ``ready`` process runs it; it exits non-zero when the portal does not come
up in time, which makes honcho stop the whole stack instead of leaving it half started.
"""

from __future__ import annotations

import json
import os
import time

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.management import stack


class Command(BaseCommand):
    help = "Wait for the portal of `make run`, then print its URL, the demo tokens and a job to submit"

    def add_arguments(self, parser):
        parser.add_argument("--demo", default=str(settings.VAR_DIR / "demo.json"))
        parser.add_argument("--url", default=os.environ.get("ZKMIPS_MARKET"),
                            help="the portal (default: $ZKMIPS_MARKET, else the URL in the demo file)")
        parser.add_argument("--timeout", type=float, default=120.0)

    def handle(self, demo, url, timeout, **_):
        try:
            with open(demo) as f:
                info = json.load(f)
        except (OSError, ValueError) as e:
            raise CommandError(f"no demo accounts in {demo} ({e}): run `manage.py market_demo` first") from None
        url = (url or info["url"]).rstrip("/")
        info["url"] = url
        end = time.monotonic() + timeout
        problem = "no answer"
        while time.monotonic() < end:
            try:
                r = requests.get(f"{url}/api/market", timeout=5)
                if r.status_code == 200:
                    break
                problem = f"HTTP {r.status_code}"
            except requests.RequestException as e:
                problem = type(e).__name__
            time.sleep(0.5)
        else:
            raise CommandError(f"the portal at {url} did not answer within {timeout:.0f} s ({problem})")
        if not self._settlement_answers(end):
            self.stderr.write("the settlement worker did not answer a ping yet: receipts wait in its queue")
        info.setdefault("broker", {"shown": os.environ.get("ZKMIPS_BROKER_URL", "?"), "why": "from the environment"})
        self.stdout.write(stack.banner(info))
        self.stdout.flush()

    @staticmethod
    def _settlement_answers(end: float) -> bool:
        """Wait (until ``end``) for the settlement worker (the Procfile names it
        zkmips-settlement@<host>) to answer a Celery ping."""
        import socket

        from marketplace.celery_app import app
        name = f"zkmips-settlement@{socket.gethostname()}"
        while time.monotonic() < end:
            try:
                if app.control.ping(destination=[name], timeout=1.0):
                    return True
            except Exception:  # noqa: BLE001 - the broker is starting too: ask again
                time.sleep(1.0)
        return False
