"""API keys: stored by id with the hash of their secret, listed by owner."""

from __future__ import annotations

from typing import Any, cast

from telephony import aws
from telephony.errors import NotFound
from telephony.models.principal import ApiKeyRecord
from telephony.repositories import dynamo, keys, rate_limits

_TABLE = dynamo.Table("api_keys_table")
_FIELDS = set(ApiKeyRecord.__annotations__)


def _record(item: dict[str, Any]) -> ApiKeyRecord:
    return cast(ApiKeyRecord, {k: v for k, v in item.items() if k in _FIELDS})


class ApiKeysRepository:
    def put(self, record: ApiKeyRecord) -> None:
        item = {
            **keys.api_key(record["key_id"]),
            **keys.api_key_owner(record["owner_id"], record["created_at"], record["key_id"]),
            **record,
        }
        dynamo.call(
            aws.dynamodb().put_item,
            TableName=_TABLE.name,
            Item=dynamo.marshal(item),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, key_id: str) -> ApiKeyRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.api_key(key_id))
        return _record(item) if item else None

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[ApiKeyRecord], str | None]:
        items, next_token = dynamo.query_page(
            _TABLE.name, "by_owner", "gsi1pk", keys.owner_partition(owner_id), limit=limit, token=token
        )
        return [_record(i) for i in items], next_token

    def revoke(self, key_id: str, *, owner_id: str, revoked_at: str, usage_windows: list[tuple[str, int]]) -> None:
        """Mark the key revoked and poison its usage windows (budget name, window start), in one transaction.

        The authorizer's answer is cached; the usage windows are written on every request, so the marker makes
        the very next request with this key fail even while the cache still says yes. NotFound when the key is
        not `owner_id`'s or already revoked."""
        revoke = dynamo.Write(
            {
                "Update": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.api_key(key_id)),
                    "UpdateExpression": "SET revoked_at = :at",
                    "ConditionExpression": "owner_id = :owner AND attribute_not_exists(revoked_at)",
                    "ExpressionAttributeValues": dynamo.values(at=revoked_at, owner=owner_id),
                }
            },
            lambda _old: NotFound("no such API key"),
        )
        markers = [rate_limits.revoked_marker(budget, f"key:{key_id}", start) for budget, start in usage_windows]
        dynamo.transact([revoke, *markers])
