"""Every DynamoDB write the product makes, per item, with the write capacity it costs, counted in moto's backend.

DynamoDB's rules (Developer Guide, "Read/write capacity mode" and "Global secondary indexes: provisioned throughput
considerations"):
- a write costs 1 WCU per KB (1,024 bytes, rounded up) of the larger of the item before and after it; a delete, of the
  item deleted; a conditional write whose condition fails still costs the item as it is (1 WCU at least);
- an item of a TransactWriteItems costs twice that (DynamoDB prepares and commits each one); a transaction that is
  cancelled is counted apart (`cancelled`) and charged nothing here;
- a write that puts an item into a global secondary index, takes it out, or changes what the index projects of it
  also writes the index: 1 write of the projected item (an index key that changes: a delete and a put, 2 writes), each
  at 1 WCU per KB of the projected item. Each index entry is an item of its own here, beside its table's item.

The backend's `put_item`, `update_item` and `delete_item` (which its `transact_write_items` calls for each element) are
wrapped while a ledger is installed: the item is read before and after, inside the DynamoDB lock the local stack
holds around every request (local/patches.py `serialise_dynamodb`), so concurrent writers never interleave here.
"""

from __future__ import annotations

import base64
import math
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

KB = 1024


@dataclass(frozen=True)
class ItemKey:
    """One item: of a table (`index` None), or its entry in one of the table's global secondary indexes."""

    table: str  # the template's logical id (CallsTable, ...)
    key: tuple[str, ...]  # the table's key values (partition, sort)
    index: str | None = None
    index_partition: str | None = None  # the index's partition key value (its entry's partition)

    def label(self) -> str:
        where = self.table + (f" / index {self.index} ({self.index_partition})" if self.index else "")
        return f"{where}: {' / '.join(self.key)}"


@dataclass
class Tally:
    writes: int = 0  # write requests applied to the item (a transaction's element, a single write)
    units: int = 0  # WCU
    failed: int = 0  # single writes whose condition failed (charged, not applied)
    largest: int = 0  # bytes: the largest size the item had when written

    def add(self, units: int, size: int, *, failed: bool = False) -> None:
        self.writes += 1
        self.units += units
        self.failed += int(failed)
        self.largest = max(self.largest, size)


@dataclass
class Ledger:
    """Writes per item, per phase of a run (`phase` names where the writes being made now go)."""

    tables: dict[str, str]  # physical table name -> logical id
    phase: str = "setup"
    phases: dict[str, dict[ItemKey, Tally]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Tally)))
    cancelled: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # transactions cancelled, per phase
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: ItemKey, units: int, size: int, *, failed: bool = False) -> None:
        with self._lock:
            self.phases[self.phase][key].add(units, size, failed=failed)

    def tallies(self, phase: str) -> dict[ItemKey, Tally]:
        return dict(self.phases.get(phase, {}))


# ---------------------------------------------------------------- sizes


def attribute_bytes(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it (DynamoDB JSON, as moto holds it)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))
    if kind == "N":  # about one byte per two significant digits, plus one
        digits = str(inner).lstrip("+-").split("e")[0].split("E")[0].replace(".", "").strip("0")
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_bytes({kind[0]: member}) for member in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(member) for member in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_bytes(member) for name, member in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_bytes(attributes: dict[str, Any] | None) -> int:
    if not attributes:
        return 0
    return sum(len(name.encode()) + attribute_bytes(value) for name, value in attributes.items())


def units_of(size: int) -> int:
    return max(1, math.ceil(size / KB))


# ---------------------------------------------------------------- the backend's writes


_state = threading.local()  # .transaction: the writes of the transaction under way on this thread


def _attributes(item: Any) -> dict[str, Any] | None:
    return item.to_json()["Attributes"] if item is not None else None


def _key_of(table: Any, attributes: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_key = DynamoType(attributes[table.hash_key_attr])
    range_key = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
    return hash_key, range_key


def _plain_key(table: Any, attributes: dict[str, Any]) -> tuple[str, ...]:
    names = [table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])]
    return tuple(str(next(iter(attributes[n].values()))) for n in names)


