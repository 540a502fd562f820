"""`dynamo.unmarshal` reads items directly; it must answer exactly what boto3's TypeDeserializer did."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer

from telephony.repositories import dynamo
from tests.support import create_key_table

ITEMS = [
    {"pk": "CALL#1", "status": "dialing", "created_epoch": 1795300000, "answer_rate": 0.75},
    {"n": -12, "big": 10**30, "exp": Decimal("1E+2"), "tiny": Decimal("1e-20"), "neg": Decimal("-3.25")},
    {"nested": {"a": [1, "two", {"three": 3.5, "flag": True}], "empty": {}}, "none": None, "no": False},
    {"tags": {"x", "y"}, "ns": {1, Decimal("2.5")}, "bin": Binary(b"\x00\x01"), "bins": {Binary(b"a")}},
    {"zero": 0, "negzero": Decimal("-0"), "frac": Decimal("0.1")},
]


def _old(item):
    return {k: dynamo._plain(TypeDeserializer().deserialize(v)) for k, v in item.items()}


@pytest.mark.parametrize("plain", ITEMS)
def test_unmarshal_answers_what_the_deserializer_did(plain):
    stored = {k: dynamo._serializer.serialize(dynamo._dynamo_safe(v)) for k, v in plain.items()}
    _assert_read_alike(stored)


def _assert_read_alike(stored):
    mine, theirs = dynamo.unmarshal(stored), _old(stored)
    assert mine.keys() == theirs.keys()
    for key in stored:
        a, b = mine[key], theirs[key]
        if isinstance(b, list) and key in ("tags", "ns", "bins"):  # sets: order is not kept by either
            a, b = sorted(map(repr, a)), sorted(map(repr, b))
        assert a == b and type(a) is type(b), key


def test_numbers_keep_their_kind():
    assert dynamo._number("42") == 42 and isinstance(dynamo._number("42"), int)
    assert dynamo._number("-7") == -7
    assert dynamo._number("1.50") == 1.5
    assert dynamo._number("2E+3") == 2000 and isinstance(dynamo._number("2E+3"), int)
    assert dynamo._number("١٢") == 12  # not ASCII digits: Decimal decides, as before


def test_items_read_through_our_client_unmarshal_as_the_deserializer_reads_them():
    """Our DynamoDB client answers what botocore parses (binaries as bytes); `unmarshal` reads every item of it
    as the TypeDeserializer does."""
    import moto

    from telephony import aws

    key = {"pk": {"S": "USER#1"}, "sk": {"S": "CALL#1"}}
    with moto.mock_aws():
        aws.reset()
        try:
            client = aws.dynamodb()
            create_key_table(client, "t")
            for plain_item in ITEMS:
                client.put_item(TableName="t", Item={**dynamo.marshal(plain_item), **key})
                item = client.get_item(TableName="t", Key=key, ConsistentRead=True)["Item"]
                (queried,) = client.query(
                    TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]}
                )["Items"]
                assert queried == item
                _assert_read_alike(item)
                if "bin" in plain_item:
                    assert item["bin"] == {"B": b"\x00\x01"} and item["bins"] == {"BS": [b"a"]}
                    assert dynamo.unmarshal(item)["bin"] == Binary(b"\x00\x01")
                    assert dynamo.unmarshal(item)["bins"] == [Binary(b"a")]
        finally:
            aws.reset()
