"""Property-based tests of the JSON API from its own OpenAPI schema (schemathesis).

Every operation is called with generated inputs (valid and invalid), authenticated as a
client with credits; the checks: no 5xx, responses match the documented schemas and status
codes, content types as documented. The API answers bad input with a 4xx and one line.
(Not checked: that every schema-valid request is accepted. The API refuses, by design,
requests the schema cannot describe: an ELF the VM rejects, a balance too low, a job that
is not the caller's. Nor that every schema-violating request is refused: query strings and
form fields carry only strings, and a repeated field is read as its last value, as Django
does, so "an array where a string was expected" cannot be told apart.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from marketplace.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def wsgi_in_test_transaction():
    """Calling the WSGI app directly would close the test's database connection at the end
    of each request (Django's request_finished handler); the test client avoids that too."""
    from django.core import signals
    from django.db import close_old_connections
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, wsgi_in_test_transaction):
    from django.core.cache import cache

    from marketplace import services
    from marketplace.models import ApiToken
    cache.clear()                                      # rate-limit counters of earlier tests
    user = services.register("fuzz", "password-fuzz", operator=True)
    services.faucet(user, 10**9)
    services.faucet(user, 10**9, to_operator=True)
    return ApiToken.issue(user)[1]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, token):
    from django.core.cache import cache
    cache.clear()
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                           excluded_checks=[schemathesis.checks.ignored_auth,
                                            schemathesis.checks.positive_data_acceptance,
                                            schemathesis.checks.negative_data_rejection])
