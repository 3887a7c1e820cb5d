"""The marketplace: a Django app where clients post MIPS jobs and untrusted operators prove them.

Public surface:
    marketplace.states    the job state machine (the one place that lists the transitions)
    marketplace.ledger    the double-entry ledger (every move of credits)
    marketplace.services  what the portal, the API and the tasks do to jobs (each a transaction)
    marketplace.api       the JSON API (django-ninja, OpenAPI at /api/openapi.json)
    marketplace.client    the API's HTTP client, used by `zkmips job` and `zkmips worker start`
                          (it imports no Django, so workers need none)
    marketplace.tasks     the trusted Celery tasks: settle receipts, expire locks and deadlines,
                          publish offers

This module imports nothing, so that ``marketplace.client`` stays importable without Django.
"""
