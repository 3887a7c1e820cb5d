"""manage.py broker_account OPERATOR: a RabbitMQ account for the operator's workers that can
only read the operator's own offers (marketplace.broker_accounts); prints its broker URL."""

from django.core.management.base import BaseCommand, CommandError

from marketplace import broker_accounts
from marketplace.models import Operator


class Command(BaseCommand):
    help = "Create or reset the broker account of an operator's workers (read-only offers); print its URL"

    def add_arguments(self, parser):
        parser.add_argument("operator")
        parser.add_argument("--host", default="127.0.0.1", help="the broker's host name as workers reach it")
        parser.add_argument("--port", type=int, default=5672)
        parser.add_argument("--revoke", action="store_true", help="delete the account instead")

    def handle(self, operator, host, port, revoke, **_):
        if not Operator.objects.filter(name=operator).exists():
            raise CommandError(f"no operator named {operator!r}")
        try:
            if revoke:
                broker_accounts.revoke(operator)
                self.stdout.write(f"revoked the broker account of {operator}")
            else:
                self.stdout.write(broker_accounts.grant(operator, host, port))
        except RuntimeError as e:
            raise CommandError(str(e)) from None
