"""Phone numbers owned by users."""

from __future__ import annotations

from pydantic import Field

from telephony.models.common import Out


class PhoneNumber(Out):
    phone_number_id: str
    phone_number: str
    provider: str | None = None
    status: str = "active"
    configuration_status: str = Field(default="unconfigured", description="unconfigured, partial or configured")
    request_id: str | None = None
    agent_id: str | None = None
    created_at: str
    updated_at: str
