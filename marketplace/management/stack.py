"""What `make run` (Procfile, ``manage.py market_demo``) and bench/market.py share: which
broker the stack uses, and the demo accounts with their API tokens.

The broker: ``$ZKMIPS_BROKER_URL`` when it is set (``filesystem://`` included); otherwise
the local RabbitMQ when it answers (probed at ``$ZKMIPS_RUN_RABBITMQ``, default
amqp://guest:guest@127.0.0.1:5672//), else kombu's filesystem transport in var/broker/.
On the filesystem transport the settlement queue works across processes but an operator's
worker cannot bind its offer queue (the fanout exchange lives in the memory of the process
that declared it), so the demo worker polls the API for offers (``--no-broker``).

Imports no Django at module level: the Makefile and the bench call it before Django runs.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field

LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


@dataclass(frozen=True)
class Broker:
    url: str
    kind: str                                          # "rabbitmq", "filesystem" or "other"
    why: str                                           # one line for the start-up banner
    worker_args: list[str] = field(default_factory=list)  # for `zkmips worker start`

    @property
    def shown(self) -> str:
        """The URL without its password."""
        if "@" not in self.url:
            return self.url
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"


def broker_answers(url: str, timeout: float = 2.0) -> str | None:
    """None when an AMQP broker at ``url`` accepts a connection (credentials included), else why not."""
    from kombu import Connection
    try:
        with Connection(url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as e:  # noqa: BLE001 - any failure means: not this broker
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else 'no answer'}"
    return None


def choose_broker(env: dict[str, str] | None = None) -> Broker:
    env = dict(os.environ if env is None else env)
    explicit = env.get("ZKMIPS_BROKER_URL", "").strip()
    if explicit.startswith("filesystem:"):
        return Broker("filesystem://", "filesystem", "kombu's filesystem transport (ZKMIPS_BROKER_URL=filesystem://); "
                      "the operator's worker polls the API for offers", ["--no-broker"])
    if explicit:
        problem = broker_answers(explicit) if explicit.startswith(("amqp", "pyamqp")) else None
        why = "ZKMIPS_BROKER_URL" + (f" (not answering now: {problem}; processes keep retrying)" if problem else "")
        return Broker(explicit, "rabbitmq" if explicit.startswith(("amqp", "pyamqp")) else "other", why,
                      ["--broker", explicit])
    probe = env.get("ZKMIPS_RUN_RABBITMQ", "").strip() or LOCAL_RABBITMQ
    problem = broker_answers(probe)
    if problem is None:
        return Broker(probe, "rabbitmq", "the local RabbitMQ answers", ["--broker", probe])
    shown = probe.split("@", 1)[-1]
    return Broker("filesystem://", "filesystem",
                  f"no RabbitMQ at {shown} ({problem}): kombu's filesystem transport in var/broker/; "
                  "the operator's worker polls the API for offers", ["--no-broker"])


#: The chain of `make run`: anvil on this port (ZKMIPS_CHAIN_PORT overrides it), with short
#: optimistic windows so that a demo's optimistic job is paid within minutes.
CHAIN_PORT = 8545
DEMO_CHALLENGE_WINDOW, DEMO_RESPONSE_WINDOW = 120, 600


def chain_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The chain settings of `make run` (empty when anvil is not installed: local mode only).
    The marketplace and the demo operator's worker use the same node; the worker sends from
    the node's second account, the marketplace from its first."""
    from settlement.chain import anvil_path
    env = os.environ if env is None else env
    if not anvil_path().exists():
        return {}
    url = env.get("ZKMIPS_CHAIN_URL") or f"http://127.0.0.1:{env.get('ZKMIPS_CHAIN_PORT', CHAIN_PORT)}"
    return {"ZKMIPS_CHAIN_URL": url, "ZKMIPS_WORKER_CHAIN_URL": url,
            "ZKMIPS_CHALLENGE_WINDOW": env.get("ZKMIPS_CHALLENGE_WINDOW", str(DEMO_CHALLENGE_WINDOW)),
            "ZKMIPS_RESPONSE_WINDOW": env.get("ZKMIPS_RESPONSE_WINDOW", str(DEMO_RESPONSE_WINDOW))}


def env_file_text(values: dict[str, str]) -> str:
    """A .env file honcho reads (one KEY=value a line, values shell-quoted)."""
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


# ---------------------------------------------------------------- demo accounts (need Django)

DEMO_CLIENT = "demo"
DEMO_OPERATOR = "demo-operator"


def ensure_account(username: str, *, operator: bool, known: dict | None, credits: int) -> dict:
    """The account ``username`` with a working password and API token, and at least ``credits``
    (client balance; an operator's free collateral too). Reuses what ``known`` (the last
    var/demo.json entry) holds while it still works, so restarts change nothing."""
    import secrets

    from django.contrib.auth import get_user_model

    from marketplace import ledger, services
    from marketplace.models import ApiToken, Operator
    known = known or {}
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    password = known.get("password") or secrets.token_urlsafe(12)
    if user is None:
        user = services.register(username, password, operator=operator)
    elif not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    if operator and not Operator.objects.filter(user=user).exists():
        Operator.objects.create(user=user, name=username)
    token = known.get("token")
    if not token or not ApiToken.objects.filter(user=user, digest=ApiToken.digest_of(token)).exists():
        _, token = ApiToken.issue(user, "make run")
    topped = {}
    short = credits - ledger.balance(ledger.client_account(user))
    if short > 0:
        services.faucet(user, short)
        topped["balance"] = short
    if operator:
        short = credits - ledger.balance(ledger.operator_account(user.operator))
        if short > 0:
            services.faucet(user, short, to_operator=True)
            topped["collateral"] = short
    out = {"username": username, "password": password, "token": token,
           "balance": ledger.balance(ledger.client_account(user))}
    if operator:
        out["collateral"] = ledger.balance(ledger.operator_account(user.operator))
    if topped:
        out["topped_up"] = topped
    return out


def submit_line(url: str, token: str) -> str:
    return (f".venv/bin/zkmips job submit guests/build/hello-O2.elf --input guests/hello/input.txt "
            f"--market {url} --token {token} --wait")


def clinic_lines(demo: dict) -> list[str]:
    """The banner's pointer to the clinic, when market_demo registered the demo model."""
    model = demo.get("model")
    if not model:
        return []
    return [f"Clinic: {demo['url']}/clinic/ (log in as {demo['client']['username']}) - model "
            f"{model['name']}, commitment {model['commitment'][:16]}..., proven by the demo operator",
            ""]


def banner(demo: dict) -> str:
    """What `make run` prints once the portal answers (from var/demo.json)."""
    url, client, op = demo["url"], demo["client"], demo["operator"]
    rule = "-" * 78
    return "\n".join([
        rule,
        f"zkMIPS marketplace: {url}/   (API docs {url}/api/docs)",
        f"broker: {demo['broker']['shown']} - {demo['broker']['why']}",
        f"demo client:   {client['username']} / {client['password']}   API token {client['token']}",
        f"demo operator: {op['username']} / {op['password']}   API token {op['token']}",
        f"               (its worker runs here as `operator`; accounts and tokens also in {demo['file']})",
        "",
        "Prove hello-O2 through the market (journal on stdout, verified receipt with -o r.zkm):",
        "  " + submit_line(url, client["token"]),
        "",
        *clinic_lines(demo),
        "Ctrl-C stops everything.",
        rule,
    ])
