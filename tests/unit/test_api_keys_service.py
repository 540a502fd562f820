"""API keys with a fake keys repository and fake rate limits: made and shown once, at most 20 unrevoked per
user (expired ones revoked to make room), expiring, admin keys only from a sign-in token and short-lived,
listed and revoked by their owner or by an admin."""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

import pytest

from telephony import config
from telephony.errors import Forbidden, InvalidInput, NotFound, TooManyKeys
from telephony.models.auth import CreateApiKey
from telephony.models.principal import ApiKeyRecord, Principal, Role
from telephony.services import api_keys, auth, rate_limits
from telephony.util import iso, now
from tests.unit.fakes import ALICE, BOB, FakeApiKeys, FakeRateLimits, fake_store

ADMIN = Principal(user_id="usr_admin", role=Role.ADMIN, auth_type="jwt")
ADMIN_BY_KEY = Principal(user_id="usr_admin", role=Role.ADMIN, auth_type="api_key", key_id="ak_admin")
LIMIT = 20  # AccountLimits().max_api_keys


def _key(n: int, owner: str = ALICE.user_id, **fields: Any) -> ApiKeyRecord:
    """A stored key, the n-th made (a larger n is newer)."""
    record = ApiKeyRecord(
        key_id=f"ak_{n:026d}",
        owner_id=owner,
        name=f"key {n}",
        role="user",
        prefix="tpk_",
        secret_hash="hash",
        created_at=f"2026-01-01T10:{n // 60:02d}:{n % 60:02d}.000Z",
    )
    return ApiKeyRecord(**record, **fields)


def _hours(hours: float) -> str:
    return iso(now() + timedelta(hours=hours))


class World:
    def __init__(self, *records: ApiKeyRecord) -> None:
        self.rate_limits = FakeRateLimits()
        self.keys = FakeApiKeys(*records, rate_limits=self.rate_limits)
        self.store = fake_store(api_keys=self.keys)

    def create(self, principal: Principal = ALICE, **body: Any) -> Any:
        return api_keys.create(
            CreateApiKey.model_validate({"name": "ci", **body}), principal=principal, store=self.store
        )

    def unrevoked(self, owner: str = ALICE.user_id) -> list[str]:
        return sorted(k for k, r in self.keys.items.items() if r["owner_id"] == owner and "revoked_at" not in r)


@pytest.fixture
def admin_hours(monkeypatch):
    def set_to(hours: int) -> None:
        monkeypatch.setattr(api_keys, "settings", lambda: config.Settings(admin_key_max_hours=hours))

    set_to(24)
    return set_to


# ---------------------------------------------------------------- create


def test_a_key_is_stored_as_its_hash_counted_and_shown_once():
    world = World()
    made = world.create()
    stored = world.keys.items[made.key_id]
    assert (stored["owner_id"], stored["role"], stored["name"]) == (ALICE.user_id, "user", "ci")
    key_id, secret = auth._parse_api_key(made.api_key)
    assert key_id == made.key_id and stored["secret_hash"] == auth.hash_secret(secret)
    assert made.api_key not in str(stored) and stored["prefix"] == made.prefix == made.api_key[:12]
    assert "expires_at" not in stored and made.expires_at is None  # a user key lasts until revoked
    assert world.keys.active[ALICE.user_id] == 1


def test_a_key_may_carry_an_expiry_within_a_year():
    world = World()
    expires = _hours(24 * 365)
    made = world.create(expires_at=expires)
    assert made.expires_at == expires == world.keys.items[made.key_id]["expires_at"]


@pytest.mark.parametrize("hours", [-1, 0, 24 * 367])
def test_an_expiry_in_the_past_or_beyond_a_year_is_refused(hours):
    world = World()
    with pytest.raises(InvalidInput) as refused:
        world.create(expires_at=_hours(hours))
    assert refused.value.details == [{"field": "expires_at"}]
    assert world.keys.items == {} and world.keys.active[ALICE.user_id] == 0


def test_an_expiry_with_an_offset_is_stored_in_utc():
    world = World()
    moment = (now() + timedelta(hours=5)).replace(microsecond=0)
    made = world.create(expires_at=moment.astimezone(timezone(timedelta(hours=2))).isoformat())
    assert made.expires_at == iso(moment) == world.keys.items[made.key_id]["expires_at"]
    assert made.expires_at.endswith("Z")


