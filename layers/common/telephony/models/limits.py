"""An account's limits: what its budgets and counts may reach (the defaults are the API's published ones)."""

from __future__ import annotations

from pydantic import Field

from telephony.models.common import Out


class AccountLimits(Out):
    calls_per_hour: int = Field(default=100, ge=0, description="Outbound calls and dialled transfer legs per hour")
    number_requests_per_hour: int = Field(default=5, ge=0)
    configurations_per_hour: int = Field(default=10, ge=0)
    api_requests_per_hour: int = Field(default=1000, ge=0, description="Per API key (or sign-in token)")
    api_requests_per_hour_per_user: int = Field(default=5000, ge=0, description="Across all the user's keys and tokens")
    max_concurrent_calls: int = Field(default=10, ge=0)
    max_api_keys: int = Field(default=20, ge=0, description="Unrevoked API keys a user may hold")
    max_numbers: int = Field(default=20, ge=0)