class _Write:
    """One write to one item: what the ledger charges for it and its index entries."""

    def __init__(self, ledger: Ledger, table: Any, key_attributes: dict[str, Any]) -> None:
        self.ledger = ledger
        self.table = table
        self.logical = ledger.tables.get(table.name, table.name)
        self.key = _plain_key(table, key_attributes)
        self.hash_key, self.range_key = _key_of(table, key_attributes)
        self.before = _attributes(table.get_item(self.hash_key, self.range_key))

    def charges(self, *, failed: bool) -> list[tuple[ItemKey, int, int]]:
        """(item, WCU, size) of the table's item and of each index entry the write changed."""
        after = self.before if failed else _attributes(self.table.get_item(self.hash_key, self.range_key))
        size = max(item_bytes(self.before), item_bytes(after))
        charged = [(ItemKey(self.logical, self.key), units_of(size), size)]
        if failed:
            return charged
        for index in self.table.global_indexes:
            charged += self._index_charges(index, self.before, after)
        return charged

    def _index_charges(
        self, index: Any, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> list[tuple[ItemKey, int, int]]:
        names = [k["AttributeName"] for k in index.schema]
        old = _projected(index, self.table, before, names)
        new = _projected(index, self.table, after, names)
        if old == new:
            return []
        partition = names[0]

        def entry(image: dict[str, Any]) -> ItemKey:
            return ItemKey(self.logical, self.key, index.name, str(next(iter(image[partition].values()))))

        if old is not None and new is not None and _index_key(old, names) == _index_key(new, names):
            size = max(item_bytes(old), item_bytes(new))  # the entry updated in place
            return [(entry(new), units_of(size), size)]
        # put into the index, taken out, or moved to another key: a delete and a put
        return [(entry(image), units_of(item_bytes(image)), item_bytes(image)) for image in (old, new) if image]


def _projected(index: Any, table: Any, item: dict[str, Any] | None, names: list[str]) -> dict[str, Any] | None:
    """What the index holds of the item (None when the item is not in it: a key attribute missing)."""
    if item is None or any(n not in item for n in names):
        return None
    projection = index.projection or {}
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return item
    keep = {*names, table.hash_key_attr, *([table.range_key_attr] if table.range_key_attr else [])}
    if kind == "INCLUDE":
        keep |= set(projection.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in keep}


def _index_key(image: dict[str, Any] | None, names: list[str]) -> tuple[Any, ...] | None:
    return None if image is None else tuple(str(image[n]) for n in names)


def _wrapped(ledger: Ledger, original: Any, key_argument: int, *, from_item: bool = False) -> Any:
    from moto.dynamodb.exceptions import ConditionalCheckFailed

    def method(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        table = self.get_table(table_name)
        given = args[key_argument - 1] if len(args) >= key_argument else kwargs["item_attrs" if from_item else "key"]
        write = _Write(ledger, table, given)
        try:
            result = original(self, table_name, *args, **kwargs)
        except ConditionalCheckFailed:
            _charge(ledger, write.charges(failed=True), failed=True)
            raise
        _charge(ledger, write.charges(failed=False), failed=False)
        return result

    return method


def _charge(ledger: Ledger, charges: list[tuple[ItemKey, int, int]], *, failed: bool) -> None:
    pending = getattr(_state, "transaction", None)
    if pending is not None:  # the transaction's writes count once it commits, each twice (index entries once)
        pending.extend((key, units * (2 if key.index is None else 1), size) for key, units, size in charges)
        return
    for key, units, size in charges:
        ledger.record(key, units, size, failed=failed)


def _transaction(ledger: Ledger, original: Any) -> Any:
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _state.transaction = []
        try:
            original(self, transact_items)
        except Exception:
            with ledger._lock:
                ledger.cancelled[ledger.phase] += 1
            raise
        else:
            for key, units, size in _state.transaction:
                ledger.record(key, units, size)
        finally:
            _state.transaction = None

    return transact_write_items


@contextmanager
def counting(tables: dict[str, str]) -> Iterator[Ledger]:
    """A ledger of every write to moto's DynamoDB while the block runs (`tables`: physical name -> logical id)."""
    from moto.dynamodb.models import DynamoDBBackend

    ledger = Ledger(tables)
    saved = {name: getattr(DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item")}
    saved_transaction = DynamoDBBackend.transact_write_items
    DynamoDBBackend.put_item = _wrapped(ledger, saved["put_item"], 1, from_item=True)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _wrapped(ledger, saved["update_item"], 1)  # type: ignore[method-assign]
    DynamoDBBackend.delete_item = _wrapped(ledger, saved["delete_item"], 1)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _transaction(ledger, saved_transaction)  # type: ignore[method-assign]
    try:
        yield ledger
    finally:
        for name, method in saved.items():
            setattr(DynamoDBBackend, name, method)
        DynamoDBBackend.transact_write_items = saved_transaction  # type: ignore[method-assign]
