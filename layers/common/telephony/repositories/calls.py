"""Calls, their transcript segments, applied-event markers and the per-user stat counters.

Counters change in the same transaction as the status they count, so the stats are one Query
of the user's stats partition whatever the number of calls.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from telephony import aws
from telephony.errors import (
    AlreadyExists,
    DomainError,
    EventAlreadyApplied,
    InvalidInput,
    NotFound,
    StatusChanged,
    TooManyTransfers,
    TranscriptFull,
)
from telephony.models.budgets import Charge
from telephony.models.calls import (
    ENDED,
    CallChanges,
    CallRecord,
    CallStatus,
    Direction,
    SegmentRecord,
    StatCounters,
    TransferRecord,
    counter_prefix,
)
from telephony.models.webhooks import EventRecord
from telephony.repositories import accounts, dynamo, keys, rate_limits
from telephony.repositories.events import outbox
from telephony.util import epoch

_TABLE = dynamo.Table("calls_table")
HOUR = 3600
STATS_TTL = 26 * HOUR
EVENT_MARKER_TTL = 7 * 86400
ROOM_TTL = 8 * 86400  # longer than any call lasts (LiveKit ends one after 24 hours at most) and its late webhooks


def recording_mark(call_id: str, *, answered: int | None = None) -> dynamo.Write:
    """The mark of a call whose recording is to be made or being made (keys.recording_pending), which the reconcile
    reads; `answered`: when the answer was written (epoch seconds), on a mark put with the answer."""
    item: dict[str, Any] = {**keys.recording_pending(call_id), "call_id": call_id}
    if answered is not None:
        item["answered"] = answered
    return dynamo.Write({"Put": {"TableName": _TABLE.name, "Item": dynamo.marshal(item)}})


def hour_of(epoch_seconds: int) -> int:
    return epoch_seconds - epoch_seconds % HOUR


def _call(item: dict[str, Any]) -> CallRecord:
    return CallRecord.model_validate(item)


def _table_key(entry: dict[str, Any]) -> dict[str, Any]:
    return {"pk": entry["pk"], "sk": entry["sk"]}


_SORT_KEY = re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]{8,12}Z#call_[A-Za-z0-9_-]{1,64}")


def _token(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": sort_key}).encode()).decode().rstrip("=")


def _cursor(token: str | None) -> str | None:
    """The sort key a page of calls stopped at, from its next_token (400 for anything else)."""
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        before = decoded["before"]
        if not isinstance(before, str) or not _SORT_KEY.fullmatch(before):
            raise ValueError(token)
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidInput("next_token is not valid", details=[{"field": "next_token"}]) from None
    return before


def _changed(
    call: CallRecord,
    sets: dict[str, Any],
    condition: str,
    values: dict[str, Any],
    events: Sequence[EventRecord],
    *,
    append: dict[str, Any] | None = None,
    add: dict[str, int] | None = None,
    names: dict[str, str] | None = None,
) -> dynamo.Write:
    """The update of a call's item in a transaction, on `condition` over the call as read; with `events`, its
    event sequence moves on by as many, on the condition that it is still the one read (so concurrent changes
    commit one at a time, their events in order). `append`: list attributes to append to; `add`: numbers to add;
    `names`: the attribute names `condition` uses."""
    sets = dict(sets)
    if events:
        sets["event_sequence"] = call.event_sequence + len(events)
        condition += " AND (attribute_not_exists(event_sequence) OR event_sequence = :seq)"
        values = {**values, "seq": call.event_sequence}
    update = dynamo.update_of(sets)
    names, vals = {**update.names, **(names or {})}, {**update.values, **values}
    clauses = [update.expression[len("SET ") :]] if update.expression else []
    for i, (name, items) in enumerate((append or {}).items()):
        names[f"#a{i}"] = name
        vals.update({f"a{i}": items, "empty": []})
        clauses.append(f"#a{i} = list_append(if_not_exists(#a{i}, :empty), :a{i})")
    expression = "SET " + ", ".join(clauses) if clauses else ""
    if add:
        names.update({f"#n{i}": name for i, name in enumerate(add)})
        vals.update({f"n{i}": number for i, number in enumerate(add.values())})
        expression += " ADD " + ", ".join(f"#n{i} :n{i}" for i in range(len(add)))
    if "#status" in condition:
        names["#status"] = "status"
    update_item: dict[str, Any] = {
        "TableName": _TABLE.name,
        "Key": dynamo.marshal(keys.call(call.call_id)),
        "UpdateExpression": expression.strip(),
        "ConditionExpression": condition,
        "ExpressionAttributeValues": dynamo.values(**vals),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if names:
        update_item["ExpressionAttributeNames"] = names
    return dynamo.Write({"Update": update_item}, lambda old: _refused(call, old))


def _refused(call: CallRecord, old: dict[str, Any] | None) -> DomainError:
    if old is None:
        return NotFound("no such call")
    return StatusChanged(f"call {call.call_id} changed since it was read")


def _full(max_chars: int) -> TranscriptFull:
    return TranscriptFull(
        f"the call's transcript is full: at most {max_chars} characters of text",
        details=[{"field": "transcript", "issue": "full"}],
    )


def _counted(call: CallRecord) -> list[str]:
    """What the call may hold among its owner's live calls: its legs, and its own id if it was placed here (an
    inbound call's was never counted: LiveKit placed it)."""
    own = [call.call_id] if call.direction is Direction.OUTBOUND else []
    return own + [i for i in call.live_ids if i != call.call_id]