# ---------------------------------------------------------------- admin keys


@pytest.mark.parametrize("principal", [ALICE, ADMIN_BY_KEY])
def test_admin_keys_are_made_by_admins_signed_in_with_their_token_only(principal, admin_hours):
    world = World()
    with pytest.raises(Forbidden):
        world.create(principal, role="admin")
    assert world.keys.items == {}


def test_an_admin_key_expires_within_admin_key_max_hours_by_default(admin_hours):
    admin_hours(24)
    world = World()
    before = now()
    made = world.create(ADMIN, role="admin")
    expires = auth.parse_moment(made.expires_at)
    assert before + timedelta(hours=24, milliseconds=-1) <= expires <= now() + timedelta(hours=24)  # ms stored
    assert world.keys.items[made.key_id]["role"] == "admin"


def test_an_admin_key_may_not_outlive_admin_key_max_hours(admin_hours):
    admin_hours(2)
    world = World()
    with pytest.raises(InvalidInput) as refused:
        world.create(ADMIN, role="admin", expires_at=_hours(3))
    assert "2 hours" in refused.value.message and world.keys.items == {}
    made = world.create(ADMIN, role="admin", expires_at=_hours(1.5))
    assert made.expires_at == world.keys.items[made.key_id]["expires_at"]


def test_an_admin_signed_in_with_a_key_may_still_make_a_user_key(admin_hours):
    world = World()
    made = world.create(ADMIN_BY_KEY)
    assert made.role == "user" and made.owner_id == ADMIN.user_id


# ---------------------------------------------------------------- the 20-key limit


def test_a_user_holds_twenty_unrevoked_keys_at_most():
    world = World(*(_key(n) for n in range(LIMIT)))
    with pytest.raises(TooManyKeys):
        world.create()
    assert len(world.keys.items) == LIMIT and world.keys.active[ALICE.user_id] == LIMIT


def test_revoked_keys_and_other_users_keys_do_not_count():
    revoked = [_key(n, revoked_at="2026-01-02T00:00:00.000Z") for n in range(5)]
    bobs = [_key(n, owner=BOB.user_id) for n in range(100, 100 + LIMIT)]
    world = World(*revoked, *(_key(n) for n in range(5, 5 + LIMIT - 1)), *bobs)
    world.create()
    assert len(world.unrevoked()) == LIMIT and len(world.unrevoked(BOB.user_id)) == LIMIT


def test_expired_keys_are_revoked_to_make_room_even_beyond_the_first_page():
    # Given twenty unrevoked keys, the oldest two expired, behind 150 newer revoked ones (two pages of the list)
    expired = [_key(n, expires_at="2026-01-01T00:00:00.000Z") for n in range(2)]
    live = [_key(n, expires_at=_hours(1)) for n in range(2, 10)] + [_key(n) for n in range(10, LIMIT)]
    revoked = [_key(n, revoked_at="2026-01-02T00:00:00.000Z") for n in range(200, 350)]
    world = World(*expired, *live, *revoked)
    # When Alice makes another key
    made = world.create()
    # Then the expired keys are revoked, and the new one made
    assert all("revoked_at" in world.keys.items[r["key_id"]] for r in expired)
    assert all("revoked_at" not in world.keys.items[r["key_id"]] for r in live)
    assert made.key_id in world.unrevoked() and world.keys.active[ALICE.user_id] == LIMIT - 1
    # and an expired key's revocation does not poison a window (it is not used any more)
    assert world.rate_limits.revoked == set()


def test_with_nothing_expired_the_limit_stands():
    world = World(*(_key(n, expires_at=_hours(1)) for n in range(LIMIT)))
    with pytest.raises(TooManyKeys):
        world.create()
    assert len(world.unrevoked()) == LIMIT


# ---------------------------------------------------------------- list and revoke


def test_a_user_lists_their_own_keys_newest_first_page_by_page():
    world = World(*(_key(n) for n in range(3)), _key(9, owner=BOB.user_id))
    first = api_keys.list_keys(principal=ALICE, limit=2, next_token=None, store=world.store)
    second = api_keys.list_keys(principal=ALICE, limit=2, next_token=first.next_token, store=world.store)
    assert [k.name for k in first.items] == ["key 2", "key 1"] and [k.name for k in second.items] == ["key 0"]
    assert second.next_token is None
    assert all(not hasattr(k, "secret_hash") for k in first.items)


