"""Calls: create an outbound one (with the agent dispatched first); read, list, hang up, transfer and count calls of
either direction."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telephony import sip
from telephony.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    EventAlreadyApplied,
    Forbidden,
    InvalidInput,
    NotFound,
    StatusChanged,
    TooManyTransfers,
    UpstreamError,
)
from telephony.models.calls import (
    ENDED,
    RANK,
    AllCallsQuery,
    CallChanges,
    CallCreated,
    CallDetails,
    CallEvents,
    CallRecord,
    CallStats,
    CallStatus,
    CampaignDial,
    CreateCall,
    Direction,
    EventsAccepted,
    SegmentRecord,
    StatCounters,
    TranscriptSegment,
    Transfer,
    TransferRecord,
    counter_prefix,
    leg_identity,
)
from telephony.models.common import Page
from telephony.models.numbers import NumberRecord
from telephony.models.principal import Principal
from telephony.models.webhooks import EventType
from telephony.observability import count, logger
from telephony.phone import is_premium_rate, to_e164
from telephony.repositories.calls import HOUR, hour_of
from telephony.repositories.store import Store, default_store
from telephony.services import calling_hours, dnc, events, limits, rate_limits, recordings
from telephony.util import derived_id, epoch, iso, new_id, now, now_iso

if TYPE_CHECKING:  # imported by the calls that talk to LiveKit: the read-only endpoints never load it
    from telephony.integrations.livekit import LiveKit


def _livekit(given: LiveKit | None) -> LiveKit:
    from telephony.integrations import livekit as lk

    return given or lk.default()


def identity_of(call_id: str) -> str:
    return f"sip-{call_id}"


# ---------------------------------------------------------------- status changes

# Decides the status and the fields of a change from the call as each attempt reads it.
Decide = Callable[[CallRecord], tuple[CallStatus, CallChanges]]
# A change of a call is written on the condition that the call is as read (its status, its events' sequence); each
# refused attempt means another change committed, so a change is refused at most once per writer at work on the call
# (LiveKit's webhooks, its owner, its agent). Past this many, the caller is asked to retry (409).
_MOVE_ATTEMPTS = 10


def move(
    call: CallRecord,
    to: CallStatus | Decide,
    changes: CallChanges | None = None,
    *,
    event_id: str | None = None,
    store: Store | None = None,
) -> CallRecord | None:
    """Move a call forward (never back), counters with it. None when it was already there or beyond, or when
    this event was applied before. The condition is the exact status read, so counters stay exact. `to` may
    decide the status and changes from the call as each attempt reads it (see `ending`)."""
    db = store or default_store()
    current = call
    for _ in range(_MOVE_ATTEMPTS):
        target, fields = to(current) if callable(to) else (to, changes or CallChanges())
        if current.ended or RANK[target] <= RANK[current.status]:
            return None
        after = current.model_copy(update={"status": target, **fields})
        told = events.call_events(current, after, events.status_events(current, target))
        try:
            return db.calls.move(
                current, target, fields, adds=_counted(current, target, fields), event_id=event_id, events=told
            )
        except EventAlreadyApplied:
            return None
        except StatusChanged:
            fresh = db.calls.get(current.call_id)
            if fresh is None:
                return None
            current = fresh
    raise Conflict("the call changed too often at once; retry")


def _counted(current: CallRecord, target: CallStatus, fields: CallChanges) -> StatCounters:
    """What a change adds to its owner's counters (those of the call's direction)."""
    adds = {f"status_{current.status.value}": -1, f"status_{target.value}": 1}
    if target is CallStatus.IN_PROGRESS or (target in ENDED and fields.get("answered_at") and not current.answered_at):
        adds["answered_calls"] = 1
    if "duration_seconds" in fields:
        adds["total_duration_seconds"] = fields["duration_seconds"]
        adds["timed_calls"] = 1
    prefix = counter_prefix(current.direction)
    return {prefix + name: value for name, value in adds.items()}


def ending(at: datetime, end_reason: str) -> Decide:
    """A call ended from outside the dial (a hangup, the room closed): completed if it was answered by the time
    the end is written, canceled if not. Decided on each read, as the answer may land in between."""

    def decide(current: CallRecord) -> tuple[CallStatus, CallChanges]:
        answered = current.status is CallStatus.IN_PROGRESS
        status = CallStatus.COMPLETED if answered else CallStatus.CANCELED
        return status, end_fields(current, at, end_reason=end_reason)

    return decide


def end_fields(call: CallRecord, ended_at: datetime, *, end_reason: str, answered_at: str | None = None) -> CallChanges:
    fields = CallChanges(ended_at=iso(ended_at), end_reason=end_reason)
    if answered_at:
        fields["answered_at"] = answered_at
    answered = call.answered_at or answered_at
    if answered:
        fields["duration_seconds"] = max(int((ended_at - datetime.fromisoformat(answered)).total_seconds()), 0)
    return fields


# ---------------------------------------------------------------- create


def _outbound_number(principal: Principal, number_id: str | None, db: Store) -> tuple[NumberRecord, str]:
    """The number to call from, and its outbound trunk."""
    if number_id:
        number = db.numbers.get(number_id)
        if number is None or number.owner_id != principal.user_id:
            raise NotFound("no such phone number")
        if not number.livekit.outbound:
            raise Conflict(
                f"{number.phone_number} cannot place calls: configure a sip_trunk on it or register it with "
                "enable_outbound"
            )
        return number, number.livekit.outbound
    token: str | None = None
    while True:  # newest first; every page, not only the first: an account may hold hundreds of inbound numbers
        items, token = db.numbers.list_by_owner(principal.user_id, limit=100, token=token)
        for number in items:
            if number.livekit.outbound:
                return number, number.livekit.outbound
        if not token:
            break
    raise Conflict(
        "you have no number that can place calls: configure a sip_trunk on one, or register one with enable_outbound"
    )


def fingerprint(body: CreateCall) -> dict[str, Any]:
    """The request as an Idempotency-Key compares it: the callee as the number it is, however it was written."""
    return {**body.model_dump(mode="json"), "phone_number": to_e164(body.phone_number)}


def create(
    body: CreateCall,
    *,
    principal: Principal,
    idempotency_key: str | None = None,
    livekit: LiveKit | None = None,
    store: Store | None = None,
    campaign: CampaignDial | None = None,
) -> CallCreated:
    """Place a call. With an Idempotency-Key, the call's id is derived from it: a second run of the same request
    (its idempotency record lost) finds the first call instead of placing another. A campaign's dial names its
    call's id (derived from the attempt), which does the same for each attempt."""
    from telephony.integrations import livekit as lk

    db = store or default_store()
    callee = to_e164(body.phone_number)
    if is_premium_rate(callee):
        raise InvalidInput(
            "premium-rate numbers cannot be called", details=[{"field": "phone_number", "issue": "premium"}]
        )
    dnc.refuse_listed(principal.user_id, callee, store=db)
    calling_hours.refuse_outside(principal.user_id, callee, store=db)
    number, trunk_id = _outbound_number(principal, body.from_phone_number_id, db)
    settings = number.settings
    rule_agent = number.plan.rule.agent_name if number.plan.rule else None
    agent_name = body.agent_name or rule_agent
    if not agent_name:
        raise InvalidInput(
            "agent_name is required: the number has no dispatch rule naming an agent", details=[{"field": "agent_name"}]
        )
    if agent_name != rule_agent:  # the number's own agent was claimed when its rule was made
        db.numbers.claim_agent_name(agent_name, principal.user_id)
    created = now()
    if campaign is not None:
        call_id = campaign.call_id
    else:
        call_id = derived_id("call", principal.user_id, idempotency_key) if idempotency_key else new_id("call")
    call = CallRecord(
        call_id=call_id,
        owner_id=principal.user_id,
        status=CallStatus.DIALING,  # written before LiveKit dials: see below
        phone_number=callee,
        from_number=number.phone_number,
        from_phone_number_id=number.phone_number_id,
        room_name=call_id,
        agent_name=agent_name,
        participant_identity=identity_of(call_id),
        created_at=iso(created),
        created_epoch=int(created.timestamp()),
        dialing_at=iso(created),
        campaign_id=campaign.campaign_id if campaign else None,
        record=recordings.wanted(body.record, number),
    )
    # One write on the happy path: the call is recorded `dialing`, with its counters and the calls budget, before
    # LiveKit is asked to dial; if LiveKit refuses, it moves to `failed`. Recording the dial afterwards as well
    # would be another DynamoDB request whose failure could only be logged (the call is placed by then).
    try:
        db.calls.create(
            call,
            charge=rate_limits.charge(rate_limits.CALLS, principal.user_id, store=db),
            max_live=limits.of(principal.user_id, store=db).max_concurrent_calls,
        )
    except AlreadyExists:
        return _created(owned(call_id, principal, db))
    client = _livekit(livekit)
    metadata = json.dumps(
        {
            "call_id": call_id,
            "phone_number": callee,
            "from_number": number.phone_number,
            "system_prompt": body.system_prompt,
            "welcome_message": body.welcome_message,
            "voice": body.voice.model_dump(exclude_none=True) if body.voice else None,
            "metadata": body.metadata,
            **({"campaign_id": campaign.campaign_id, "variables": campaign.variables} if campaign else {}),
            "recording": call.record,  # so that the agent can say the call is recorded
        }
    )
    dtmf = (settings.dtmf_config.dtmf_sequence if settings.dtmf_config else None) or ""
    try:
        client.create_dispatch(call_id, agent_name, metadata)
        dialled = client.dial(
            lk.Dial(
                trunk_id=trunk_id,
                to=callee,
                room=call_id,
                identity=identity_of(call_id),
                from_number=number.phone_number,
                name=callee,
                attributes={"call_id": call_id},
                dtmf=dtmf,
                headers=settings.custom_headers,
                ringing_timeout_seconds=body.ringing_timeout_seconds or settings.ringing_timeout_seconds,
                max_call_duration_seconds=body.max_call_duration_seconds or settings.max_call_duration_seconds,
                krisp_enabled=settings.krisp_enabled,
                hide_phone_number=settings.hide_phone_number,
            )
        )
    except (DomainError, lk.DialFailed) as failure:
        _fail_creation(call, failure, client, db)
        if isinstance(failure, lk.DialFailed | InvalidInput | Conflict | NotFound):
            raise UpstreamError(
                f"LiveKit could not place the call: {failure}", details=_details_of(failure)
            ) from failure
        raise
    count("CallsCreated")
    logger().info("call placed", extra={"call_id": call_id, "sip_call_id": dialled["sip_call_id"]})
    return _created(call)


