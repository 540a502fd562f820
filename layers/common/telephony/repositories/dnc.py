"""Do-not-call lists in the AccountsTable: one partition per list (an account's, or the operator's global one), one
item per E.164 number, sorted by number.

Every method names the list by its owner's id; `None` is the operator's global list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telephony import aws
from telephony.errors import NotFound
from telephony.models.dnc import DncList, DncRecord
from telephony.repositories import dynamo, keys

_TABLE = dynamo.Table("accounts_table")


def _list_owner(owner_id: str | None) -> str:
    return keys.GLOBAL_DNC if owner_id is None else owner_id


def _record(item: dict[str, Any]) -> DncRecord:
    return DncRecord.model_validate(item)


class DncRepository:
    def found(self, owner_id: str | None, numbers: Sequence[str]) -> dict[str, DncRecord]:
        """The entries of these numbers that the list holds, by number, read consistently."""
        items = dynamo.batch_get(_TABLE.name, [keys.dnc(_list_owner(owner_id), n) for n in numbers])
        return {r.phone_number: r for r in map(_record, items)}

    def put(self, owner_id: str | None, entries: Sequence[DncRecord]) -> None:
        """Write these entries (one per number) on the list, each whole, 25 a request.

        A list of up to 1,000 numbers is more than one transaction holds (100 items), so the batch is not atomic:
        when DynamoDB keeps refusing part of it, UpstreamUnavailable is raised with the part written before kept.
        Each write puts an entry as given, whatever was there, so putting the same entries again is harmless and
        completes the list (services/dnc.py answers 503 and a retry of the request finishes it)."""
        items = [{**keys.dnc(_list_owner(owner_id), e.phone_number), **e.model_dump(mode="json")} for e in entries]
        dynamo.batch_put(_TABLE.name, items)

    def get(self, owner_id: str | None, e164: str) -> DncRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.dnc(_list_owner(owner_id), e164))
        return _record(item) if item else None

    def page(self, owner_id: str | None, *, limit: int, token: str | None) -> tuple[list[DncRecord], str | None]:
        """One page of the list, by number, read consistently; the token cannot leave the list."""
        partition = keys.dnc_partition(_list_owner(owner_id))
        kwargs: dict[str, Any] = {
            "TableName": _TABLE.name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": dynamo.values(pk=partition),
            "Limit": limit,
            "ConsistentRead": True,
        }
        start = dynamo.start_key(token, partition={"pk": partition}, sort="sk")
        if start:
            kwargs["ExclusiveStartKey"] = start
        result = dynamo.call(aws.dynamodb().query, **kwargs)
        items = [_record(dynamo.unmarshal(i)) for i in result.get("Items", [])]
        return items, dynamo.page_token(result.get("LastEvaluatedKey"))

    def delete(self, owner_id: str | None, e164: str) -> None:
        """Take the number off the list (NotFound when the list does not hold it)."""
        try:
            dynamo.call(
                aws.dynamodb().delete_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(keys.dnc(_list_owner(owner_id), e164)),
                ConditionExpression="attribute_exists(pk)",
            )
        except dynamo.ConditionFailed as failed:
            raise NotFound("no such number on the do-not-call list") from failed

    def holding(self, owner_id: str, e164: str) -> list[DncList]:
        """Which of the account's list and the operator's hold the number: both read in one request."""
        account, operator = keys.dnc(owner_id, e164), keys.dnc(keys.GLOBAL_DNC, e164)
        partitions = {item["pk"] for item in dynamo.batch_get(_TABLE.name, [account, operator])}
        held: list[DncList] = []
        if account["pk"] in partitions:
            held.append("account")
        if operator["pk"] in partitions:
            held.append("global")
        return held
