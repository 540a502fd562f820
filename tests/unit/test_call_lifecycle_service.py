"""LiveKit webhook events applied to calls, with fake calls and a fake LiveKit: which event moves a call where."""

from __future__ import annotations

import json
from typing import Any

import pytest

from telephony.errors import Unauthenticated
from telephony.integrations import livekit as lk
from telephony.models.calls import CallRecord, CallStatus, TransferRecord
from telephony.services import call_lifecycle, summaries
from tests.unit.fakes import CREATED_EPOCH, FakeCalls, FakeLiveKit, a_call, after, fake_store


def _event(
    kind: str,
    *,
    identity: str | None = "sip-call_1",
    status: str | None = None,
    reason: str = "UNKNOWN_REASON",
    room: str | None = "call_1",
    after: int = 10,
    event_id: str = "EV_1",
) -> lk.WebhookEvent:
    attributes = {"sip.callStatus": status} if status else {}
    participant = lk.Participant(identity, attributes, reason) if identity is not None else None
    return lk.WebhookEvent(
        event=kind, id=event_id, created_at=CREATED_EPOCH + after, room_name=room, participant=participant
    )


class Summaries:
    def __init__(self) -> None:
        self.asked: list[CallRecord] = []

    def __call__(self, call: CallRecord, **kw: Any) -> None:
        self.asked.append(call)


@pytest.fixture(autouse=True)
def summarised(monkeypatch) -> Summaries:
    recorder = Summaries()
    monkeypatch.setattr(summaries, "request", recorder)
    return recorder


def _apply(calls: FakeCalls, event: lk.WebhookEvent) -> str:
    return call_lifecycle.apply(event, store=fake_store(calls=calls))


def test_the_callees_participant_joining_means_ringing():
    calls = FakeCalls(a_call())
    assert _apply(calls, _event("participant_joined", status="ringing")) == "moved to ringing"
    call = calls.items["call_1"]
    assert call.status is CallStatus.RINGING and call.ringing_at == after(10)


@pytest.mark.parametrize(
    "event",
    [
        _event("participant_joined", status="active"),  # joined already answered
        _event("track_published"),  # media flows: the callee answered
    ],
)
def test_an_answer_means_in_progress_from_the_time_of_the_event(event):
    calls = FakeCalls(a_call(status="ringing"))
    assert _apply(calls, event) == "moved to in_progress"
    call = calls.items["call_1"]
    assert call.status is CallStatus.IN_PROGRESS and call.answered_at == after(10)
    assert calls.totals["usr_alice"]["answered_calls"] == 1


@pytest.mark.parametrize(
    "event",
    [
        _event("track_published", identity="agent-1"),  # the agent's own track
        _event("participant_joined", identity="agent-1"),
        _event("participant_left", identity="agent-1", reason="CLIENT_INITIATED"),
        _event("room_started"),
    ],
)
def test_events_of_other_participants_or_kinds_are_ignored(event):
    calls = FakeCalls(a_call(status="ringing"))
    assert _apply(calls, event) == "ignored"
    assert calls.moves == []


@pytest.mark.parametrize(
    ("reason", "status", "code", "end_reason"),
    [
        ("USER_REJECTED", CallStatus.BUSY, None, "rejected"),
        ("USER_UNAVAILABLE", CallStatus.NO_ANSWER, None, "no_answer"),
        ("ROOM_DELETED", CallStatus.CANCELED, 487, "hangup"),
        ("PARTICIPANT_REMOVED", CallStatus.CANCELED, 487, "removed"),
        ("SIP_TRUNK_FAILURE", CallStatus.FAILED, None, "sip_failure: sip_trunk_failure"),
        ("UNKNOWN_REASON", CallStatus.FAILED, None, "sip_failure: unknown_reason"),
    ],
)
def test_an_unanswered_call_ends_as_its_disconnect_reason_says(reason, status, code, end_reason, summarised):
    calls = FakeCalls(a_call(status="ringing"))
    assert _apply(calls, _event("participant_left", reason=reason, after=30)) == f"moved to {status.value}"
    call = calls.items["call_1"]
    assert (call.status, call.sip_status_code, call.end_reason) == (status, code, end_reason)
    assert call.ended_at == after(30) and call.duration_seconds is None and call.answered_at is None
    assert "answered_calls" not in calls.totals["usr_alice"]
    assert [c.status for c in summarised.asked] == [status]


@pytest.mark.parametrize(
    ("reason", "end_reason"),
    [("CLIENT_INITIATED", "callee_hangup"), ("ROOM_DELETED", "hangup"), ("MEDIA_FAILURE", "media_failure")],
)
def test_an_answered_call_ends_completed_with_its_duration(reason, end_reason):
    calls = FakeCalls(a_call(status="in_progress", answered_at=after(5)))
    assert _apply(calls, _event("participant_left", reason=reason, after=47)) == "moved to completed"
    call = calls.items["call_1"]
    assert (call.status, call.end_reason, call.duration_seconds, call.sip_status_code) == (
        CallStatus.COMPLETED,
        end_reason,
        42,
        None,
    )
    assert calls.totals["usr_alice"] == {
        "status_in_progress": -1,
        "status_completed": 1,
        "total_duration_seconds": 42,
        "timed_calls": 1,
    }


