"""moto, adjusted for the local stack (and the tests, which deploy it the same way).

- `serialise_dynamodb`: DynamoDB applies the writes to one item one at a time, so a conditional update and a
  transaction on the same item never interleave. moto checks a condition and then mutates the item without a
  lock, so two threads (the gateway's and a Step Functions task's) can interleave and both "succeed". The local
  stack and the tests run many threads, so every DynamoDB call is serialised here, which is what the product
  relies on and what DynamoDB guarantees.
- `transactions_back_up_their_items`, `dynamodb_items_untracked`: costs that grew with the data, each write
  slower and the process larger the longer the stack ran.
- `dynamodb_answers_as_json`: moto's generic serializer took most of its time answering a Query.
- `list_moto_modules_once`: a cost of every request to moto's server.
- `sqs_checks_message_bytes`: SQS refuses a message longer than the queue's MaximumMessageSize in bytes, and
  characters outside XML's; moto counts characters and takes any.
- `stream_records_as_dynamodb_writes`, `expire_dynamodb_items`, `stream_iterators_expire`: a table's stream holds
  what DynamoDB Streams would hold (see each), and TTL deletes what has expired.
- `adjust_kms`: the template's keys take the ids the template resolved for them, and an encryption context is
  matched whole, as KMS matches it.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
import time
from typing import Any

_lock = threading.RLock()
_applied = False


def adjust_dynamodb() -> None:
    """Every DynamoDB adjustment below, for the moto of the local stack, the tests and the benchmarks."""
    serialise_dynamodb()
    dynamodb_refuses_oversized_keys()
    transactions_back_up_their_items()
    dynamodb_items_untracked()
    dynamodb_answers_as_json()
    stream_records_as_dynamodb_writes()
    stream_iterators_expire()


def serialise_dynamodb() -> None:
    """Every DynamoDB request, and every DynamoDB Streams request: a stream's reader sees a write whole, and never
    the records of a transaction that is still being applied (and may yet be undone)."""
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    for handler in (DynamoHandler, DynamoDBStreamsHandler):
        handler.call_action = _serialised(handler.call_action)  # type: ignore[method-assign]
    _applied = True


def _serialised(original: Any) -> Any:
    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    return call_action


def list_moto_modules_once() -> None:
    """moto's server lists its own package folder (~170 entries, an `isdir` each) on every request, to test
    whether the host names a service: ~0.7 ms of a request when it does not (127.0.0.1:5000), a seventh of a
    DynamoDB request through the local stack. The folder does not change while the server runs."""
    from moto import backends

    if getattr(backends.list_of_moto_modules, "__listed_once__", False):
        return
    modules = tuple(backends.list_of_moto_modules())

    def list_of_moto_modules() -> tuple[str, ...]:
        return modules

    list_of_moto_modules.__listed_once__ = True  # type: ignore[attr-defined]
    backends.list_of_moto_modules = list_of_moto_modules  # type: ignore[assignment]


_in_transaction = threading.local()


def transactions_back_up_their_items() -> None:
    """moto backs a TransactWriteItems up by deep-copying every table it touches, once per element that
    touches it, so the local stack slowed down as its tables filled: a two-element transaction took 6 ms on a
    table of 10 items and 100-140 ms at 1,000 items, 250-340 ms at 3,000 (measured here). Here the items the
    elements name are copied before, and put back if the transaction fails: all or nothing, as in DynamoDB
    and as moto's own rollback, at the cost of the items it names rather than of the tables."""
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    backend = models.DynamoDBBackend
    if getattr(backend.transact_write_items, "__backs_up_items__", False):
        return
    original = backend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _items_named(self, transact_items)
        streams = _stream_lengths(self, transact_items)
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except Exception:
            _put_back(saved)  # item by item: no table is copied here
            for shard, length in streams:  # a transaction that failed wrote nothing, to its streams neither
                del shard.items[length:]
            raise
        finally:
            _in_transaction.active = False

    transact_write_items.__backs_up_items__ = True  # type: ignore[attr-defined]
    backend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    models.copy = _TablesNotCopiedInTransactions(Table)  # type: ignore[assignment]


