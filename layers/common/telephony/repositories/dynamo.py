"""What every repository needs: boto3's (de)serialisation, DynamoDB's errors as ours, and transactions whose
refused conditions come back as the domain errors their writes named."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, NamedTuple

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from telephony import aws
from telephony.errors import Conflict, DomainError, InvalidInput, UpstreamUnavailable

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

_UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
    "TransactionConflictException",
}

# DynamoDB refuses a write that meets another request on one of its items at that moment: a transaction is
# cancelled (reason TransactionConflict; one user's concurrent calls all count on that user's counters) and a
# single write to an item inside a running transaction fails with TransactionConflictException. Nothing of the
# refused write is applied and the SDK does not retry either, so they are tried again here, after a random
# pause that doubles with each attempt; a conflict that outlasts them is a 503.
ATTEMPTS = 5
_PAUSE_MS = 10
_BUSY_REASONS = ("ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict")
KEY_BYTES = 1024  # DynamoDB's limit for a sort key; partition keys allow 2048, ours are far shorter


# ---------------------------------------------------------------- values


def _to_storable(value: Any) -> Any:
    """What TypeSerializer takes: floats as Decimals (it refuses floats), None left out of maps."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_storable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_to_storable(v) for v in value]
    return value


def _to_plain(value: Any) -> Any:
    """TypeDeserializer's answer as plain JSON types: whole Decimals as int, others as float, sets as lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _to_plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_to_plain(v) for v in value]
    return value


def marshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item in DynamoDB's JSON (attributes that are None are not written)."""
    return {k: _serializer.serialize(_to_storable(v)) for k, v in item.items() if v is not None}


def unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python (numbers as int or float, sets as lists)."""
    return {k: _to_plain(_deserializer.deserialize(v)) for k, v in item.items()}


def values(**named: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(status="x") -> {":status": {"S": "x"}}."""
    return {f":{k}": _serializer.serialize(_to_storable(v)) for k, v in named.items()}


class Update(NamedTuple):
    """An UpdateExpression's SET and REMOVE clauses with its names and values, from plain field names."""

    expression: str
    names: dict[str, str]
    values: dict[str, Any]


def update_of(sets: Mapping[str, Any], *, remove: Sequence[str] = (), prefix: str = "f") -> Update:
    names: dict[str, str] = {}
    vals: dict[str, Any] = {}
    clauses = []
    if sets:
        parts = []
        for i, (name, value) in enumerate(sets.items()):
            names[f"#{prefix}{i}"] = name
            vals[f"{prefix}{i}"] = value
            parts.append(f"#{prefix}{i} = :{prefix}{i}")
        clauses.append("SET " + ", ".join(parts))
    if remove:
        for i, name in enumerate(remove):
            names[f"#{prefix}r{i}"] = name
        clauses.append("REMOVE " + ", ".join(f"#{prefix}r{i}" for i in range(len(remove))))
    return Update(" ".join(clauses), names, vals)


# ---------------------------------------------------------------- errors


def unavailable() -> UpstreamUnavailable:
    return UpstreamUnavailable("the database is busy; retry shortly", details=[{"service": "dynamodb"}])


class ConditionFailed(Conflict):
    """A single conditional write found the item in another state; `item` is the item as it was, when asked
    for. Repositories turn it into the domain error it means before it leaves them."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the resource was changed by another request")
        self.item = item


def call(operation: Callable[..., Any], **kwargs: Any) -> Any:
    """Run one DynamoDB call: throttling becomes UpstreamUnavailable, a failed condition ConditionFailed; a write
    refused for a transaction running on its item is tried again (see ATTEMPTS)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return _retried(lambda: operation(**kwargs), lambda exc: aws.error_code(exc) == "TransactionConflictException")
    except ClientError as exc:
        code = aws.error_code(exc)
        if code == "ConditionalCheckFailedException":
            old: Any = exc.response.get("Item")
            raise ConditionFailed(unmarshal(old) if old else None) from exc
        if code in _UNAVAILABLE:
            raise unavailable() from exc
        raise
    except BotoCoreError as exc:
        raise unavailable() from exc


def _retried(send: Callable[[], Any], contention: Callable[[Any], bool]) -> Any:
    """`send()`, tried again after `pause` while it fails with an error `contention` accepts, ATTEMPTS times at most;
    the last error is raised as it came."""
    from botocore.exceptions import ClientError

    for attempt in range(1, ATTEMPTS):
        try:
            return send()
        except ClientError as exc:
            if not contention(exc):
                raise
        pause(attempt)
    return send()


def pause(attempt: int) -> None:
    """A random pause before attempt `attempt + 1`, up to 10 ms doubled per attempt (full jitter: concurrent
    requests do not meet again in step)."""
    time.sleep(secrets.randbelow(_PAUSE_MS * 2 ** (attempt - 1) + 1) / 1000)


