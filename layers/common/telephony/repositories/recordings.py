"""A call's recording (an attribute of the call's item in CallsTable) and the marks of the recordings being made.

A recording only moves forward (models/calls.py RECORDING_RANK): each change is conditional on the recording's
status as read, and on the call's event sequence when it tells events, so a webhook, the answer that starts the
egress, the reconcile and a delete never undo each other. When a recording starts being made, a mark item says so
(keys.recording_pending), written in the same transaction: the reconcile reads those marks rather than the calls,
and removes each once its recording is settled. The webhook function, public, may not delete items of the calls
table, so a recording settled by its webhook leaves its mark to the reconcile's next run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from telephony import aws
from telephony.errors import DomainError, NotFound, StatusChanged
from telephony.models.calls import CallRecord, RecordingRecord, RecordingStatus
from telephony.models.webhooks import EventRecord
from telephony.repositories import dynamo, keys
from telephony.repositories.calls import _TABLE, _changed
from telephony.repositories.events import outbox


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
            item = {**keys.recording_pending(call.call_id), "call_id": call.call_id}
            writes.append(dynamo.Write({"Put": {"TableName": _TABLE.name, "Item": dynamo.marshal(item)}}))
        dynamo.transact(writes)
        return call.model_copy(update={"recording": recording, "event_sequence": call.event_sequence + len(events)})

    def being_made(self) -> Iterator[str]:
        """The ids of the calls whose recording is marked as being made (the reconcile reads each call again)."""
        for shard in range(keys.RECORDING_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": _TABLE.name,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": dynamo.values(pk=keys.recording_partition(shard)),
                "ProjectionExpression": "call_id",
            }
            while True:
                page = dynamo.call(aws.dynamodb().query, **kwargs)
                for raw in page.get("Items", []):
                    yield str(dynamo.unmarshal(raw)["call_id"])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def unmark(self, call_id: str) -> None:
        """Remove a stale mark (its call gone, or its recording no longer being made)."""
        dynamo.call(
            aws.dynamodb().delete_item, TableName=_TABLE.name, Key=dynamo.marshal(keys.recording_pending(call_id))
        )