class _TablesNotCopiedInTransactions:
    """What moto.dynamodb.models sees as `copy`: its whole-table backup inside a transaction is the table itself
    (the transaction's items are saved by `transact_write_items` above); every other copy is a real one."""

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_class) and getattr(_in_transaction, "active", False):
            return value
        return copy.deepcopy(value, memo)


def _items_named(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for each element whose item can be found; moto
    itself refuses the others (no such table, a key missing), and a refusal puts the earlier ones back."""
    found = (_item_named(backend, element) for element in transact_items)
    return [saved for saved in found if saved is not None]


def _item_named(backend: Any, element: dict[str, Any]) -> tuple[Any, Any, Any, Any] | None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        kind, operation = next(iter(element.items()))
        table = backend.tables[operation["TableName"]]
        key = operation["Item"] if kind == "Put" else operation["Key"]
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        current = table.get_item(hash_key, range_key)
    except Exception:  # moto reports this element's problem itself
        return None
    return table, hash_key, range_key, copy.deepcopy(current) if current is not None else None


def _stream_lengths(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, int]]:
    """(stream shard, its number of records) of each streamed table a transaction names."""
    shards = {}
    for element in transact_items:
        operation = next(iter(element.values()), None)
        table = backend.tables.get(operation.get("TableName")) if isinstance(operation, dict) else None
        if table is not None and table.stream_shard is not None:
            shards[id(table.stream_shard)] = (table.stream_shard, len(table.stream_shard.items))
    return list(shards.values())


def _put_back(saved: list[tuple[Any, Any, Any, Any]]) -> None:
    for table, hash_key, range_key, item in reversed(saved):
        if item is None:
            table.delete_item(hash_key, range_key)
        else:
            table.put_item(item.to_json()["Attributes"], overwrite=True)


def dynamodb_items_untracked() -> None:
    """moto keeps every model object it creates in a list for its dashboard, each DynamoDB item included: every
    write creates one (an update two), so the local stack's memory grew with every write it served, for as long
    as it ran. DynamoDB's items are left out of that list; the dashboard still lists tables."""
    from moto.dynamodb.models.dynamo_type import Item

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    Item.__new__ = staticmethod(__new__)  # type: ignore[method-assign,assignment]


# DynamoDB's data operations: their answers are DynamoDB JSON as moto holds it, items included.
_DATA_OPERATIONS = frozenset(
    {
        "GetItem",
        "BatchGetItem",
        "TransactGetItems",
        "Query",
        "Scan",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    }
)


def dynamodb_answers_as_json() -> None:
    """moto 5.2 writes every DynamoDB answer through its model-driven serializer, which visits each attribute of
    each item against the service model: ~80% of moto's time answering a Query for a page of 50 calls (96 of
    122 ms, profiled in a cold start), more than DynamoDB's own work in every measure that includes moto's.
    The answers of the data operations are DynamoDB JSON as moto holds them, so they are written with
    `json.dumps`, keeping the output shape's members as the serializer does. An answer that is not plain JSON
    (a binary attribute, which moto hands over as bytes, or a timestamp) still goes through the serializer."""
    from moto import settings
    from moto.core.responses import ActionResult

    original = ActionResult.execute_result
    if getattr(original, "__as_json__", False):
        return

    def execute_result(self: Any, context: Any) -> Any:
        operation = context.operation_model
        result = self.result
        if (
            operation.name in _DATA_OPERATIONS
            and context.service_model.service_name == "dynamodb"
            and isinstance(result, dict)
            and not settings.PRETTIFY_RESPONSES
        ):
            members = operation.output_shape.members if operation.output_shape is not None else {}
            try:
                body = json.dumps({k: v for k, v in result.items() if k in members and v is not None})
            except TypeError:  # bytes or a datetime: the serializer's to encode
                pass
            else:
                return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
        return original(self, context)

    execute_result.__as_json__ = True  # type: ignore[attr-defined]
    execute_result.__original__ = original  # type: ignore[attr-defined]
    ActionResult.execute_result = execute_result  # type: ignore[method-assign]


# The characters a message may hold (SQS's list, XML's): any other is refused with InvalidMessageContents.
_SQS_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def sqs_checks_message_bytes() -> None:
    """SendMessage and SendMessageBatch, as SQS checks a message body: its size in UTF-8 bytes against the queue's
    MaximumMessageSize (moto compares the number of characters), and its characters (moto takes any)."""
    from moto.sqs.exceptions import InvalidParameterValue, SQSException
    from moto.sqs.models import SQSBackend

    original = SQSBackend._validate_message
    if getattr(original, "__in_bytes__", False):
        return

    def _validate_message(self: Any, queue: Any, message_body: str, *args: Any, **kwargs: Any) -> None:
        if _SQS_INVALID.search(message_body):
            raise SQSException("InvalidMessageContents", "Invalid characters found.")
        if len(message_body.encode("utf-8", "surrogatepass")) > queue.maximum_message_size:
            raise InvalidParameterValue(
                "One or more parameters are invalid. Reason: "
                f"Message must be shorter than {queue.maximum_message_size} bytes."
            )
        original(self, queue, message_body, *args, **kwargs)

    _validate_message.__in_bytes__ = True  # type: ignore[attr-defined]
    SQSBackend._validate_message = _validate_message  # type: ignore[method-assign]


def dynamodb_refuses_oversized_keys() -> None:
    """DynamoDB refuses a key over its limits (2,048 bytes of partition key, 1,024 of sort key) in every request
    that names one, with a ValidationException; moto checks them only when an item is written. A read by such a
    key must fail here as it fails on AWS, or the product's answer to it would go untested."""
    from moto.dynamodb.exceptions import HashKeyTooLong
    from moto.dynamodb.limits import HASH_KEY_MAX_LENGTH
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    if getattr(DynamoDBBackend.get_item, "__checks_key_sizes__", False):
        return

    def checked(original: Any, key_argument: str, position: int) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            table_name = kwargs.get("table_name", args[0] if args else None)
            key = kwargs.get(key_argument, args[position] if len(args) > position else None)
            if table_name and isinstance(key, dict):
                self.get_table(table_name)._validate_key_sizes(key)
            return original(self, *args, **kwargs)

        method.__checks_key_sizes__ = True  # type: ignore[attr-defined]
        return method

    DynamoDBBackend.get_item = checked(DynamoDBBackend.get_item, "keys", 1)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = checked(DynamoDBBackend.update_item, "key", 1)  # type: ignore[method-assign]
    DynamoDBBackend.delete_item = checked(DynamoDBBackend.delete_item, "key", 1)  # type: ignore[method-assign]
    original_query = DynamoDBBackend.query

    def query(self: Any, table_name: str, hash_key_dict: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(hash_key_dict, dict) and DynamoType(hash_key_dict).size() > HASH_KEY_MAX_LENGTH:
            raise HashKeyTooLong
        return original_query(self, table_name, hash_key_dict, *args, **kwargs)

    DynamoDBBackend.query = query  # type: ignore[method-assign]


_stream_writes = threading.local()


def stream_records_as_dynamodb_writes() -> None:
    """A table's stream records each write as DynamoDB Streams does, where moto records otherwise:
    - a PutItem or UpdateItem that changes nothing writes no record (moto writes a MODIFY whose images are equal);
    - an UpdateItem that creates its item writes one INSERT with the whole new item (moto writes two: the bare
      key, then the item);
    - a record's SizeBytes is the size of its keys and images as DynamoDB counts an item's (moto's counts the
      record's JSON, timestamps and all), and its eventVersion is the one DynamoDB writes, 1.1.
    A transaction that fails writes no record (`transactions_back_up_their_items`)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import StreamShard

    original_add = StreamShard.add
    if getattr(original_add, "__as_dynamodb__", False):
        return

    def add(self: Any, old: Any, new: Any) -> None:
        pending = getattr(_stream_writes, "pending", None)
        if pending is not None:  # an UpdateItem under way: its record is written once it is done
            pending.append((self, old, new))
            return
        if old is not None and new is not None and old.attrs == new.attrs:
            return
        before = len(self.items)
        original_add(self, old, new)
        if len(self.items) > before:
            _as_dynamodb_writes_it(self.items[-1].record)

    original_update = DynamoDBBackend.update_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        _stream_writes.pending = []
        try:
            result = original_update(self, *args, **kwargs)
            pending = _stream_writes.pending
        finally:
            _stream_writes.pending = None
        firsts: dict[int, tuple[Any, Any]] = {}
        lasts: dict[int, Any] = {}
        for shard, old, new in pending:
            firsts.setdefault(id(shard), (shard, old))
            lasts[id(shard)] = new
        for key, (shard, old) in firsts.items():
            if old is not None or lasts[key] is not None:
                add(shard, old, lasts[key])
        return result

    add.__as_dynamodb__ = True  # type: ignore[attr-defined]
    StreamShard.add = add  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]


def _as_dynamodb_writes_it(record: dict[str, Any]) -> None:
    change = record["dynamodb"]
    images = [change.get(part) or {} for part in ("Keys", "NewImage", "OldImage")]
    change["SizeBytes"] = sum(
        len(name.encode()) + _attribute_size(value) for image in images for name, value in image.items()
    )
    record["eventVersion"] = "1.1"


def _attribute_size(value: dict[str, Any]) -> int:
    """An attribute value's size in bytes, as DynamoDB counts it for an item's size."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))
    if kind == "N":
        digits = str(inner).lstrip("+-").replace(".", "").split("e")[0].split("E")[0].strip("0")
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_attribute_size({kind[0]: member}) for member in inner)
    if kind == "L":
        return 3 + sum(1 + _attribute_size(member) for member in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + _attribute_size(member) for name, member in inner.items())
    return len(json.dumps(inner).encode())


# DynamoDB's TTL deletes an expired item as the DynamoDB service, and says so in the stream record.
_TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}
# Expiry times further in the past than this are not acted on by TTL (five years, as DynamoDB documents).
_TTL_HORIZON = 5 * 365 * 24 * 3600


