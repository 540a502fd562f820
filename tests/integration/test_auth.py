"""Authentication and API keys through the authorizer and the real handlers."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests import seeding
from tests.support import assert_error

PROTECTED = "/telephony/phone-number-requests"


def test_missing_credentials_are_refused_by_the_gateway(world, keys):
    reply = world.client.get(PROTECTED)
    assert reply.status == 401


@pytest.mark.parametrize(
    "token",
    [
        "tpk_short",
        "tpk_01m7zvfg54mpbgy1e1qy76yav6_forged-secret-that-is-long-enough",
        "not-a-jwt",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
    ],
)
def test_forged_or_malformed_credentials_are_401(world, keys, token):
    assert_error(world.client.get(PROTECTED, token=token), 401, "unauthorized")


def test_forged_secret_of_a_real_key_id_is_401(world, keys):
    real = keys.alice
    forged = real[: real.rindex("_") + 1] + "A" * 43
    assert_error(world.client.get(PROTECTED, token=forged), 401, "unauthorized")


def test_non_bearer_scheme_is_401(world, keys):
    reply = world.client.get(PROTECTED, headers={"authorization": f"Basic {keys.alice}"})
    assert_error(reply, 401, "unauthorized")


def test_valid_jwt_is_accepted_with_its_role(world, keys):
    assert world.client.get(PROTECTED, token=keys.alice_jwt).status == 200
    assert world.client.get("/admin/phone-number-requests", token=keys.admin_jwt).status == 200
    assert_error(world.client.get("/admin/phone-number-requests", token=keys.alice_jwt), 403, "forbidden")


def test_expired_jwt_is_401(world, keys):
    token = world.issuer.mint("usr_alice", ttl=-120)
    assert_error(world.client.get(PROTECTED, token=token), 401, "unauthorized")


def test_jwt_signed_by_another_key_is_401(world, keys):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": world.issuer.url,
        "aud": world.issuer.audience,
        "sub": "usr_alice",
        "iat": now,
        "exp": now + 600,
    }
    token = jwt.encode(claims, other, algorithm="RS256", headers={"kid": world.issuer.kid})
    assert_error(world.client.get(PROTECTED, token=token), 401, "unauthorized")


def test_alg_none_jwt_is_401(world, keys):
    now = int(time.time())
    claims = {
        "iss": world.issuer.url,
        "aud": world.issuer.audience,
        "sub": "usr_admin",
        "iat": now,
        "exp": now + 600,
        "cognito:groups": ["admin"],
    }
    token = jwt.encode(claims, None, algorithm="none")
    assert_error(world.client.get("/admin/phone-number-requests", token=token), 401, "unauthorized")


def test_jwt_for_another_audience_or_issuer_is_401(world, keys):
    assert_error(world.client.get(PROTECTED, token=world.issuer.mint("usr_alice", aud="other")), 401)
    assert_error(world.client.get(PROTECTED, token=world.issuer.mint("usr_alice", iss="https://evil.example")), 401)


def test_jwt_without_an_audience_is_401(world, keys):
    assert world.client.get(PROTECTED, token=world.issuer.mint("usr_alice")).status == 200
    token = world.issuer.mint("usr_alice", without=("aud",))
    assert_error(world.client.get(PROTECTED, token=token), 401, "unauthorized")


def test_api_key_is_shown_once_listed_without_secret_and_revocable(world, keys):
    # Given a new key created by a user
    created = world.client.post("/api-keys", token=keys.alice_jwt, json_body={"name": "ci"})
    assert created.status == 201, created.body
    new = created.json()
    assert new["api_key"].startswith("tpk_") and new["role"] == "user"
    assert world.client.get(PROTECTED, token=new["api_key"]).status == 200

    # Then listing shows it without the secret
    listed = world.client.get("/api-keys", token=keys.alice_jwt)
    assert new["api_key"] not in listed.body.decode()
    assert new["key_id"] in [k["key_id"] for k in listed.json()["items"]]
    assert all("api_key" not in k and "secret_hash" not in k for k in listed.json()["items"])

    # When it is revoked, the very next request with it fails, although the authorizer cached it
    revoked = world.client.delete(f"/api-keys/{new['key_id']}", token=keys.alice_jwt)
    assert revoked.status == 200 and revoked.json()["revoked_at"]
    assert_error(world.client.get(PROTECTED, token=new["api_key"]), 401, "unauthorized")


def test_revoked_key_is_401_when_not_cached_too(world, keys):
    created = world.client.post("/api-keys", token=keys.alice_jwt, json_body={"name": "x"}).json()
    world.client.delete(f"/api-keys/{created['key_id']}", token=keys.alice_jwt)
    world.gateway._cache.clear()
    assert_error(world.client.get(PROTECTED, token=created["api_key"]), 401, "unauthorized")


def test_another_users_key_cannot_be_revoked(world, keys):
    created = world.client.post("/api-keys", token=keys.alice_jwt, json_body={"name": "x"}).json()
    assert_error(world.client.delete(f"/api-keys/{created['key_id']}", token=keys.bob), 404, "not_found")
    assert world.client.get(PROTECTED, token=created["api_key"]).status == 200


def test_only_admins_create_admin_keys_and_only_signed_in(world, keys):
    assert_error(world.client.post("/api-keys", token=keys.alice, json_body={"name": "x", "role": "admin"}), 403)
    # with an admin key: the role must come from the identity provider now, not from a key that may outlive it
    assert_error(world.client.post("/api-keys", token=keys.admin, json_body={"name": "x", "role": "admin"}), 403)
    made = world.client.post("/api-keys", token=keys.admin_jwt, json_body={"name": "x", "role": "admin"})
    assert made.status == 201 and made.json()["role"] == "admin"
    assert made.json()["expires_at"]  # an admin key always ends


def test_unknown_fields_in_api_key_body_are_400(world, keys):
    reply = world.client.post("/api-keys", token=keys.alice, json_body={"name": "x", "owner_id": "usr_bob"})
    assert_error(reply, 400, "invalid_request")


def test_api_budget_is_per_key_and_limited(world, keys):
    seeding.set_limits("usr_bob", api_requests_per_hour=3)
    seeding.set_limits("usr_alice", api_requests_per_hour=3)
    statuses = [world.client.get(PROTECTED, token=keys.bob).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = world.client.get(PROTECTED, token=keys.bob)
    assert limited.header("Retry-After") and limited.header("RateLimit").startswith('"api";r=0;')
    assert world.client.get(PROTECTED, token=keys.alice).status == 200  # another key has its own budget


def test_an_agent_key_refused_elsewhere_still_spends_its_budget(world, keys):
    seeding.set_limits("usr_alice", api_requests_per_hour=3)
    replies = [world.client.get(PROTECTED, token=keys.agent) for _ in range(4)]
    assert [r.status for r in replies] == [403, 403, 403, 429]
    for reply, left in zip(replies, (2, 1, 0, 0), strict=True):
        assert reply.header("RateLimit").startswith(f'"api";r={left};'), reply.headers


def test_an_issuer_out_of_reach_is_not_remembered_as_a_refusal(world, keys, monkeypatch):
    """API Gateway caches the authorizer's answer with the header: a refusal for an outage would keep a good
    token out for the cache's TTL. The authorizer fails instead (API Gateway's 500, never cached)."""
    from telephony.services import auth

    class Unreachable:
        def get_signing_key_from_jwt(self, token: str) -> None:
            raise jwt.PyJWKClientConnectionError("connection refused")

    token = world.issuer.mint("usr_alice")
    monkeypatch.setattr(auth, "_jwks_client", lambda url: Unreachable())
    assert world.client.get(PROTECTED, token=token).status == 500
    monkeypatch.undo()
    assert world.client.get(PROTECTED, token=token).status == 200


def test_only_the_configured_claim_makes_an_admin(world, keys):
    queue = "/admin/phone-number-requests"
    assert world.client.get(queue, token=world.issuer.mint("usr_carol", role="admin")).status == 200
    for claims in ({"custom:role": "admin"}, {"groups": ["admin"]}, {"roles": ["admin"]}):  # "role" is unit-tested
        assert_error(world.client.get(queue, token=world.issuer.mint("usr_carol", **claims)), 403, "forbidden")
