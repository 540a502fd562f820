"""A call's recording (an attribute of the call's item in CallsTable) and the marks of the recordings being made.

A recording only moves forward (models/calls.py RECORDING_RANK): each change is conditional on the recording's
status as read, and on the call's event sequence when it tells events, so a webhook, the answer that starts the
egress, the reconcile and a delete never undo each other. When a call to be recorded is answered, and again when its
recording starts being made, a mark item says so (keys.recording_pending, repositories/calls.py `recording_mark`),
written in the same transaction: the reconcile reads those marks rather than the calls, starts the egress of an
answered call whose start was lost, and removes each mark once its recording is settled. The webhook function,
public, may not delete items of the calls table, so a recording settled by its webhook leaves its mark to the
reconcile's next run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from telephony import aws
from telephony.errors import DomainError, NotFound, StatusChanged
from telephony.models.calls import CallRecord, RecordingRecord, RecordingStatus
from telephony.models.webhooks import EventRecord
from telephony.repositories import dynamo, keys
from telephony.repositories.calls import _TABLE, _changed, recording_mark
from telephony.repositories.events import outbox


class Mark(NamedTuple):
    call_id: str
    answered: int | None  # when the call's answer was written (epoch seconds), on a mark put with the answer


class RecordingsRepository:
    def set(self, call: CallRecord, recording: RecordingRecord, *, events: Sequence[EventRecord] = ()) -> CallRecord:
        """Write the call's recording, if it is still as `call` holds it (none, or the same status); with its events,
        and the mark of a recording being made put when it starts being made. StatusChanged when it changed since it
        was read (NotFound when the call is gone). Returns the call as written."""
        before = call.recording.status if call.recording else None
        if before is None:
            condition, values = "attribute_exists(pk) AND attribute_not_exists(#rec)", {}
        else:
            condition, values = "#rec.#rs = :rfrom", {"rfrom": before.value}
        write = _changed(
            call,
            {"recording": recording.model_dump(mode="json", exclude_none=True)},
            condition,
            values,
            events,
            names={"#rec": "recording", "#rs": "status"} if before is not None else {"#rec": "recording"},
        )

        def refused(old: dict[str, Any] | None) -> DomainError:
            if old is None:
                return NotFound("no such call")
            return StatusChanged(f"the recording of call {call.call_id} changed since it was read")

        writes = [write._replace(refused=refused), *[outbox(e) for e in events]]
        if recording.status is RecordingStatus.RECORDING and before is not RecordingStatus.RECORDING:
            writes.append(recording_mark(call.call_id))
        dynamo.transact(writes)
        return call.model_copy(update={"recording": recording, "event_sequence": call.event_sequence + len(events)})

    def being_made(self) -> Iterator[Mark]:
        """The marks of the calls whose recording is to be made or being made (the reconcile reads each call
        again)."""
        for shard in range(keys.RECORDING_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": _TABLE.name,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": dynamo.values(pk=keys.recording_partition(shard)),
                "ProjectionExpression": "call_id, answered",
            }
            while True:
                page = dynamo.call(aws.dynamodb().query, **kwargs)
                for raw in page.get("Items", []):
                    item = dynamo.unmarshal(raw)
                    answered = item.get("answered")
                    yield Mark(str(item["call_id"]), int(answered) if answered is not None else None)
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def unmark(self, call_id: str) -> None:
        """Remove a stale mark (its call gone, or its recording no longer being made)."""
        dynamo.call(
            aws.dynamodb().delete_item, TableName=_TABLE.name, Key=dynamo.marshal(keys.recording_pending(call_id))
        )
