"""Live-call concurrency and account limits against the fakes: every dialled leg takes a place among its owner's
live calls, every way a call or a leg ends gives it back, and the sweep ends the calls whose end never came."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from telephony.errors import ConcurrencyLimit, Forbidden, NotFound, TooManyNumbers
from telephony.integrations import livekit as lk
from telephony.models.calls import CallStatus, TransferRecord, call_of_leg, leg_identity
from telephony.models.limits import AccountLimits, LimitsUpdate
from telephony.models.principal import Principal, Role
from telephony.services import call_lifecycle, calls, limits, live_calls
from tests.unit.fakes import ALICE, BOB, CREATED, FakeApiKeys, a_call
from tests.unit.test_calls_service import DESK, World, _callable, _in_progress, _transfer, _warm

ADMIN = Principal(user_id="usr_admin", role=Role.ADMIN, auth_type="jwt")
LATER = datetime.fromisoformat(CREATED) + timedelta(minutes=5)


def limited(world: World, **fields: int) -> World:
    world.store.accounts.set_limits(ALICE.user_id, fields)
    return world


# ---------------------------------------------------------------- limits


def test_an_account_without_limits_of_its_own_has_the_published_defaults():
    world = World()
    assert limits.of(ALICE.user_id, store=world.store) == AccountLimits()
    assert AccountLimits().model_dump() == {
        "calls_per_hour": 100,
        "number_requests_per_hour": 5,
        "configurations_per_hour": 10,
        "api_requests_per_hour": 1000,
        "api_requests_per_hour_per_user": 5000,
        "max_concurrent_calls": 10,
        "max_api_keys": 20,
        "max_numbers": 20,
    }


def test_an_admin_sets_some_limits_and_the_others_keep_their_values():
    world = World()
    world.store = world.store._replace(rate_limits=world.rate_limits, api_keys=FakeApiKeys())
    first = limits.set_limits(ALICE.user_id, LimitsUpdate(max_concurrent_calls=3), principal=ADMIN, store=world.store)
    second = limits.set_limits(ALICE.user_id, LimitsUpdate(calls_per_hour=7), principal=ADMIN, store=world.store)
    assert first.limits.max_concurrent_calls == 3
    assert (second.limits.max_concurrent_calls, second.limits.calls_per_hour) == (3, 7)
    assert second.limits.max_numbers == 20 and second.user_id == ALICE.user_id
    assert second.usage.live_calls == 0 and second.usage.calls_this_hour == 0
    # the budgets read them: the change is not hidden by what the process remembered
    assert calls.rate_limits.charge(calls.rate_limits.CALLS, ALICE.user_id, store=world.store).limit == 7


def test_only_admins_see_or_set_another_accounts_limits():
    world = World()
    with pytest.raises(Forbidden):
        limits.set_limits(BOB.user_id, LimitsUpdate(max_numbers=1), principal=ALICE, store=world.store)
    with pytest.raises(Forbidden):
        limits.of_user(BOB.user_id, principal=ALICE, store=world.store)
    assert world.store.accounts.set == {}


def test_a_user_id_that_cannot_be_one_is_not_found():
    with pytest.raises(NotFound):
        limits.of_user("x" * 200, principal=ADMIN, store=World().store)


@pytest.mark.parametrize(
    "body",
    [{"max_concurrent_calls": -1}, {"max_concurrent_calls": 1001}, {"calls_per_hour": 1.5}, {"max_numbers": "3"}],
)
def test_a_limit_that_is_negative_too_high_or_not_a_whole_number_is_refused(body):
    with pytest.raises(ValueError):
        LimitsUpdate.model_validate(body)


def test_limits_are_remembered_for_a_while_then_read_again(monkeypatch):
    world = World()
    clock = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: clock[0])
    assert limits.of(ALICE.user_id, store=world.store).calls_per_hour == 100
    world.store.accounts.set_limits(ALICE.user_id, {"calls_per_hour": 9})  # another container's admin change
    assert limits.of(ALICE.user_id, store=world.store).calls_per_hour == 100
    clock[0] += limits.CACHE_SECONDS + 0.1
    assert limits.of(ALICE.user_id, store=world.store).calls_per_hour == 9


# ---------------------------------------------------------------- concurrency


def test_a_call_beyond_the_accounts_live_calls_is_refused_before_livekit_is_asked():
    world = limited(World(_callable()), max_concurrent_calls=1)
    first = world.create()
    assert world.store.accounts.live(ALICE.user_id) == {first.call_id}
    dialled = len(world.livekit.dials)
    with pytest.raises(ConcurrencyLimit) as refused:
        world.create()
    assert refused.value.code == "concurrency_limit" and refused.value.details == [
        {"field": "max_concurrent_calls", "limit": 1}
    ]
    assert len(world.livekit.dials) == dialled and len(world.calls.items) == 1
    assert world.rate_limits.budgets() == ["calls"]  # the refused call spent nothing


def test_a_call_that_could_not_be_dialled_gives_its_place_back():
    world = limited(World(_callable()), max_concurrent_calls=1)
    world.livekit.fail("dial", lk.DialFailed("busy", "486 Busy Here", 486))
    with pytest.raises(Exception):  # noqa: B017 - the dial failure as the caller sees it, tested elsewhere
        world.create()
    assert world.store.accounts.live(ALICE.user_id) == set()
    world.create()  # the place is free again


@pytest.mark.parametrize("end", ["hangup", "webhook"])
def test_each_way_a_call_ends_gives_its_place_back(end):
    world = limited(World(_callable()), max_concurrent_calls=1)
    made = world.create()
    call = world.calls.items[made.call_id]
    if end == "hangup":
        calls.hangup(made.call_id, principal=ALICE, livekit=world.livekit, store=world.store)
    else:
        calls.move(call, calls.ending(LATER, "room_closed"), store=world.store)
    assert world.store.accounts.live(ALICE.user_id) == set()
    world.create()


def test_a_warm_transfer_leg_takes_a_place_and_the_calls_end_gives_back_all():
    world = limited(World(_warm(), held=(_in_progress(),)), max_concurrent_calls=2)
    world.store.accounts.occupy(ALICE.user_id, ["call_1"])
    details = _transfer(world, mode="warm")
    leg = details.transfers[-1].leg_identity
    assert world.store.accounts.live(ALICE.user_id) == {"call_1", leg}
    with pytest.raises(ConcurrencyLimit):
        _transfer(world, mode="warm")  # a third leg would be over
    calls.hangup("call_1", principal=ALICE, livekit=world.livekit, store=world.store)
    assert world.store.accounts.live(ALICE.user_id) == set()


def test_a_leg_that_fails_or_leaves_gives_its_place_back_and_the_call_keeps_its_own():
    world = limited(World(_warm(), held=(_in_progress(),)), max_concurrent_calls=5)
    world.store.accounts.occupy(ALICE.user_id, ["call_1"])
    world.livekit.fail("dial", lk.DialFailed("busy", "486 Busy Here", 486))
    with pytest.raises(Exception):  # noqa: B017 - the dial failure as the caller sees it, tested elsewhere
        _transfer(world, mode="warm")
    assert world.store.accounts.live(ALICE.user_id) == {"call_1"}
    leg = _transfer(world, mode="warm").transfers[-1].leg_identity
    assert leg in world.store.accounts.live(ALICE.user_id)
    left = lk.WebhookEvent.parse(
        '{"event": "participant_left", "id": "EV_leg", "room": {"name": "call_1"},'
        f' "participant": {{"identity": "{leg}", "disconnectReason": "CLIENT_INITIATED"}}}}'
    )
    assert call_lifecycle.apply(left, store=world.store) == "leg ended"
    assert world.store.accounts.live(ALICE.user_id) == {"call_1"}
    assert world.calls.items["call_1"].status is CallStatus.IN_PROGRESS


def test_a_leg_identity_names_its_call():
    leg = leg_identity("call_01abc", "x7k2")
    assert call_of_leg(leg) == "call_01abc" and call_of_leg("sip-call_01abc") is None


def test_registering_a_number_beyond_the_accounts_limit_is_refused():
    world = limited(World(), max_numbers=0)
    number = _callable()
    with pytest.raises(TooManyNumbers):
        world.numbers.create(number, charge=None, max_numbers=limits.of(ALICE.user_id, store=world.store).max_numbers)
    assert world.numbers.items == {}


# ---------------------------------------------------------------- the sweep


def _live(world: World, *records: Any) -> None:
    for record in records:
        world.calls.items[record.call_id] = record
        world.store.accounts.occupy(record.owner_id, record.live_ids)


def test_the_sweep_ends_a_call_whose_room_is_gone_and_frees_its_place():
    world = World()
    _live(world, _in_progress())
    swept = live_calls.sweep(livekit=world.livekit, store=world.store, at=LATER)
    assert swept == live_calls.Swept(calls_ended=1, legs_released=0, ids_repaired=0)
    ended = world.calls.items["call_1"]
    assert ended.status is CallStatus.COMPLETED and ended.end_reason == "room_gone"
    assert world.store.accounts.live(ALICE.user_id) == set()


def test_the_sweep_leaves_a_call_whose_room_is_there():
    world = World()
    _live(world, _in_progress())
    world.livekit.rooms["call_1"] = {"sip-call_1"}
    assert live_calls.sweep(livekit=world.livekit, store=world.store, at=LATER) == live_calls.Swept(0, 0, 0)
    assert world.calls.items["call_1"].status is CallStatus.IN_PROGRESS


def test_the_sweep_leaves_a_call_younger_than_any_request_that_may_still_be_placing_it():
    world = World()
    _live(world, a_call())
    young = datetime.fromisoformat(CREATED) + live_calls.GRACE - timedelta(seconds=1)
    assert live_calls.sweep(livekit=world.livekit, store=world.store, at=young).calls_ended == 0
    assert live_calls.sweep(livekit=world.livekit, store=world.store, at=LATER).calls_ended == 1
    assert world.calls.items["call_1"].status is CallStatus.CANCELED  # never answered


def test_the_sweep_takes_off_ids_whose_call_ended_or_is_gone():
    world = World()
    world.calls.items["call_1"] = a_call(status="completed")
    world.store.accounts.occupy(ALICE.user_id, ["call_1", "call_gone", leg_identity("call_1", "ab12")])
    assert live_calls.sweep(livekit=world.livekit, store=world.store, at=LATER).ids_repaired == 3
    assert world.store.accounts.live(ALICE.user_id) == set()


def test_the_sweep_releases_a_leg_that_left_a_room_still_there():
    world = World()
    leg = leg_identity("call_1", "ab12")
    transfer = TransferRecord(transfer_to=f"tel:{DESK}", mode="warm", at=CREATED, status="dialing", leg_identity=leg)
    _live(world, _in_progress(transfers=[transfer]))
    world.livekit.rooms["call_1"] = {"sip-call_1"}  # the leg is no longer there
    swept = live_calls.sweep(livekit=world.livekit, store=world.store, at=LATER)
    assert swept.legs_released == 1 and world.store.accounts.live(ALICE.user_id) == {"call_1"}
    assert world.calls.items["call_1"].transfers[0].status == "ended"
