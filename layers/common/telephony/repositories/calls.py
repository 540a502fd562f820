"""Calls, their transcript segments, applied-event markers and the per-user stat counters.

Counters change in the same transaction as the status they count, so the stats are one Query
of the user's stats partition whatever the number of calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.repositories import dynamo, keys

_KEY_FIELDS = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}
HOUR = 3600
STATS_TTL = 26 * HOUR


def _table() -> str:
    return settings().require("calls_table")


def _record(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _KEY_FIELDS}


def hour_of(epoch_seconds: int) -> int:
    return epoch_seconds - epoch_seconds % HOUR


def _counters(owner_id: str, hour: int, adds: dict[str, int]) -> list[dict[str, Any]]:
    """ADDs to the user's totals and to the hour the call was created in."""
    names = {f"#c{i}": name for i, name in enumerate(adds)}
    add = "ADD " + ", ".join(f"#c{i} :a{i}" for i in range(len(adds)))
    vals = {f"a{i}": v for i, v in enumerate(adds.values())}
    total = {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.stats_total(owner_id)),
            "UpdateExpression": add,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": dynamo.values(**vals),
        }
    }
    bucket = {
        "Update": {
            "TableName": _table(),
            "Key": dynamo.marshal(keys.stats_hour(owner_id, hour)),
            "UpdateExpression": add + " SET #exp = :exp",
            "ExpressionAttributeNames": {**names, "#exp": "expires_at"},
            "ExpressionAttributeValues": dynamo.values(**vals, exp=hour + STATS_TTL),
        }
    }
    return [total, bucket]


def create(record: dict[str, Any], *, created_epoch: int, extra: list[dict[str, Any]]) -> None:
    cid, owner, created, status = record["call_id"], record["owner_id"], record["created_at"], record["status"]
    item = {
        **keys.call(cid),
        **keys.call_owner(owner, created, cid),
        **keys.call_owner_status(owner, status, created, cid),
        **record,
    }
    put = {
        "Put": {"TableName": _table(), "Item": dynamo.marshal(item), "ConditionExpression": "attribute_not_exists(pk)"}
    }
    counters = _counters(owner, hour_of(created_epoch), {"total_calls": 1, f"status_{status}": 1})
    dynamo.transact([put, *counters, *extra])


