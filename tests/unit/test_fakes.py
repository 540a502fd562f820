"""The fakes refuse what the repositories they mirror refuse, with the same named errors: the services' unit
tests are only worth what these refusals are."""

from __future__ import annotations

import pytest

from telephony.errors import (
    AgentNameTaken,
    AlreadyExists,
    BudgetSpent,
    Conflict,
    EventAlreadyApplied,
    KeyRevoked,
    LockLost,
    NotFound,
    NumberChanged,
    NumberLocked,
    NumberTaken,
    StatusChanged,
    TooManyKeys,
    TooManyTransfers,
    TranscriptFull,
    UpstreamUnavailable,
)
from telephony.models.calls import CallChanges, CallStatus, TransferRecord
from telephony.models.numbers import ClaimRecord
from telephony.models.principal import ApiKeyRecord
from telephony.models.sip import ConfigLock
from telephony.services import rate_limits
from tests.unit.fakes import (
    BOB,
    FakeApiKeys,
    FakeCalls,
    FakeDnc,
    FakeNumbers,
    FakeRateLimits,
    a_call,
    a_number,
    fake_store,
    listed,
)

NOW = 1767261600


def _charge(budget=rate_limits.CONFIGURATIONS):
    return rate_limits.charge(budget, "usr_alice", now=NOW, store=fake_store())


def test_numbers_lock_refusals():
    numbers = FakeNumbers(a_number(revision=2), a_number(phone_number_id="pn_2", phone_number="+14155550101"))
    with pytest.raises(NotFound):
        numbers.lock(a_number(phone_number_id="pn_9"), token="t", now=NOW, charge=None)
    with pytest.raises(NotFound):
        numbers.lock(a_number(revision=2, owner_id=BOB.user_id), token="t", now=NOW, charge=None)
    with pytest.raises(NumberChanged):
        numbers.lock(a_number(revision=1), token="t", now=NOW, charge=None)
    with pytest.raises(NumberChanged):  # read before any save, saved since
        numbers.lock(a_number(), token="t", now=NOW, charge=None)
    numbers.lock(a_number(revision=2), token="t", now=NOW, charge=_charge())
    with pytest.raises(NumberLocked):
        numbers.lock(a_number(revision=2), token="u", now=NOW + 120, charge=None)
    numbers.lock(a_number(revision=2), token="u", now=NOW + 121, charge=None)  # an expired lock is taken over
    assert numbers.items["pn_1"].config_lock == ConfigLock(token="u", until=NOW + 241)
    assert numbers.items["pn_1"].revision == 2  # a lock does not move the revision


def test_numbers_lock_and_charge_go_together():
    numbers = FakeNumbers(a_number(), rate_limits=FakeRateLimits(full={"configurations"}))
    with pytest.raises(BudgetSpent):
        numbers.lock(a_number(), token="t", now=NOW, charge=_charge())
    assert numbers.items["pn_1"].config_lock is None and numbers.writes == []


def test_numbers_writes_need_the_lock():
    numbers = FakeNumbers(a_number())
    for write in (
        lambda: numbers.save(a_number(status="x"), token="t"),
        lambda: numbers.release("pn_1", token="t", updated_at="now"),
        lambda: numbers.delete(a_number(), token="t"),
    ):
        with pytest.raises(LockLost):
            write()
    numbers.lock(a_number(), token="t", now=NOW, charge=None)
    saved = numbers.save(a_number(status="x", owner_id="usr_forged", created_at="later"), token="t")
    assert (saved.status, saved.owner_id, saved.created_at, saved.revision, saved.config_lock) == (
        "x",
        "usr_alice",
        a_number().created_at,
        1,
        None,
    )
    with pytest.raises(LockLost):  # the save gave the lock back
        numbers.release("pn_1", token="t", updated_at="now")


def test_numbers_create_refusals_in_the_order_of_the_transaction():
    numbers = FakeNumbers(a_number(), rate_limits=FakeRateLimits(full={"configurations"}))
    with pytest.raises(NumberTaken):
        numbers.create(a_number(phone_number_id="pn_2"), charge=_charge(), max_numbers=20)
    numbers.add_claim(ClaimRecord(e164="+14155550101", holder="request", owner_id="usr_bob", request_id="req_1"))
    with pytest.raises(NumberTaken):
        numbers.create(a_number(phone_number_id="pn_2", phone_number="+14155550101"), charge=None, max_numbers=20)
    with pytest.raises(BudgetSpent):
        numbers.create(a_number(phone_number_id="pn_3", phone_number="+14155550102"), charge=_charge(), max_numbers=20)
    assert set(numbers.items) == {"pn_1"} and "+14155550102" not in numbers.claimed