def test_revoking_a_key_marks_it_uncounts_it_and_poisons_its_usage_windows(monkeypatch):
    monkeypatch.setattr(rate_limits, "epoch", lambda: 3600 * 5 + 10)
    world = World(_key(1))
    revoked = api_keys.revoke(_key(1)["key_id"], principal=ALICE, store=world.store)
    key_id = _key(1)["key_id"]
    assert revoked.revoked_at and world.keys.items[key_id]["revoked_at"] == revoked.revoked_at
    assert world.keys.active[ALICE.user_id] == 0
    assert world.rate_limits.revoked == {("api", f"key:{key_id}", 18000), ("api", f"key:{key_id}", 21600)}


def test_revoking_a_revoked_key_answers_it_as_it_is():
    world = World(_key(1, revoked_at="2026-01-02T00:00:00.000Z"))
    world.keys.fail("revoke", AssertionError("a revoked key was revoked again"))
    revoked = api_keys.revoke(_key(1)["key_id"], principal=ALICE, store=world.store)
    assert revoked.revoked_at == "2026-01-02T00:00:00.000Z" and world.keys.active[ALICE.user_id] == 0


def test_a_key_revoked_meanwhile_is_answered_as_it_now_is():
    world = World(_key(1))

    class RevokedFirst(FakeApiKeys):
        def revoke(self, record: ApiKeyRecord, **kw: Any) -> None:
            super().revoke(record, revoked_at="2026-01-02T00:00:00.000Z", usage_windows=[])
            super().revoke(record, **kw)

    world.keys = RevokedFirst(_key(1))
    world.store = fake_store(api_keys=world.keys)
    revoked = api_keys.revoke(_key(1)["key_id"], principal=ALICE, store=world.store)
    assert revoked.revoked_at == "2026-01-02T00:00:00.000Z" and world.keys.active[ALICE.user_id] == 0


@pytest.mark.parametrize(
    "key_id", [_key(1, owner=BOB.user_id)["key_id"], "ak_" + "0" * 25 + "9", "key_1", "ak_" + "x" * 65]
)
def test_another_users_unknown_or_malformed_key_is_not_found(key_id):
    world = World(_key(1, owner=BOB.user_id))
    with pytest.raises(NotFound):
        api_keys.revoke(key_id, principal=ALICE, store=world.store)
    assert "revoked_at" not in world.keys.items[_key(1)["key_id"]] and world.keys.active[BOB.user_id] == 1


# ---------------------------------------------------------------- admins


def test_an_admin_lists_any_users_keys():
    world = World(_key(1, owner=BOB.user_id), _key(2, owner=BOB.user_id), _key(3))
    page = api_keys.list_for_user(BOB.user_id, principal=ADMIN, limit=10, next_token=None, store=world.store)
    assert [(k.name, k.owner_id) for k in page.items] == [("key 2", BOB.user_id), ("key 1", BOB.user_id)]


def test_an_admin_revokes_any_users_key():
    world = World(_key(1, owner=BOB.user_id))
    revoked = api_keys.revoke_any(_key(1)["key_id"], principal=ADMIN, store=world.store)
    assert revoked.owner_id == BOB.user_id and revoked.revoked_at
    assert "revoked_at" in world.keys.items[_key(1)["key_id"]] and world.keys.active[BOB.user_id] == 0


def test_an_admin_revoking_an_unknown_key_is_not_found():
    world = World()
    with pytest.raises(NotFound):
        api_keys.revoke_any(_key(1)["key_id"], principal=ADMIN, store=world.store)


def test_the_admin_actions_need_an_admin():
    world = World(_key(1, owner=BOB.user_id))
    with pytest.raises(Forbidden):
        api_keys.list_for_user(BOB.user_id, principal=ALICE, limit=10, next_token=None, store=world.store)
    with pytest.raises(Forbidden):
        api_keys.revoke_any(_key(1)["key_id"], principal=ALICE, store=world.store)
    assert "revoked_at" not in world.keys.items[_key(1)["key_id"]]
