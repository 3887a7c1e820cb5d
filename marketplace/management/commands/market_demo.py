"""manage.py market_demo: the demo accounts of `make run`, and (with --env-file) the broker.

Creates, or finds again, a client ``demo`` and an operator ``demo-operator`` with credits
(the client's balance, the operator's free collateral) and API tokens, and writes them to
var/demo.json. The demo operator also provides the clinic's demo model (marketplace.clinic.demo)
when the ECG guest and its weights exist. Idempotent: a restart reuses the accounts, passwords and tokens recorded
there while they still work (a new database gets new ones) and only tops credits up.

With ``--env-file FILE`` it also chooses the broker (marketplace.management.stack) and
writes the .env file that honcho gives every process of the Procfile.
"""

from __future__ import annotations

import json
import os

from django.conf import settings
from django.core.management.base import BaseCommand

from marketplace.management import stack


class Command(BaseCommand):
    help = "Create or refresh the demo client and operator of `make run` (var/demo.json); choose the broker"

    def add_arguments(self, parser):
        port = os.environ.get("PORT") or "8000"
        parser.add_argument("--url", default=f"http://127.0.0.1:{port}", help="the portal's URL as shown to users")
        parser.add_argument("--credits", type=int, default=1_000_000,
                            help="top the client's balance and the operator's collateral up to this")
        parser.add_argument("--out", default=str(settings.VAR_DIR / "demo.json"), help="where accounts are recorded")
        parser.add_argument("--env-file", help="choose the broker and write honcho's .env file here")

    def handle(self, url, credits, out, env_file, **_):
        url = url.rstrip("/")
        try:
            with open(out) as f:
                known = json.load(f)
        except (OSError, ValueError):
            known = {}
        client = stack.ensure_account(stack.DEMO_CLIENT, operator=False, known=known.get("client"), credits=credits)
        operator = stack.ensure_account(stack.DEMO_OPERATOR, operator=True, known=known.get("operator"),
                                        credits=credits)
        demo = {"url": url, "file": out, "client": client, "operator": operator,
                "submit": stack.submit_line(url, client["token"])}
        from django.contrib.auth import get_user_model

        from marketplace.clinic import demo as clinic_demo
        model = clinic_demo.ensure_demo_model(get_user_model().objects.get(username=stack.DEMO_OPERATOR))
        if model:
            demo["model"] = {"name": model["name"], "commitment": model["commitment"]}
        if env_file:
            broker = stack.choose_broker()
            demo["broker"] = {"url": broker.url, "shown": broker.shown, "kind": broker.kind, "why": broker.why}
            port = url.rsplit(":", 1)[-1] if url.rsplit(":", 1)[-1].isdigit() else "8000"
            values = {"PORT": port, "ZKMIPS_BROKER_URL": broker.url, "ZKMIPS_MARKET": url,
                      "ZKMIPS_DEMO_OPERATOR_TOKEN": operator["token"],
                      "ZKMIPS_WORKER_OFFERS": " ".join(broker.worker_args),
                      "ZKMIPS_WORKER_MODELS": clinic_demo.worker_args() if model else "", **stack.chain_env()}
            if broker.kind == "filesystem":
                from marketplace.offers import transport_options
                values["ZKMIPS_BROKER_DIR"] = os.path.dirname(transport_options("filesystem://")["control_folder"])
            os.makedirs(os.path.dirname(os.path.abspath(env_file)), exist_ok=True)
            with open(env_file, "w") as f:
                f.write("# written by `manage.py market_demo --env-file` for honcho (make run); do not edit\n")
                f.write(stack.env_file_text(values))
            os.chmod(env_file, 0o600)
        elif known.get("broker"):
            demo["broker"] = known["broker"]
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(demo, f, indent=2)
            f.write("\n")
        for who in (client, operator):
            extra = f", collateral {who['collateral']:,}" if "collateral" in who else ""
            topped = who.get("topped_up") or {}
            topped = f" (topped up: {', '.join(f'{k} +{v:,}' for k, v in topped.items())})" if topped else ""
            self.stdout.write(f"demo account {who['username']}: balance {who['balance']:,}{extra} credits{topped}")
        if model:
            self.stdout.write(f"clinic: model {model['name']} of {stack.DEMO_OPERATOR} "
                              f"(weights {model['commitment'][:16]}…)")
        if "broker" in demo:
            self.stdout.write(f"broker: {demo['broker']['shown']} - {demo['broker']['why']}")
        self.stdout.write(f"accounts and API tokens in {out}")
