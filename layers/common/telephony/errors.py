"""Domain errors. Services raise these; the HTTP layer maps each class to a status in one table."""

from __future__ import annotations

from collections.abc import Sequence
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


class DoNotCall(Forbidden):
    """The callee is on a do-not-call list: the account's own (`account`) or the operator's (`global`)."""

    code = "do_not_call"

    def __init__(self, e164: str, lists: Sequence[str]) -> None:
        whose = "your do-not-call list" if "account" in lists else "the operator's do-not-call list"
        super().__init__(
            f"{e164} is on {whose}: it cannot be called",
            details=[{"field": "phone_number", "issue": "do_not_call", "lists": list(lists)}],
        )
        self.lists = list(lists)


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, budget: str, limit: int, window_seconds: int, retry_after: int) -> None:
        super().__init__(message)
        self.budget = budget
        self.limit = limit
        self.window_seconds = window_seconds
        self.retry_after = retry_after


class BudgetSpent(RateLimited):
    """A rate-limit window is full: refused by the write that would have counted this hit."""


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


# ---------------------------------------------------------------- what a refused conditional write means
# The repositories raise these when DynamoDB refuses a write on its condition; services catch them by name.


class NumberTaken(Conflict):
    """The E.164 number already has an open request or an owner."""

    def __init__(self, e164: str) -> None:
        super().__init__(
            f"{e164} already has an open request or an owner",
            details=[{"field": "phone_number", "issue": "already_requested"}],
        )
        self.e164 = e164


class AlreadyExists(Conflict):
    """An item with this id exists already (a retried creation whose first attempt was written)."""


class StatusChanged(Conflict):
    """The item is no longer in the status the write expected (another request moved it first)."""


class EventAlreadyApplied(Conflict):
    """This webhook event was applied before: nothing more to do."""


class NumberLocked(Conflict):
    """Another request holds the number's provisioning lock."""


class NumberChanged(Conflict):
    """The number was saved by another request between our read and our lock: read it again."""


class LockLost(Conflict):
    """The provisioning lock this request held was taken over (it outlived its time)."""


class TooManyTransfers(Conflict):
    """The call has been transferred as often as a call may be."""


class TranscriptFull(Conflict):
    """The call's transcript holds as much text as a call's details may return."""


class AgentNameTaken(Conflict):
    """The agent name belongs to another account."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the agent name {name!r} belongs to another account; choose another",
            details=[{"field": "agent_name", "issue": "taken"}],
        )


class TooManyWebhooks(Conflict):
    """The user holds as many webhooks as it may."""


class TooManyNumbers(Conflict):
    """The account holds as many phone numbers as its limits allow."""


class ConcurrencyLimit(DomainError):
    """The account has as many calls live as its limits allow: one must end first."""

    code = "concurrency_limit"
    retry_after = 5  # seconds: calls end at any moment, so a short wait is the honest hint

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message, details=[{"field": "max_concurrent_calls", "limit": limit}])
        self.limit = limit


class TooManyKeys(Conflict):
    """The user holds as many active API keys as it may."""


class KeyRevoked(Unauthenticated):
    """The API key was revoked (the authorizer's cached answer may not know it yet)."""


class OutsideCallingHours(Conflict):
    """The account enforces calling hours and the callee's local time is outside them (in one of its zones at
    least); `details` name the next allowed time."""

    code = "outside_calling_hours"


class SettingsChanged(Conflict):
    """The account's settings were saved by another request between our read and our write: read them again."""
