"""A call's life from LiveKit webhooks: ringing, answered, ended; each event applied once, forward only.

LiveKit tells us about the callee's SIP participant (identity `sip-<call_id>`, in room `<call_id>`):
`participant_joined` while it dials, `track_published` when the callee answers (media flows),
`participant_left` with a disconnect reason when it ends, `room_finished` when the room closes.
Webhooks carry no SIP status, so the code recorded is the one the reason implies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from telephony.integrations import livekit as lk
from telephony.models.calls import ENDED, CallStatus
from telephony.observability import count, logger
from telephony.repositories import calls as calls_repo
from telephony.services import calls, summaries

# disconnect reason of a call that was never answered -> (status, implied SIP code, end reason)
_UNANSWERED = {
    "USER_REJECTED": (CallStatus.BUSY, 486, "busy"),
    "USER_UNAVAILABLE": (CallStatus.NO_ANSWER, 480, "no_answer"),
    "ROOM_DELETED": (CallStatus.CANCELED, 487, "hangup"),
    "PARTICIPANT_REMOVED": (CallStatus.CANCELED, 487, "removed"),
}
_ANSWERED_REASONS = {
    "CLIENT_INITIATED": "callee_hangup",
    "ROOM_DELETED": "hangup",
    "PARTICIPANT_REMOVED": "removed",
}


def handle(body: str, authorization: str | None, *, livekit: lk.LiveKit | None = None) -> dict[str, Any]:
    event = (livekit or lk.default()).verify_webhook(body, authorization or "")
    outcome = apply(event)
    return {"event": event.event, "id": event.id, "applied": outcome}


def apply(event: lk.WebhookEvent) -> str:
    call_id = event.room_name or ""
    if not call_id.startswith("call_"):
        return "ignored: not a call room"
    record = calls_repo.get(call_id)
    if record is None:
        return "ignored: unknown call"
    at = datetime.fromtimestamp(event.created_at, UTC) if event.created_at else datetime.now(UTC)
    # webhook times are whole seconds: never let an event seem older than the call itself
    at = max(at, datetime.fromisoformat(record["created_at"]))
    participant = event.participant
    primary = participant is not None and participant.identity == record["participant_identity"]
    moved = None
    if event.event == "participant_joined" and participant is not None and primary:
        status = participant.attributes.get("sip.callStatus", "")
        if status == "active":
            moved = calls.move(record, CallStatus.IN_PROGRESS, {"answered_at": _iso(at)}, event_id=event.id)
        else:
            moved = calls.move(record, CallStatus.RINGING, {"ringing_at": _iso(at)}, event_id=event.id)
    elif event.event == "track_published" and primary:
        moved = calls.move(record, CallStatus.IN_PROGRESS, {"answered_at": _iso(at)}, event_id=event.id)
    elif event.event == "participant_left" and participant is not None and primary:
        moved = _ended(record, participant, at, event.id)
    elif event.event == "room_finished" and CallStatus(record["status"]) not in ENDED:
        moved = calls.move(record, calls.ending(at, "room_closed"), event_id=event.id)
    else:
        return "ignored"
    if moved and moved["status"] == CallStatus.IN_PROGRESS.value:
        count("CallsAnswered")
    if moved and CallStatus(moved["status"]) in ENDED:
        count("CallsFailed" if moved["status"] == CallStatus.FAILED.value else "CallsEnded")
        summaries.request(moved)
    return f"moved to {moved['status']}" if moved else "no change"


def _ended(record: dict[str, Any], participant: lk.Participant, at: datetime, event_id: str) -> dict[str, Any] | None:
    reason = participant.disconnect_reason
    said_answered = participant.attributes.get("sip.callStatus", "") in ("active", "hangup")

    def decide(current: dict[str, Any]) -> tuple[CallStatus, dict[str, Any]]:
        """Decided on each read of the call: the answer (or a transfer) may be recorded in between."""
        if current["status"] == CallStatus.IN_PROGRESS.value or said_answered:
            transferred = any(t.get("mode") == "cold" for t in current.get("transfers") or [])
            end_reason = "transferred" if transferred else _ANSWERED_REASONS.get(reason, reason.lower())
            # answered, even if its answer was never reported: by this event at the latest
            answered = {} if current.get("answered_at") else {"answered_at": _iso(at)}
            return CallStatus.COMPLETED, calls.end_fields(current, at, end_reason=end_reason, **answered)
        status, code, end_reason = _UNANSWERED.get(reason, (CallStatus.FAILED, None, f"sip_failure: {reason.lower()}"))
        fields = calls.end_fields(current, at, end_reason=end_reason)
        if code:
            fields["sip_status_code"] = code
        return status, fields

    if record["status"] != CallStatus.IN_PROGRESS.value and not said_answered:
        logger().info("call ended before answer", extra={"call_id": record["call_id"], "reason": reason})
    return calls.move(record, decide, event_id=event_id)


def _iso(moment: datetime) -> str:
    from telephony.util import iso

    return iso(moment)
