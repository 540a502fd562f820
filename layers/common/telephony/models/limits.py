"""An account's limits: what its budgets and counts may reach (the defaults are the API's published ones), and what
it uses of them now."""

from __future__ import annotations

from pydantic import Field

from telephony.models.common import Body, Out

# The most an administrator may set each limit to: far above any real need, low enough that a typo (an extra
# zero or three) is refused rather than obeyed.
MAXIMA = {
    "calls_per_hour": 100_000,
    "number_requests_per_hour": 1_000,
    "configurations_per_hour": 10_000,
    "api_requests_per_hour": 1_000_000,
    "api_requests_per_hour_per_user": 10_000_000,
    "max_concurrent_calls": 1_000,
    "max_api_keys": 100,
    "max_numbers": 10_000,
}


class AccountLimits(Out):
    calls_per_hour: int = Field(
        default=100, ge=0, le=MAXIMA["calls_per_hour"], description="Outbound calls and dialled transfer legs per hour"
    )
    number_requests_per_hour: int = Field(default=5, ge=0, le=MAXIMA["number_requests_per_hour"])
    configurations_per_hour: int = Field(default=10, ge=0, le=MAXIMA["configurations_per_hour"])
    api_requests_per_hour: int = Field(
        default=1000, ge=0, le=MAXIMA["api_requests_per_hour"], description="Per API key (or sign-in token)"
    )
    api_requests_per_hour_per_user: int = Field(
        default=5000,
        ge=0,
        le=MAXIMA["api_requests_per_hour_per_user"],
        description="Across all the user's keys and tokens",
    )
    max_concurrent_calls: int = Field(
        default=10, ge=0, le=MAXIMA["max_concurrent_calls"], description="Calls and transfer legs live at once"
    )
    max_api_keys: int = Field(default=20, ge=0, le=MAXIMA["max_api_keys"], description="Unrevoked API keys")
    max_numbers: int = Field(default=20, ge=0, le=MAXIMA["max_numbers"], description="Phone numbers held")


class LimitsUpdate(Body):
    """Only the limits named change; the others keep their values."""

    calls_per_hour: int | None = Field(default=None, ge=0, le=MAXIMA["calls_per_hour"])
    number_requests_per_hour: int | None = Field(default=None, ge=0, le=MAXIMA["number_requests_per_hour"])
    configurations_per_hour: int | None = Field(default=None, ge=0, le=MAXIMA["configurations_per_hour"])
    api_requests_per_hour: int | None = Field(default=None, ge=0, le=MAXIMA["api_requests_per_hour"])
    api_requests_per_hour_per_user: int | None = Field(default=None, ge=0, le=MAXIMA["api_requests_per_hour_per_user"])
    max_concurrent_calls: int | None = Field(default=None, ge=0, le=MAXIMA["max_concurrent_calls"])
    max_api_keys: int | None = Field(default=None, ge=0, le=MAXIMA["max_api_keys"])
    max_numbers: int | None = Field(default=None, ge=0, le=MAXIMA["max_numbers"])


class AccountUsage(Out):
    calls_this_hour: int = Field(description="Calls and transfer legs dialled in the current hour's window")
    number_requests_this_hour: int
    configurations_this_hour: int
    api_requests_this_hour: int = Field(description="By all the user's keys and tokens, in the current window")
    live_calls: int = Field(description="Calls and transfer legs live now")
    api_keys: int = Field(description="Unrevoked API keys")
    numbers: int = Field(description="Phone numbers held")


class AccountLimitsView(Out):
    user_id: str
    limits: AccountLimits
    usage: AccountUsage