def transition(
    record: dict[str, Any],
    *,
    from_statuses: tuple[str, ...],
    to_status: str,
    fields: dict[str, Any],
    adds: dict[str, int],
    event_id: str | None = None,
) -> None:
    """Move a call forward, with its counters and (for a webhook) the marker of the event applied."""
    cid, owner = record["call_id"], record["owner_id"]
    sets = {"status": to_status, **fields, **keys.call_owner_status(owner, to_status, record["created_at"], cid)}
    names = {f"#f{i}": name for i, name in enumerate(sets)}
    expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(sets)))
    allowed = {f"from{i}": s for i, s in enumerate(from_statuses)}
    names["#status"] = "status"
    items: list[dict[str, Any]] = [
        {
            "Update": {
                "TableName": _table(),
                "Key": dynamo.marshal(keys.call(cid)),
                "UpdateExpression": expression,
                "ConditionExpression": "#status IN (" + ", ".join(f":{k}" for k in allowed) + ")",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": dynamo.values(
                    **{f"v{i}": v for i, v in enumerate(sets.values())}, **allowed
                ),
            }
        }
    ]
    items += _counters(owner, hour_of(record["created_epoch"]), adds)
    if event_id:
        items.append(
            {
                "Put": {
                    "TableName": _table(),
                    "Item": dynamo.marshal(
                        {**keys.call_event(cid, event_id), "expires_at": record["created_epoch"] + 7 * 86400}
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    dynamo.transact(items)


def get(call_id: str) -> dict[str, Any] | None:
    item = dynamo.get_item(_table(), keys.call(call_id))
    return _record(item) if item else None


def list_by_owner(
    owner_id: str, *, status: str | None, limit: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    if status:
        items, next_token = dynamo.query_page(
            _table(), "by_owner_status", "gsi2pk", f"OWNER#{owner_id}#STATUS#{status}", limit=limit, token=token
        )
    else:
        items, next_token = dynamo.query_page(
            _table(), "by_owner", "gsi1pk", f"OWNER#{owner_id}", limit=limit, token=token
        )
    return [_record(i) for i in items], next_token


def stats(owner_id: str, *, since_hour: int, counters: Iterable[str]) -> tuple[dict[str, int], dict[str, int]]:
    """The user's all-time counters and the sum of the hour buckets from `since_hour` on, from one Query:
    `TOTAL` sorts after every `HOUR#<12 digits>` key, so one range gives both, and older buckets (kept
    until their TTL) are not read. Only the sort key and the named counters are asked for (not the
    partition key or the TTL), and the answer is summed straight from DynamoDB's JSON rather than
    unmarshalled: up to 25 items, the part of the read that grows with the user's active hours."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    result = dynamo.call(
        aws.dynamodb().query,
        TableName=_table(),
        KeyConditionExpression="pk = :pk AND sk >= :since",
        ProjectionExpression=", ".join(["sk", *names]),
        ExpressionAttributeNames=names,
        ConsistentRead=True,
        ExpressionAttributeValues=dynamo.values(
            pk=f"STATS#{owner_id}", since=keys.stats_hour(owner_id, since_hour)["sk"]
        ),
    )
    total_sk = keys.stats_total(owner_id)["sk"]
    total: dict[str, int] = {}
    window: dict[str, int] = {}
    for item in result.get("Items", []):
        into = total if item.pop("sk")["S"] == total_sk else window
        for name, value in item.items():  # every counter is a number (ADD makes them)
            into[name] = into.get(name, 0) + int(value["N"])
    return total, window


def add_segments(call_id: str, segments: list[dict[str, Any]], *, expires_at: int | None = None) -> None:
    table = _table()
    items = [
        {"PutRequest": {"Item": dynamo.marshal({**keys.call_segment(call_id, s["at"], s["index"]), **s})}}
        for s in segments
    ]
    client = aws.dynamodb()
    for start in range(0, len(items), 25):
        pending: dict[str, Any] = {table: items[start : start + 25]}
        for attempt in range(1, dynamo.ATTEMPTS + 1):
            if attempt > 1:
                dynamo.pause(attempt - 1)  # DynamoDB left some unwritten (throttled): back off before asking again
            result = dynamo.call(client.batch_write_item, RequestItems=pending)
            pending = result.get("UnprocessedItems") or {}
            if not pending:
                break
        if pending:
            raise dynamo.unavailable(RuntimeError("unprocessed transcript segments"))


def segments(call_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :seg)",
        "ConsistentRead": True,
        "ExpressionAttributeValues": dynamo.values(pk=f"CALL#{call_id}", seg="SEG#"),
    }
    while True:
        result = dynamo.call(aws.dynamodb().query, **kwargs)
        found += [_record(dynamo.unmarshal(i)) for i in result.get("Items", [])]
        if not result.get("LastEvaluatedKey"):
            return found
        kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]


def update_fields(call_id: str, fields: dict[str, Any], *, condition_status: tuple[str, ...] = ()) -> dict[str, Any]:
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "Key": dynamo.marshal(keys.call(call_id)),
        "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
        "ExpressionAttributeNames": names,
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    vals = {f"v{i}": v for i, v in enumerate(fields.values())}
    condition = "attribute_exists(pk)"
    if condition_status:
        allowed = {f"s{i}": s for i, s in enumerate(condition_status)}
        names["#status"] = "status"
        condition += " AND #status IN (" + ", ".join(f":{k}" for k in allowed) + ")"
        vals.update(allowed)
    kwargs["ConditionExpression"] = condition
    kwargs["ExpressionAttributeValues"] = dynamo.values(**vals)
    result = dynamo.call(aws.dynamodb().update_item, **kwargs)
    return _record(dynamo.unmarshal(result["Attributes"]))


def set_summary(call_id: str, owner_id: str, summary: str, *, source: str, only_if_absent: bool = False) -> None:
    """Set the call's summary if the call is `owner_id`'s: one write that is also the ownership check
    (`dynamo.ConditionFailed` when the call is absent or another user's, or has a summary and `only_if_absent`;
    nothing of it is returned)."""
    dynamo.call(
        aws.dynamodb().update_item,
        TableName=_table(),
        Key=dynamo.marshal(keys.call(call_id)),
        UpdateExpression="SET summary = :summary, summary_source = :source",
        ConditionExpression="owner_id = :owner" + (" AND attribute_not_exists(summary)" if only_if_absent else ""),
        ExpressionAttributeValues=dynamo.values(summary=summary, source=source, owner=owner_id),
    )


def note_events(call_id: str, owner_id: str, *, summary: str | None, chars: int, max_chars: int) -> None:
    """One write before an events post's segments: the summary if given, and the transcript's size counted, on
    the condition that the call is `owner_id`'s (so it is the ownership check too) and that the transcript stays
    within `max_chars`. `dynamo.ConditionFailed` carries the call as it was (None: no such call)."""
    update = "ADD transcript_chars :chars"
    values: dict[str, Any] = {"chars": chars, "owner": owner_id, "room": max_chars - chars}
    if summary is not None:
        update = "SET summary = :summary, summary_source = :source " + update
        values.update(summary=summary, source="agent")
    dynamo.call(
        aws.dynamodb().update_item,
        TableName=_table(),
        Key=dynamo.marshal(keys.call(call_id)),
        UpdateExpression=update,
        ConditionExpression=(
            "owner_id = :owner AND (attribute_not_exists(transcript_chars) OR transcript_chars <= :room)"
        ),
        ExpressionAttributeValues=dynamo.values(**values),
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )


def append_transfer(
    call_id: str, transfer: dict[str, Any], *, status: str, end_reason: str | None = None
) -> dict[str, Any]:
    """Add a transfer to the call if it is in `status`; with `end_reason`, that is set too (a call that ended)."""
    update = "SET transfers = list_append(if_not_exists(transfers, :empty), :t)"
    values: dict[str, Any] = {"empty": [], "t": [transfer], "status": status}
    if end_reason is not None:
        update += ", end_reason = :reason"
        values["reason"] = end_reason
    result = dynamo.call(
        aws.dynamodb().update_item,
        TableName=_table(),
        Key=dynamo.marshal(keys.call(call_id)),
        UpdateExpression=update,
        ConditionExpression="#status = :status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=dynamo.values(**values),
        ReturnValues="ALL_NEW",
    )
    return _record(dynamo.unmarshal(result["Attributes"]))
