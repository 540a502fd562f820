"""The events customers are told of: built by the services from the change they make, written with it (the outbox,
docs/adr/0020-account-webhooks.md). A new kind of event is a type in models/webhooks.py and a builder here."""

from __future__ import annotations

from typing import Any

from telephony.models.calls import ENDED, CallRecord, CallStatus
from telephony.models.requests import RequestRecord, RequestStatus
from telephony.models.webhooks import CallEventData, EventRecord, EventType
from telephony.util import epoch, new_id, now_iso

RETENTION_SECONDS = 7 * 86400  # longer than the retry schedule's last attempt


def event(owner_id: str, type: EventType, data: dict[str, Any], *, webhook_id: str | None = None) -> EventRecord:
    return EventRecord(
        event_id=new_id("ev"),
        type=type,
        owner_id=owner_id,
        timestamp=now_iso(),
        data=data,
        webhook_id=webhook_id,
        expires_at=epoch() + RETENTION_SECONDS,
    )


def call_data(call: CallRecord, sequence: int) -> dict[str, Any]:
    """A call's data in an event: its details without the transcript, with its direction and the event's place
    among the call's events."""
    return CallEventData.model_validate(
        {**call.model_dump(), "phone_number_id": call.number_id, "sequence": sequence}
    ).model_dump(mode="json")


def call_events(before: CallRecord, after: CallRecord, types: list[EventType]) -> list[EventRecord]:
    """The events of one change of a call, numbered after the call's last one."""
    return [event(after.owner_id, t, call_data(after, before.event_sequence + i)) for i, t in enumerate(types, start=1)]


def status_events(before: CallRecord, to: CallStatus) -> list[EventType]:
    """What a status change tells: an answer, an end (an answered call ending without its answer reported tells
    both, in that order), or the ringing."""
    if to is CallStatus.RINGING:
        return [EventType.CALL_RINGING]
    if to is CallStatus.IN_PROGRESS:
        return [EventType.CALL_ANSWERED]
    if to in ENDED:
        answered_unreported = to is CallStatus.COMPLETED and before.status is not CallStatus.IN_PROGRESS
        return [EventType.CALL_ANSWERED, EventType.CALL_ENDED] if answered_unreported else [EventType.CALL_ENDED]
    return []


_REQUEST_EVENTS = {
    RequestStatus.REJECTED: EventType.REQUEST_REJECTED,
    RequestStatus.ASSIGNED: EventType.REQUEST_ASSIGNED,
    RequestStatus.EXPIRED: EventType.REQUEST_EXPIRED,
    RequestStatus.FAILED: EventType.REQUEST_FAILED,
}


def request_events(before: RequestRecord, after: RequestRecord) -> list[EventRecord]:
    """A request's change as its owner hears of it. An approval is told when it takes effect (the number assigned,
    or the assignment failed): until the workflow has it, a decision can still be put back."""
    types = []
    if after.status in (RequestStatus.ASSIGNED, RequestStatus.FAILED) and before.status is RequestStatus.APPROVED:
        types.append(EventType.REQUEST_APPROVED)
    if after.status in _REQUEST_EVENTS:
        types.append(_REQUEST_EVENTS[after.status])
    data = after.view().model_dump(mode="json")
    return [event(after.user_id, t, data) for t in types]
