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
    mine, theirs = dynamo.unmarshal(stored), _old(stored)
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


def test_items_as_sent_equal_what_botocore_parsed():
    """aws._items_as_sent hands DynamoDB's answers over unparsed; the items read must not change."""
    import boto3
    import moto

    from telephony import aws

    key = {"pk": {"S": "USER#1"}, "sk": {"S": "CALL#1"}}
    with moto.mock_aws():
        aws.reset()
        try:
            ours = aws.dynamodb()
            plain = boto3.client("dynamodb", region_name="us-east-1")
            create_key_table(plain, "t")
            for plain_item in ITEMS:
                stored = {**dynamo.marshal(plain_item), **key}
                ours.put_item(TableName="t", Item=stored)
                mine = ours.get_item(TableName="t", Key=key)
                theirs = plain.get_item(TableName="t", Key=key)
                assert mine["ResponseMetadata"]["HTTPStatusCode"] == 200
                assert dynamo.unmarshal(mine["Item"]) == dynamo.unmarshal(theirs["Item"])
                if "bin" in plain_item:
                    assert isinstance(mine["Item"]["bin"]["B"], str)  # as sent: base64 text
                    assert dynamo.unmarshal(mine["Item"])["bin"] == Binary(b"\x00\x01")
            queried = ours.query(
                TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]}
            )
            assert queried["Count"] == 1 and queried["Items"][0]["pk"] == key["pk"]
            updated = ours.update_item(
                TableName="t",
                Key=key,
                UpdateExpression="SET n = :n",
                ExpressionAttributeValues={":n": {"N": "5"}},
                ReturnValues="ALL_NEW",
            )
            assert updated["Attributes"]["n"] == {"N": "5"}
            with pytest.raises(Exception) as failed:  # errors are parsed by botocore as before
                ours.put_item(TableName="t", Item=key, ConditionExpression="attribute_not_exists(pk)")
            assert aws.error_code(failed.value) == "ConditionalCheckFailedException"
            assert "Table" in ours.describe_table(TableName="t")  # not a data operation: parsed by the model
        finally:
            aws.reset()
