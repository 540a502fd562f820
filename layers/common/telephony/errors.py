"""Domain errors. Services raise these; the HTTP layer maps each class to a status in one table."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "internal_error"

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class InvalidInput(DomainError):
    code = "invalid_request"


class Unauthenticated(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class IdempotencyMismatch(DomainError):
    """An Idempotency-Key reused with another request body."""

    code = "idempotency_key_reused"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, budget: str, limit: int, window_seconds: int, retry_after: int) -> None:
        super().__init__(message)
        self.budget = budget
        self.limit = limit
        self.window_seconds = window_seconds
        self.retry_after = retry_after


class UpstreamUnavailable(DomainError):
    """A dependency (LiveKit, an AWS service) is down or throttling: retry later."""

    code = "service_unavailable"


class UpstreamError(DomainError):
    """A dependency answered with an error we cannot map to the caller's input."""

    code = "bad_gateway"


class ConfigurationError(DomainError):
    code = "internal_error"


class TransientError(DomainError):
    """Raised by workflow tasks for failures worth retrying; the ASL retries this name."""

    code = "service_unavailable"
