"""Call recordings: LiveKit's egress of an answered call's room, to an OGG file in the recordings bucket.

A call is recorded when its creation said `record` (or, saying nothing, its number's
`agent_features.recording_enabled`). When the callee answers, an audio-only room-composite egress starts; its
webhooks (`egress_started|updated|ended`) then say how the recording goes. A recording failing never fails its
call: a refused start leaves the call going and the recording `failed` with its reason. The end of a call stops its
egress (LiveKit also ends a room-composite egress when the room closes). A recording whose end LiveKit never
reported is settled from `ListEgress` by `reconcile`, on a schedule, 10 minutes after its call ended.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from telephony.errors import Conflict, DomainError, NotFound, StatusChanged
from telephony.models.calls import RECORDING_RANK, CallRecord, Direction, RecordingRecord, RecordingStatus
from telephony.models.numbers import NumberRecord
from telephony.models.principal import Principal
from telephony.models.recordings import RecordingLink
from telephony.models.webhooks import EventType
from telephony.observability import count, logger
from telephony.repositories.store import Store, default_store
from telephony.services import events
from telephony.util import iso, now, now_iso

if TYPE_CHECKING:
    from telephony.integrations.livekit import Egress, LiveKit

URL_SECONDS = 300  # a recording's link works for 5 minutes
RECONCILE_AFTER = timedelta(minutes=10)  # after its call ended, a recording still `recording` is asked about
# after the answer was written, a call to be recorded still without a recording had its start lost: the webhook
# function that was to start it runs 29 seconds at most, so it is dead by then, and LiveKit's redelivery of the answer
# finds the answer applied and starts nothing
START_AFTER = timedelta(minutes=2)
_ATTEMPTS = 10

# what each status of an egress means for its recording (LIMIT_REACHED: LiveKit stopped it at its limit, and wrote
# the file it had)
_READY = {"EGRESS_COMPLETE", "EGRESS_LIMIT_REACHED"}
_FAILED = {"EGRESS_FAILED": "egress_failed", "EGRESS_ABORTED": "egress_aborted"}
_TOLD = {RecordingStatus.READY: EventType.CALL_RECORDING_READY, RecordingStatus.FAILED: EventType.CALL_RECORDING_FAILED}


def wanted(record: bool | None, number: NumberRecord) -> bool:
    """Whether a call from `number` is recorded: as its creation says, else as the number's registration's
    `agent_features.recording_enabled` says (true unless it says otherwise, seed 000's default, once agent_features
    were given). A number registered without agent_features, or configured without a registration, does not record
    unless asked: recording a call has consequences (consent) nobody chose."""
    if record is not None:
        return record
    features = number.settings.agent_features
    return bool(features and features.recording_enabled)


def _livekit(given: LiveKit | None) -> LiveKit:
    from telephony.integrations import livekit as lk

    return given or lk.default()


# ---------------------------------------------------------------- changes

Decide = Callable[[CallRecord], RecordingRecord | None]


def advance(call: CallRecord, decide: Decide, db: Store) -> CallRecord | None:
    """Write the recording `decide` makes of the call as read, if it moves the recording forward; read again and
    decided anew when another change came first. None when there was nothing to write."""
    current = call
    for _ in range(_ATTEMPTS):
        target = decide(current)
        before = current.recording
        if target is None or (before is not None and RECORDING_RANK[target.status] <= RECORDING_RANK[before.status]):
            return None
        told = [_TOLD[target.status]] if target.status in _TOLD else []
        after = current.model_copy(update={"recording": target})
        try:
            return db.recordings.set(current, target, events=events.call_events(current, after, told))
        except StatusChanged:
            fresh = db.calls.get(current.call_id)
            if fresh is None:
                return None
            current = fresh
    raise Conflict("the recording changed too often at once; retry")


def _failed(reason: str) -> Decide:
    def decide(current: CallRecord) -> RecordingRecord:
        base = current.recording.model_dump() if current.recording else {}
        return RecordingRecord.model_validate({**base, "status": RecordingStatus.FAILED, "error": reason})

    return decide


def _counted(call: CallRecord | None) -> None:
    if call is None or call.recording is None:
        return
    if call.recording.status is RecordingStatus.READY:
        count("RecordingsReady")
    elif call.recording.status is RecordingStatus.FAILED:
        count("RecordingsFailed")
        logger().warning("recording failed", extra={"call_id": call.call_id, "reason": call.recording.error})


# ---------------------------------------------------------------- the call's life


def start(call: CallRecord, *, livekit: LiveKit | None = None, store: Store | None = None) -> CallRecord | None:
    """The callee answered: start recording the call's room, if the call is to be recorded and is not yet."""
    if not call.record or call.recording is not None or call.ended:
        return None
    from telephony.integrations import recording_storage

    db = store or default_store()
    key = recording_storage.object_key(call.owner_id, call.call_id)
    try:
        egress = _livekit(livekit).start_recording(call.room_name, key, recording_storage.upload_target())
    except DomainError as failure:
        code = next((str(d["livekit_code"]) for d in failure.details if "livekit_code" in d), failure.code)
        moved = advance(call, _failed(f"start_failed: {code}"), db)
        _counted(moved)
        return moved

    taken_by: list[str] = []

    def decide(current: CallRecord) -> RecordingRecord | None:
        if current.recording is not None:  # its egress's webhook came first, or another start did
            taken_by.append(current.recording.egress_id or "")
            return None
        return RecordingRecord(
            status=RecordingStatus.RECORDING, egress_id=egress.egress_id, started_at=now_iso(), object_key=key
        )

    count("RecordingsStarted")
    moved = advance(call, decide, db)
    if taken_by and taken_by[-1] != egress.egress_id:  # the call is recorded by another egress: not twice
        with contextlib.suppress(DomainError):
            _livekit(livekit).stop_egress(egress.egress_id)
    return moved


