"""The scale benchmark's count of DynamoDB writes per item (bench/item_writes.py) charges what DynamoDB charges: 1 WCU
per KB of the larger of the item before and after, twice in a transaction, a failed condition all the same, and the
index entries a write changes as items of their own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from bench.item_writes import ItemKey, Ledger, Tally, counting, item_bytes

TABLE = "t"


@pytest.fixture
def ddb() -> Iterator[Any]:
    with moto.mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "sparse",
                    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield client


def _item(**attributes: str) -> dict[str, Any]:
    return {name: {"S": value} for name, value in {"pk": "A", "sk": "1", **attributes}.items()}


def _tally(ledger: Ledger, index: str | None = None, partition: str | None = None) -> tuple[int, int, int]:
    tally = ledger.tallies("setup").get(ItemKey("Things", ("A", "1"), index, partition), Tally())
    return tally.writes, tally.units, tally.failed


def test_sizes_follow_dynamodbs_rules() -> None:
    assert item_bytes({"pk": {"S": "abc"}}) == 5
    assert item_bytes({"n": {"N": "12345"}}) == 1 + 4  # (5 digits + 1) // 2 + 1
    assert item_bytes({"ids": {"SS": ["ab", "cde"]}}) == 3 + 5
    assert item_bytes({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
    assert item_bytes({"l": {"L": [{"S": "v"}, {"BOOL": True}]}}) == 1 + 3 + 2 + 2


def test_a_write_costs_a_wcu_per_kb_of_the_larger_image_and_a_transaction_twice(ddb: Any) -> None:
    with counting({TABLE: "Things"}) as ledger:
        ddb.put_item(TableName=TABLE, Item=_item(data="x" * 1500))  # ~1.5 KB: 2 WCU
        ddb.update_item(
            TableName=TABLE,
            Key=_item(),
            UpdateExpression="SET #d = :small",
            ExpressionAttributeNames={"#d": "data"},
            ExpressionAttributeValues={":small": {"S": "y"}},
        )  # the larger image is the one before: 2 WCU
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": _item(),
                        "UpdateExpression": "SET #d = :small",
                        "ExpressionAttributeNames": {"#d": "data"},
                        "ExpressionAttributeValues": {":small": {"S": "z"}},
                    }
                }
            ]
        )  # under 1 KB, in a transaction: 2 WCU
    assert _tally(ledger) == (3, 6, 0)
    assert _tally(ledger, "sparse", None) == (0, 0, 0)  # no `g`: never in the sparse index


def test_a_failed_condition_is_charged_and_a_cancelled_transaction_counted_apart(ddb: Any) -> None:
    ddb.put_item(TableName=TABLE, Item=_item(data="x" * 2100))  # 3 KB
    with counting({TABLE: "Things"}) as ledger:
        with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
            ddb.put_item(TableName=TABLE, Item=_item(), ConditionExpression="attribute_not_exists(pk)")
        with pytest.raises(ddb.exceptions.TransactionCanceledException):
            ddb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": TABLE, "Item": _item(), "ConditionExpression": "attribute_not_exists(pk)"}}
                ]
            )
    assert _tally(ledger) == (1, 3, 1)
    assert ledger.cancelled["setup"] == 1


def test_a_write_that_changes_an_index_entry_writes_the_index_too(ddb: Any) -> None:
    with counting({TABLE: "Things"}) as ledger:
        ddb.put_item(TableName=TABLE, Item=_item(g="P", data="x" * 1100))  # into the index: a put of ~1.1 KB
        ddb.update_item(
            TableName=TABLE,
            Key=_item(),
            UpdateExpression="SET g = :q",
            ExpressionAttributeValues={":q": {"S": "Q"}},
        )  # moved to another index key: a delete from P and a put into Q
        ddb.update_item(TableName=TABLE, Key=_item(), UpdateExpression="REMOVE g")  # out of the index: a delete from Q
    assert _tally(ledger) == (3, 6, 0)
    assert _tally(ledger, "sparse", "P") == (2, 4, 0)
    assert _tally(ledger, "sparse", "Q") == (2, 4, 0)
