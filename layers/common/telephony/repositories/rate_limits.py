"""Fixed-window counters: one item per (budget, subject, window); the window is in the key."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.repositories import dynamo, keys

_CONSUME = "ADD hits :one SET expires_at = if_not_exists(expires_at, :exp)"
_UNDER_LIMIT = "(attribute_not_exists(hits) OR hits < :limit) AND attribute_not_exists(revoked)"


def _table() -> str:
    return settings().require("rate_limits_table")


def consume(budget: str, subject: str, window_start: int, *, limit: int, expires_at: int) -> int:
    """Count one hit; returns the hits so far. Raises ConditionFailed (with the old item) when over or revoked."""
    result = dynamo.call(
        aws.dynamodb().update_item,
        TableName=_table(),
        Key=dynamo.marshal(keys.rate_window(budget, subject, window_start)),
        UpdateExpression=_CONSUME,
        ConditionExpression=_UNDER_LIMIT,
        ExpressionAttributeValues=dynamo.values(one=1, limit=limit, exp=expires_at),
        ReturnValues="UPDATED_NEW",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    return int(dynamo.unmarshal(result["Attributes"])["hits"])


def consume_in_transaction(
    budget: str, subject: str, window_start: int, *, limit: int, expires_at: int
) -> dict[str, Any]:
    """The same hit, as one element of a domain transaction: the write and the hit succeed or fail together."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.rate_window(budget, subject, window_start)),
            "UpdateExpression": _CONSUME,
            "ConditionExpression": _UNDER_LIMIT,
            "ExpressionAttributeValues": dynamo.values(one=1, limit=limit, exp=expires_at),
        }
    }


def refund_in_transaction(budget: str, subject: str, window_start: int) -> dict[str, Any]:
    """Give back a hit whose operation was undone."""
    return {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.rate_window(budget, subject, window_start)),
            "UpdateExpression": "ADD hits :minus_one",
            "ConditionExpression": "hits > :zero",
            "ExpressionAttributeValues": dynamo.values(minus_one=-1, zero=0),
        }
    }