def _created(call: CallRecord) -> CallCreated:
    return CallCreated(
        call_id=call.call_id,
        status=call.status,
        room_name=call.room_name,
        phone_number=call.phone_number,
        from_number=call.from_number,
        created_at=call.created_at,
    )


def _details_of(failure: Exception) -> list[dict[str, Any]]:
    code = getattr(failure, "sip_status_code", None)
    details: list[dict[str, Any]] = list(getattr(failure, "details", None) or [])
    return details + ([{"sip_status_code": code}] if code else [])


def _fail_creation(call: CallRecord, failure: Exception, client: LiveKit, db: Store) -> None:
    """The call could not be placed: it ends `failed` with the reason (LiveKit's code, never its text), and its
    room goes away."""
    reason = getattr(failure, "code", None) or "error"
    fields = CallChanges(ended_at=now_iso(), end_reason=f"livekit_error: {reason}")
    code = getattr(failure, "sip_status_code", None)
    if code:
        fields["sip_status_code"] = code
    move(call, CallStatus.FAILED, fields, store=db)
    count("CallsFailed")
    with contextlib.suppress(DomainError):  # else the room empties and closes by itself
        client.delete_room(call.room_name)


# ---------------------------------------------------------------- read


def owned(call_id: str, principal: Principal, db: Store, *, direction: Direction | None = None) -> CallRecord:
    """The caller's call (of `direction` only, when given: the seed's paths serve outbound calls alone)."""
    call = db.calls.get(call_id)
    if call is None or call.owner_id != principal.user_id or (direction and call.direction is not direction):
        raise NotFound("no such call")
    return call