def stop(call: CallRecord, *, livekit: LiveKit | None = None) -> None:
    """The call ended: its egress stops (one that already ended, or that LiveKit no longer knows, is no matter)."""
    recording = call.recording
    if recording is None or recording.status is not RecordingStatus.RECORDING or not recording.egress_id:
        return
    with contextlib.suppress(DomainError):  # else it ends with the room, or the reconcile asks about it
        _livekit(livekit).stop_egress(recording.egress_id)


def _moment(unix_ns: int) -> str:
    return iso(datetime.fromtimestamp(unix_ns / 1e9, UTC))


def _of_egress(egress: Egress, key: str) -> Decide:
    """The recording as this report of its egress says it is."""

    def decide(current: CallRecord) -> RecordingRecord | None:
        known = current.recording
        if known is not None and known.egress_id and known.egress_id != egress.egress_id:
            return None  # another egress of the room: not the call's recording
        base = known.model_dump() if known else {"object_key": key}
        base.update(egress_id=egress.egress_id)
        if egress.started_at:
            base["started_at"] = _moment(egress.started_at)
        if egress.live:
            return RecordingRecord.model_validate({**base, "status": RecordingStatus.RECORDING})
        if egress.ended_at:
            base["ended_at"] = _moment(egress.ended_at)
        if egress.status in _READY and egress.file is not None:
            return RecordingRecord.model_validate(
                {
                    **base,
                    "status": RecordingStatus.READY,
                    "duration_seconds": round(egress.file.duration_ns / 1e9, 3),
                    "size_bytes": egress.file.size,
                    "object_key": egress.file.filename or base.get("object_key"),
                }
            )
        reason = _FAILED.get(egress.status, "no_file" if egress.status in _READY else egress.status.lower())
        return RecordingRecord.model_validate({**base, "status": RecordingStatus.FAILED, "error": reason})

    return decide


def apply(egress: Egress, *, store: Store | None = None) -> str:
    """An egress webhook: the recording of the call whose room it records, as it says."""
    from telephony.integrations import recording_storage

    db = store or default_store()
    call = _recorded_call(egress, db)
    if call is None:
        return "ignored: not a recorded call"
    moved = advance(call, _of_egress(egress, recording_storage.object_key(call.owner_id, call.call_id)), db)
    _counted(moved)
    return f"recording {moved.recording.status.value}" if moved and moved.recording else "no change"


def _recorded_call(egress: Egress, db: Store) -> CallRecord | None:
    """The recorded call whose room the egress records: an outbound call's room is named after it; a room one of
    our dispatch rules made holds an inbound call, found by the room (its egress, if it has one, must be this)."""
    call = None
    if egress.room_name.startswith("call_"):
        with contextlib.suppress(NotFound):  # a rule's room may be named so too
            call = db.calls.get(egress.room_name)
    if call is None:
        for candidate in db.calls.in_room(egress.room_name):
            if candidate.record and (candidate.recording is None or candidate.recording.egress_id == egress.egress_id):
                return candidate
        return None
    return call if call.record else None


