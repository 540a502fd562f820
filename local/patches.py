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
"""

from __future__ import annotations

import copy
import json
import re
import threading
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


def serialise_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True


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
        _in_transaction.active = True
        try:
            original(self, transact_items)
        except Exception:
            _put_back(saved)  # item by item: no table is copied here
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