def _details(call: CallRecord) -> CallDetails:
    return CallDetails.model_validate({**call.model_dump(), "phone_number_id": call.number_id})


def details(
    call_id: str,
    *,
    principal: Principal,
    include_transcript: bool,
    include_summary: bool,
    direction: Direction | None = None,
    store: Store | None = None,
) -> CallDetails:
    db = store or default_store()
    call = owned(call_id, principal, db, direction=direction)
    view = _details(call)
    if include_transcript:
        view.transcript = [{"role": s.role, "text": s.text, "at": s.at} for s in db.calls.segments(call_id)]
    view.summary = call.summary if include_summary else None
    return view


def list_calls(
    *, principal: Principal, status: CallStatus | None, limit: int, next_token: str | None, store: Store | None = None
) -> Page[CallDetails]:
    items, token = (store or default_store()).calls.list_by_owner(
        principal.user_id, status=status, limit=limit, token=next_token
    )
    return Page[CallDetails](items=[_details(i) for i in items], next_token=token)


def list_all(*, principal: Principal, query: AllCallsQuery, store: Store | None = None) -> Page[CallDetails]:
    """The caller's calls of either direction (or the one asked for), newest first, with the query's filters."""
    directions = [query.direction] if query.direction else list(Direction)
    items, token = (store or default_store()).calls.list_filtered(
        principal.user_id,
        directions=directions,
        status=query.status,
        after=iso(query.created_after) if query.created_after else None,
        before=iso(query.created_before) if query.created_before else None,
        number_id=query.phone_number_id,
        limit=query.limit,
        token=query.next_token,
    )
    return Page[CallDetails](items=[_details(i) for i in items], next_token=token)


