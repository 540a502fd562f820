"""Phone-number requests and the per-number claims that keep one open request or owner per number."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.models.requests import PhoneNumberRequest, RequestStatus
from telephony.repositories import dynamo, keys

_RECORD_FIELDS = set(PhoneNumberRequest.model_fields) | {"task_token"}


def _table() -> str:
    return settings().require("requests_table")


def _numbers_table() -> str:
    return settings().require("numbers_table")


def _item(record: dict[str, Any]) -> dict[str, Any]:
    rid, created = record["request_id"], record["created_at"]
    return {
        **keys.request(rid),
        **keys.request_owner(record["user_id"], created, rid),
        **keys.request_status(record["status"], created, rid),
        **record,
    }


def _record(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in _RECORD_FIELDS}


def claim_put(e164: str, *, request_id: str, owner_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _numbers_table(),
            "Item": dynamo.marshal(
                {
                    **keys.number_claim(e164),
                    "e164": e164,
                    "holder": "request",
                    "request_id": request_id,
                    "owner_id": owner_id,
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def claim_release(e164: str, *, request_id: str) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": _numbers_table(),
            "Key": dynamo.marshal(keys.number_claim(e164)),
            "ConditionExpression": "attribute_not_exists(pk) OR (request_id = :rid AND holder = :request)",
            "ExpressionAttributeValues": dynamo.values(rid=request_id, request="request"),
        }
    }


def create(record: dict[str, Any], *, extra: list[dict[str, Any]]) -> None:
    """Write a new request together with `extra` transaction items (its claim, the rate-limit hit)."""
    put = {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.marshal(_item(record)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }
    dynamo.transact([put, *extra])


def delete(request_id: str, *, extra: list[dict[str, Any]]) -> None:
    """Undo a create whose workflow could not start."""
    dynamo.transact([{"Delete": {"TableName": _table(), "Key": dynamo.marshal(keys.request(request_id))}}, *extra])


def get(request_id: str) -> dict[str, Any] | None:
    item = dynamo.get_item(_table(), keys.request(request_id))
    return _record(item) if item else None


def _query(
    index: str, key_name: str, key_value: str, *, limit: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    items, next_token = dynamo.query_page(_table(), index, key_name, key_value, limit=limit, token=token)
    return [_record(i) for i in items], next_token


def list_by_owner(owner_id: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    return _query("by_owner", "gsi1pk", f"OWNER#{owner_id}", limit=limit, token=token)


def list_by_status(status: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    return _query("by_status", "gsi2pk", f"STATUS#{status}", limit=limit, token=token)


def store_task_token(request_id: str, task_token: str, *, updated_at: str) -> dict[str, Any]:
    """Keep the workflow's token on a pending request. Raises ConditionFailed (with the item) otherwise."""
    result = dynamo.call(
        aws.dynamodb().update_item,
        TableName=_table(),
        Key=dynamo.marshal(keys.request(request_id)),
        UpdateExpression="SET task_token = :token, updated_at = :at",
        ConditionExpression="#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues=dynamo.values(token=task_token, at=updated_at, pending=RequestStatus.PENDING.value),
        ReturnValues="ALL_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return _record(dynamo.unmarshal(result["Attributes"]))


def transition(
    request_id: str,
    *,
    created_at: str,
    from_statuses: tuple[RequestStatus, ...],
    to_status: RequestStatus,
    updated_at: str,
    fields: dict[str, Any] | None = None,
    remove: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A status change as a transaction element, conditional on the current status."""
    sets = {
        "status": to_status.value,
        "updated_at": updated_at,
        **keys.request_status(to_status.value, created_at, request_id),
    }
    sets.update(fields or {})
    names = {f"#f{i}": name for i, name in enumerate(sets)}
    vals = {f"v{i}": value for i, value in enumerate(sets.values())}
    expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets)))
    if remove:
        names.update({f"#r{i}": name for i, name in enumerate(remove)})
        expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(remove)))
    allowed = {f"from{i}": s.value for i, s in enumerate(from_statuses)}
    names["#status"] = "status"
    condition = "#status IN (" + ", ".join(f":{k}" for k in allowed) + ")"
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.request(request_id)),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": dynamo.values(**vals, **allowed),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }
