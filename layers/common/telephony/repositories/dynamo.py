"""Marshalling and the two error translations every repository needs."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from telephony import aws
from telephony.errors import Conflict, InvalidInput, UpstreamUnavailable

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
# pause of up to 10, 20, 40, 80 ms (at most ~150 ms in all); a conflict that outlasts them is a 503.
ATTEMPTS = 5
_PAUSE_MS = 10
_BUSY_REASONS = ("ThrottlingError", "ProvisionedThroughputExceeded", "TransactionConflict")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_plain(v) for v in value]
    return value


def _dynamo_safe(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_safe(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_dynamo_safe(v) for v in value]
    return value


def marshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """A plain item in DynamoDB's JSON, as boto3's TypeSerializer after `_dynamo_safe` gives it: strings,
    booleans, integers of up to 38 digits, maps, lists and None are written directly (every write of every
    endpoint passes here; ~7x faster on a registration's item), anything else through the serializer."""
    return {k: _to_dynamo(v) for k, v in item.items() if v is not None}


_N_LIMIT = 10**38  # DynamoDB's numbers hold 38 digits; longer ones are the serializer's to refuse


def _to_dynamo(value: Any) -> dict[str, Any]:
    kind = type(value)  # exact types: a str or int subclass (an enum) goes to the serializer, as before
    if kind is str:
        return {"S": value}
    if kind is bool:
        return {"BOOL": value}
    if kind is int and -_N_LIMIT < value < _N_LIMIT:
        return {"N": str(value)}
    if kind is dict:
        return {"M": {k: _to_dynamo(v) for k, v in value.items() if v is not None}}
    if kind is list or kind is tuple:
        return {"L": [_to_dynamo(v) for v in value]}
    if value is None:
        return {"NULL": True}
    return _serializer.serialize(_dynamo_safe(value))  # type: ignore[return-value]


def unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as plain Python (numbers as int or float, sets as lists), as boto3's
    TypeDeserializer + `_plain` would give it; strings, numbers, maps and lists are read directly
    (every read of every endpoint passes here), binaries through the deserializer."""
    return {k: _from_dynamo(v) for k, v in item.items()}


def _from_dynamo(value: Mapping[str, Any]) -> Any:
    ((tag, raw),) = value.items()
    if tag == "S":
        return raw
    if tag == "N":
        return _number(raw)
    if tag == "M":
        return {k: _from_dynamo(v) for k, v in raw.items()}
    if tag == "L":
        return [_from_dynamo(v) for v in raw]
    if tag == "BOOL":
        return raw
    if tag == "NULL":
        return None
    if tag == "SS":
        return list(raw)
    if tag == "NS":
        return [_number(n) for n in raw]
    if tag == "B" and isinstance(raw, str):  # as DynamoDB sent it (aws._items_as_sent): base64 text
        value = {"B": base64.b64decode(raw)}
    elif tag == "BS" and any(isinstance(b, str) for b in raw):
        value = {"BS": [base64.b64decode(b) if isinstance(b, str) else b for b in raw]}
    return _plain(_deserializer.deserialize(value))  # type: ignore[arg-type]


def _number(raw: str) -> int | float:
    digits = raw[1:] if raw[:1] == "-" else raw
    if digits.isascii() and digits.isdigit():  # isdigit() alone takes other scripts' digits too
        return int(raw)
    number = Decimal(raw)
    return int(number) if number == number.to_integral_value() else float(number)


def values(**named: Any) -> dict[str, Any]:
    """ExpressionAttributeValues from keyword arguments: values(status="x") -> {":status": {"S": "x"}}."""
    return {f":{k}": _to_dynamo(v) for k, v in named.items()}


def unavailable(exc: Exception) -> UpstreamUnavailable:
    return UpstreamUnavailable("the database is busy; retry shortly", details=[{"service": "dynamodb"}])


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
            raise unavailable(exc) from exc
        raise
    except BotoCoreError as exc:
        raise unavailable(exc) from exc


def get_item(table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """One item by its key, read strongly consistent (see repositories/__init__.py), as plain values."""
    item = call(aws.dynamodb().get_item, TableName=table, Key=marshal(key), ConsistentRead=True).get("Item")
    return unmarshal(item) if item else None


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


class ConditionFailed(Conflict):
    """A conditional write found the item in another state; `item` is the item as it was, when asked for."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the resource was changed by another request")
        self.item = item


class TransactionCanceled(Conflict):
    """A transaction failed; `reasons` holds one code per item ("None" where that item was fine)."""

    def __init__(self, reasons: Sequence[str], items: Sequence[dict[str, Any] | None]) -> None:
        super().__init__("the resource was changed by another request")
        self.reasons = list(reasons)
        self.items = list(items)

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


def transact(items: list[dict[str, Any]]) -> None:
    """Write `items` all or none. A transaction cancelled only because other requests held its items at that
    moment (or throttling) is tried again (see ATTEMPTS), then answered as UpstreamUnavailable; one cancelled
    by a condition raises TransactionCanceled with every item's reason."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        _retried(lambda: aws.dynamodb().transact_write_items(TransactItems=items), _busy)
    except ClientError as exc:
        if aws.error_code(exc) == "TransactionCanceledException":
            if _busy(exc):
                raise unavailable(exc) from exc
            raw = exc.response.get("CancellationReasons") or []
            olds = [unmarshal(r["Item"]) if r.get("Item") else None for r in raw]
            raise TransactionCanceled(_reasons(exc), olds) from exc
        if aws.error_code(exc) in _UNAVAILABLE:
            raise unavailable(exc) from exc
        raise
    except BotoCoreError as exc:
        raise unavailable(exc) from exc


def _reasons(exc: Any) -> list[str]:
    return [r.get("Code", "None") for r in exc.response.get("CancellationReasons") or []]


def _busy(exc: Any) -> bool:
    """A transaction cancelled only by contention or throttling, no condition failed: nothing was written."""
    reasons = _reasons(exc) if aws.error_code(exc) == "TransactionCanceledException" else []
    return any(r in _BUSY_REASONS for r in reasons) and "ConditionalCheckFailed" not in reasons


def page_token(last_key: Mapping[str, Any] | None) -> str | None:
    import base64
    import json

    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(unmarshal(last_key)).encode()).decode().rstrip("=")


def start_key(token: str | None, *, partition: Mapping[str, str], sort: str) -> dict[str, Any] | None:
    """Decode a next_token, refusing one that points outside the caller's own partition or is not the key of an
    item of the index (`pk`, the table's `sk` if it has one, the index's partition and `sort` keys): anything
    else is DynamoDB's ValidationException, which would be a 500."""
    import base64
    import binascii
    import json

    if not token:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(decoded, dict) or set(decoded) - {"sk"} != {"pk", sort, *partition}:
            raise ValueError(token)
        if not all(isinstance(v, str) and 0 < len(v.encode()) <= _KEY_BYTES for v in decoded.values()):
            raise ValueError(token)
        if any(decoded.get(k) != v for k, v in partition.items()):
            raise ValueError(token)
    except (ValueError, binascii.Error) as exc:
        raise _bad_token() from exc
    return marshal(decoded)


_KEY_BYTES = 1024  # DynamoDB's limit for a sort key; partition keys allow 2048, ours are far shorter


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