# What `move` and the repository's `create` count, and all `_summary` reads (each direction's under its prefix)
STAT_COUNTERS = (
    "total_calls",
    "answered_calls",
    "total_duration_seconds",
    "timed_calls",
    "transfer_legs",
    *(f"status_{s.value}" for s in CallStatus),
)


def stats(
    *, principal: Principal, direction: Direction | None = Direction.OUTBOUND, store: Store | None = None
) -> CallStats:
    """The caller's statistics for one direction, or both summed (None): one Query of the stats partition either
    way, asking for the counters of the directions wanted."""
    directions = [direction] if direction else list(Direction)
    prefixes = [counter_prefix(d) for d in directions]
    since = hour_of(epoch()) - 23 * HOUR
    total, window = (store or default_store()).calls.stats(
        principal.user_id, since_hour=since, counters=[p + name for p in prefixes for name in STAT_COUNTERS]
    )
    return CallStats(**_summary(_summed(total, prefixes)), last_24h=_summary(_summed(window, prefixes)))


def _summed(counters: StatCounters, prefixes: list[str]) -> StatCounters:
    return {name: sum(counters.get(p + name, 0) for p in prefixes) for name in STAT_COUNTERS}


def _summary(counters: StatCounters) -> dict[str, Any]:
    total_calls = counters.get("total_calls", 0)
    answered = counters.get("answered_calls", 0)
    duration = counters.get("total_duration_seconds", 0)
    timed = counters.get("timed_calls", 0)
    return {
        "total_calls": total_calls,
        "by_status": {s.value: max(counters.get(f"status_{s.value}", 0), 0) for s in CallStatus},
        "answered_calls": answered,
        "answer_rate": round(answered / total_calls, 4) if total_calls else 0.0,
        "total_duration_seconds": duration,
        "average_duration_seconds": round(duration / timed, 2) if timed else 0.0,
        "transfer_legs": counters.get("transfer_legs", 0),
    }


# ---------------------------------------------------------------- control


def hangup(
    call_id: str,
    *,
    principal: Principal,
    direction: Direction | None = None,
    livekit: LiveKit | None = None,
    store: Store | None = None,
) -> CallDetails:
    db = store or default_store()
    call = owned(call_id, principal, db, direction=direction)
    if call.ended:
        raise Conflict(f"the call already ended ({call.status.value})")
    client = _livekit(livekit)
    recordings.stop(call, livekit=client)  # its file is written and uploaded as the egress ends
    client.delete_room(call.room_name)
    moved = move(call, ending(now(), "hangup"), store=db)
    # what was written is known; only a webhook that ended it first needs the call read back
    return _details(moved or db.calls.get(call_id) or call)


def _allowed_destinations(number: NumberRecord | None) -> set[str]:
    config = number.settings.transfer_config if number else None
    allowed = set()
    for destination in config.allowed_destinations if config else []:
        try:
            allowed.add(sip.transfer_target(destination))
        except InvalidInput:
            continue
    return allowed