def test_calls_move_refusals():
    calls = FakeCalls(a_call(status="ringing"))
    with pytest.raises(StatusChanged):
        calls.move(a_call(), CallStatus.IN_PROGRESS, CallChanges(), adds={})
    calls.move(a_call(status="ringing"), CallStatus.IN_PROGRESS, CallChanges(), adds={"x": 1}, event_id="EV")
    with pytest.raises(EventAlreadyApplied):
        calls.move(a_call(status="in_progress"), CallStatus.COMPLETED, CallChanges(), adds={"x": 1}, event_id="EV")
    with pytest.raises(StatusChanged):  # a status refused first, as the transaction lists it first
        calls.move(a_call(status="ringing"), CallStatus.COMPLETED, CallChanges(), adds={}, event_id="EV")
    assert calls.totals["usr_alice"] == {"x": 1} and calls.items["call_1"].status is CallStatus.IN_PROGRESS


def test_calls_note_events_refusals():
    calls = FakeCalls(a_call(transcript_chars=90))
    with pytest.raises(NotFound):
        calls.note_events("call_1", "usr_bob", summary=None, chars=1, max_chars=100)
    with pytest.raises(NotFound):
        calls.note_events("call_9", "usr_alice", summary=None, chars=1, max_chars=100)
    with pytest.raises(TranscriptFull):
        calls.note_events("call_1", "usr_alice", summary="s", chars=11, max_chars=100)
    calls.note_events("call_1", "usr_alice", summary="s", chars=10, max_chars=100)
    assert (calls.items["call_1"].transcript_chars, calls.items["call_1"].summary) == (100, "s")


def test_numbers_agent_names_belong_to_their_first_owner():
    numbers = FakeNumbers()
    numbers.claim_agent_name("receptionist", "usr_alice")
    numbers.claim_agent_name("receptionist", "usr_alice")  # one's own name again
    with pytest.raises(AgentNameTaken):
        numbers.claim_agent_name("receptionist", "usr_bob")
    numbers.claim_agent_name("closer", "usr_bob")
    assert numbers.agent_names == {"receptionist": "usr_alice", "closer": "usr_bob"}


def test_calls_create_refuses_an_id_made_before():
    calls = FakeCalls(a_call())
    with pytest.raises(AlreadyExists):
        calls.create(a_call(), charge=_charge(rate_limits.CALLS), max_live=10)
    assert calls.rate_limits.spent == [] and calls.totals == {}


def _leg(to: str = "tel:+14155550177") -> TransferRecord:
    return TransferRecord(transfer_to=to, mode="warm", at="2026-01-01T10:00:05.000Z", status="dialing")


def test_calls_add_leg_refusals_in_the_order_of_the_transaction():
    limits = FakeRateLimits(full={"calls"})
    calls = FakeCalls(a_call(status="ringing"), rate_limits=limits)
    with pytest.raises(StatusChanged):  # not in progress (nor gone) comes first
        calls.add_leg(
            a_call(status="in_progress"), _leg(), max_transfers=1, charge=_charge(rate_limits.CALLS), max_live=10
        )
    with pytest.raises(StatusChanged):
        calls.add_leg(a_call(call_id="call_9"), _leg(), max_transfers=1, charge=_charge(rate_limits.CALLS), max_live=10)
    calls.items["call_1"] = a_call(status="in_progress", transfers=[_leg()])
    with pytest.raises(TooManyTransfers):  # the stored transfers count, not those of the call given
        calls.add_leg(
            a_call(status="in_progress"), _leg(), max_transfers=1, charge=_charge(rate_limits.CALLS), max_live=10
        )
    with pytest.raises(BudgetSpent):
        calls.add_leg(
            a_call(status="in_progress"), _leg(), max_transfers=2, charge=_charge(rate_limits.CALLS), max_live=10
        )
    assert calls.items["call_1"].transfers == [_leg()] and calls.totals == {} and limits.spent == []


