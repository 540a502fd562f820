"""A call's life from LiveKit webhooks: ringing, answered, ended; each event applied once, forward only. Events of
the rooms our dispatch rules make (inbound calls) go to services/inbound_calls.py.

LiveKit tells us about the callee's SIP participant (identity `sip-<call_id>`, in room `<call_id>`):
`participant_joined` while it dials, `track_published` when the callee answers (media flows),
`participant_left` with a disconnect reason when it ends, `room_finished` when the room closes.
Webhooks carry no SIP status, so the code recorded is the one the reason implies.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from telephony.errors import NotFound, StatusChanged
from telephony.integrations import livekit as lk
from telephony.models.calls import CallChanges, CallRecord, CallStatus
from telephony.observability import count, logger
from telephony.repositories.store import Store, default_store
from telephony.services import calls, inbound_calls, recordings, summaries
from telephony.util import iso

# disconnect reason of a call that was never answered -> (status, SIP code, end reason). LiveKit's SIP service gives
# one reason for several answers: USER_REJECTED for busy (486), declined (603, any 6xx), not acceptable (488) and
# refused credentials (401/403); USER_UNAVAILABLE for 404, 408, 480, other 4xx and no answer in time. The webhook
# carries no SIP code, so none is recorded for them: the end reason says what is known. Our own hangup is a CANCEL.
_UNANSWERED = {
    "USER_REJECTED": (CallStatus.BUSY, None, "rejected"),
    "USER_UNAVAILABLE": (CallStatus.NO_ANSWER, None, "no_answer"),
    "ROOM_DELETED": (CallStatus.CANCELED, 487, "hangup"),
    "PARTICIPANT_REMOVED": (CallStatus.CANCELED, 487, "removed"),
}
_ANSWERED_REASONS = {
    "CLIENT_INITIATED": "callee_hangup",
    "ROOM_DELETED": "hangup",
    "PARTICIPANT_REMOVED": "removed",
}


def handle(
    body: str, authorization: str | None, *, livekit: lk.LiveKit | None = None, store: Store | None = None
) -> dict[str, Any]:
    event = (livekit or lk.default()).verify_webhook(body, authorization or "")
    outcome = apply(event, store=store, livekit=livekit)
    return {"event": event.event, "id": event.id, "applied": outcome}


def apply(event: lk.WebhookEvent, *, store: Store | None = None, livekit: lk.LiveKit | None = None) -> str:
    db = store or default_store()
    if event.egress is not None:
        return recordings.apply(event.egress, store=db)
    call_id = event.room_name or ""
    at = datetime.fromtimestamp(event.created_at, UTC) if event.created_at else datetime.now(UTC)
    inbound = event.participant is not None and inbound_calls.ATTR_RULE_ID in event.participant.attributes
    call = _outbound_call(call_id, db) if not inbound else None
    if call is None:  # a room a dispatch rule made: its name is LiveKit's (it may even start with call_)
        return inbound_calls.apply(event, at, db)
    # webhook times are whole seconds: never let an event seem older than the call itself
    at = max(at, datetime.fromisoformat(call.created_at))
    participant = event.participant
    primary = participant is not None and participant.identity == call.participant_identity
    moved = None
    if event.event == "participant_joined" and participant is not None and primary:
        if participant.attributes.get("sip.callStatus", "") == "active":
            moved = calls.move(
                call, CallStatus.IN_PROGRESS, CallChanges(answered_at=iso(at)), event_id=event.id, store=db
            )
        else:
            moved = calls.move(call, CallStatus.RINGING, CallChanges(ringing_at=iso(at)), event_id=event.id, store=db)
    elif event.event == "track_published" and primary:
        moved = calls.move(call, CallStatus.IN_PROGRESS, CallChanges(answered_at=iso(at)), event_id=event.id, store=db)
    elif event.event == "participant_left" and participant is not None and primary:
        moved = _ended(call, participant, at, event.id, db)
    elif event.event == "room_finished" and not call.ended:
        moved = calls.move(call, calls.ending(at, "room_closed"), event_id=event.id, store=db)
    elif event.event == "participant_left" and participant is not None and _is_leg(call, participant.identity):
        # a warm transfer's leg left: it is live no more (a call's end releases its legs too, whichever comes first)
        with contextlib.suppress(StatusChanged):
            db.calls.set_leg_status(call.call_id, participant.identity, "ended", live=False)
        return "leg ended"
    else:
        return "ignored"
    if moved and moved.status is CallStatus.IN_PROGRESS:
        count("CallsAnswered")
        recordings.start(moved, livekit=livekit, store=db)
    if moved and moved.ended:
        count("CallsFailed" if moved.status is CallStatus.FAILED else "CallsEnded")
        summaries.request(moved)
        recordings.stop(moved, livekit=livekit)
    return f"moved to {moved.status.value}" if moved else "no change"


def _outbound_call(room: str, db: Store) -> CallRecord | None:
    """The call placed into this room (outbound calls' rooms are named after them)."""
    if not room.startswith("call_"):
        return None
    try:
        return db.calls.get(room)
    except NotFound:  # no id of ours looks like this name
        return None


def _is_leg(call: CallRecord, identity: str) -> bool:
    return any(t.leg_identity == identity for t in call.transfers)


def _ended(call: CallRecord, participant: lk.Participant, at: datetime, event_id: str, db: Store) -> CallRecord | None:
    reason = participant.disconnect_reason
    said_answered = participant.attributes.get("sip.callStatus", "") in ("active", "hangup")

    def decide(current: CallRecord) -> tuple[CallStatus, CallChanges]:
        """Decided on each read of the call: the answer (or a transfer) may be recorded in between."""
        if current.status is CallStatus.IN_PROGRESS or said_answered:
            transferred = any(t.mode == "cold" for t in current.transfers)
            end_reason = "transferred" if transferred else _ANSWERED_REASONS.get(reason, reason.lower())
            # answered, even if its answer was never reported: by this event at the latest
            answered = None if current.answered_at else iso(at)
            return CallStatus.COMPLETED, calls.end_fields(current, at, end_reason=end_reason, answered_at=answered)
        status, code, end_reason = _UNANSWERED.get(reason, (CallStatus.FAILED, None, f"sip_failure: {reason.lower()}"))
        fields = calls.end_fields(current, at, end_reason=end_reason)
        if code:
            fields["sip_status_code"] = code
        return status, fields

    if call.status is not CallStatus.IN_PROGRESS and not said_answered:
        logger().info("call ended before answer", extra={"call_id": call.call_id, "reason": reason})
    return calls.move(call, decide, event_id=event_id, store=db)
