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

from local.patches import dynamodb_items_untracked, list_moto_modules_once, transactions_back_up_their_items
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
