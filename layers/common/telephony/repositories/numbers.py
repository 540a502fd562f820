"""Phone numbers owned by users, and the E.164 claims that keep each number unique."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.repositories import dynamo, keys

_KEY_FIELDS = {"pk", "sk", "gsi1pk", "gsi1sk", *keys.AGENT_KEYS}


def _table() -> str:
    return settings().require("numbers_table")


def _record(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _KEY_FIELDS}


def item_for(record: dict[str, Any]) -> dict[str, Any]:
    pid = record["phone_number_id"]
    return {**keys.number(pid), **keys.number_owner(record["owner_id"], record["created_at"], pid), **record}


def put_new(record: dict[str, Any]) -> dict[str, Any]:
    """A new number item, as a transaction element."""
    item = item_for(record)
    return {
        "Put": {"TableName": _table(), "Item": dynamo.marshal(item), "ConditionExpression": "attribute_not_exists(pk)"}
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


def claim_new_number(e164: str, *, phone_number_id: str, owner_id: str) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.marshal(
                {
                    **keys.number_claim(e164),
                    "e164": e164,
                    "holder": "number",
                    "phone_number_id": phone_number_id,
                    "owner_id": owner_id,
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def get(phone_number_id: str) -> dict[str, Any] | None:
    item = dynamo.get_item(_table(), keys.number(phone_number_id))
    return _record(item) if item else None


def claims(numbers: list[str]) -> dict[str, dict[str, Any]]:
    """The claim items of these numbers, by number."""
    if not numbers:
        return {}
    table = _table()
    result = dynamo.call(
        aws.dynamodb().batch_get_item,
        RequestItems={
            table: {"Keys": [dynamo.marshal(keys.number_claim(n)) for n in set(numbers)], "ConsistentRead": True}
        },
    )
    found = [dynamo.unmarshal(i) for i in result.get("Responses", {}).get(table, [])]
    return {c["e164"]: c for c in found}


def list_by_owner(owner_id: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    items, next_token = dynamo.query_page(_table(), "by_owner", "gsi1pk", f"OWNER#{owner_id}", limit=limit, token=token)
    return [_record(i) for i in items if i.get("sk") == keys.ITEM], next_token


def list_by_agent(
    owner_id: str, agent_id: str, *, limit: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    partition = keys.agent_numbers(owner_id, agent_id)
    items, next_token = dynamo.query_page(_table(), "by_agent", "gsi2pk", partition, limit=limit, token=token)
    return [_record(i) for i in items], next_token


def lock(phone_number_id: str, *, owner_id: str, token: str, now: int, revision: Any, ttl: int = 120) -> dict[str, Any]:
    """Take the number's provisioning lock, as a transaction element (one configuration at a time), only if the
    item is still at the `revision` the caller read (None: never saved), so what it read is what it locked."""
    condition = "owner_id = :owner AND (attribute_not_exists(#lock) OR #lock.#until < :now)"
    values: dict[str, Any] = {"lock": {"token": token, "until": now + ttl}, "owner": owner_id, "now": now}
    if revision is None:
        condition += " AND attribute_not_exists(#rev)"
    else:
        condition += " AND #rev = :rev"
        values["rev"] = revision
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.number(phone_number_id)),
            "UpdateExpression": "SET #lock = :lock",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#lock": "config_lock", "#until": "until", "#rev": "revision"},
            "ExpressionAttributeValues": dynamo.values(**values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def save(phone_number_id: str, *, token: str, fields: dict[str, Any], remove: tuple[str, ...] = ()) -> dict[str, Any]:
    """Write a configuration and release the lock, only if we still hold it; returns the item. Every save moves
    the item's `revision` on (the only other writes of a number item create, lock or delete it)."""
    sets = dict(fields)
    names = {f"#f{i}": name for i, name in enumerate(sets)}
    expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets)))
    removed = ("config_lock", *remove)
    names.update({f"#r{i}": name for i, name in enumerate(removed)})
    expression += " REMOVE " + ", ".join(f"#r{i}" for i in range(len(removed)))
    expression += " ADD #rev :one"
    names["#rev"] = "revision"
    names["#lock"] = "config_lock"
    names["#token"] = "token"
    result = dynamo.call(
        aws.dynamodb().update_item,
        TableName=_table(),
        Key=dynamo.marshal(keys.number(phone_number_id)),
        UpdateExpression=expression,
        ConditionExpression="#lock.#token = :token",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=dynamo.values(
            token=token, one=1, **{f"v{i}": v for i, v in enumerate(sets.values())}
        ),
        ReturnValues="ALL_NEW",
    )
    return _record(dynamo.unmarshal(result["Attributes"]))


def delete(phone_number_id: str, e164: str, *, token: str) -> None:
    """Remove a number and its claim together (an unregistered number that no request assigned)."""
    dynamo.transact(
        [
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": dynamo.marshal(keys.number(phone_number_id)),
                    "ConditionExpression": "#lock.#token = :token",
                    "ExpressionAttributeNames": {"#lock": "config_lock", "#token": "token"},
                    "ExpressionAttributeValues": dynamo.values(token=token),
                }
            },
            {
                "Delete": {
                    "TableName": _table(),
                    "Key": dynamo.marshal(keys.number_claim(e164)),
                    "ConditionExpression": "phone_number_id = :pid",
                    "ExpressionAttributeValues": dynamo.values(pid=phone_number_id),
                }
            },
        ]
    )
