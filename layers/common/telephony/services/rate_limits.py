"""The API's budgets: which window a hit goes into and its limit, and the headers that describe what is left."""

from __future__ import annotations

from typing import NamedTuple

from telephony.models.budgets import API, API_USER, WINDOW_SECONDS, Budget, Charge, window_of
from telephony.models.budgets import CALLS as CALLS  # the services spend them as rate_limits.CALLS, ...
from telephony.models.budgets import CONFIGURATIONS as CONFIGURATIONS
from telephony.models.budgets import NUMBER_REQUESTS as NUMBER_REQUESTS
from telephony.models.principal import Principal
from telephony.repositories.store import Store, default_store
from telephony.services import limits
from telephony.util import epoch


class Usage(NamedTuple):
    budget: Budget
    limit: int
    remaining: int
    reset_seconds: int

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Policy": f'"{self.budget.name}";q={self.limit};w={WINDOW_SECONDS}',
            "RateLimit": f'"{self.budget.name}";r={self.remaining};t={self.reset_seconds}',
        }


def limit_of(budget: Budget, user_id: str, *, store: Store | None = None) -> int:
    """The user's account's limit for this budget."""
    return int(getattr(limits.of(user_id, store=store), budget.limit_field))


def charge(budget: Budget, user_id: str, *, now: int | None = None, store: Store | None = None) -> Charge:
    """One hit of a user's budget, in the window of `now`, within the account's limit: spent by the repository that
    does the work, in the same transaction."""
    moment = now if now is not None else epoch()
    return Charge(budget, f"user:{user_id}", window_of(moment), limit_of(budget, user_id, store=store))


def consume_api(principal: Principal, *, now: int | None = None, store: Store | None = None) -> Usage:
    """Count one request against the caller's API budgets, its key's (or token's) and its user's across all its
    keys and tokens (BudgetSpent beyond either); refuses a revoked key even if the authorizer's answer was cached
    (KeyRevoked). The usage reported is that of the budget with less left."""
    db = store or default_store()
    moment = now if now is not None else epoch()
    start = window_of(moment)
    reset = start + WINDOW_SECONDS - moment
    usages = []
    for budget, subject in ((API, principal.rate_subject), (API_USER, f"user:{principal.user_id}")):
        limit = limit_of(budget, principal.user_id, store=db)
        hits = db.rate_limits.consume(Charge(budget, subject, start, limit))
        usages.append(Usage(budget, limit, max(limit - hits, 0), reset))
    return min(usages, key=lambda usage: usage.remaining)


def revocation_windows(key_id: str, *, now: int | None = None) -> list[tuple[str, int]]:
    """The API windows (budget, start) a revoked key could still reach while the authorizer's answer is cached."""
    start = window_of(now if now is not None else epoch())
    return [(API.name, start), (API.name, start + WINDOW_SECONDS)]