def expire_dynamodb_items(now: float | None = None) -> int:
    """Delete the items whose TTL attribute (a Number, in epoch seconds) is past, in every table of moto's
    DynamoDB with TTL enabled, as DynamoDB's TTL process does: each deletion writes a REMOVE stream record whose
    userIdentity names the DynamoDB service. moto never expires an item. Returns how many were deleted.

    DynamoDB deletes an expired item within days, and a read may still find it until then; here they are deleted
    when this runs (`local/event_sources.py` runs it on a period in `make dev`)."""
    from moto.dynamodb.models import dynamodb_backends

    moment = time.time() if now is None else now
    deleted = 0
    with _lock:
        for account in list(dynamodb_backends.values()):
            for backend in list(account.values()):
                for table in list(backend.tables.values()):
                    deleted += _expire(table, moment)
    return deleted


def _expire(table: Any, now: float) -> int:
    ttl = getattr(table, "ttl", None) or {}
    attribute = ttl.get("AttributeName")
    if ttl.get("TimeToLiveStatus") != "ENABLED" or not attribute:
        return 0
    expired = []
    for item in table.all_items():
        value = item.attrs.get(attribute)
        if value is None or value.type != "N":
            continue
        try:
            at = float(value.value)
        except ValueError:
            continue
        if now - _TTL_HORIZON <= at < now:
            expired.append(item)
    for item in expired:
        shard = table.stream_shard
        before = len(shard.items) if shard is not None else 0
        table.delete_item(item.hash_key, item.range_key)
        if shard is not None and len(shard.items) > before:
            shard.items[-1].record["userIdentity"] = dict(_TTL_IDENTITY)
    return len(expired)


