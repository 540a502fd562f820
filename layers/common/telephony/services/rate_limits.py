"""The four budgets of the API, enforced atomically in DynamoDB, and the headers that describe them."""

from __future__ import annotations

from typing import Any, NamedTuple

from telephony.errors import RateLimited, Unauthenticated
from telephony.models.budgets import API, WINDOW_SECONDS, Budget
from telephony.models.budgets import CALLS as CALLS  # the services spend them as rate_limits.CALLS, ...
from telephony.models.budgets import CONFIGURATIONS as CONFIGURATIONS
from telephony.models.budgets import NUMBER_REQUESTS as NUMBER_REQUESTS
from telephony.models.principal import Principal
from telephony.repositories import dynamo, keys, rate_limits
from telephony.util import epoch


class Usage(NamedTuple):  # not a frozen dataclass: see models/budgets.py
    budget: Budget
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.budget.name}";q={self.budget.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.budget.name}";r={self.remaining};t={self.reset_seconds}',
        }


def _window(now: int) -> tuple[int, int]:
    start = now - now % WINDOW_SECONDS
    return start, start + WINDOW_SECONDS - now


def limited(budget: Budget, *, now: int | None = None) -> RateLimited:
    _, reset = _window(now if now is not None else epoch())
    return RateLimited(
        f"rate limit exceeded: {budget.limit} {budget.what}; retry in {reset} seconds",
        budget=budget.name,
        limit=budget.limit,
        window_seconds=WINDOW_SECONDS,
        retry_after=reset,
    )


def consume_api(principal: Principal, *, now: int | None = None) -> Usage:
    """Count one request against the caller's API budget; refuses a revoked key even if the authorizer cached it."""
    moment = now if now is not None else epoch()
    start, reset = _window(moment)
    try:
        hits = rate_limits.consume(
            API.name, principal.rate_subject, start, limit=API.limit, expires_at=start + 2 * WINDOW_SECONDS
        )
    except dynamo.ConditionFailed as failed:
        if failed.item and failed.item.get("revoked"):
            raise Unauthenticated("this API key has been revoked") from failed
        raise limited(API, now=moment) from failed
    return Usage(API, max(API.limit - hits, 0), reset)


def hit(budget: Budget, user_id: str, *, now: int | None = None) -> dict[str, Any]:
    """One hit of a per-user budget as a transaction element; the caller maps its failure with `limited`."""
    start, _ = _window(now if now is not None else epoch())
    return rate_limits.consume_in_transaction(
        budget.name, f"user:{user_id}", start, limit=budget.limit, expires_at=start + 2 * WINDOW_SECONDS
    )


def revocation_markers(key_id: str, *, now: int | None = None) -> list[dict[str, str]]:
    """The usage windows a revoked key could still reach while the authorizer's answer is cached."""
    start, _ = _window(now if now is not None else epoch())
    subject = f"key:{key_id}"
    return [
        keys.rate_window(API.name, subject, start),
        keys.rate_window(API.name, subject, start + WINDOW_SECONDS),
    ]


def refund(budget: Budget, user_id: str, *, now: int | None = None) -> dict[str, Any]:
    start, _ = _window(now if now is not None else epoch())
    return rate_limits.refund_in_transaction(budget.name, f"user:{user_id}", start)
