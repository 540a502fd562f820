"""API keys: stored by id with the hash of their secret, listed by owner, counted per owner."""

from __future__ import annotations

from typing import Any, cast

from telephony.errors import NotFound, TooManyKeys
from telephony.models.principal import ApiKeyRecord
from telephony.repositories import dynamo, keys, rate_limits

_TABLE = dynamo.Table("api_keys_table")
_FIELDS = set(ApiKeyRecord.__annotations__)


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    return cast(ApiKeyRecord, {k: v for k, v in item.items() if k in _FIELDS})


def _count_change(owner_id: str, change: int, *, below: int | None = None) -> dynamo.Write:
    """The owner's count of unrevoked keys moved by `change` (only while under `below`, when given)."""
    update: dict[str, Any] = {
        "TableName": _TABLE.name,
        "Key": dynamo.marshal(keys.api_key_count(owner_id)),
        "UpdateExpression": "ADD active :change",
        "ExpressionAttributeValues": dynamo.values(change=change),
    }
    if below is not None:
        update["ConditionExpression"] = "attribute_not_exists(active) OR active < :below"
        update["ExpressionAttributeValues"] = dynamo.values(change=change, below=below)
    return dynamo.Write(
        {"Update": update}, lambda _old: TooManyKeys(f"you hold {below} active API keys: revoke one first")
    )


class ApiKeysRepository:
    def create(self, record: ApiKeyRecord, *, max_active: int) -> None:
        """A new key, counted among its owner's unrevoked keys (TooManyKeys when it holds `max_active`)."""
        item = {
            **keys.api_key(record["key_id"]),
            **keys.api_key_owner(record["owner_id"], record["created_at"], record["key_id"]),
            **record,
        }
        put = dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        dynamo.transact([put, _count_change(record["owner_id"], 1, below=max_active)])

    def active_count(self, owner_id: str) -> int:
        """How many unrevoked keys the owner holds (as counted when keys are made and revoked)."""
        item = dynamo.get_item(_TABLE.name, keys.api_key_count(owner_id)) or {}
        return int(item.get("active") or 0)

    def get(self, key_id: str) -> ApiKeyRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.api_key(key_id))
        return _record(item) if item else None

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[ApiKeyRecord], str | None]:
        items, next_token = dynamo.query_page(
            _TABLE.name, "by_owner", "gsi1pk", keys.owner_partition(owner_id), limit=limit, token=token
        )
        return [_record(i) for i in items], next_token

    def revoke(self, record: ApiKeyRecord, *, revoked_at: str, usage_windows: list[tuple[str, int]]) -> None:
        """Mark the key revoked, take it off its owner's count and poison its usage windows (budget name, window
        start), in one transaction.

        The authorizer's answer is cached; the usage windows are written on every request, so the marker makes
        the very next request with this key fail even while the cache still says yes. NotFound when the key is
        gone or already revoked."""
        key_id = record["key_id"]
        revoke = dynamo.Write(
            {
                "Update": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.api_key(key_id)),
                    "UpdateExpression": "SET revoked_at = :at",
                    "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(revoked_at)",
                    "ExpressionAttributeValues": dynamo.values(at=revoked_at),
                }
            },
            lambda _old: NotFound("no such API key"),
        )
        markers = [rate_limits.revoked_marker(budget, f"key:{key_id}", start) for budget, start in usage_windows]
        dynamo.transact([revoke, _count_change(record["owner_id"], -1), *markers])
