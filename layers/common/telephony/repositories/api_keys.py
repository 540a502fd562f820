"""API keys: stored by id with the hash of their secret, listed by owner."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.repositories import dynamo, keys


def _table() -> str:
    return settings().require("api_keys_table")


def put(record: dict[str, Any]) -> None:
    item = {
        **keys.api_key(record["key_id"]),
        **keys.api_key_owner(record["owner_id"], record["created_at"], record["key_id"]),
        **record,
    }
    dynamo.call(
        aws.dynamodb().put_item,
        TableName=_table(),
        Item=dynamo.marshal(item),
        ConditionExpression="attribute_not_exists(pk)",
    )


def get(key_id: str) -> dict[str, Any] | None:
    return dynamo.get_item(_table(), keys.api_key(key_id))


def list_by_owner(owner_id: str, *, limit: int, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    return dynamo.query_page(_table(), "by_owner", "gsi1pk", f"OWNER#{owner_id}", limit=limit, token=token)


def revoke(key_id: str, *, owner_id: str, revoked_at: str, usage_keys: list[dict[str, str]]) -> None:
    """Mark the key revoked and poison its current and next usage windows, in one transaction.

    The authorizer's answer is cached; the usage windows are written on every request, so the
    marker makes the very next request with this key fail even while the cache still says yes.
    """
    table = _table()
    usage_table = settings().require("rate_limits_table")
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": table,
                "Key": dynamo.marshal(keys.api_key(key_id)),
                "UpdateExpression": "SET revoked_at = :at",
                "ConditionExpression": "owner_id = :owner AND attribute_not_exists(revoked_at)",
                "ExpressionAttributeValues": dynamo.values(at=revoked_at, owner=owner_id),
            }
        }
    ]
    for usage_key in usage_keys:
        items.append(
            {
                "Update": {
                    "TableName": usage_table,
                    "Key": dynamo.marshal(usage_key),
                    "UpdateExpression": "SET revoked = :yes, expires_at = if_not_exists(expires_at, :exp)",
                    "ExpressionAttributeValues": dynamo.values(yes=True, exp=_far_expiry()),
                }
            }
        )
    dynamo.transact(items)


def _far_expiry() -> int:
    from telephony.util import epoch

    return epoch() + 3 * 3600
