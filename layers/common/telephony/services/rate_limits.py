"""The API's budgets: which window a hit goes into and its limit, and the headers that describe what is left."""

from __future__ import annotations

from typing import NamedTuple

from telephony.models.budgets import API, WINDOW_SECONDS, Budget, Charge, window_of
from telephony.models.budgets import CALLS as CALLS  # the services spend them as rate_limits.CALLS, ...
from telephony.models.budgets import CONFIGURATIONS as CONFIGURATIONS
from telephony.models.budgets import NUMBER_REQUESTS as NUMBER_REQUESTS
from telephony.models.principal import Principal
from telephony.repositories.store import Store, default_store
from telephony.util import epoch


class Usage(NamedTuple):
    budget: Budget
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.budget.name}";q={self.budget.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.budget.name}";r={self.remaining};t={self.reset_seconds}',
        }


def charge(budget: Budget, user_id: str, *, now: int | None = None) -> Charge:
    """One hit of a user's budget, in the window of `now`: spent by the repository that does the work, in the
    same transaction."""
    return Charge(budget, f"user:{user_id}", window_of(now if now is not None else epoch()), budget.limit)


def consume_api(principal: Principal, *, now: int | None = None, store: Store | None = None) -> Usage:
    """Count one request against the caller's API budget (BudgetSpent beyond it); refuses a revoked key even if
    the authorizer's answer was cached (KeyRevoked)."""
    moment = now if now is not None else epoch()
    start = window_of(moment)
    spent = Charge(API, principal.rate_subject, start, API.limit)
    hits = (store or default_store()).rate_limits.consume(spent)
    return Usage(API, max(API.limit - hits, 0), start + WINDOW_SECONDS - moment)


def revocation_windows(key_id: str, *, now: int | None = None) -> list[tuple[str, int]]:
    """The API windows (budget, start) a revoked key could still reach while the authorizer's answer is cached."""
    start = window_of(now if now is not None else epoch())
    return [(API.name, start), (API.name, start + WINDOW_SECONDS)]
