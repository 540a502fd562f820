"""An account's limits, its live calls and its count of numbers (AccountsTable).

The live calls are counted in a small item per account (`live_count`, conditioned on the account's maximum when it
grows) and marked one item each (a call's id, or the identity of a transfer leg it dialled), spread over
`keys.LIVE_SHARDS` partitions that the sweep of lost calls reads. A call or a leg takes its place in the transaction
that records it: the count grows by one and its marker is put. It gives it back in a transaction of its own: its
marker deleted on the condition that it exists, and the count lowered by one. So giving back is exact whatever
order, and however many times, the end of a call, the end of a leg and the sweep come in: the first deletes the
marker and lowers the count, the others find no marker and change nothing (docs/adr/0027-hot-items.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from telephony import aws
from telephony.errors import AlreadyExists, ConcurrencyLimit, TooManyNumbers, UpstreamUnavailable
from telephony.models.limits import AccountLimits
from telephony.repositories import dynamo, keys

_TABLE = dynamo.Table("accounts_table")
LIMITS, COUNTS = "LIMITS", "COUNTS"


def _refused(max_live: int) -> ConcurrencyLimit:
    return ConcurrencyLimit(
        f"you have {max_live} calls live at once, your account's limit: wait for one to end", limit=max_live
    )


def occupy(owner_id: str, live_ids: Iterable[str], *, max_live: int) -> list[dynamo.Write]:
    """Count ids among the account's live calls, as writes of the transaction that records them: ConcurrencyLimit
    when the account has no room for them (`max_live` live already, or more ids than that)."""
    ids = sorted(set(live_ids))
    if len(ids) > max_live:
        raise _refused(max_live)
    count = dynamo.Write(
        {
            "Update": {
                "TableName": _TABLE.name,
                "Key": dynamo.marshal(keys.live_count(owner_id)),
                "UpdateExpression": "ADD live_count :n SET owner_id = :owner",
                "ConditionExpression": "attribute_not_exists(live_count) OR live_count <= :room",
                "ExpressionAttributeValues": dynamo.values(n=len(ids), owner=owner_id, room=max_live - len(ids)),
            }
        },
        lambda _old: _refused(max_live),
    )
    markers = [
        dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal({**keys.live_marker(live_id), "owner_id": owner_id, "live_id": live_id}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            _counted_already(live_id),
        )
        for live_id in ids
    ]
    return [count, *markers]


def _counted_already(live_id: str) -> dynamo.Refusal:
    return lambda _old: AlreadyExists(f"{live_id} is counted among the live calls already")


def give_back(owner_id: str, live_ids: Iterable[str]) -> int:
    """Take ids off the account's live calls, each in a transaction of its own that finds its marker (an id that is
    not counted, or was given back already, changes nothing); how many were. One that cannot be written now (DynamoDB
    busy) is left for the sweep of lost calls, which finds its marker beside an ended call."""
    given = 0
    for live_id in sorted(set(live_ids)):
        marker = dynamo.Write(
            {
                "Delete": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.live_marker(live_id)),
                    "ConditionExpression": "owner_id = :owner",
                    "ExpressionAttributeValues": dynamo.values(owner=owner_id),
                }
            }
        )
        count = dynamo.Write(
            {
                "Update": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.live_count(owner_id)),
                    "UpdateExpression": "ADD live_count :minus_one",
                    "ExpressionAttributeValues": dynamo.values(minus_one=-1),
                }
            }
        )
        try:
            dynamo.transact([marker, count])
        except dynamo.ConditionFailed:
            continue  # not counted (an inbound call's own id), or given back already
        except UpstreamUnavailable:
            continue  # its marker stays beside an ended call: the sweep gives it back
        given += 1
    return given


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

    def live_count(self, owner_id: str) -> int:
        """How many calls and legs the account has live."""
        item = dynamo.get_item(_TABLE.name, keys.live_count(owner_id)) or {}
        return int(item.get("live_count") or 0)

    def numbers(self, owner_id: str) -> int:
        item = dynamo.get_item(_TABLE.name, keys.account(owner_id, COUNTS)) or {}
        return int(item.get("numbers") or 0)

    def with_live_calls(self) -> Iterator[tuple[str, set[str]]]:
        """Every account with live calls, with the ids counted live: the markers of every shard, read
        consistently."""
        found: dict[str, set[str]] = defaultdict(set)
        for shard in range(keys.LIVE_SHARDS):
            kwargs: dict[str, Any] = {
                "TableName": _TABLE.name,
                "KeyConditionExpression": "pk = :pk",
                "ConsistentRead": True,
                "ExpressionAttributeValues": dynamo.values(pk=keys.live_partition(shard)),
            }
            while True:
                page = dynamo.call(aws.dynamodb().query, **kwargs)
                for raw in page.get("Items", []):
                    item = dynamo.unmarshal(raw)
                    found[str(item["owner_id"])].add(str(item["live_id"]))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        yield from found.items()

    def release(self, owner_id: str, live_ids: Iterable[str]) -> int:
        """Take ids off the account's live calls on their own (the sweep's repair of ids whose call is gone); how
        many were counted."""
        return give_back(owner_id, live_ids)
