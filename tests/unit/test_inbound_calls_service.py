"""Inbound calls from LiveKit's webhooks, with fake numbers and calls: which event makes a call, moves it, or is
ignored; and the calls service's reads, counts and controls by direction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from telephony.errors import NotFound
from telephony.integrations import livekit as lk
from telephony.models.calls import AllCallsQuery, CallEvents, CallRecord, CallStatus, Direction
from telephony.models.sip import CallSettings, DispatchRule, LiveKitIds, Plan
from telephony.models.webhooks import EventType
from telephony.services import call_lifecycle, calls, inbound_calls, summaries
from tests.unit.fakes import ALICE, BOB, CREATED_EPOCH, FakeCalls, FakeNumbers, a_call, a_number, fake_store

OURS = "+14155550100"
CALLER = "+13125550177"
ROOM = "support_+13125550177_AbCdEfGhJkLm"
RULE_ID = "SDR_ours"
SIP_CALL = "SCL_caller1"
METADATA = f"telephony-api {OURS} rule"


def _number(**settings: Any) -> Any:
    return a_number(
        livekit=LiveKitIds(inbound="ST_in", rule=RULE_ID),
        plan=Plan(rule=DispatchRule(name="main", room_prefix="support", agent_name="receptionist")),
        call_settings=CallSettings(**settings) if settings else None,
    )


def _sip(
    status: str = "ringing",
    *,
    reason: str = "UNKNOWN_REASON",
    hidden: bool = False,
    rule_id: str = RULE_ID,
    metadata: str = METADATA,
) -> lk.Participant:
    attributes = {"sip.callID": SIP_CALL, "sip.trunkID": "ST_in", "sip.ruleID": rule_id, "sip.callStatus": status}
    if not hidden:
        attributes |= {"sip.phoneNumber": CALLER, "sip.trunkPhoneNumber": OURS}
    return lk.Participant(f"sip_{CALLER}", attributes, reason, "SIP", metadata)


def _agent() -> lk.Participant:
    return lk.Participant("agent-AD_1", {}, "UNKNOWN_REASON", "AGENT", "")


def _event(kind: str, participant: lk.Participant | None, *, after: int = 5, event_id: str = "EV_1") -> lk.WebhookEvent:
    return lk.WebhookEvent(
        event=kind, id=event_id, created_at=CREATED_EPOCH + after, room_name=ROOM, participant=participant
    )


class World:
    def __init__(self, *numbers: Any) -> None:
        self.numbers = FakeNumbers(*(numbers or (_number(),)))
        self.calls = FakeCalls()

    def apply(self, event: lk.WebhookEvent) -> str:
        return call_lifecycle.apply(event, store=fake_store(numbers=self.numbers, calls=self.calls))

    @property
    def call(self) -> CallRecord:
        (call,) = self.calls.items.values()
        return call


@pytest.fixture(autouse=True)
def summarised(monkeypatch) -> list[CallRecord]:
    asked: list[CallRecord] = []
    monkeypatch.setattr(summaries, "request", lambda call, **kw: asked.append(call))
    return asked


def test_the_callers_participant_joining_a_room_of_our_rule_makes_a_ringing_inbound_call_of_the_numbers_owner():
    world = World()
    assert world.apply(_event("participant_joined", _sip())) == "created ringing"
    call = world.call
    assert call.call_id == inbound_calls.call_id_of(SIP_CALL) and call.direction is Direction.INBOUND
    assert (call.owner_id, call.status, call.phone_number, call.from_number) == (
        ALICE.user_id,
        CallStatus.RINGING,
        OURS,
        CALLER,
    )
    assert (call.phone_number_id, call.agent_name, call.room_name) == ("pn_1", "receptionist", ROOM)
    assert call.participant_identity == f"sip_{CALLER}" and call.ringing_at == call.created_at
    # counted among inbound calls only: the seed's stats read the unprefixed counters
    assert world.calls.totals[ALICE.user_id] == {"inbound_total_calls": 1, "inbound_status_ringing": 1}
    (told,) = world.calls.events
    assert told.type is EventType.CALL_RINGING and told.data["direction"] == "inbound" and told.data["sequence"] == 1
    assert told.data["phone_number_id"] == "pn_1" and call.event_sequence == 1


def test_the_same_arrival_told_twice_makes_one_call():
    world = World()
    world.apply(_event("participant_joined", _sip()))
    assert world.apply(_event("participant_joined", _sip(), event_id="EV_again")) == "no change"
    assert len(world.calls.items) == 1 and world.calls.totals[ALICE.user_id]["inbound_total_calls"] == 1


def test_a_caller_behind_a_pin_prompt_joins_answered():
    world = World()
    assert world.apply(_event("participant_joined", _sip("active"))) == "created in_progress"
    assert world.call.answered_at == world.call.created_at
    assert [e.type for e in world.calls.events] == [EventType.CALL_RINGING, EventType.CALL_ANSWERED]
    assert world.calls.totals[ALICE.user_id]["inbound_answered_calls"] == 1


def test_a_number_that_hides_callers_records_none_even_when_livekit_gives_it():
    world = World(_number(hide_phone_number=True))
    world.apply(_event("participant_joined", _sip()))
    assert world.call.from_number == inbound_calls.HIDDEN


def test_a_caller_whose_number_livekit_does_not_give_is_unknown():
    world = World()
    world.apply(_event("participant_joined", _sip(hidden=True)))
    assert world.call.from_number == inbound_calls.UNKNOWN


@pytest.mark.parametrize(
    "participant",
    [
        _sip(rule_id="SDR_not_the_numbers"),  # the number's rule is another one now
        _sip(metadata="someone else's rule"),
        _sip(metadata="telephony-api +14155550999 rule"),  # a number nobody holds
        _sip(metadata=f"telephony-api {OURS} inbound"),  # a trunk's marker, not a rule's
    ],
)
def test_a_participant_of_a_rule_that_is_not_our_numbers_makes_no_call(participant):
    world = World()
    assert world.apply(_event("participant_joined", participant)) == "ignored: not a call to one of our numbers"
    assert world.calls.items == {} and world.calls.events == []


def test_the_agent_joining_answers_and_the_caller_hanging_up_completes_with_the_duration(summarised):
    world = World()
    world.apply(_event("participant_joined", _sip(), after=0))
    created = datetime.fromisoformat(world.call.created_at)
    answer_at = int(created.timestamp()) - CREATED_EPOCH + 2
    assert world.apply(_event("participant_joined", _agent(), after=answer_at, event_id="EV_2")) == (
        "moved to in_progress"
    )
    assert world.call.answered_at is not None
    left = _sip("hangup", reason="CLIENT_INITIATED")
    assert world.apply(_event("participant_left", left, after=answer_at + 30, event_id="EV_3")) == "moved to completed"
    call = world.call
    assert (call.status, call.end_reason, call.duration_seconds) == (CallStatus.COMPLETED, "caller_hangup", 30)
    assert world.calls.totals[ALICE.user_id]["inbound_status_completed"] == 1
    assert world.calls.totals[ALICE.user_id]["inbound_total_duration_seconds"] == 30
    assert "total_calls" not in world.calls.totals[ALICE.user_id]
    assert [c.call_id for c in summarised] == [call.call_id]
    # the room closing afterwards changes nothing
    assert world.apply(_event("room_finished", None, after=answer_at + 60, event_id="EV_4")) == "no change"


@pytest.mark.parametrize(
    ("status", "reason", "expected", "end_reason"),
    [
        ("hangup", "CLIENT_INITIATED", CallStatus.CANCELED, "caller_hangup"),  # gave up while it rang
        ("ringing", "USER_UNAVAILABLE", CallStatus.NO_ANSWER, "no_answer"),
        ("ringing", "SIP_TRUNK_FAILURE", CallStatus.FAILED, "sip_failure: sip_trunk_failure"),
    ],
)
def test_a_call_that_ends_before_an_answer(status, reason, expected, end_reason):
    world = World()
    world.apply(_event("participant_joined", _sip()))
    world.apply(_event("participant_left", _sip(status, reason=reason), after=20, event_id="EV_2"))
    assert (world.call.status, world.call.end_reason, world.call.duration_seconds) == (expected, end_reason, None)


def test_the_room_closing_ends_a_call_in_progress_once():
    world = World()
    world.apply(_event("participant_joined", _sip("active")))
    assert world.apply(_event("room_finished", None, after=40, event_id="EV_2")) == "moved to completed"
    assert world.call.end_reason == "room_closed"
    assert world.apply(_event("room_finished", None, after=40, event_id="EV_2")) == "no change"


def test_other_participants_and_events_in_the_room_change_nothing():
    world = World()
    world.apply(_event("participant_joined", _sip()))
    assert world.apply(_event("participant_left", _agent(), event_id="EV_2")) == "no change"
    assert world.apply(_event("track_published", _sip(), event_id="EV_3")) == "ignored"  # published while ringing
    assert world.call.status is CallStatus.RINGING


# ---------------------------------------------------------------- the calls service by direction


def _both() -> FakeCalls:
    inbound = a_call(
        call_id="call_in",
        direction="inbound",
        status="completed",
        phone_number=OURS,
        from_number=CALLER,
        from_phone_number_id=None,
        phone_number_id="pn_1",
        room_name=ROOM,
    )
    held = FakeCalls(a_call(status="completed"), inbound)
    for call in held.items.values():
        prefix = "inbound_" if call.direction is Direction.INBOUND else ""
        held._count(call, {f"{prefix}total_calls": 1, f"{prefix}status_completed": 1})
    return held


@pytest.mark.parametrize(("direction", "total"), [(Direction.OUTBOUND, 1), (Direction.INBOUND, 1), (None, 2)])
def test_stats_of_a_direction_or_of_both(direction, total):
    stats = calls.stats(principal=ALICE, direction=direction, store=fake_store(calls=_both()))
    assert stats.total_calls == total and stats.by_status["completed"] == total


def test_the_seeds_paths_do_not_find_an_inbound_call():
    store = fake_store(calls=_both())
    with pytest.raises(NotFound):
        calls.details(
            "call_in",
            principal=ALICE,
            include_transcript=False,
            include_summary=False,
            direction=Direction.OUTBOUND,
            store=store,
        )
    with pytest.raises(NotFound):
        calls.post_events(
            "call_in", CallEvents(summary="x"), principal=ALICE, direction=Direction.OUTBOUND, store=store
        )
    found = calls.details("call_in", principal=ALICE, include_transcript=False, include_summary=False, store=store)
    assert found.direction is Direction.INBOUND and found.phone_number_id == "pn_1"
    with pytest.raises(NotFound):
        calls.details("call_in", principal=BOB, include_transcript=False, include_summary=False, store=store)


def test_an_outbound_calls_number_id_is_the_one_it_was_placed_from():
    found = calls.details(
        "call_1", principal=ALICE, include_transcript=False, include_summary=False, store=fake_store(calls=_both())
    )
    assert found.direction is Direction.OUTBOUND and found.phone_number_id == "pn_1"


def test_a_stored_call_without_a_direction_reads_as_outbound():
    stored = a_call().model_dump(mode="json")
    del stored["direction"]
    assert CallRecord.model_validate(stored).direction is Direction.OUTBOUND


@pytest.mark.parametrize(
    "query",
    [
        {"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
        {"created_after": "2026-01-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
        {"created_after": "2025-01-01T00:00:00Z", "created_before": "2026-01-03T00:00:00Z"},
        {"created_before": "2026-01-01T00:00:00"},
        {"created_before": "0.5"},
        {"created_after": 1767225600},
        {"direction": "both"},
    ],
)
def test_a_query_with_a_bad_range_or_value_is_refused(query):
    with pytest.raises(ValidationError):
        AllCallsQuery.model_validate(query)


def test_a_range_of_366_days_is_allowed():
    query = AllCallsQuery.model_validate(
        {"created_after": "2024-01-01T00:00:00+02:00", "created_before": "2025-01-01T00:00:00+02:00"}
    )
    assert query.created_after == datetime(2023, 12, 31, 22, tzinfo=UTC)
