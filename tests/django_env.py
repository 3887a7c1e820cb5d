"""A pytest plugin (loaded by addopts before pytest-django configures Django): which database.

The marketplace's tests run on the machine's real PostgreSQL (pytest-django makes a test
database per xdist worker). With CI=true it is required, never skipped; elsewhere SQLite
stands in when PostgreSQL does not answer.
"""

from __future__ import annotations

import os
import socket
import uuid


def _postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings")
# Each test process (xdist worker) settles on its own queue: it has its own test database,
# and a settlement task taken by another process would look up its attempt in the wrong one.
os.environ.setdefault("ZKMIPS_SETTLEMENT_QUEUE", f"zkmips.settlement.test-{uuid.uuid4().hex[:12]}")
if "DATABASE_URL" not in os.environ and (os.environ.get("CI") == "true" or _postgres_answers()):
    os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/postgres"
