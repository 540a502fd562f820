"""Pure pieces: key format, claims to roles, principals from authorizer context, budgets, phone numbers."""

from __future__ import annotations

import time

import pytest

from telephony.errors import InvalidInput, RateLimited, Unauthenticated
from telephony.handlers.http import principal_from_event, status_of
from telephony.models.principal import Role
from telephony.phone import is_premium_rate, to_e164
from telephony.services import auth, rate_limits
from tests.unit.fakes import fake_store


def test_api_key_round_trips_through_its_parser_and_hash():
    key, stored_hash = auth.new_api_key("ak_01m7zvfg54mpbgy1e1qy76yav6")
    key_id, secret = auth._parse_api_key(key)
    assert key_id == "ak_01m7zvfg54mpbgy1e1qy76yav6"
    assert auth.hash_secret(secret) == stored_hash and secret not in stored_hash


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer tpk_short", "bearer   "])
def test_malformed_headers_are_unauthenticated(header):
    with pytest.raises(Unauthenticated):
        auth.authenticate(header)


@pytest.mark.parametrize(
    ("claims", "claim", "role"),
    [
        ({"cognito:groups": ["admin"]}, "cognito:groups", Role.ADMIN),
        ({"cognito:groups": ["ops", "agent"]}, "cognito:groups", Role.AGENT),
        ({"cognito:groups": ["agent", "admin"]}, "cognito:groups", Role.ADMIN),
        ({"cognito:groups": ["ops"]}, "cognito:groups", Role.USER),
        ({"cognito:groups": "admin"}, "cognito:groups", Role.ADMIN),
        ({"https://example.com/roles": ["admin"]}, "https://example.com/roles", Role.ADMIN),
        # claims other than the configured one are not read: with many issuers users or other apps set them
        ({"groups": ["admin"]}, "cognito:groups", Role.USER),
        ({"role": "admin", "custom:role": "admin"}, "cognito:groups", Role.USER),
        ({"cognito:groups": ["admin"]}, "https://example.com/roles", Role.USER),
        ({"cognito:groups": {"admin": True}}, "cognito:groups", Role.USER),
        ({}, "cognito:groups", Role.USER),
    ],
)
def test_roles_come_from_the_configured_claim_only(claims, claim, role):
    assert auth._role_from_claims(claims, claim) is role


def _event(context):
    return {"requestContext": {"authorizer": {"lambda": context}}}


def test_principal_from_authorizer_context():
    principal = principal_from_event(_event({"user_id": "u1", "role": "admin", "auth_type": "api_key", "key_id": "k"}))
    assert principal.is_admin and principal.rate_subject == "key:k"


def test_marked_or_missing_context_is_unauthenticated():
    with pytest.raises(Unauthenticated, match="revoked"):
        principal_from_event(_event({"auth_error": "unauthorized", "auth_message": "this API key has been revoked"}))
    with pytest.raises(Unauthenticated):
        principal_from_event({"requestContext": {}})


def test_a_cached_authorization_does_not_outlive_the_jwt():
    context = {"user_id": "u1", "role": "user", "auth_type": "jwt", "expires_at": int(time.time()) - 1}
    with pytest.raises(Unauthenticated, match="expired"):
        principal_from_event(_event(context))


def test_a_refused_charge_reports_time_to_the_end_of_its_window():
    charge = rate_limits.charge(rate_limits.CALLS, "u1", now=7200 + 600, store=fake_store())
    error = charge.refused(7200 + 600)
    assert isinstance(error, RateLimited) and error.retry_after == 3000 and error.limit == 100
    assert charge.subject == "user:u1" and charge.window_start == 7200
    assert status_of(error) == 429


def test_usage_headers_follow_the_ratelimit_draft():
    usage = rate_limits.Usage(rate_limits.API, limit=1000, remaining=998, reset_seconds=12)
    assert usage.headers() == {"RateLimit-Policy": '"api";q=1000;w=3600', "RateLimit": '"api";r=998;t=12'}


def test_revocation_poisons_the_current_and_next_window():
    windows = rate_limits.revocation_windows("ak_1", now=3600 * 5 + 10)
    assert windows == [("api", 18000), ("api", 21600)]


@pytest.mark.parametrize(("raw", "e164"), [("+1 (415) 555-0123", "+14155550123"), ("+44 7911 123456", "+447911123456")])
def test_numbers_are_normalised_to_e164(raw, e164):
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["4155550123", "+1415555012", "+999123", "hello", "+"])
def test_invalid_numbers_are_refused(raw):
    with pytest.raises(InvalidInput):
        to_e164(raw)


def test_premium_rate_numbers_are_recognised():
    assert is_premium_rate("+19005550123")
    assert not is_premium_rate("+14155550123")


def test_an_issuer_without_an_audience_refuses_every_token(monkeypatch):
    from local.issuer import Issuer
    from telephony import config

    issuer = Issuer("https://issuer.example")
    monkeypatch.setenv("JWT_ISSUER", issuer.url)
    monkeypatch.setenv("JWT_AUDIENCE", "")
    config.settings.cache_clear()
    monkeypatch.setattr(auth, "_jwks_client", lambda url: pytest.fail(f"the issuer's keys were fetched from {url}"))
    try:
        with pytest.raises(Unauthenticated):
            auth.authenticate("Bearer " + issuer.mint("usr_alice", aud="anything"))
    finally:
        config.settings.cache_clear()
