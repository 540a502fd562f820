"""Who is calling, and API keys."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from telephony.models.common import Body, Out


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"
    AGENT = "agent"


class Principal(BaseModel):
    """The authenticated caller, as the authorizer passes it on to every function."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    user_id: str
    role: Role
    auth_type: Literal["api_key", "jwt"]
    key_id: str | None = None
    expires_at: int | None = None  # a JWT's exp; a cached authorizer answer must not outlive it

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def rate_subject(self) -> str:
        """Whose 1000/hour API budget this request spends: the API key's, or the user's for a JWT."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"


class CreateApiKey(Body):
    name: str = Field(min_length=1, max_length=100, description="A label to recognise the key by")
    role: Literal["user", "agent", "admin"] = Field(
        default="user",
        description="`agent` keys may post call events for their owner's calls; only admins make admin keys",
    )


class ApiKeyInfo(Out):
    key_id: str
    name: str
    role: str
    prefix: str = Field(description="The first characters of the key, to recognise it by")
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None


class ApiKeyCreated(ApiKeyInfo):
    api_key: str = Field(description="The key itself. Shown once: store it now, it cannot be read again")
