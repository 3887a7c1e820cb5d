"""manage.py chain_deploy: wait for the chain, then deploy the market and the receipt verifier
(or find them, recorded in var/chain-<chain id>.json) and print where they are.

`make run` runs it before the portal's banner so that the first chain-settled job does not
wait for the contracts to compile and deploy.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace import onchain
from settlement.chain import wait_for_node


class Command(BaseCommand):
    help = "Deploy (or find) the marketplace's contracts on ZKMIPS_CHAIN_URL"

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the node")

    def handle(self, timeout, **_):
        if not onchain.enabled():
            self.stdout.write("chain modes off (ZKMIPS_CHAIN_URL is not set): only local settlement")
            return
        if not wait_for_node(settings.CHAIN_URL, timeout):
            raise CommandError(f"no chain answers at {settings.CHAIN_URL} after {timeout:.0f} s")
        dep = onchain.contracts().deployment
        self.stdout.write(f"chain {dep.chain_id} at {settings.CHAIN_URL}: market {dep.market}, receipt verifier "
                          f"{dep.verifier_receipt} ({dep.preset} receipts); challenge window "
                          f"{dep.challenge_window} s")
