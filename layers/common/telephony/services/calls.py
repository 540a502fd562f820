"""Outbound calls: create (with the agent dispatched first), read, list, hang up, transfer, stats."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telephony import sip
from telephony.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, UpstreamError
from telephony.models.calls import (
    ENDED,
    OPEN,
    RANK,
    CallCreated,
    CallDetails,
    CallEvents,
    CallStats,
    CallStatus,
    CreateCall,
    EventsAccepted,
    Transfer,
)
from telephony.models.common import Page
from telephony.models.principal import Principal
from telephony.observability import count, logger
from telephony.phone import is_premium_rate, to_e164
from telephony.repositories import calls as calls_repo
from telephony.repositories import dynamo
from telephony.repositories import numbers as numbers_repo
from telephony.services import rate_limits
from telephony.util import epoch, new_id, now, now_iso

if TYPE_CHECKING:  # imported by the calls that talk to LiveKit: the read-only endpoints never load it
    from telephony.integrations import livekit as lk

DEFAULT_SETTINGS: dict[str, Any] = {
    "ringing_timeout_seconds": 30,
    "max_call_duration_seconds": 3600,
    "krisp_enabled": True,
    "hide_phone_number": False,
    "custom_headers": {},
}


def identity_of(call_id: str) -> str:
    return f"sip-{call_id}"


# ---------------------------------------------------------------- status changes


Decide = Callable[[dict[str, Any]], tuple[CallStatus, dict[str, Any]]]


def move(
    record: dict[str, Any],
    to: CallStatus | Decide,
    fields: dict[str, Any] | None = None,
    *,
    event_id: str | None = None,
    attempts: int = 3,
) -> dict[str, Any] | None:
    """Move a call forward (never back), counters with it. None when it was already there or beyond,
    or when this event was applied before. The condition is the exact status read, so counters stay exact.
    `to` may decide the status and fields from the call as each attempt reads it (see `ending`)."""
    current = record
    for _ in range(attempts):
        target, changes = to(current) if callable(to) else (to, fields or {})
        old = CallStatus(current["status"])
        if old in ENDED or RANK[target] <= RANK[old]:
            return None
        adds = {f"status_{old.value}": -1, f"status_{target.value}": 1}
        if target is CallStatus.IN_PROGRESS or (
            target in ENDED and changes.get("answered_at") and not current.get("answered_at")
        ):
            adds["answered_calls"] = 1
        if changes.get("duration_seconds") is not None:
            adds["total_duration_seconds"] = int(changes["duration_seconds"])
            adds["timed_calls"] = 1
        try:
            calls_repo.transition(
                current,
                from_statuses=(old.value,),
                to_status=target.value,
                fields=changes,
                adds=adds,
                event_id=event_id,
            )
            return {**current, **changes, "status": target.value}
        except dynamo.TransactionCanceled as canceled:
            if event_id and canceled.failed(len(canceled.reasons) - 1):
                return None  # this event was applied before
            fresh = calls_repo.get(current["call_id"])
            if fresh is None:
                return None
            current = fresh
    raise Conflict("the call changed too often at once; retry")


def ending(at: datetime, end_reason: str) -> Decide:
    """A call ended from outside the dial (a hangup, the room closed): completed if it was answered by the time
    the end is written, canceled if not. Decided on each read, as the answer may land in between."""

    def decide(current: dict[str, Any]) -> tuple[CallStatus, dict[str, Any]]:
        answered = current["status"] == CallStatus.IN_PROGRESS.value
        return (CallStatus.COMPLETED if answered else CallStatus.CANCELED), end_fields(
            current, at, end_reason=end_reason
        )

    return decide


def end_fields(record: dict[str, Any], ended_at: datetime, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"ended_at": _iso(ended_at), **extra}
    answered = record.get("answered_at") or extra.get("answered_at")
    if answered:
        fields["duration_seconds"] = max(int((ended_at - datetime.fromisoformat(answered)).total_seconds()), 0)
    return fields


def _iso(moment: datetime) -> str:
    from telephony.util import iso

    return iso(moment)


# ---------------------------------------------------------------- create


def _outbound_number(principal: Principal, number_id: str | None) -> dict[str, Any]:
    if number_id:
        record = numbers_repo.get(number_id)
        if record is None or record["owner_id"] != principal.user_id:
            raise NotFound("no such phone number")
        if not (record.get("livekit") or {}).get("outbound"):
            raise Conflict(
                f"{record['phone_number']} cannot place calls: configure a sip_trunk on it or register it with "
                "enable_outbound"
            )
        return record
    token: str | None = None
    while True:  # newest first; every page, not only the first: an account may hold hundreds of inbound numbers
        items, token = numbers_repo.list_by_owner(principal.user_id, limit=100, token=token)
        for record in items:
            if (record.get("livekit") or {}).get("outbound"):
                return record
        if not token:
            break
    raise Conflict(
        "you have no number that can place calls: configure a sip_trunk on one, or register one with enable_outbound"
    )


def fingerprint(body: CreateCall) -> dict[str, Any]:
    """The request as an Idempotency-Key compares it: the callee as the number it is, however it was written."""
    return {**body.model_dump(mode="json"), "phone_number": to_e164(body.phone_number)}


def create(body: CreateCall, *, principal: Principal, livekit: lk.LiveKit | None = None) -> CallCreated:
    from telephony.integrations import livekit as lk

    callee = to_e164(body.phone_number)
    if is_premium_rate(callee):
        raise InvalidInput(
            "premium-rate numbers cannot be called", details=[{"field": "phone_number", "issue": "premium"}]
        )
    number = _outbound_number(principal, body.from_phone_number_id)
    settings = {**DEFAULT_SETTINGS, **{k: v for k, v in (number.get("call_settings") or {}).items() if v is not None}}
    agent_name = body.agent_name or ((number.get("plan") or {}).get("rule") or {}).get("agent_name")
    if not agent_name:
        raise InvalidInput(
            "agent_name is required: the number has no dispatch rule naming an agent", details=[{"field": "agent_name"}]
        )
    created = now()
    call_id = new_id("call")
    record = {
        "call_id": call_id,
        "owner_id": principal.user_id,
        "status": CallStatus.DIALING.value,  # written before LiveKit dials: see below
        "phone_number": callee,
        "from_number": number["phone_number"],
        "from_phone_number_id": number["phone_number_id"],
        "room_name": call_id,
        "agent_name": agent_name,
        "participant_identity": identity_of(call_id),
        "created_at": _iso(created),
        "created_epoch": int(created.timestamp()),
        "dialing_at": _iso(created),
    }
    # One write on the happy path: the call is recorded `dialing`, with its counters and the calls budget, before
    # LiveKit is asked to dial; if LiveKit refuses, it moves to `failed`. Recording the dial afterwards as well
    # would be a fourth DynamoDB request whose failure could only be logged (the call is placed by then).
    try:
        calls_repo.create(
            record, created_epoch=record["created_epoch"], extra=[rate_limits.hit(rate_limits.CALLS, principal.user_id)]
        )
    except dynamo.TransactionCanceled as canceled:
        raise rate_limits.limited(rate_limits.CALLS) from canceled
    client = livekit or lk.default()
    metadata = json.dumps(
        {
            "call_id": call_id,
            "phone_number": callee,
            "from_number": number["phone_number"],
            "system_prompt": body.system_prompt,
            "welcome_message": body.welcome_message,
            "voice": body.voice.model_dump(exclude_none=True) if body.voice else None,
            "metadata": body.metadata,
        }
    )
    dtmf = ((settings.get("dtmf_config") or {}).get("dtmf_sequence")) or ""
    try:
        client.create_dispatch(call_id, agent_name, metadata)
        dialled = client.dial(
            lk.Dial(
                trunk_id=number["livekit"]["outbound"],
                to=callee,
                room=call_id,
                identity=identity_of(call_id),
                from_number=number["phone_number"],
                name=callee,
                attributes={"call_id": call_id},
                dtmf=dtmf,
                headers=settings.get("custom_headers") or {},
                ringing_timeout_seconds=body.ringing_timeout_seconds or int(settings["ringing_timeout_seconds"]),
                max_call_duration_seconds=body.max_call_duration_seconds or int(settings["max_call_duration_seconds"]),
                krisp_enabled=bool(settings["krisp_enabled"]),
                hide_phone_number=bool(settings["hide_phone_number"]),
            )
        )
    except (DomainError, lk.DialFailed) as failure:
        _fail_creation(record, failure, client)
        if isinstance(failure, lk.DialFailed | InvalidInput | Conflict | NotFound):
            raise UpstreamError(f"LiveKit could not place the call: {failure}") from failure
        raise
    count("CallsCreated")
    logger().info("call placed", extra={"call_id": call_id, "sip_call_id": dialled["sip_call_id"]})
    return CallCreated(
        call_id=call_id,
        status=CallStatus.DIALING,
        room_name=call_id,
        phone_number=callee,
        from_number=number["phone_number"],
        created_at=record["created_at"],
    )


def _fail_creation(record: dict[str, Any], failure: Exception, client: lk.LiveKit) -> None:
    """The call could not be placed: it ends `failed` with the reason, and its room goes away."""
    reason = getattr(failure, "message", None) or str(failure)
    fields: dict[str, Any] = {"ended_at": now_iso(), "end_reason": f"livekit_error: {reason}"[:500]}
    code = getattr(failure, "sip_status_code", None)
    if code:
        fields["sip_status_code"] = code
    move(record, CallStatus.FAILED, fields)
    count("CallsFailed")
    with contextlib.suppress(DomainError):  # else the room empties and closes by itself
        client.delete_room(record["room_name"])


# ---------------------------------------------------------------- read


def owned(call_id: str, principal: Principal) -> dict[str, Any]:
    record = calls_repo.get(call_id)
    if record is None or record["owner_id"] != principal.user_id:
        raise NotFound("no such call")
    return record


def details(call_id: str, *, principal: Principal, include_transcript: bool, include_summary: bool) -> CallDetails:
    record = owned(call_id, principal)
    view = CallDetails.model_validate(record)
    if include_transcript:
        view.transcript = [{"role": s["role"], "text": s["text"], "at": s["at"]} for s in calls_repo.segments(call_id)]
    view.summary = record.get("summary") if include_summary else None
    return view


def list_calls(
    *, principal: Principal, status: CallStatus | None, limit: int, next_token: str | None
) -> Page[CallDetails]:
    items, token = calls_repo.list_by_owner(
        principal.user_id, status=status.value if status else None, limit=limit, token=next_token
    )
    return Page[CallDetails](items=[CallDetails.model_validate(i) for i in items], next_token=token)


# What `move` and `calls_repo.create` count, and all `_summary` reads
STAT_COUNTERS = (
    "total_calls",
    "answered_calls",
    "total_duration_seconds",
    "timed_calls",
    *(f"status_{s.value}" for s in CallStatus),
)


def stats(*, principal: Principal) -> CallStats:
    since = calls_repo.hour_of(epoch()) - 23 * calls_repo.HOUR
    total, window = calls_repo.stats(principal.user_id, since_hour=since, counters=STAT_COUNTERS)
    return CallStats(**_summary(total), last_24h=_summary(window))


def _summary(counters: dict[str, Any]) -> dict[str, Any]:
    total_calls = int(counters.get("total_calls", 0))
    answered = int(counters.get("answered_calls", 0))
    duration = int(counters.get("total_duration_seconds", 0))
    timed = int(counters.get("timed_calls", 0))
    return {
        "total_calls": total_calls,
        "by_status": {s.value: max(int(counters.get(f"status_{s.value}", 0)), 0) for s in CallStatus},
        "answered_calls": answered,
        "answer_rate": round(answered / total_calls, 4) if total_calls else 0.0,
        "total_duration_seconds": duration,
        "average_duration_seconds": round(duration / timed, 2) if timed else 0.0,
    }


# ---------------------------------------------------------------- control


def hangup(call_id: str, *, principal: Principal, livekit: lk.LiveKit | None = None) -> CallDetails:
    from telephony.integrations import livekit as lk

    record = owned(call_id, principal)
    if CallStatus(record["status"]) in ENDED:
        raise Conflict(f"the call already ended ({record['status']})")
    (livekit or lk.default()).delete_room(record["room_name"])
    moved = move(record, ending(now(), "hangup"))
    # what was written is known; only a webhook that ended it first needs the call read back
    return CallDetails.model_validate(moved or calls_repo.get(call_id) or record)


def transfer(call_id: str, body: Transfer, *, principal: Principal, livekit: lk.LiveKit | None = None) -> CallDetails:
    from telephony.integrations import livekit as lk

    record = owned(call_id, principal)
    if record["status"] != CallStatus.IN_PROGRESS.value:
        raise Conflict(f"only a call in progress can be transferred; this one is {record['status']}")
    target = sip.transfer_target(body.transfer_to)
    number = numbers_repo.get(record["from_phone_number_id"]) or {}
    config = (number.get("call_settings") or {}).get("transfer_config") or {}
    allowed = set()
    for destination in config.get("allowed_destinations") or []:
        try:
            allowed.add(sip.transfer_target(destination))
        except InvalidInput:
            continue
    if target not in allowed:
        raise Forbidden("this destination is not in the number's transfer_config.allowed_destinations")
    if target.startswith("tel:") and is_premium_rate(target[4:]):  # a transfer dials out like a call does
        raise Forbidden("premium-rate numbers cannot be dialled, even when allowed")
    client = livekit or lk.default()
    if body.mode == "cold":
        if not config.get("cold_transfer_enabled", True):
            raise Forbidden("cold transfers are disabled for this number")
        client.transfer(record["room_name"], record["participant_identity"], target, play_dialtone=body.play_dialtone)
        status = "completed"
    else:
        if not config.get("warm_transfer_enabled", False):
            raise Forbidden("warm transfers are disabled for this number")
        if not target.startswith("tel:"):
            raise InvalidInput(
                "a warm transfer dials a phone number: give an E.164 number or tel: URI",
                details=[{"field": "transfer_to"}],
            )
        trunk_id = (number.get("livekit") or {}).get("outbound")
        if not trunk_id:
            raise Conflict("the number has no outbound trunk any more: a warm transfer dials out through it")
        index = len(record.get("transfers") or []) + 1
        client.dial(
            lk.Dial(
                trunk_id=trunk_id,
                to=target[4:],
                room=record["room_name"],
                identity=f"transfer-{call_id}-{index}",
                from_number=record["from_number"],
                name=target[4:],
                attributes={"call_id": call_id, "transfer": "warm"},
                play_dialtone=body.play_dialtone,
            )
        )
        status = "dialing"
    entry = {"transfer_to": target, "mode": body.mode, "at": now_iso(), "status": status}
    try:
        updated = calls_repo.append_transfer(call_id, entry, status=CallStatus.IN_PROGRESS.value)
    except dynamo.ConditionFailed:
        ended = _transferred_after_the_end(call_id, entry) if body.mode == "cold" else None
        updated = ended or calls_repo.get(call_id) or record
    return CallDetails.model_validate(updated)


def _transferred_after_the_end(call_id: str, entry: dict[str, Any]) -> dict[str, Any] | None:
    """LiveKit answers a cold transfer once the far end took the call, and the callee's side may have left (its
    webhook handled) before that answer reaches us: the call is completed, and it ended by this transfer."""
    try:
        return calls_repo.append_transfer(call_id, entry, status=CallStatus.COMPLETED.value, end_reason="transferred")
    except dynamo.ConditionFailed:
        return None


MAX_TRANSCRIPT_CHARS = 500_000  # ~9 hours of speech; the details' JSON stays far below Lambda's 6 MB


def _segment_index(position: int, segment: Any) -> str:
    digest = hashlib.sha256(f"{segment.role}\n{segment.text}".encode()).hexdigest()[:12]
    return f"{position:04d}-{digest}"


def post_events(call_id: str, body: CallEvents, *, principal: Principal) -> EventsAccepted:
    """One write on the call first: the summary if given, and the transcript's size, on the condition that the
    call is the caller's (the ownership check) and that its transcript stays within MAX_TRANSCRIPT_CHARS (a
    call's details return it whole, and a Lambda answer is at most 6 MB). Then the segments, each keyed by its
    time, its place in the post and its content: a retry of a post whose segments have their `at` rewrites the
    same items instead of adding them again (it counts their size again: the limit errs on the safe side)."""
    transcript = body.transcript or []
    chars = sum(len(s.text) for s in transcript)
    try:
        calls_repo.note_events(
            call_id,
            principal.user_id,
            summary=body.summary,
            chars=chars,
            max_chars=MAX_TRANSCRIPT_CHARS,
        )
    except dynamo.ConditionFailed as failed:
        if failed.item is None or failed.item.get("owner_id") != principal.user_id:
            raise NotFound("no such call") from None
        raise Conflict(
            f"the call's transcript is full: at most {MAX_TRANSCRIPT_CHARS} characters of text",
            details=[{"field": "transcript", "issue": "full"}],
        ) from None
    if transcript:
        base = now_iso()
        segments = [
            {"role": s.role, "text": s.text, "at": s.at or base, "index": _segment_index(i, s), "call_id": call_id}
            for i, s in enumerate(transcript)
        ]
        calls_repo.add_segments(call_id, segments)
    return EventsAccepted(
        call_id=call_id, transcript_segments_added=len(transcript), summary_set=body.summary is not None
    )


OPEN_VALUES = tuple(s.value for s in OPEN)
