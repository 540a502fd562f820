"""The API budgets with fake rate limits: each request spends its key's (or token's) budget and its user's, and
reports the one with less left."""

from __future__ import annotations

import pytest

from telephony.errors import BudgetSpent, KeyRevoked
from telephony.models.budgets import API, API_USER
from telephony.models.principal import Principal, Role
from telephony.services import rate_limits
from tests.unit.fakes import ALICE, FakeRateLimits, fake_store

NOW = 3600 * 5 + 600  # ten minutes into a window
WINDOW = 3600 * 5
KEY = ("api", "key:ak_alice", WINDOW)
USER = ("api_user", "user:usr_alice", WINDOW)


def _consume(limits: FakeRateLimits, principal: Principal = ALICE) -> rate_limits.Usage:
    return rate_limits.consume_api(principal, now=NOW, store=fake_store(rate_limits=limits))


def test_a_request_spends_the_keys_budget_and_the_users():
    limits = FakeRateLimits()
    usage = _consume(limits)
    assert limits.counted == {KEY: 1, USER: 1}
    assert [(c.budget, c.limit) for c in limits.spent] == [(API, 1000), (API_USER, 5000)]
    assert (usage.budget, usage.remaining, usage.reset_seconds) == (API, 999, 3000)


def test_the_users_budget_is_reported_when_it_has_less_left():
    limits = FakeRateLimits()
    limits.counted.update({KEY: 10, USER: 4990})  # the user's other keys spent most of it
    usage = _consume(limits)
    assert (usage.budget, usage.remaining) == (API_USER, 9)
    assert usage.headers()["RateLimit-Policy"] == '"api_user";q=5000;w=3600'


def test_the_keys_budget_is_reported_when_it_has_less_left():
    limits = FakeRateLimits()
    limits.counted.update({KEY: 995, USER: 995})
    usage = _consume(limits)
    assert (usage.budget, usage.remaining) == (API, 4)


def test_a_user_with_budget_left_on_one_key_is_still_bounded_across_all_its_keys():
    limits = FakeRateLimits()
    limits.counted.update({USER: 5000})
    with pytest.raises(BudgetSpent) as refused:
        _consume(limits)
    assert refused.value.budget == "api_user" and refused.value.limit == 5000
    assert limits.counted[KEY] == 1  # the key's hit was counted before the user's refused it


def test_a_spent_key_budget_refuses_before_the_users_is_spent():
    limits = FakeRateLimits()
    limits.counted.update({KEY: 1000})
    with pytest.raises(BudgetSpent) as refused:
        _consume(limits)
    assert refused.value.budget == "api" and limits.counted[USER] == 0


def test_a_sign_in_token_spends_the_users_api_budget_and_the_users_overall_one():
    limits = FakeRateLimits()
    token = Principal(user_id="usr_alice", role=Role.USER, auth_type="jwt")
    _consume(limits, token)
    assert limits.counted == {("api", "user:usr_alice", WINDOW): 1, USER: 1}


def test_a_revoked_keys_window_refuses_the_request():
    limits = FakeRateLimits()
    limits.revoked.add(KEY)
    with pytest.raises(KeyRevoked):
        _consume(limits)
    assert limits.counted[USER] == 0
