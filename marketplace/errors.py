"""The marketplace's errors: each carries the HTTP status the API answers with and a one-line reason."""

from __future__ import annotations


class MarketError(Exception):
    status = 400

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class NotFound(MarketError):
    status = 404


class Forbidden(MarketError):
    status = 403


class Conflict(MarketError):
    """The job is not in a state that allows this (another worker locked it first, ...)."""
    status = 409


class PaymentRequired(MarketError):
    status = 402


class TooLarge(MarketError):
    status = 413
