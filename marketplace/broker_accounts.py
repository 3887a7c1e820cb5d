"""RabbitMQ accounts for operators' workers: each can read its own offer queue and nothing else.

A worker's account may (RabbitMQ permissions are regular expressions per vhost):
    configure  its own queue ``zkmips.offers.<operator>`` (declare it; not the exchange)
    write      its own queue (binding the queue needs write on it)
    read       the offers exchange (to bind) and its own queue (to take offers)
So it cannot publish anything (write on no exchange, not even the default one), cannot
touch the settlement queue or the segment queues, cannot delete or redeclare the offers
exchange, and cannot read another operator's offers. Created with ``rabbitmqctl`` on the
broker's host (``manage.py broker_account OPERATOR``); see docs/marketplace.md.
"""

from __future__ import annotations

import re
import secrets
import subprocess
from urllib.parse import quote

from marketplace.offers import EXCHANGE_NAME, queue_name


def permissions(operator_name: str) -> tuple[str, str, str]:
    """The (configure, write, read) regular expressions of an operator's worker account."""
    own = re.escape(queue_name(operator_name))
    return f"^{own}$", f"^{own}$", f"^({re.escape(EXCHANGE_NAME)}|{own})$"


def account_name(operator_name: str) -> str:
    return "zkmips-worker-" + queue_name(operator_name).rsplit(".", 1)[-1]


def _rabbitmqctl(*args: str) -> str:
    try:
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise RuntimeError("rabbitmqctl is not installed here: run this on the broker's host") from None
    if done.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {args[0]} failed: {(done.stderr or done.stdout).strip().splitlines()[-1]}")
    return done.stdout


def new_password() -> str:
    """A fresh 192-bit password that rabbitmqctl cannot mistake for an option.

    ``token_urlsafe`` may start with ``-`` (one time in 64), which rabbitmqctl parses as a
    flag and then refuses the command; hex never does.
    """
    return secrets.token_hex(24)


def grant(operator_name: str, host: str = "127.0.0.1", port: int = 5672, vhost: str = "/") -> str:
    """Create (or reset) the operator's worker account; its broker URL, password included."""
    user = account_name(operator_name)
    password = new_password()
    if user in _rabbitmqctl("list_users", "--quiet").split():
        _rabbitmqctl("change_password", user, password)
    else:
        _rabbitmqctl("add_user", user, password)
    _rabbitmqctl("set_permissions", "-p", vhost, user, *permissions(operator_name))
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(vhost, safe='')}"


def revoke(operator_name: str) -> None:
    _rabbitmqctl("delete_user", account_name(operator_name))