class Reconciled(NamedTuple):
    settled: int
    still_going: int
    unmarked: int
    started: int = 0


def reconcile(*, livekit: LiveKit | None = None, store: Store | None = None, at: datetime | None = None) -> Reconciled:
    """The recordings still `recording` RECONCILE_AFTER after their call ended (their `egress_ended` lost): settled
    as LiveKit lists their egress; one LiveKit no longer knows failed; one still going stopped. And the answered
    calls to be recorded whose egress never started START_AFTER after their answer (the function that was to start
    it died): started while the call goes on, failed (`not_started`) once it ended."""
    from telephony.integrations import recording_storage

    db = store or default_store()
    moment = at or now()
    settled = going = unmarked = started = 0
    for call_id, answered in list(db.recordings.being_made()):
        call = db.calls.get(call_id)
        recording = call.recording if call else None
        if call is not None and recording is None and call.record and answered is not None:
            if moment.timestamp() - answered < START_AFTER.total_seconds():
                continue
            if call.ended:
                _counted(advance(call, _failed("not_started"), db))
            else:
                start(call, livekit=_livekit(livekit), store=db)
                started += 1
            continue
        if call is None or recording is None or recording.status is not RecordingStatus.RECORDING:
            db.recordings.unmark(call_id)
            unmarked += 1
            continue
        if not call.ended or not call.ended_at or moment - datetime.fromisoformat(call.ended_at) < RECONCILE_AFTER:
            continue
        client = _livekit(livekit)
        egress = client.find_egress(recording.egress_id) if recording.egress_id else None
        if egress is not None and egress.live:
            stop(call, livekit=client)
            going += 1
            continue
        key = recording_storage.object_key(call.owner_id, call.call_id)
        moved = advance(call, _of_egress(egress, key) if egress else _failed("egress_lost"), db)
        _counted(moved)
        if (
            moved is not None
            and moved.recording is not None
            and moved.recording.status is not RecordingStatus.RECORDING
        ):
            db.recordings.unmark(call_id)
            settled += 1
    if settled or going or started:
        logger().info("recordings reconciled", extra={"settled": settled, "still_going": going, "started": started})
        count("RecordingsReconciled", settled)
    return Reconciled(settled, going, unmarked, started)


# ---------------------------------------------------------------- the owner's reads


def _owned(
    call_id: str, principal: Principal, db: Store, direction: Direction | None
) -> tuple[CallRecord, RecordingRecord]:
    from telephony.services import calls

    call = calls.owned(call_id, principal, db, direction=direction)
    recording = call.recording
    if recording is None or recording.status is RecordingStatus.DELETED:
        raise NotFound("the call has no recording")
    return call, recording


def get(
    call_id: str, *, principal: Principal, direction: Direction | None = None, store: Store | None = None
) -> RecordingLink:
    """The recording, with a link to its file for URL_SECONDS when it is ready; 409 while it is being made. Of a
    call of `direction` only, when given (the seed's paths serve outbound calls alone)."""
    from telephony.integrations import recording_storage

    call, recording = _owned(call_id, principal, store or default_store(), direction)
    if recording.status is RecordingStatus.RECORDING:
        raise Conflict("the call is being recorded: its recording is ready once the call ends")
    link = RecordingLink.model_validate({**recording.model_dump(), "call_id": call.call_id})
    if recording.status is RecordingStatus.READY and recording.object_key:
        link.url = recording_storage.presigned_url(recording.object_key, URL_SECONDS)
        link.url_expires_at = iso(now() + timedelta(seconds=URL_SECONDS))
    return link


def delete(
    call_id: str, *, principal: Principal, direction: Direction | None = None, store: Store | None = None
) -> None:
    """Remove the recording's file, then mark it deleted; 404 once it is."""
    from telephony.integrations import recording_storage

    db = store or default_store()
    call, recording = _owned(call_id, principal, db, direction)
    if recording.status is RecordingStatus.RECORDING:
        raise Conflict("the call is being recorded: delete its recording once the call ends")
    if recording.object_key:
        recording_storage.delete(recording.object_key)

    def decide(current: CallRecord) -> RecordingRecord | None:
        if current.recording is None or current.recording.status is RecordingStatus.DELETED:
            return None
        return current.recording.model_copy(update={"status": RecordingStatus.DELETED})

    if advance(call, decide, db) is None:
        raise NotFound("the call has no recording")
