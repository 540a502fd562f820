"""Fixed-window counters: one item per (budget, subject, window), the window in the key."""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.errors import KeyRevoked
from telephony.models.budgets import Charge
from telephony.repositories import dynamo, keys
from telephony.util import epoch

_TABLE = dynamo.Table("rate_limits_table")
_CONSUME = "ADD hits :one SET expires_at = if_not_exists(expires_at, :exp)"
_UNDER_LIMIT = "(attribute_not_exists(hits) OR hits < :limit) AND attribute_not_exists(revoked)"
REVOKED_MARKER_SECONDS = 3 * 3600


def _key(charge: Charge) -> dict[str, str]:
    return keys.rate_window(charge.budget.name, charge.subject, charge.window_start)


def spend(charge: Charge) -> dynamo.Write:
    """One hit of a budget, as a write of another repository's transaction: the work and its hit succeed or
    fail together (BudgetSpent when the window is full)."""
    return dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(_key(charge)),
                "UpdateExpression": _CONSUME,
                "ConditionExpression": _UNDER_LIMIT,
                "ExpressionAttributeValues": dynamo.values(one=1, limit=charge.limit, exp=charge.expires_at),
            }
        },
        lambda _old: charge.refused(epoch()),
    )


def refund(charge: Charge) -> dynamo.Write:
    """Give back a hit whose work was undone."""
    return dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(_key(charge)),
                "UpdateExpression": "ADD hits :minus_one",
                "ConditionExpression": "hits > :zero",
                "ExpressionAttributeValues": dynamo.values(minus_one=-1, zero=0),
            }
        }
    )


def revoked_marker(budget: str, subject: str, window_start: int) -> dynamo.Write:
    """Poison a usage window: every later hit of it is refused as revoked (an API key's, when it is revoked)."""
    return dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(keys.rate_window(budget, subject, window_start)),
                "UpdateExpression": "SET revoked = :yes, expires_at = if_not_exists(expires_at, :exp)",
                "ExpressionAttributeValues": dynamo.values(yes=True, exp=epoch() + REVOKED_MARKER_SECONDS),
            }
        }
    )


class RateLimitsRepository:
    def consume(self, charge: Charge) -> int:
        """Count one hit on its own; returns the hits so far. BudgetSpent when the window is full, KeyRevoked
        when the window was marked revoked."""
        try:
            result = dynamo.call(
                aws.dynamodb().update_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(_key(charge)),
                UpdateExpression=_CONSUME,
                ConditionExpression=_UNDER_LIMIT,
                ExpressionAttributeValues=dynamo.values(one=1, limit=charge.limit, exp=charge.expires_at),
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamo.ConditionFailed as failed:
            if failed.item and failed.item.get("revoked"):
                raise KeyRevoked("this API key has been revoked") from failed
            raise charge.refused(epoch()) from failed
        return int(dynamo.unmarshal(result["Attributes"])["hits"])

    def hits(self, charges: list[Charge]) -> list[int]:
        """The hits so far in each charge's window (0 for a window nobody hit), in one read."""
        wanted = [dynamo.marshal(_key(c)) for c in charges]
        found: dict[str, int] = {}
        request: dict[str, Any] = {_TABLE.name: {"Keys": wanted, "ConsistentRead": True}}
        while request:
            answer = dynamo.call(aws.dynamodb().batch_get_item, RequestItems=request)
            for raw in answer.get("Responses", {}).get(_TABLE.name, []):
                item = dynamo.unmarshal(raw)
                found[str(item["pk"])] = int(item.get("hits") or 0)
            request = answer.get("UnprocessedKeys") or {}
        return [found.get(_key(c)["pk"], 0) for c in charges]
