"""The events outbox: each event written in the transaction of the change it tells of; its stream feeds delivery."""

from __future__ import annotations

from typing import Any

from telephony.errors import Conflict
from telephony.models.webhooks import EventRecord
from telephony.repositories import dynamo, keys

_TABLE = dynamo.Table("events_table")


def outbox(event: EventRecord) -> dynamo.Write:
    """The event, as one write of the transaction that makes its change."""
    return dynamo.Write(
        {
            "Put": {
                "TableName": _TABLE.name,
                "Item": dynamo.marshal({**keys.event(event.event_id), **event.model_dump(mode="json")}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        lambda _old: Conflict(f"event {event.event_id} exists already"),
    )


def from_image(image: dict[str, Any]) -> EventRecord:
    """An event from its item as the outbox's stream carries it (DynamoDB JSON)."""
    return EventRecord.model_validate(dynamo.unmarshal(image))


class EventsRepository:
    def add(self, event: EventRecord) -> None:
        """An event that is its own change (a test event)."""
        dynamo.transact([outbox(event)])

    def get(self, event_id: str) -> EventRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.event(event_id))
        return EventRecord.model_validate(item) if item else None