# A shard iterator expires this long after it was handed out, as DynamoDB Streams documents.
ITERATOR_LIFETIME = 15 * 60.0


def stream_iterators_expire() -> None:
    """A shard iterator expires after 15 minutes (GetRecords then refuses it with ExpiredIteratorException), as in
    DynamoDB Streams. moto keeps every iterator it ever made, and every GetRecords makes one: a poller asking four
    times a second filled the process at ~1 KB each for as long as the stack ran."""
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    original_get_records = DynamoDBStreamsBackend.get_records
    if getattr(original_get_records, "__expire__", False):
        return
    original_get_shard_iterator = DynamoDBStreamsBackend.get_shard_iterator

    def forget_expired(backend: Any) -> None:
        born = backend.__dict__.setdefault("_local_iterators_born", {})
        oldest = time.monotonic() - ITERATOR_LIFETIME
        for arn in [arn for arn, at in born.items() if at < oldest]:
            born.pop(arn, None)
            backend.shard_iterators.pop(arn, None)

    def remember(backend: Any, arn: str) -> None:
        backend.__dict__.setdefault("_local_iterators_born", {})[arn] = time.monotonic()

    def get_shard_iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
        forget_expired(self)
        iterator = original_get_shard_iterator(self, *args, **kwargs)
        remember(self, iterator.arn)
        return iterator

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        forget_expired(self)
        if iterator_arn not in self.shard_iterators:
            raise JsonRESTError(
                "ExpiredIteratorException", "Iterator expired. The iterator was created over 15 min ago"
            )
        answer = original_get_records(self, iterator_arn, limit)
        remember(self, answer["NextShardIterator"])
        return answer

    get_records.__expire__ = True  # type: ignore[attr-defined]
    DynamoDBStreamsBackend.get_shard_iterator = get_shard_iterator  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]