def _counters(owner_id: str, hour: int, adds: StatCounters) -> list[dynamo.Write]:
    """ADDs to the user's totals and to the hour the call was created in."""
    names = {f"#c{i}": name for i, name in enumerate(adds)}
    add = "ADD " + ", ".join(f"#c{i} :a{i}" for i in range(len(adds)))
    vals = {f"a{i}": v for i, v in enumerate(adds.values())}
    total = {
        "Update": {
            "TableName": _TABLE.name,
            "Key": dynamo.marshal(keys.stats_total(owner_id)),
            "UpdateExpression": add,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": dynamo.values(**vals),
        }
    }
    bucket = {
        "Update": {
            "TableName": _TABLE.name,
            "Key": dynamo.marshal(keys.stats_hour(owner_id, hour)),
            "UpdateExpression": add + " SET #exp = :exp",
            "ExpressionAttributeNames": {**names, "#exp": "expires_at"},
            "ExpressionAttributeValues": dynamo.values(**vals, exp=hour + STATS_TTL),
        }
    }
    return [dynamo.Write(total), dynamo.Write(bucket)]


class CallsRepository:
    def create(self, call: CallRecord, *, charge: Charge, max_live: int) -> None:
        """A new call with its counters, a call of its owner's budget spent and its place among the owner's live
        calls, together (BudgetSpent, ConcurrencyLimit when `max_live` are live; AlreadyExists when a call with its
        id was made before)."""
        cid, owner, created, status = call.call_id, call.owner_id, call.created_at, call.status.value
        item = {
            **keys.call(cid),
            **keys.call_owner(owner, created, cid),
            **keys.call_owner_status(owner, status, created, cid),
            **call.model_dump(mode="json", exclude_none=True),
        }
        put = dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            lambda _old: AlreadyExists(f"call {cid} exists already"),
        )
        counters = _counters(owner, hour_of(call.created_epoch), {"total_calls": 1, f"status_{status}": 1})
        live = accounts.occupy(owner, [cid], max_live=max_live)
        dynamo.transact([put, *counters, rate_limits.spend(charge), *live])

    def create_inbound(self, call: CallRecord, *, events: Sequence[EventRecord]) -> None:
        """A call that reached one of the owner's numbers, with its counters, the pointer from its room to it and
        its events, together (AlreadyExists when LiveKit told of it before). No budget is spent and no live call
        counted: nobody here chose to place it, and LiveKit has it already."""
        cid, owner, created, status = call.call_id, call.owner_id, call.created_at, call.status.value
        direction = Direction.INBOUND.value
        item = {
            **keys.call(cid),
            **keys.call_owner(owner, created, cid, direction),
            **keys.call_owner_status(owner, status, created, cid, direction),
            **call.model_dump(mode="json", exclude_none=True),
        }
        put = dynamo.Write(
            {
                "Put": {
                    "TableName": _TABLE.name,
                    "Item": dynamo.marshal(item),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            lambda _old: AlreadyExists(f"call {cid} exists already"),
        )
        pointer = {
            "Put": {
                "TableName": _TABLE.name,
                "Item": dynamo.marshal(
                    {**keys.room_call(call.room_name, cid), "call_id": cid, "expires_at": call.created_epoch + ROOM_TTL}
                ),
            }
        }
        prefix = counter_prefix(Direction.INBOUND)
        adds = {f"{prefix}total_calls": 1, f"{prefix}status_{status}": 1}
        if call.answered_at:
            adds[f"{prefix}answered_calls"] = 1
        counters = _counters(owner, hour_of(call.created_epoch), adds)
        dynamo.transact([put, dynamo.Write(pointer), *counters, *[outbox(e) for e in events]])

    def in_room(self, room_name: str) -> list[CallRecord]:
        """The inbound calls LiveKit put in this room (usually one), read consistently: a room's next event may
        follow the one that made its call at once."""
        result = dynamo.call(
            aws.dynamodb().query,
            TableName=_TABLE.name,
            KeyConditionExpression="pk = :pk",
            ConsistentRead=True,
            ExpressionAttributeValues=dynamo.values(pk=keys.room_partition(room_name)),
        )
        ids = [str(dynamo.unmarshal(i)["call_id"]) for i in result.get("Items", [])]
        return [c for c in (self.get(i) for i in ids) if c is not None]

    def move(
        self,
        call: CallRecord,
        to: CallStatus,
        changes: CallChanges,
        *,
        adds: StatCounters,
        event_id: str | None = None,
        events: Sequence[EventRecord] = (),
    ) -> CallRecord:
        """Move a call from the status `call` has to `to`, with its counters, its `events` (their sequence following
        the call's) and (for a webhook) the marker of the webhook's event applied. StatusChanged when the call is no
        longer as read, EventAlreadyApplied when the webhook's event was applied before. A call that ends then gives
        its places among its owner's live calls back. Returns the call as written."""
        cid, owner = call.call_id, call.owner_id
        placed = keys.call_owner_status(owner, to.value, call.created_at, cid, call.direction.value)
        sets = {"status": to.value, **changes, **placed}
        writes = [
            _changed(call, sets, "#status = :from", {"from": call.status.value}, events),
            *_counters(owner, hour_of(call.created_epoch), adds),
            *[outbox(e) for e in events],
        ]
        if to is CallStatus.IN_PROGRESS and call.record and call.recording is None:
            # answered and to be recorded: marked with the answer, so the reconcile finds it if its egress never starts
            writes.append(recording_mark(cid, answered=epoch()))
        if event_id:
            marker = {**keys.call_event(cid, event_id), "expires_at": call.created_epoch + EVENT_MARKER_TTL}
            writes.append(
                dynamo.Write(
                    {
                        "Put": {
                            "TableName": _TABLE.name,
                            "Item": dynamo.marshal(marker),
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    lambda _old: EventAlreadyApplied(f"event {event_id} was applied before"),
                )
            )
        dynamo.transact(writes)
        if to in ENDED:  # the call and its legs are live no more (the change is conditional: this runs once)
            accounts.give_back(owner, _counted(call))
        return call.model_copy(update={"status": to, **changes, "event_sequence": call.event_sequence + len(events)})

    def get(self, call_id: str) -> CallRecord | None:
        item = dynamo.get_item(_TABLE.name, keys.call(call_id))
        return _call(item) if item else None

    def get_many(self, call_ids: Sequence[str]) -> dict[str, CallRecord]:
        """The calls of these ids that exist, by id, read consistently (100 a request)."""
        items = dynamo.batch_get(_TABLE.name, [keys.call(c) for c in call_ids])
        return {c.call_id: c for c in map(_call, items)}

    def list_by_owner(
        self, owner_id: str, *, status: CallStatus | None, limit: int, token: str | None
    ) -> tuple[list[CallRecord], str | None]:
        if status:
            partition = keys.call_status_partition(owner_id, status.value)
            items, next_token = dynamo.query_page(
                _TABLE.name, "by_owner_status", "gsi2pk", partition, limit=limit, token=token
            )
        else:
            items, next_token = dynamo.query_page(
                _TABLE.name, "by_owner", "gsi1pk", keys.owner_partition(owner_id), limit=limit, token=token
            )
        calls = self._read_entries(items)
        return [c for c in calls if status is None or c.status is status], next_token

    def _read_entries(self, entries: Sequence[dict[str, Any]]) -> list[CallRecord]:
        """The calls of these index entries, in their order, read from the table in one BatchGetItem: the indexes
        hold only keys and the numbers (template.yaml), so a call's updates write nothing to them but a change of
        status. A call read so may have moved on since the index was written: the caller drops one no longer in
        the status it listed."""
        found = {c.call_id: c for c in map(_call, dynamo.batch_get(_TABLE.name, [_table_key(e) for e in entries]))}
        ids = [str(e["pk"]).removeprefix("CALL#") for e in entries]
        return [found[i] for i in ids if i in found]

    def list_filtered(
        self,
        owner_id: str,
        *,
        directions: Sequence[Direction],
        status: CallStatus | None,
        after: str | None,
        before: str | None,
        number_id: str | None,
        limit: int,
        token: str | None,
    ) -> tuple[list[CallRecord], str | None]:
        """One page of the user's calls in `directions`, newest first: each direction's partition (of `status`, if
        given) read from where the last page stopped, within [`after`, `before`) as key conditions, `number_id` as
        a filter, and merged. Each partition is read for at most `limit` (+1) items, so a page costs the same
        whatever the number of calls; a filter that matches few may give a short page, with a `next_token` while
        there is more to read. The token is the sort key the page stopped at, within the caller's own
        partitions."""
        upper = min(b for b in (before, _cursor(token)) if b is not None) if (before or token) else None
        if after is not None and upper is not None and upper <= after:
            return [], None  # nothing lies in the range (a token from a wider query may point below it)
        found: list[tuple[str, dict[str, Any]]] = []
        frontiers: list[str] = []
        for direction in directions:
            items, frontier = self._partition_page(
                owner_id, direction, status, lower=after, upper=upper, number_id=number_id, limit=limit
            )
            found += items
            if frontier is not None:
                frontiers.append(frontier)
        # Every partition was read down to its frontier: what lies above the highest of them is complete.
        bound = max(frontiers) if frontiers else None
        complete = sorted((f for f in found if bound is None or f[0] >= bound), key=lambda f: f[0], reverse=True)
        page = complete[:limit]
        if len(complete) > limit:
            next_token = _token(page[-1][0])
        elif bound is not None:
            next_token = _token(bound)
        else:
            next_token = None
        calls = self._read_entries([entry for _, entry in page])
        return [c for c in calls if status is None or c.status is status], next_token

    def _partition_page(
        self,
        owner_id: str,
        direction: Direction,
        status: CallStatus | None,
        *,
        lower: str | None,
        upper: str | None,
        number_id: str | None,
        limit: int,
    ) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
        """Up to `limit` index entries of one partition below `upper` (exclusive) and from `lower` on, with their
        sort keys, and the sort key it stopped at when there is more (None when it was read to its end)."""
        if status:
            index, key = "by_owner_status", "gsi2"
            partition = keys.call_status_partition(owner_id, status.value, direction.value)
        else:
            index, key = "by_owner", "gsi1"
            partition = keys.call_partition(owner_id, direction.value)
        condition = f"{key}pk = :pk"
        vals: dict[str, Any] = {"pk": partition}
        if lower is not None and upper is not None:
            condition += f" AND {key}sk BETWEEN :lo AND :hi"  # inclusive: the item at `upper` is dropped below
            vals.update(lo=lower, hi=upper)
        elif lower is not None:
            condition += f" AND {key}sk >= :lo"
            vals["lo"] = lower
        elif upper is not None:
            condition += f" AND {key}sk < :hi"
            vals["hi"] = upper
        kwargs: dict[str, Any] = {
            "TableName": _TABLE.name,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "Limit": limit + 1,
        }
        if number_id:
            kwargs["FilterExpression"] = "phone_number_id = :number OR from_phone_number_id = :number"
            vals["number"] = number_id
        kwargs["ExpressionAttributeValues"] = dynamo.values(**vals)
        result = dynamo.call(aws.dynamodb().query, **kwargs)
        items = [dynamo.unmarshal(i) for i in result.get("Items", [])]
        rows = [(str(i[f"{key}sk"]), i) for i in items if i[f"{key}sk"] != upper]
        last = result.get("LastEvaluatedKey")
        return rows, (str(dynamo.unmarshal(last)[f"{key}sk"]) if last else None)

    def stats(self, owner_id: str, *, since_hour: int, counters: Iterable[str]) -> tuple[StatCounters, StatCounters]:
        """The user's all-time counters and the sum of the hour buckets from `since_hour` on, from one Query:
        `TOTAL` sorts after every `HOUR#<12 digits>` key, so one range gives both, and older buckets (kept
        until their TTL) are not read. Only the sort key and the named counters are asked for."""
        names = {f"#c{i}": name for i, name in enumerate(counters)}
        result = dynamo.call(
            aws.dynamodb().query,
            TableName=_TABLE.name,
            KeyConditionExpression="pk = :pk AND sk >= :since",
            ProjectionExpression=", ".join(["sk", *names]),
            ExpressionAttributeNames=names,
            ConsistentRead=True,
            ExpressionAttributeValues=dynamo.values(
                pk=keys.stats_partition(owner_id), since=keys.stats_hour(owner_id, since_hour)["sk"]
            ),
        )
        total_sk = keys.stats_total(owner_id)["sk"]
        total: StatCounters = {}
        window: StatCounters = {}
        for raw in result.get("Items", []):
            item = dynamo.unmarshal(raw)
            into = total if item.pop("sk") == total_sk else window
            for name, value in item.items():  # every counter is a number (ADD makes them)
                into[name] = into.get(name, 0) + int(value)
        return total, window

    def add_segments(self, segments: list[SegmentRecord]) -> None:
        table = _TABLE.name
        items = [
            {
                "PutRequest": {
                    "Item": dynamo.marshal({**keys.call_segment(s.call_id, s.at, s.index), **s.model_dump(mode="json")})
                }
            }
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
                raise dynamo.unavailable()

    def segments(self, call_id: str) -> list[SegmentRecord]:
        found: list[SegmentRecord] = []
        kwargs: dict[str, Any] = {
            "TableName": _TABLE.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :seg)",
            "ConsistentRead": True,
            "ExpressionAttributeValues": dynamo.values(pk=keys.call(call_id)["pk"], seg=keys.SEGMENT_PREFIX),
        }
        while True:
            result = dynamo.call(aws.dynamodb().query, **kwargs)
            found += [SegmentRecord.model_validate(dynamo.unmarshal(i)) for i in result.get("Items", [])]
            if not result.get("LastEvaluatedKey"):
                return found
            kwargs["ExclusiveStartKey"] = result["LastEvaluatedKey"]

    def post_time(self, call_id: str, digest: str, *, now: str, expires_at: int) -> str:
        """The time an events post with this digest was first received (`now` if it is the first): a retry of a
        post whose segments have no times of their own stores them under the same keys."""
        try:
            dynamo.call(
                aws.dynamodb().put_item,
                TableName=_TABLE.name,
                Item=dynamo.marshal({**keys.call_post(call_id, digest), "at": now, "expires_at": expires_at}),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamo.ConditionFailed as failed:
            if failed.item and isinstance(failed.item.get("at"), str):
                return str(failed.item["at"])
            raise
        return now

    def set_summary(self, call: CallRecord, summary: str, *, source: str, events: Sequence[EventRecord] = ()) -> bool:
        """Set the call's summary, with its events, only if it has none; False when one was there first.
        StatusChanged when the call's events moved on since it was read."""
        write = _changed(
            call,
            {"summary": summary, "summary_source": source},
            "owner_id = :owner AND attribute_not_exists(summary)",
            {"owner": call.owner_id},
            events,
        )

        def refused(old: dict[str, Any] | None) -> DomainError:
            if old is not None and old.get("summary"):
                return AlreadyExists("the call has a summary")
            return _refused(call, old)

        try:
            dynamo.transact([write._replace(refused=refused), *[outbox(e) for e in events]])
        except AlreadyExists:
            return False
        return True

    def note_summary(
        self, call: CallRecord, *, summary: str, chars: int, max_chars: int, events: Sequence[EventRecord]
    ) -> None:
        """`note_events` with the agent's summary and the events it makes, on the call as read (StatusChanged when
        its events moved on meanwhile)."""
        write = _changed(
            call,
            {"summary": summary, "summary_source": "agent"},
            "owner_id = :owner AND (attribute_not_exists(transcript_chars) OR transcript_chars <= :room)",
            {"owner": call.owner_id, "room": max_chars - chars},
            events,
            add={"transcript_chars": chars},
        )

        def refused(old: dict[str, Any] | None) -> DomainError:
            if old is None or old.get("owner_id") != call.owner_id:
                return NotFound("no such call")
            if int(old.get("transcript_chars", 0)) > max_chars - chars:
                return _full(max_chars)
            return _refused(call, old)

        dynamo.transact([write._replace(refused=refused), *[outbox(e) for e in events]])

    def note_events(
        self,
        call_id: str,
        owner_id: str,
        *,
        summary: str | None,
        chars: int,
        max_chars: int,
        direction: Direction | None = None,
    ) -> None:
        """One write before an events post's segments: the summary if given, and the transcript's size counted, on
        the condition that the call is `owner_id`'s (of `direction`, when given: so it is the ownership check too,
        NotFound otherwise) and that the transcript stays within `max_chars` (TranscriptFull otherwise)."""
        update = "ADD transcript_chars :chars"
        vals: dict[str, Any] = {"chars": chars, "owner": owner_id, "room": max_chars - chars}
        condition = "owner_id = :owner AND (attribute_not_exists(transcript_chars) OR transcript_chars <= :room)"
        if direction is Direction.OUTBOUND:  # calls stored before there were inbound ones have no direction
            condition += " AND (attribute_not_exists(direction) OR direction = :direction)"
            vals["direction"] = direction.value
        elif direction is Direction.INBOUND:
            condition += " AND direction = :direction"
            vals["direction"] = direction.value
        if summary is not None:
            update = "SET summary = :summary, summary_source = :source " + update
            vals.update(summary=summary, source="agent")
        try:
            dynamo.call(
                aws.dynamodb().update_item,
                TableName=_TABLE.name,
                Key=dynamo.marshal(keys.call(call_id)),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=dynamo.values(**vals),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except dynamo.ConditionFailed as failed:
            old = failed.item
            if old is None or old.get("owner_id") != owner_id:
                raise NotFound("no such call") from None
            if direction is not None and old.get("direction", Direction.OUTBOUND.value) != direction.value:
                raise NotFound("no such call") from None
            raise _full(max_chars) from None

    def add_leg(
        self,
        call: CallRecord,
        transfer: TransferRecord,
        *,
        max_transfers: int,
        charge: Charge,
        max_live: int,
        events: Sequence[EventRecord] = (),
    ) -> None:
        """Record a transfer that dials a new leg on a call in progress, with the leg's charge, its count, its place
        among the owner's live calls and its events, together. StatusChanged when the call changed since it was
        read (NotFound when it is gone), TooManyTransfers when it has `max_transfers`, BudgetSpent,
        ConcurrencyLimit when `max_live` are live."""
        write = _changed(
            call,
            {},
            "#status = :status AND (attribute_not_exists(transfers) OR size(transfers) < :max)",
            {"status": CallStatus.IN_PROGRESS.value, "max": max_transfers},
            events,
            append={"transfers": [transfer.model_dump(mode="json")]},
        )

        def refused(old: dict[str, Any] | None) -> DomainError:
            in_progress = old is not None and old.get("status") == CallStatus.IN_PROGRESS.value
            if in_progress and len((old or {}).get("transfers") or []) >= max_transfers:
                return TooManyTransfers(f"a call may be transferred {max_transfers} times at most")
            return _refused(call, old)

        counted = _counters(
            call.owner_id, hour_of(call.created_epoch), {f"{counter_prefix(call.direction)}transfer_legs": 1}
        )
        live = accounts.occupy(call.owner_id, [str(transfer.leg_identity)], max_live=max_live)
        writes = [write._replace(refused=refused), *counted, rate_limits.spend(charge), *live]
        dynamo.transact([*writes, *[outbox(e) for e in events]])

    def set_leg_status(self, call_id: str, leg_identity: str, status: str, *, live: bool = True) -> None:
        """The outcome of the transfer that dialled `leg_identity` (its leg could not be dialled, it left): found in
        the call's list as it is now, and written only while it is still at that place; a leg no longer `live`
        then gives its place among its owner's live calls back (once, whoever else gives it back too)."""
        call = self.get(call_id)
        places = [i for i, t in enumerate(call.transfers if call else []) if t.leg_identity == leg_identity]
        if call is None or not places:
            return
        index = places[0]
        update = dynamo.Write(
            {
                "Update": {
                    "TableName": _TABLE.name,
                    "Key": dynamo.marshal(keys.call(call_id)),
                    "UpdateExpression": f"SET transfers[{index}].#status = :status",
                    "ConditionExpression": f"transfers[{index}].leg_identity = :leg",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": dynamo.values(status=status, leg=leg_identity),
                }
            },
            lambda _old: StatusChanged(f"the transfers of call {call_id} changed"),
        )
        dynamo.transact([update])
        if not live:
            accounts.give_back(call.owner_id, [leg_identity])

    def append_transfer(
        self,
        call: CallRecord,
        transfer: TransferRecord,
        *,
        status: CallStatus,
        end_reason: str | None = None,
        events: Sequence[EventRecord] = (),
    ) -> CallRecord:
        """Add a transfer to the call, with its events, if the call is in `status` and otherwise as read
        (StatusChanged otherwise; NotFound when it is gone); with `end_reason`, that is set too (a call that ended).
        Returns the call as written."""
        sets = {"end_reason": end_reason} if end_reason is not None else {}
        write = _changed(
            call,
            sets,
            "#status = :status",
            {"status": status.value},
            events,
            append={"transfers": [transfer.model_dump(mode="json")]},
        )
        dynamo.transact([write, *[outbox(e) for e in events]])
        return call.model_copy(
            update={
                **sets,
                "transfers": [*call.transfers, transfer],
                "event_sequence": call.event_sequence + len(events),
            }
        )
