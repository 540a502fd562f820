"""Inbound calls from LiveKit webhooks: a call that reached a number of ours becomes a call of the number's owner.

LiveKit's SIP service matches an inbound trunk and one of the number's dispatch rules, makes a room for the caller and
lets a SIP participant join it (livekit/protocol's `EvaluateDispatchRule`, livekit/sip's inbound call; what they do
is in docs/adr/0023-inbound-calls.md):
- its attributes always carry `sip.callID`, `sip.trunkID` and `sip.ruleID`; `sip.phoneNumber` (the caller),
  `sip.trunkPhoneNumber` (the number called) and `sip.hostname` only when the rule does not hide the caller's
  number; `sip.callStatus` is `ringing` when it joins (`active` at once behind a PIN prompt);
- its metadata is the dispatch rule's, which for our rules names the number (services/provisioning.py `marker`);
- the call is accepted once the dispatched agent joins and subscribes: the attribute then becomes `active`, which no
  webhook reports, so the agent's `participant_joined` is the answer;
- it ends with the SIP participant's `participant_left` (`CLIENT_INITIATED` when the caller hangs up) or the room's
  `room_finished`.
A room's later events find its calls through a pointer item written with the call (the room name is LiveKit's).
"""

from __future__ import annotations

from datetime import datetime

from telephony.errors import AlreadyExists
from telephony.integrations import livekit as lk
from telephony.models.calls import CallChanges, CallRecord, CallStatus, Direction
from telephony.models.numbers import NumberRecord
from telephony.models.sip import Part
from telephony.models.webhooks import EventType
from telephony.observability import count, logger
from telephony.repositories.store import Store
from telephony.services import calls, events, recordings
from telephony.services.provisioning import marker
from telephony.util import derived_id, iso, now

ATTR_CALL_ID = "sip.callID"
ATTR_RULE_ID = "sip.ruleID"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_CALL_STATUS = "sip.callStatus"
HIDDEN = "hidden"  # the caller of a number that hides callers' numbers
UNKNOWN = "unknown"  # a caller whose number the carrier withheld

# how an inbound call that was never answered ended, by disconnect reason: the caller gave up while it rang, or
# LiveKit gave up (nobody answered in the trunk's ringing time, the room went away)
_UNANSWERED = {
    "CLIENT_INITIATED": (CallStatus.CANCELED, "caller_hangup"),
    "USER_UNAVAILABLE": (CallStatus.NO_ANSWER, "no_answer"),
    "ROOM_DELETED": (CallStatus.CANCELED, "hangup"),
    "PARTICIPANT_REMOVED": (CallStatus.CANCELED, "removed"),
}
_ANSWERED_REASONS = {
    "CLIENT_INITIATED": "caller_hangup",
    "ROOM_DELETED": "hangup",
    "PARTICIPANT_REMOVED": "removed",
}


def call_id_of(sip_call_id: str) -> str:
    """An inbound call's id: the same for every delivery of LiveKit's event, so the call is made once."""
    return derived_id("call", "inbound", sip_call_id)


def apply(event: lk.WebhookEvent, at: datetime, db: Store) -> str:
    """An event in a room that is not one of our outbound calls' rooms."""
    room = event.room_name or ""
    participant = event.participant
    if event.event == "participant_joined" and participant is not None and participant.attributes.get(ATTR_RULE_ID):
        return _arrived(room, participant, at, event.id, db)
    if not room:
        return "ignored: not a call room"
    if event.event not in ("participant_joined", "participant_left", "room_finished"):
        return "ignored"
    in_room = db.calls.in_room(room)
    if not in_room:
        return "ignored: unknown call"
    moved: list[CallRecord] = []
    for call in in_room:
        done = _next(call, event, at, db)
        if done is not None:
            moved.append(done)
    for call in moved:
        _counted(call, db)
    return ", ".join(f"moved to {m.status.value}" for m in moved) or "no change"


def _next(call: CallRecord, event: lk.WebhookEvent, at: datetime, db: Store) -> CallRecord | None:
    at = max(at, datetime.fromisoformat(call.created_at))
    participant = event.participant
    if event.event == "participant_joined" and participant is not None and participant.kind == "AGENT":
        return calls.move(call, CallStatus.IN_PROGRESS, CallChanges(answered_at=iso(at)), event_id=event.id, store=db)
    if event.event == "participant_left" and participant is not None:
        if participant.identity == call.participant_identity:
            return calls.move(call, _ending(participant, at), event_id=event.id, store=db)
        return None
    if event.event == "room_finished" and not call.ended:
        return calls.move(call, calls.ending(at, "room_closed"), event_id=event.id, store=db)
    return None


