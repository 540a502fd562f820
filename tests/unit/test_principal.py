"""The caller record the authorizer hands to every function: its context round-trips and bad ones are refused."""

from __future__ import annotations

from typing import Any

import pytest

from telephony.models.principal import Principal, Role


@pytest.mark.parametrize(
    "principal",
    [
        Principal("usr_a", Role.USER, "api_key", key_id="ak_1"),
        Principal("usr_b", Role.ADMIN, "jwt", expires_at=1_900_000_000),
        Principal("usr_c", Role.AGENT, "api_key", key_id="ak_2"),
    ],
)
def test_context_round_trips(principal: Principal) -> None:
    context = principal.to_context()
    assert all(value is not None for value in context.values())
    assert isinstance(context["role"], str) and not isinstance(context["role"], Role)  # plain JSON for the gateway
    assert Principal.from_context(context) == principal


def test_a_context_value_sent_as_text_is_read_as_a_number() -> None:
    principal = Principal.from_context({"user_id": "u", "role": "user", "auth_type": "jwt", "expires_at": "17"})
    assert principal.expires_at == 17
    assert principal.rate_subject == "user:u" and not principal.is_admin


@pytest.mark.parametrize(
    "context",
    [
        {},
        {"user_id": "", "role": "user", "auth_type": "jwt"},
        {"user_id": 5, "role": "user", "auth_type": "jwt"},
        {"user_id": "u", "role": "root", "auth_type": "jwt"},
        {"user_id": "u", "role": "user", "auth_type": "password"},
        {"user_id": "u", "role": "user", "auth_type": "api_key", "key_id": 3},
        {"user_id": "u", "role": "user", "auth_type": "jwt", "expires_at": "soon"},
        {"user_id": "u", "role": "user", "auth_type": "jwt", "expires_at": True},
        {"user_id": "u", "role": "user", "auth_type": "jwt", "expires_at": 1.5},
    ],
)
def test_a_context_our_authorizer_could_not_have_given_is_refused(context: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Principal.from_context(context)


def test_the_record_is_frozen() -> None:
    principal = Principal("usr_a", Role.USER, "api_key", key_id="ak_1")
    with pytest.raises(AttributeError):
        principal.user_id = "usr_b"  # type: ignore[misc]
