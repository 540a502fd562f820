"""An account's limits, its live calls and its count of numbers (AccountsTable).

The live calls are a set of ids in one item: a call's id while it is live, and the identity of each transfer leg
it dialled. A write that adds one is refused when the set holds the account's maximum already; the end of a call
removes its id and every leg of it. Adding or removing an id twice changes nothing, so the count stays exact
whatever order the end of a call, the end of a leg and the sweep of lost calls come in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from telephony import aws
from telephony.errors import ConcurrencyLimit, TooManyNumbers
from telephony.models.limits import AccountLimits
from telephony.repositories import dynamo, keys

_TABLE = dynamo.Table("accounts_table")
LIMITS, LIVE, COUNTS = "LIMITS", "LIVE", "COUNTS"
LIVE_INDEX = "live"  # the sparse index of the accounts' live-call items, read by the sweep


def occupy(owner_id: str, live_ids: Iterable[str], *, max_live: int) -> dynamo.Write:
    """Count ids among the account's live calls, as a write of the transaction that records them: ConcurrencyLimit
    when the account has `max_live` live already."""
    return dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(keys.account(owner_id, LIVE)),
                "UpdateExpression": "ADD live_ids :ids SET owner_id = :owner, #index = :index",
                "ConditionExpression": "attribute_not_exists(live_ids) OR size(live_ids) < :max",
                "ExpressionAttributeNames": {"#index": LIVE_INDEX},
                "ExpressionAttributeValues": dynamo.values(ids=set(live_ids), owner=owner_id, index=LIVE, max=max_live),
            }
        },
        lambda _old: ConcurrencyLimit(
            f"you have {max_live} calls live at once, your account's limit: wait for one to end",
            limit=max_live,
        ),
    )


def release(owner_id: str, live_ids: Iterable[str]) -> dynamo.Write:
    """Take ids off the account's live calls (those that are not there are no matter)."""
    return dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(keys.account(owner_id, LIVE)),
                "UpdateExpression": "DELETE live_ids :ids",
                "ExpressionAttributeValues": dynamo.values(ids=set(live_ids)),
            }
        }
    )


def count_number(owner_id: str, change: int, *, max_numbers: int | None = None) -> dynamo.Write:
    """A number taken (+1, refused with TooManyNumbers when the account holds `max_numbers`) or given up (-1), as a
    write of the transaction that does it."""
    update: dict[str, Any] = {
        "TableName": _TABLE.name,
        "Key": dynamo.marshal(keys.account(owner_id, COUNTS)),
        "UpdateExpression": "ADD numbers :change",
        "ExpressionAttributeValues": dynamo.values(change=change),
    }
    if max_numbers is not None:
        update["ConditionExpression"] = "attribute_not_exists(numbers) OR numbers < :max"
        update["ExpressionAttributeValues"] = dynamo.values(change=change, max=max_numbers)
    return dynamo.Write(
        {"Update": update},
        lambda _old: TooManyNumbers(f"you hold {max_numbers} phone numbers, your account's limit"),
    )


class AccountsRepository:
    def limits(self, owner_id: str) -> AccountLimits:
        """The account's limits: those an administrator set, the defaults for the others."""
        item = dynamo.get_item(_TABLE.name, keys.account(owner_id, LIMITS)) or {}
        return AccountLimits.model_validate(item)

    def set_limits(self, owner_id: str, fields: dict[str, int]) -> AccountLimits:
        """Set these limits (the others keep their values); the account's limits as written."""
        update = dynamo.update_of({**fields, "owner_id": owner_id})
        result = dynamo.call(
            aws.dynamodb().update_item,
            TableName=_TABLE.name,
            Key=dynamo.marshal(keys.account(owner_id, LIMITS)),
            UpdateExpression=update.expression,
            ExpressionAttributeNames=update.names,
            ExpressionAttributeValues=dynamo.values(**update.values),
            ReturnValues="ALL_NEW",
        )
        return AccountLimits.model_validate(dynamo.unmarshal(result["Attributes"]))

    def live(self, owner_id: str) -> set[str]:
        """The ids of the account's live calls and legs."""
        item = dynamo.get_item(_TABLE.name, keys.account(owner_id, LIVE)) or {}
        return set(item.get("live_ids") or ())

    def numbers(self, owner_id: str) -> int:
        item = dynamo.get_item(_TABLE.name, keys.account(owner_id, COUNTS)) or {}
        return int(item.get("numbers") or 0)

    def with_live_calls(self) -> Iterator[tuple[str, set[str]]]:
        """Every account that has had a live call, with the ids live now (read from the sparse index: eventually
        consistent, which the sweep allows for by reading each call again)."""
        kwargs: dict[str, Any] = {
            "TableName": _TABLE.name,
            "IndexName": LIVE_INDEX,
            "KeyConditionExpression": "#index = :index",
            "ExpressionAttributeNames": {"#index": LIVE_INDEX},
            "ExpressionAttributeValues": dynamo.values(index=LIVE),
        }
        while True:
            page = dynamo.call(aws.dynamodb().query, **kwargs)
            for raw in page.get("Items", []):
                item = dynamo.unmarshal(raw)
                yield str(item["owner_id"]), set(item.get("live_ids") or ())
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def release(self, owner_id: str, live_ids: Iterable[str]) -> None:
        """Take ids off the account's live calls on their own (the sweep's repair of ids whose call is gone)."""
        dynamo.transact([release(owner_id, live_ids)])