def test_a_call_that_says_it_was_answered_when_it_ends_counts_as_answered_then():
    # Given a ringing call whose answer was never reported
    calls = FakeCalls(a_call(status="ringing"))
    # When the callee leaves with a SIP status saying the call was up
    _apply(calls, _event("participant_left", status="hangup", reason="CLIENT_INITIATED", after=50))
    # Then it completed, answered by this event at the latest
    call = calls.items["call_1"]
    assert (call.status, call.answered_at, call.duration_seconds) == (CallStatus.COMPLETED, after(50), 0)
    assert calls.totals["usr_alice"]["answered_calls"] == 1


def test_the_end_of_a_call_transferred_cold_is_its_transfer():
    cold = TransferRecord(transfer_to="tel:+14155550177", mode="cold", at=after(20), status="completed")
    calls = FakeCalls(a_call(status="in_progress", answered_at=after(5), transfers=[cold]))
    _apply(calls, _event("participant_left", reason="CLIENT_INITIATED", after=25))
    assert calls.items["call_1"].end_reason == "transferred"


def test_a_warm_transfer_does_not_make_the_end_a_transfer():
    warm = TransferRecord(transfer_to="tel:+14155550177", mode="warm", at=after(20), status="dialing")
    calls = FakeCalls(a_call(status="in_progress", answered_at=after(5), transfers=[warm]))
    _apply(calls, _event("participant_left", reason="CLIENT_INITIATED", after=25))
    assert calls.items["call_1"].end_reason == "callee_hangup"


@pytest.mark.parametrize(
    ("start", "status", "duration"),
    [
        ({"status": "in_progress", "answered_at": after(5)}, CallStatus.COMPLETED, 55),
        ({"status": "ringing"}, CallStatus.CANCELED, None),
        ({"status": "dialing"}, CallStatus.CANCELED, None),
    ],
)
def test_a_room_closing_ends_an_open_call(start, status, duration):
    calls = FakeCalls(a_call(**start))
    assert _apply(calls, _event("room_finished", identity=None, after=60)) == f"moved to {status.value}"
    call = calls.items["call_1"]
    assert (call.status, call.end_reason, call.duration_seconds) == (status, "room_closed", duration)


def test_a_room_closing_after_the_end_changes_nothing(summarised):
    calls = FakeCalls(a_call(status="busy", end_reason="busy"))
    assert _apply(calls, _event("room_finished", identity=None)) == "ignored"
    assert calls.items["call_1"].end_reason == "busy" and summarised.asked == []


def test_an_event_delivered_twice_is_applied_once():
    calls = FakeCalls(a_call(status="in_progress", answered_at=after(5)))
    event = _event("participant_left", reason="CLIENT_INITIATED", after=47)
    assert _apply(calls, event) == "moved to completed"
    assert _apply(calls, event) == "no change"
    assert calls.totals["usr_alice"]["status_completed"] == 1


def test_a_late_event_does_not_move_a_call_back():
    calls = FakeCalls(a_call(status="in_progress", answered_at=after(5)))
    assert _apply(calls, _event("participant_joined", status="ringing", event_id="EV_late")) == "no change"
    assert calls.items["call_1"].status is CallStatus.IN_PROGRESS and calls.moves == []


def test_an_event_stamped_before_the_call_was_created_counts_from_its_creation():
    calls = FakeCalls(a_call())
    _apply(calls, _event("participant_joined", after=-3))  # webhook times are whole seconds
    assert calls.items["call_1"].ringing_at == after(0)


def test_an_event_that_cannot_concern_a_call_is_ignored_without_a_read():
    # the store holds no calls repository: any read would fail the test
    assert call_lifecycle.apply(_event("room_finished", room=None), store=fake_store()) == "ignored: not a call room"
    assert call_lifecycle.apply(_event("track_published", room="agent-1234_caller"), store=fake_store()) == "ignored"


def test_a_room_that_holds_no_call_of_ours_is_ignored():
    # a room no outbound call is named after and no inbound call was recorded in
    assert _apply(FakeCalls(), _event("room_finished", room="agent-1234_caller")) == "ignored: unknown call"


def test_an_unknown_call_is_ignored():
    calls = FakeCalls()
    assert _apply(calls, _event("participant_joined", room="call_gone")) == "ignored: unknown call"


def _body(event: lk.WebhookEvent) -> str:
    participant = event.participant
    return json.dumps(
        {
            "event": event.event,
            "id": event.id,
            "createdAt": str(event.created_at),
            "room": {"name": event.room_name},
            "participant": {"identity": participant.identity, "attributes": participant.attributes}
            if participant
            else None,
        }
    )


def test_handle_applies_only_signed_events():
    calls, livekit = FakeCalls(a_call()), FakeLiveKit(webhook_token="good")
    body = _body(_event("participant_joined"))
    with pytest.raises(Unauthenticated):
        call_lifecycle.handle(body, "forged", livekit=livekit, store=fake_store(calls=calls))
    with pytest.raises(Unauthenticated):
        call_lifecycle.handle(body, None, livekit=livekit, store=fake_store(calls=calls))
    assert calls.moves == []
    answer = call_lifecycle.handle(body, "good", livekit=livekit, store=fake_store(calls=calls))
    assert answer == {"event": "participant_joined", "id": "EV_1", "applied": "moved to ringing"}
