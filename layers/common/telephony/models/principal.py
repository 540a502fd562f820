"""The authenticated caller: a NamedTuple, so the authorizer never imports pydantic.

The authorizer runs before every request that misses API Gateway's cache, and this five-field record's only
source is our own code (the authorizer's answer, passed on to every function as its context): it needs no
validation library.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, NamedTuple, NotRequired, TypedDict, cast, get_args

AuthType = Literal["api_key", "jwt"]
_AUTH_TYPES = get_args(AuthType)


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"
    AGENT = "agent"


_ROLES = tuple(Role)  # compared by ==, so a context value that is not hashable is refused, not a TypeError


class Principal(NamedTuple):
    """The caller, as the authorizer passes it on to every function (not a frozen dataclass: models/budgets.py)."""

    user_id: str
    role: Role
    auth_type: AuthType
    key_id: str | None = None
    expires_at: int | None = None  # a JWT's exp; a cached authorizer answer must not outlive it

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def rate_subject(self) -> str:
        """Whose 1000/hour API budget this request spends: the API key's, or the user's for a JWT."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"

    def to_context(self) -> dict[str, Any]:
        """The authorizer's context: the set fields, JSON types only."""
        context: dict[str, Any] = {"user_id": self.user_id, "role": self.role.value, "auth_type": self.auth_type}
        if self.key_id is not None:
            context["key_id"] = self.key_id
        if self.expires_at is not None:
            context["expires_at"] = self.expires_at
        return context

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> Principal:
        """The caller an authorizer context describes; ValueError if it is not one `to_context` could give."""
        user_id, role, auth_type = context.get("user_id"), context.get("role"), context.get("auth_type")
        key_id, expires_at = context.get("key_id"), context.get("expires_at")
        if not isinstance(user_id, str) or not user_id:
            raise ValueError("the authorizer context has no user_id")
        if role not in _ROLES or auth_type not in _AUTH_TYPES:
            raise ValueError(f"the authorizer context has an unknown role or auth_type: {role!r}, {auth_type!r}")
        if key_id is not None and not isinstance(key_id, str):
            raise ValueError("the authorizer context's key_id is not a string")
        if isinstance(expires_at, str) and expires_at.isdigit():  # a context value may arrive as text
            expires_at = int(expires_at)
        if expires_at is not None and (not isinstance(expires_at, int) or isinstance(expires_at, bool)):
            raise ValueError("the authorizer context's expires_at is not a whole number")
        return cls(user_id, Role(role), cast(AuthType, auth_type), key_id, expires_at)


class ApiKeyRecord(TypedDict):
    """An API key as stored (the hash of its secret, never the secret). A TypedDict rather than a model: the
    authorizer reads it on every request it does not find in its cache, and imports no pydantic."""

    key_id: str
    owner_id: str
    name: str
    role: str
    prefix: str
    secret_hash: str
    created_at: str
    revoked_at: NotRequired[str]
    expires_at: NotRequired[str]