def transfer(
    call_id: str,
    body: Transfer,
    *,
    principal: Principal,
    direction: Direction | None = None,
    livekit: LiveKit | None = None,
    store: Store | None = None,
) -> CallDetails:

    db = store or default_store()
    call = owned(call_id, principal, db, direction=direction)
    if call.status is not CallStatus.IN_PROGRESS:
        raise Conflict(f"only a call in progress can be transferred; this one is {call.status.value}")
    target = sip.transfer_target(body.transfer_to)
    number = db.numbers.get(call.number_id) if call.number_id else None
    if target not in _allowed_destinations(number):
        raise Forbidden("this destination is not in the number's transfer_config.allowed_destinations")
    if target.startswith("tel:") and is_premium_rate(target[4:]):  # a transfer dials out like a call does
        raise Forbidden("premium-rate numbers cannot be dialled, even when allowed")
    config = number.settings.transfer_config if number else None
    if len(call.transfers) >= MAX_TRANSFERS:
        raise TooManyTransfers(f"a call may be transferred {MAX_TRANSFERS} times at most")
    client = _livekit(livekit)
    if body.mode == "warm":
        if number is None or config is None or not config.warm_transfer_enabled:
            raise Forbidden("warm transfers are disabled for this number")
        return _details(_warm_transfer(call, number, target, body, client, db))
    if config is not None and not config.cold_transfer_enabled:
        raise Forbidden("cold transfers are disabled for this number")
    client.transfer(call.room_name, call.participant_identity, target, play_dialtone=body.play_dialtone)
    entry = TransferRecord(transfer_to=target, mode=body.mode, at=now_iso(), status="completed")
    return _details(_record_cold_transfer(call, entry, db))


def _record_cold_transfer(call: CallRecord, entry: TransferRecord, db: Store) -> CallRecord:
    """Record a cold transfer LiveKit made, with its event. LiveKit answers once the far end took the call, and
    the callee's side may have left (its webhook handled) before that answer reaches us: the call is then
    completed, and it ended by this transfer."""
    current = call
    for _ in range(_MOVE_ATTEMPTS):
        after = current.model_copy(update={"transfers": [*current.transfers, entry]})
        told = events.call_events(current, after, [EventType.CALL_TRANSFERRED])
        if current.status is CallStatus.IN_PROGRESS:
            status, end_reason = CallStatus.IN_PROGRESS, None
        elif current.status is CallStatus.COMPLETED:
            status, end_reason = CallStatus.COMPLETED, "transferred"
        else:
            return current
        try:
            return db.calls.append_transfer(current, entry, status=status, end_reason=end_reason, events=told)
        except StatusChanged:
            fresh = db.calls.get(current.call_id)
            if fresh is None:
                return current
            current = fresh
    raise Conflict("the call changed too often at once; retry")


def _warm_transfer(
    call: CallRecord, number: NumberRecord, target: str, body: Transfer, client: LiveKit, db: Store
) -> CallRecord:
    """A warm transfer dials a new leg from the number's outbound trunk into the call's room: recorded, and the
    calls budget spent, before it is dialled, with the number's own ringing and duration settings."""
    from telephony.integrations import livekit as lk

    if not target.startswith("tel:"):
        raise InvalidInput(
            "a warm transfer dials a phone number: give an E.164 number or tel: URI",
            details=[{"field": "transfer_to"}],
        )
    trunk_id = number.livekit.outbound
    if not trunk_id:
        raise Conflict("the number has no outbound trunk any more: a warm transfer dials out through it")
    leg = leg_identity(call.call_id, new_id("leg")[-8:])  # unique even for concurrent ones
    entry = TransferRecord(transfer_to=target, mode=body.mode, at=now_iso(), status="dialing", leg_identity=leg)
    current = call
    for _ in range(_MOVE_ATTEMPTS):
        after = current.model_copy(update={"transfers": [*current.transfers, entry]})
        try:
            db.calls.add_leg(
                current,
                entry,
                max_transfers=MAX_TRANSFERS,
                charge=rate_limits.charge(rate_limits.CALLS, call.owner_id, store=db),
                max_live=limits.of(call.owner_id, store=db).max_concurrent_calls,
                events=events.call_events(current, after, [EventType.CALL_TRANSFERRED]),
            )
            break
        except StatusChanged as changed:
            fresh = db.calls.get(call.call_id)
            if fresh is None or fresh.status is not CallStatus.IN_PROGRESS:
                raise Conflict("only a call in progress can be transferred; this one ended meanwhile") from changed
            current = fresh
    else:
        raise Conflict("the call changed too often at once; retry")
    settings = number.settings
    try:
        client.dial(
            lk.Dial(
                trunk_id=trunk_id,
                to=target[4:],
                room=call.room_name,
                identity=leg,
                from_number=number.phone_number,  # the caller's own number, whichever the call's direction
                name=target[4:],
                attributes={"call_id": call.call_id, "transfer": "warm"},
                headers=settings.custom_headers,
                ringing_timeout_seconds=settings.ringing_timeout_seconds,
                max_call_duration_seconds=settings.max_call_duration_seconds,
                krisp_enabled=settings.krisp_enabled,
                play_dialtone=body.play_dialtone,
            )
        )
    except (DomainError, lk.DialFailed) as failure:
        with contextlib.suppress(DomainError):  # else it stays recorded as dialling until the sweep or the call's end
            db.calls.set_leg_status(call.call_id, leg, "failed", live=False)
        if isinstance(failure, lk.DialFailed | InvalidInput | Conflict | NotFound):
            raise UpstreamError(
                f"LiveKit could not dial the transfer: {failure}", details=_details_of(failure)
            ) from failure
        raise
    return db.calls.get(call.call_id) or call


