"""manage.py chain_node: run the chain of `make run` (anvil from npm) in the foreground.

The Procfile's ``chain`` process. The chain lives in ``var/anvil-state.json`` between runs
(loaded at start, written at exit), as the database lives in var/, so chain-settled jobs
survive a restart of the stack. The port comes from ``ZKMIPS_CHAIN_URL``.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from settlement.chain import anvil_command, anvil_path


class Command(BaseCommand):
    help = "Run anvil (the chain of the onchain and optimistic modes) in the foreground"

    def handle(self, **_):
        if not settings.CHAIN_URL:      # anvil is not installed: the stack runs local mode only
            self.stdout.write("chain modes off (ZKMIPS_CHAIN_URL is not set): no chain to run")
            self.stdout.flush()
            os.execvp("sleep", ["sleep", "infinity"])
        if not anvil_path().exists():
            raise CommandError(f"{anvil_path()} is missing: run `make node` (npm ci)")
        port = urlparse(settings.CHAIN_URL).port or 8545
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        command = anvil_command(port, state=settings.VAR_DIR / "anvil-state.json")
        os.execv(command[0], command)
