"""Phone numbers owned by users, and the E.164 claims that keep each number unique."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.models.numbers import PhoneNumber
from telephony.repositories import dynamo, keys

_RECORD_FIELDS = set(PhoneNumber.model_fields) | {"owner_id"}


def _table() -> str:
    return settings().require("numbers_table")


def _record(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in _RECORD_FIELDS}


def put_new(record: dict[str, Any]) -> dict[str, Any]:
    """A new number item, as a transaction element."""
    pid = record["phone_number_id"]
    item = {**keys.number(pid), **keys.number_owner(record["owner_id"], record["created_at"], pid), **record}
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.marshal(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def claim_for_number(e164: str, *, request_id: str, phone_number_id: str, owner_id: str) -> dict[str, Any]:
    """Hand a request's claim on a number over to the number itself, as a transaction element."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.number_claim(e164)),
            "UpdateExpression": "SET holder = :number, phone_number_id = :pid, owner_id = :owner",
            "ConditionExpression": "request_id = :rid",
            "ExpressionAttributeValues": dynamo.values(
                number="number", pid=phone_number_id, owner=owner_id, rid=request_id
            ),
        }
    }


def get(phone_number_id: str) -> dict[str, Any] | None:
    result = dynamo.call(
        aws.dynamodb().get_item, TableName=_table(), Key=dynamo.marshal(keys.number(phone_number_id))
    )
    item = result.get("Item")
    return _record(dynamo.unmarshal(item)) if item else None


def list_by_owner(owner_id: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    items, next_token = dynamo.query_page(
        _table(), "by_owner", "gsi1pk", f"OWNER#{owner_id}", limit=limit, token=token
    )
    return [_record(i) for i in items], next_token
