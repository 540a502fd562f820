"""Phone numbers owned by users: the stored number, the claim that keeps each E.164 number unique, and the
list's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from telephony.models.common import Out, Record
from telephony.models.sip import CallSettings, ConfigLock, LiveKitIds, Plan, Registration


class NumberRecord(Record):
    """A number a user owns: assigned through a request, or registered for an agent; its LiveKit resources."""

    phone_number_id: str
    phone_number: str
    owner_id: str
    provider: str | None = None
    status: str = "active"
    configuration_status: str = "unconfigured"
    created_at: str
    updated_at: str
    request_id: str | None = None  # assigned through this request: the owner keeps the number when unregistering
    assigned_provider: str | None = None  # the provider it was assigned with, given back when it is unregistered
    agent_id: str | None = None
    registered_at: str | None = None
    registration: Registration | None = None
    call_settings: CallSettings | None = None
    plan: Plan = Field(default_factory=Plan)
    livekit: LiveKitIds = Field(default_factory=LiveKitIds)
    auth_secret_arn: str | None = None
    config_lock: ConfigLock | None = None
    revision: int | None = None  # moved on by every save: a lock taken at a revision locks what was read

    @property
    def settings(self) -> CallSettings:
        return self.call_settings or CallSettings()


class ClaimRecord(Record):
    """One item per E.164 number, held by its open request or by its owner's number."""

    e164: str
    holder: Literal["request", "number"]
    owner_id: str
    request_id: str | None = None
    phone_number_id: str | None = None

    def held_as_number_of(self, owner_id: str) -> bool:
        return self.holder == "number" and self.owner_id == owner_id


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