def _note_summary(call: CallRecord, summary: str, chars: int, db: Store) -> None:
    """The agent's summary, with its event, on the call as read (read again when its events moved on)."""
    current = call
    for _ in range(_MOVE_ATTEMPTS):
        told = events.call_events(
            current, current.model_copy(update={"summary": summary}), [EventType.CALL_SUMMARY_READY]
        )
        try:
            db.calls.note_summary(current, summary=summary, chars=chars, max_chars=MAX_TRANSCRIPT_CHARS, events=told)
            return
        except StatusChanged:
            fresh = db.calls.get(current.call_id)
            if fresh is None:
                raise NotFound("no such call") from None
            current = fresh
    raise Conflict("the call changed too often at once; retry")


MAX_TRANSFERS = 5  # per call: each warm one dials a new leg
POST_MARKER_SECONDS = 15 * 60  # how long a post without times is recognised when it comes again
MAX_TRANSCRIPT_CHARS = 500_000  # ~9 hours of speech; the details' JSON stays far below Lambda's 6 MB


def _segment_index(position: int, segment: TranscriptSegment) -> str:
    digest = hashlib.sha256(f"{segment.role}\n{segment.text}".encode()).hexdigest()[:12]
    return f"{position:04d}-{digest}"


def post_events(
    call_id: str,
    body: CallEvents,
    *,
    principal: Principal,
    direction: Direction | None = None,
    store: Store | None = None,
) -> EventsAccepted:
    """One write on the call first: the summary if given, and the transcript's size, on the condition that the
    call is the caller's (the ownership check) and that its transcript stays within MAX_TRANSCRIPT_CHARS (a
    call's details return it whole, and a Lambda answer is at most 6 MB). Then the segments, each keyed by its
    time, its place in the post and its content: a retry of a post whose segments have their `at` rewrites the
    same items instead of adding them again (it counts their size again: the limit errs on the safe side)."""
    db = store or default_store()
    transcript = body.transcript or []
    chars = sum(len(s.text) for s in transcript)
    if body.summary is None:
        db.calls.note_events(
            call_id, principal.user_id, summary=None, chars=chars, max_chars=MAX_TRANSCRIPT_CHARS, direction=direction
        )
    else:
        _note_summary(owned(call_id, principal, db, direction=direction), body.summary, chars, db)
    if transcript:
        base = now_iso()
        if any(s.at is None for s in transcript):  # a retry of this post must reuse the time of the first
            digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()[:32]
            base = db.calls.post_time(call_id, digest, now=base, expires_at=epoch() + POST_MARKER_SECONDS)
        db.calls.add_segments(
            [
                SegmentRecord(call_id=call_id, role=s.role, text=s.text, at=s.at or base, index=_segment_index(i, s))
                for i, s in enumerate(transcript)
            ]
        )
    return EventsAccepted(
        call_id=call_id, transcript_segments_added=len(transcript), summary_set=body.summary is not None
    )