def test_calls_add_leg_writes_the_leg_its_count_and_its_charge_together():
    calls = FakeCalls(a_call(status="in_progress", transfers=[_leg()]))
    read = calls.items["call_1"]
    leg = _leg("tel:+14155550178").model_copy(update={"leg_identity": "transfer-call_1-x"})
    calls.add_leg(read, leg, max_transfers=5, charge=_charge(rate_limits.CALLS), max_live=10)
    assert [t.transfer_to for t in calls.items["call_1"].transfers][-1] == "tel:+14155550178"
    assert calls.totals["usr_alice"] == {"transfer_legs": 1} and calls.rate_limits.budgets() == ["calls"]
    calls.set_leg_status("call_1", "transfer-call_1-x", "failed")
    assert [t.status for t in calls.items["call_1"].transfers] == ["dialing", "failed"]
    calls.set_leg_status("call_1", "transfer-call_1-unknown", "failed")  # no such leg: nothing changes
    assert [t.status for t in calls.items["call_1"].transfers] == ["dialing", "failed"]


def test_calls_post_time_keeps_the_first_time_per_post():
    calls = FakeCalls(a_call())
    assert calls.post_time("call_1", "d1", now="t1", expires_at=NOW) == "t1"
    assert calls.post_time("call_1", "d1", now="t2", expires_at=NOW) == "t1"
    assert calls.post_time("call_1", "d2", now="t3", expires_at=NOW) == "t3"


def _api_key(n: int, **fields):
    record = ApiKeyRecord(
        key_id=f"ak_{n:026d}",
        owner_id="usr_alice",
        name="k",
        role="user",
        prefix="tpk_",
        secret_hash="h",
        created_at=f"2026-01-01T10:00:{n:02d}.000Z",
    )
    return ApiKeyRecord(**record, **fields)


def test_api_keys_create_and_revoke_keep_the_owners_count():
    limits = FakeRateLimits()
    api_keys = FakeApiKeys(_api_key(1), _api_key(2, revoked_at="x"), rate_limits=limits)
    assert api_keys.active["usr_alice"] == 1
    with pytest.raises(TooManyKeys):
        api_keys.create(_api_key(3), max_active=1)
    api_keys.create(_api_key(3), max_active=2)
    with pytest.raises(Conflict):  # the id exists
        api_keys.create(_api_key(3), max_active=5)
    with pytest.raises(NotFound):  # not an id of ours: refused before any read, as keys.api_key does
        api_keys.create(_api_key(4) | {"key_id": "key_4"}, max_active=5)
    api_keys.revoke(_api_key(1), revoked_at="now", usage_windows=[("api", 3600)])
    with pytest.raises(NotFound):  # already revoked
        api_keys.revoke(_api_key(1), revoked_at="later", usage_windows=[])
    with pytest.raises(NotFound):  # gone
        api_keys.revoke(_api_key(9), revoked_at="now", usage_windows=[])
    assert api_keys.active["usr_alice"] == 1 and api_keys.items[_api_key(1)["key_id"]]["revoked_at"] == "now"
    assert limits.revoked == {("api", f"key:{_api_key(1)['key_id']}", 3600)}


def test_rate_limits_consume_refuses_a_revoked_window_first_then_a_full_one():
    limits = FakeRateLimits()
    charge = rate_limits.charge(rate_limits.CALLS, "usr_alice", now=NOW, store=fake_store())._replace(limit=2)
    assert [limits.consume(charge), limits.consume(charge)] == [1, 2]
    with pytest.raises(BudgetSpent):
        limits.consume(charge)
    limits.revoked.add((charge.budget.name, charge.subject, charge.window_start))
    with pytest.raises(KeyRevoked):
        limits.consume(charge)
    assert limits.counted[(charge.budget.name, charge.subject, charge.window_start)] == 2


def test_dnc_refuses_what_the_repository_refuses_and_stops_part_way_as_it_does():
    dnc = FakeDnc()
    with pytest.raises(NotFound):  # the delete's condition: the list holds the number
        dnc.delete("usr_alice", "+14155550123")
    with pytest.raises(AssertionError):  # one key twice in a batch: DynamoDB's ValidationException
        dnc.put("usr_alice", listed("usr_alice", "+14155550123", "+14155550123"))
    dnc.fail_put_after(1)
    with pytest.raises(UpstreamUnavailable):
        dnc.put("usr_alice", listed("usr_alice", "+14155550123", "+14155550124"))
    assert set(dnc.items) == {("usr_alice", "+14155550123")}  # written before the failure, kept
    dnc.put(None, listed(None, "+14155550124"))
    assert dnc.holding("usr_alice", "+14155550123") == ["account"]
    assert dnc.holding("usr_bob", "+14155550124") == ["global"]
    assert dnc.holding("usr_bob", "+14155550123") == []