def get_item(table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """One item by its key, read strongly consistent (see repositories/__init__.py), as plain values."""
    item = call(aws.dynamodb().get_item, TableName=table, Key=marshal(key), ConsistentRead=True).get("Item")
    return unmarshal(item) if item else None


# ---------------------------------------------------------------- transactions

Refusal = Callable[[dict[str, Any] | None], DomainError]


class Write(NamedTuple):
    """One element of a transaction, and what its condition failing means: given the item as it was (when the
    element asks for it with ReturnValuesOnConditionCheckFailure), the domain error to raise."""

    element: dict[str, Any]
    refused: Refusal | None = None


def transact(writes: Sequence[Write]) -> None:
    """Write all or none. A transaction cancelled only because other requests held its items at that moment (or
    throttling) is tried again (see ATTEMPTS), then answered as UpstreamUnavailable; one cancelled by a condition
    raises the domain error of the first write whose condition failed."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _retried(lambda: aws.dynamodb().transact_write_items(TransactItems=[w.element for w in writes]), _busy)
    except ClientError as exc:
        if aws.error_code(exc) == "TransactionCanceledException":
            if _busy(exc):
                raise unavailable() from exc
            raw = exc.response.get("CancellationReasons") or []  # type: ignore[typeddict-item]
            for write, reason in zip(writes, raw, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    old = unmarshal(reason["Item"]) if reason.get("Item") else None
                    if write.refused is None:
                        raise ConditionFailed(old) from exc
                    raise write.refused(old) from exc
            raise unavailable() from exc
        if aws.error_code(exc) in _UNAVAILABLE:
            raise unavailable() from exc
        raise
    except BotoCoreError as exc:
        raise unavailable() from exc


def _reasons(exc: Any) -> list[str]:
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons") or []]


def _busy(exc: Any) -> bool:
    """A transaction cancelled only by contention or throttling, no condition failed: nothing was written."""
    reasons = _reasons(exc) if aws.error_code(exc) == "TransactionCanceledException" else []
    return any(r in _BUSY_REASONS for r in reasons) and "ConditionalCheckFailed" not in reasons


# ---------------------------------------------------------------- batches

BATCH_GET = 100  # keys per BatchGetItem, DynamoDB's limit
BATCH_WRITE = 25  # writes per BatchWriteItem, DynamoDB's limit


def batch_get(table: str, item_keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items of these keys that exist (in no particular order), read consistently, BATCH_GET keys a request.
    Keys DynamoDB leaves unprocessed (throttled, or beyond the 16 MB one answer holds) are asked for again after a
    pause, ATTEMPTS times at most, then UpstreamUnavailable."""
    client = aws.dynamodb()
    found: list[dict[str, Any]] = []
    for start in range(0, len(item_keys), BATCH_GET):
        chunk = [marshal(k) for k in item_keys[start : start + BATCH_GET]]
        pending: dict[str, Any] = {table: {"Keys": chunk, "ConsistentRead": True}}
        for attempt in range(1, ATTEMPTS + 1):
            if attempt > 1:
                pause(attempt - 1)
            result = call(client.batch_get_item, RequestItems=pending)
            found += [unmarshal(i) for i in result.get("Responses", {}).get(table, [])]
            pending = result.get("UnprocessedKeys") or {}
            if not pending:
                break
        if pending:
            raise unavailable()
    return found


def batch_put(table: str, items: Sequence[Mapping[str, Any]]) -> None:
    """Put these plain items (no two with one key), BATCH_WRITE a request, each written whole and unconditionally.
    Writes DynamoDB leaves unprocessed are sent again after a pause, ATTEMPTS times at most, then
    UpstreamUnavailable: what was written by then stays written. Putting the same items again writes the same
    items, so a caller that retries after that completes the batch."""
    client = aws.dynamodb()
    for start in range(0, len(items), BATCH_WRITE):
        chunk = [{"PutRequest": {"Item": marshal(i)}} for i in items[start : start + BATCH_WRITE]]
        pending: dict[str, Any] = {table: chunk}
        for attempt in range(1, ATTEMPTS + 1):
            if attempt > 1:
                pause(attempt - 1)
            result = call(client.batch_write_item, RequestItems=pending)
            pending = result.get("UnprocessedItems") or {}
            if not pending:
                break
        if pending:
            raise unavailable()


# ---------------------------------------------------------------- pages


def page_token(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(unmarshal(last_key)).encode()).decode().rstrip("=")


def start_key(token: str | None, *, partition: Mapping[str, str], sort: str) -> dict[str, Any] | None:
    """Decode a next_token, refusing one that points outside the caller's own partition or is not the key of an
    item of the index (`pk`, the table's `sk` if it has one, the index's partition and `sort` keys): anything
    else is DynamoDB's ValidationException, which would be a 500."""
    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        needed = {"pk", sort, *partition}
        if not isinstance(decoded, dict) or set(decoded) not in (needed, needed | {"sk"}):
            raise ValueError(token)
        if not all(isinstance(v, str) and 0 < len(v.encode()) <= KEY_BYTES for v in decoded.values()):
            raise ValueError(token)
        if any(decoded.get(k) != v for k, v in partition.items()):
            raise ValueError(token)
    except (ValueError, binascii.Error) as exc:
        raise _bad_token() from exc
    return marshal(decoded)


def _bad_token() -> Exception:
    return InvalidInput("next_token is not valid", details=[{"field": "next_token"}])


def query_page(
    table: str, index: str, key_name: str, key_value: str, *, limit: int, token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a partition, newest first; the token cannot leave the partition."""
    partition = {key_name: key_value}
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": f"{key_name} = :pk",
        "ExpressionAttributeValues": values(pk=key_value),
        "ScanIndexForward": False,
        "Limit": limit,
    }
    start = start_key(token, partition=partition, sort=key_name.removesuffix("pk") + "sk")
    if start:
        kwargs["ExclusiveStartKey"] = start
    from botocore.exceptions import ClientError

    try:
        result = call(aws.dynamodb().query, **kwargs)
    except ClientError as exc:  # a start key DynamoDB refuses all the same is the caller's token
        if start and aws.error_code(exc) == "ValidationException":
            raise _bad_token() from exc
        raise
    return [unmarshal(i) for i in result.get("Items", [])], page_token(result.get("LastEvaluatedKey"))


class Table:
    """A table named by a setting, read when first used: a repository made in a function whose template gives
    it no access to that table fails only if it touches it."""

    def __init__(self, setting: str) -> None:
        self.setting = setting

    @property
    def name(self) -> str:
        from telephony.config import settings

        return settings().require(self.setting)