def _ending(participant: lk.Participant, at: datetime) -> calls.Decide:
    reason = participant.disconnect_reason

    def decide(current: CallRecord) -> tuple[CallStatus, CallChanges]:
        """Decided on each read: the answer may be recorded in between. Only `active` tells that the caller was
        connected: `hangup` is also what a caller who gave up while it rang leaves behind."""
        if current.status is CallStatus.IN_PROGRESS or participant.attributes.get(ATTR_CALL_STATUS) == "active":
            transferred = any(t.mode == "cold" for t in current.transfers)
            end_reason = "transferred" if transferred else _ANSWERED_REASONS.get(reason, reason.lower())
            answered = None if current.answered_at else iso(at)
            return CallStatus.COMPLETED, calls.end_fields(current, at, end_reason=end_reason, answered_at=answered)
        status, end_reason = _UNANSWERED.get(reason, (CallStatus.FAILED, f"sip_failure: {reason.lower()}"))
        return status, calls.end_fields(current, at, end_reason=end_reason)

    return decide


def _counted(call: CallRecord, db: Store) -> None:
    """What follows a move, as for outbound calls: an answered call is recorded if its number says so, an ended
    one has its recording stopped and its summary asked for."""
    if call.status is CallStatus.IN_PROGRESS:
        count("CallsAnswered")
        recordings.start(call, store=db)
    if call.ended:
        from telephony.services import summaries

        count("CallsFailed" if call.status is CallStatus.FAILED else "CallsEnded")
        summaries.request(call)
        recordings.stop(call)


def number_of(metadata: str, rule_id: str, db: Store) -> NumberRecord | None:
    """The number whose dispatch rule made the room: named by the rule's metadata, which LiveKit gives the SIP
    participant, and only if that number's rule is the one LiveKit says it used (a rule of someone else's project
    or a stale one is no call of ours)."""
    parts = metadata.split(" ")
    if len(parts) != 3 or metadata != marker(parts[1], Part.RULE):
        return None
    claim = db.numbers.claims([parts[1]]).get(parts[1])
    if claim is None or claim.holder != "number" or not claim.phone_number_id:
        return None
    number = db.numbers.get(claim.phone_number_id)
    if number is None or number.livekit.rule != rule_id:
        return None
    return number


def _arrived(room: str, participant: lk.Participant, at: datetime, event_id: str, db: Store) -> str:
    sip_call_id = participant.attributes.get(ATTR_CALL_ID, "")
    rule_id = participant.attributes.get(ATTR_RULE_ID, "")
    number = number_of(participant.metadata, rule_id, db) if sip_call_id else None
    if number is None:
        return "ignored: not a call to one of our numbers"
    call_id = call_id_of(sip_call_id)
    existing = db.calls.get(call_id)
    if existing is not None:  # the event again, or the participant joined again (a PIN accepted)
        if participant.attributes.get(ATTR_CALL_STATUS) == "active":
            moved = calls.move(
                existing, CallStatus.IN_PROGRESS, CallChanges(answered_at=iso(at)), event_id=event_id, store=db
            )
            if moved:
                _counted(moved, db)
                return f"moved to {moved.status.value}"
        return "no change"
    # LiveKit dates its events in whole seconds: the call is dated when its first event arrives (never earlier), so
    # that it sorts among the owner's calls in the order they happened
    call = _record(call_id, room, participant, number, max(at, now()))
    types = [EventType.CALL_RINGING] + ([EventType.CALL_ANSWERED] if call.answered_at else [])
    before = call.model_copy(update={"event_sequence": 0})
    call = call.model_copy(update={"event_sequence": len(types)})
    try:
        db.calls.create_inbound(call, events=events.call_events(before, call, types))
    except AlreadyExists:
        return "no change"
    count("InboundCalls")
    logger().info("inbound call", extra={"call_id": call_id, "sip_call_id": sip_call_id})
    if call.status is CallStatus.IN_PROGRESS:  # answered as it arrived
        _counted(call, db)
    return f"created {call.status.value}"


def _record(call_id: str, room: str, participant: lk.Participant, number: NumberRecord, at: datetime) -> CallRecord:
    settings = number.settings
    caller = participant.attributes.get(ATTR_PHONE_NUMBER) or UNKNOWN
    active = participant.attributes.get(ATTR_CALL_STATUS) == "active"
    rule = number.plan.rule
    return CallRecord(
        call_id=call_id,
        owner_id=number.owner_id,
        direction=Direction.INBOUND,
        status=CallStatus.IN_PROGRESS if active else CallStatus.RINGING,
        phone_number=number.phone_number,
        from_number=HIDDEN if settings.hide_phone_number else caller,
        phone_number_id=number.phone_number_id,
        room_name=room,
        agent_name=rule.agent_name if rule else None,
        participant_identity=participant.identity,
        created_at=iso(at),
        created_epoch=int(at.timestamp()),
        ringing_at=iso(at),
        answered_at=iso(at) if active else None,
        record=recordings.wanted(None, number),
    )
