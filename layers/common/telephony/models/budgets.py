"""The API's rate-limit budgets: plain data, shared by the services that spend them and the OpenAPI document
that describes them."""

from __future__ import annotations

from typing import NamedTuple

from telephony.errors import BudgetSpent

WINDOW_SECONDS = 3600


class Budget(NamedTuple):
    name: str
    limit: int  # the default; an account's own limits may differ
    what: str
    limit_field: str  # the account limit (models/limits.py AccountLimits) that sets it


API = Budget("api", 1000, "API requests per hour per API key", "api_requests_per_hour")
API_USER = Budget(
    "api_user",
    5000,
    "API requests per hour per user, across all its keys and tokens",
    "api_requests_per_hour_per_user",
)
NUMBER_REQUESTS = Budget("number_requests", 5, "phone-number requests per hour", "number_requests_per_hour")
CONFIGURATIONS = Budget("configurations", 10, "phone-number configurations per hour", "configurations_per_hour")
CALLS = Budget("calls", 100, "outbound calls per hour", "calls_per_hour")


def window_of(moment: int) -> int:
    return moment - moment % WINDOW_SECONDS


class Charge(NamedTuple):
    """One hit of a budget: whose window it goes into, and the limit that window must stay within."""

    budget: Budget
    subject: str  # `user:<id>` or `key:<id>`
    window_start: int
    limit: int

    @property
    def expires_at(self) -> int:
        return self.window_start + 2 * WINDOW_SECONDS

    def refused(self, now: int) -> BudgetSpent:
        retry_after = max(self.window_start + WINDOW_SECONDS - now, 1)
        return BudgetSpent(
            f"rate limit exceeded: {self.limit} {self.budget.what}; retry in {retry_after} seconds",
            budget=self.budget.name,
            limit=self.limit,
            window_seconds=WINDOW_SECONDS,
            retry_after=retry_after,
        )
