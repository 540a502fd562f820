"""The local stack's adjustments of moto (local/patches.py)."""

from __future__ import annotations

import os
import threading
import time
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


# ---------------------------------------------------------------- streams: what DynamoDB Streams records

STREAMED = "streamed"


@pytest.fixture
def streamed() -> Iterator[Any]:
    """A table with a stream (new and old images) and TTL on `expires_at`, every DynamoDB adjustment applied."""
    from local.patches import adjust_dynamodb

    adjust_dynamodb()
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=STREAMED,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.update_time_to_live(
            TableName=STREAMED, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
        )
        yield client


def _streams() -> Any:
    from botocore.config import Config

    return boto3.client("dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled"))


def _stream_arn(client: Any) -> str:
    return str(client.describe_table(TableName=STREAMED)["Table"]["LatestStreamArn"])


def _iterator(client: Any) -> str:
    arn = _stream_arn(client)
    shard = _streams().describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    return str(
        _streams().get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    )


def _records(client: Any) -> list[dict[str, Any]]:
    return list(_streams().get_records(ShardIterator=_iterator(client))["Records"])


def _changes(client: Any) -> list[tuple[str, str | None, str | None]]:
    """(event, the old image's `v`, the new image's `v`) of each record of the stream."""
    found = []
    for record in _records(client):
        change = record["dynamodb"]
        old, new = change.get("OldImage", {}).get("v"), change.get("NewImage", {}).get("v")
        found.append((record["eventName"], old and old["S"], new and new["S"]))
    return found


def _set(client: Any, sk: str, value: str) -> None:
    client.update_item(
        TableName=STREAMED,
        Key=_key(sk),
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"S": value}},
    )


def test_a_write_that_changes_nothing_writes_no_stream_record(streamed: Any) -> None:
    streamed.put_item(TableName=STREAMED, Item={**_key("a"), "v": {"S": "1"}})
    streamed.put_item(TableName=STREAMED, Item={**_key("a"), "v": {"S": "1"}})  # the same item
    _set(streamed, "a", "1")  # the same value
    _set(streamed, "a", "2")
    streamed.delete_item(TableName=STREAMED, Key=_key("absent"))
    assert _changes(streamed) == [("INSERT", None, "1"), ("MODIFY", "1", "2")]


def test_an_update_that_creates_its_item_writes_one_insert_with_the_whole_item(streamed: Any) -> None:
    _set(streamed, "new", "1")
    (record,) = _records(streamed)
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"] == {**_key("new"), "v": {"S": "1"}}
    assert "OldImage" not in record["dynamodb"]


def test_a_transaction_writes_its_records_and_a_failed_one_none(streamed: Any) -> None:
    streamed.put_item(TableName=STREAMED, Item={**_key("a"), "v": {"S": "1"}})
    writes = [
        {"Put": {"TableName": STREAMED, "Item": {**_key("b"), "v": {"S": "b"}}}},
        {
            "Update": {
                "TableName": STREAMED,
                "Key": _key("c"),
                "UpdateExpression": "SET v = :v",
                "ExpressionAttributeValues": {":v": {"S": "c"}},
            }
        },
        {"Delete": {"TableName": STREAMED, "Key": _key("a")}},
    ]
    refused = {"ConditionCheck": {"TableName": STREAMED, "Key": _key("z"), "ConditionExpression": "v = :x"}}
    refused["ConditionCheck"]["ExpressionAttributeValues"] = {":x": {"S": "other"}}
    with pytest.raises(streamed.exceptions.TransactionCanceledException):
        streamed.transact_write_items(TransactItems=[*writes, refused])
    assert _changes(streamed) == [("INSERT", None, "1")]  # neither its writes nor their undoing

    streamed.transact_write_items(TransactItems=writes)
    assert _changes(streamed) == [
        ("INSERT", None, "1"),
        ("INSERT", None, "b"),
        ("INSERT", None, "c"),
        ("REMOVE", "1", None),
    ]


def test_a_stream_record_counts_its_size_and_version_as_dynamodb(streamed: Any) -> None:
    item = {**_key("size"), "s": {"S": "é"}, "b": {"B": b"foobar"}, "n": {"N": "12345"}, "l": {"L": [{"BOOL": True}]}}
    streamed.put_item(TableName=STREAMED, Item=item)
    (record,) = _records(streamed)
    keys = (2 + 1) + (2 + 4)  # pk "p", sk "size"
    image = keys + (1 + 2) + (1 + 6) + (1 + 4) + (1 + 3 + 1 + 1)  # é is 2 bytes; 5 digits: 4 bytes; a list: 3 + 1 each
    assert record["dynamodb"]["SizeBytes"] == keys + image
    assert record["eventVersion"] == "1.1"


def test_ttl_deletes_expired_items_with_the_services_remove_record(streamed: Any) -> None:
    from local.patches import expire_dynamodb_items

    now = 1_800_000_000.0
    expiring = {
        "past": {"N": str(int(now) - 1)},
        "future": {"N": str(int(now) + 60)},
        "not-a-number": {"S": str(int(now) - 1)},
        "ancient": {"N": str(int(now) - 6 * 365 * 24 * 3600)},  # TTL ignores times over five years past
    }
    for sk, expires_at in expiring.items():
        streamed.put_item(TableName=STREAMED, Item={**_key(sk), "expires_at": expires_at})
    streamed.delete_item(TableName=STREAMED, Key=_key("future"))  # a user's delete: no identity
    assert expire_dynamodb_items(now) == 1
    assert expire_dynamodb_items(now) == 0

    remaining = {item["sk"]["S"] for item in streamed.scan(TableName=STREAMED)["Items"]}
    assert remaining == {"not-a-number", "ancient"}
    removes = [r for r in _records(streamed) if r["eventName"] == "REMOVE"]
    assert [(r["dynamodb"]["Keys"]["sk"]["S"], r.get("userIdentity")) for r in removes] == [
        ("future", None),
        ("past", {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}),
    ]


def test_shard_iterators_expire_and_are_not_kept(streamed: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    from local import patches

    iterator = _iterator(streamed)
    for _ in range(20):  # each answer holds a new iterator
        iterator = _streams().get_records(ShardIterator=iterator)["NextShardIterator"]
    monkeypatch.setattr(patches, "ITERATOR_LIFETIME", 0.0)
    time.sleep(0.01)
    with pytest.raises(ClientError, match="ExpiredIteratorException"):
        _streams().get_records(ShardIterator=iterator)
    assert len(dynamodbstreams_backends["123456789012"]["us-east-1"].shard_iterators) == 0


def test_a_stream_is_read_between_dynamodb_writes_never_during_one(streamed: Any) -> None:
    from local import patches

    iterator = _iterator(streamed)
    answered = threading.Event()

    def read() -> None:
        _streams().get_records(ShardIterator=iterator)
        answered.set()

    with patches._lock:  # a DynamoDB request under way
        reader = threading.Thread(target=read)
        reader.start()
        assert not answered.wait(0.3)
    assert answered.wait(5)
    reader.join()