# The tag that gives a KMS key the id the template resolved for it (moto's name for a chosen id elsewhere).
CUSTOM_KEY_ID_TAG = "_custom_id_"


def adjust_kms() -> None:
    kms_keys_take_custom_ids()
    kms_matches_encryption_context_whole()


def kms_keys_take_custom_ids() -> None:
    """CreateKey with a `_custom_id_` tag makes the key with that id (the tag itself is not kept), so that the
    template's `!Ref Key` can be known before the key exists, as every other name of the local stack is. moto
    honours that tag for other resources but draws every KMS key id at random."""
    from moto.kms.exceptions import ValidationException
    from moto.kms.models import KmsBackend

    original = KmsBackend.create_key
    if getattr(original, "__custom_ids__", False):
        return

    def create_key(
        self: Any, policy: Any, key_usage: Any, key_spec: Any, description: Any, tags: Any, *args: Any, **kwargs: Any
    ) -> Any:
        chosen = next((t.get("TagValue") for t in tags or [] if t.get("TagKey") == CUSTOM_KEY_ID_TAG), None)
        kept = [t for t in tags or [] if t.get("TagKey") != CUSTOM_KEY_ID_TAG]
        if chosen is not None and chosen in self.keys:
            raise ValidationException(f"A key with id {chosen} already exists")
        key = original(self, policy, key_usage, key_spec, description, kept, *args, **kwargs)
        if chosen is None:
            return key
        del self.keys[key.id]
        drawn_arn = key.arn
        key.id = chosen
        key.arn = drawn_arn.rsplit("/", 1)[0] + "/" + chosen
        if key.multi_region:
            key.multi_region_configuration["PrimaryKey"]["Arn"] = key.arn
        self.keys[chosen] = key
        if kept:
            self.tagger.delete_all_tags_for_resource(drawn_arn.rsplit("/", 1)[1])
            self.tagger.tag_resource(chosen, kept)
        return key

    create_key.__custom_ids__ = True  # type: ignore[attr-defined]
    KmsBackend.create_key = create_key  # type: ignore[method-assign]


def kms_matches_encryption_context_whole() -> None:
    """Decrypt refuses a ciphertext whose encryption context differs from the one it was encrypted with, as KMS
    does. moto authenticates the context as its keys and values written one after the other, so {"ab": "c"} and
    {"a": "bc"} (or {"a": "b", "c": "d"} and {"a": "bcd"}) were the same context."""
    from moto.kms import utils

    if getattr(utils._serialize_encryption_context, "__whole__", False):
        return

    def _serialize_encryption_context(encryption_context: dict[str, str]) -> bytes:
        return json.dumps(sorted(encryption_context.items()), ensure_ascii=False).encode()

    _serialize_encryption_context.__whole__ = True  # type: ignore[attr-defined]
    utils._serialize_encryption_context = _serialize_encryption_context
