"""The local stack's adjustments of moto (local/patches.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import boto3
import moto
import pytest
from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from local.patches import (
    dynamodb_answers_as_json,
    dynamodb_items_untracked,
    list_moto_modules_once,
    transactions_back_up_their_items,
)
from tests.support import create_key_table


def test_the_moto_server_names_services_without_listing_its_folder_each_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = os.path.dirname(moto.__file__)
    expected = tuple(
        sorted(n for n in os.listdir(folder) if os.path.isdir(os.path.join(folder, n)) and not n.startswith("__"))
    )
    list_moto_modules_once()
    list_moto_modules_once()  # a second call keeps the first listing

    def no_listing(path: str) -> list[str]:
        raise AssertionError(f"listed {path} again")

    monkeypatch.setattr(os, "listdir", no_listing)
    assert tuple(backends.list_of_moto_modules()) == expected
    dispatcher = SimpleNamespace(backend_url_patterns=[])
    assert DomainDispatcherApplication.get_backend_for_host(dispatcher, "dynamodb") == "dynamodb"  # type: ignore[arg-type]
    assert DomainDispatcherApplication.get_backend_for_host(dispatcher, "127.0.0.1:5000") is None  # type: ignore[arg-type]


TABLE = "patched"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    transactions_back_up_their_items()
    dynamodb_items_untracked()
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_key_table(client, TABLE)
        for n in range(50):
            client.put_item(TableName=TABLE, Item={**_key(f"old{n}"), "v": {"N": str(n)}})
        yield client


def _key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "p"}, "sk": {"S": sk}}


def _items(client: Any) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=TABLE)["Items"], key=lambda item: item["sk"]["S"])


def _writes() -> list[dict[str, Any]]:
    """A put of a new item, an update and a delete of existing ones."""
    return [
        {"Put": {"TableName": TABLE, "Item": {**_key("new"), "v": {"N": "100"}}}},
        {
            "Update": {
                "TableName": TABLE,
                "Key": _key("old1"),
                "UpdateExpression": "SET v = :v, extra = :e",
                "ExpressionAttributeValues": {":v": {"N": "101"}, ":e": {"S": "x"}},
            }
        },
        {"Delete": {"TableName": TABLE, "Key": _key("old2")}},
    ]


def test_a_refused_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    before = _items(dynamodb)
    refused = {
        "ConditionCheck": {"TableName": TABLE, "Key": _key("old3"), "ConditionExpression": "attribute_not_exists(pk)"}
    }
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as canceled:
        dynamodb.transact_write_items(TransactItems=[*_writes(), refused])
    reasons = [r["Code"] for r in canceled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert _items(dynamodb) == before


def test_an_invalid_transaction_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    before = _items(dynamodb)
    twice = {"Delete": {"TableName": TABLE, "Key": _key("old1")}}  # the update's item again: refused as a whole
    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.transact_write_items(TransactItems=[*_writes(), twice])
    assert _items(dynamodb) == before


def test_an_accepted_transaction_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=_writes())
    items = {item["sk"]["S"]: item for item in _items(dynamodb)}
    assert items["new"]["v"] == {"N": "100"}
    assert items["old1"]["v"] == {"N": "101"} and items["old1"]["extra"] == {"S": "x"}
    assert "old2" not in items and len(items) == 50


def test_a_transaction_copies_its_items_not_their_tables(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models.table import Table

    def refuse(self: Any, memo: Any) -> Any:
        raise AssertionError("a whole table was copied")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)
    dynamodb.transact_write_items(TransactItems=_writes())
    again = {**_writes()[0]["Put"], "ConditionExpression": "attribute_not_exists(pk)"}  # "new" exists now
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[_writes()[1], {"Put": again}])


def test_moto_keeps_no_list_of_the_items_written(dynamodb: Any) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    tracked = len(Item.instances_tracked)
    dynamodb.transact_write_items(TransactItems=_writes())
    for n in range(20):
        dynamodb.put_item(TableName=TABLE, Item={**_key(f"more{n}"), "v": {"N": str(n)}})
    assert len(Item.instances_tracked) == tracked


RICH = {
    "s": {"S": 'text \u00e9\u00e8 "quoted"'},
    "n": {"N": "12345678901234567890.5"},
    "yes": {"BOOL": True},
    "none": {"NULL": True},
    "m": {"M": {"inner": {"L": [{"S": "a"}, {"N": "1"}, {"M": {}}]}}},
    "ss": {"SS": ["x", "y"]},
    "ns": {"NS": ["1", "2.5"]},
}


def _every_data_operation(client: Any) -> None:
    client.put_item(TableName=TABLE, Item={**_key("rich"), **RICH})
    client.put_item(TableName=TABLE, Item={**_key("rich"), **RICH}, ReturnValues="ALL_OLD")
    client.update_item(
        TableName=TABLE,
        Key=_key("rich"),
        UpdateExpression="ADD c :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
    )
    client.get_item(TableName=TABLE, Key=_key("rich"))
    client.get_item(TableName=TABLE, Key=_key("absent"))
    client.query(
        TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Limit=7
    )
    client.scan(TableName=TABLE, Limit=3)  # the first items: partition "p"
    client.batch_get_item(RequestItems={TABLE: {"Keys": [_key("rich"), _key("old1"), _key("absent")]}})
    client.transact_get_items(TransactItems=[{"Get": {"TableName": TABLE, "Key": _key("rich")}}])
    client.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": {**_key("batched"), **RICH}}}]})
    client.transact_write_items(
        TransactItems=[{"Update": {"TableName": TABLE, "Key": _key("batched"), "UpdateExpression": "REMOVE ss"}}]
    )
    client.delete_item(TableName=TABLE, Key=_key("batched"), ReturnValues="ALL_OLD")


def test_dynamodb_answers_written_as_json_are_the_serializers_answers(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from moto.core.responses import ActionResult

    dynamodb_answers_as_json()
    dynamodb_answers_as_json()  # applied once
    patched = ActionResult.execute_result
    original = patched.__original__  # type: ignore[attr-defined]
    seen: list[tuple[str, Any, Any]] = []

    def both(self: Any, context: Any) -> Any:
        answer = patched(self, context)
        seen.append((context.operation_model.name, answer, original(self, context)))
        return answer

    monkeypatch.setattr(ActionResult, "execute_result", both)
    _every_data_operation(dynamodb)
    assert len(seen) == 12
    for operation, (status, headers, body), (s_status, s_headers, s_body) in seen:
        assert (operation, status, headers["Content-Type"]) == (operation, s_status, s_headers["Content-Type"])
        assert json.loads(body) == json.loads(s_body), operation


def test_dynamodb_answers_skip_the_serializer_unless_they_hold_binaries(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError
    from moto.core import serialize

    dynamodb_answers_as_json()
    binary_key = {"pk": {"S": "q"}, "sk": {"S": "binary"}}  # its own partition: the Query and Scan stay plain
    dynamodb.put_item(TableName=TABLE, Item={**binary_key, "b": {"B": b"\x00\xff"}})

    def no_serializer(self: Any, result: Any) -> Any:
        raise RuntimeError("the serializer was used")

    monkeypatch.setattr(serialize.JSONSerializer, "serialize", no_serializer)
    _every_data_operation(dynamodb)  # every answer written without the serializer
    with pytest.raises((ClientError, RuntimeError)):
        dynamodb.get_item(TableName=TABLE, Key=binary_key)
    monkeypatch.undo()
    assert dynamodb.get_item(TableName=TABLE, Key=binary_key)["Item"]["b"] == {"B": b"\x00\xff"}
