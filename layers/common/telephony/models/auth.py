"""API keys: the bodies that create them and the answers that describe them (the caller: `models.principal`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from telephony.models.common import Body, Moment, Out, PageQuery


class CreateApiKey(Body):
    name: str = Field(min_length=1, max_length=100, description="A label to recognise the key by")
    role: Literal["user", "agent", "admin"] = Field(
        default="user",
        description="`agent` keys may post call events for their owner's calls. Only admins make admin keys, "
        "signed in with their token (not with another key), and an admin key expires within a day",
    )
    expires_at: Moment | None = Field(
        default=None,
        max_length=40,
        description="ISO 8601 time after which the key stops working; never, if absent (a day for admin keys)",
    )


class ApiKeyInfo(Out):
    key_id: str
    owner_id: str
    name: str
    role: str
    prefix: str = Field(description="The first characters of the key, to recognise it by")
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None


class ApiKeyCreated(ApiKeyInfo):
    api_key: str = Field(description="The key itself. Shown once: store it now, it cannot be read again")


class AdminKeysQuery(PageQuery):
    user_id: str = Field(min_length=1, max_length=128, description="Whose keys")
