"""`dynamo.marshal` / `unmarshal` are boto3's TypeSerializer and TypeDeserializer with the two adaptations the
repositories need: floats go in as Decimals, and numbers come back as int or float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from telephony.repositories import dynamo


@pytest.mark.parametrize(
    "item",
    [
        {"pk": "CALL#1", "status": "dialing", "created_epoch": 1795300000, "answer_rate": 0.75},
        {"n": -12, "big": 10**30, "zero": 0, "flag": True, "off": False, "empty": ""},
        {"nested": {"a": [1, "two", {"three": 3.5, "flag": True}], "empty": {}}, "list": [None, 0, []]},
    ],
)
def test_plain_values_round_trip(item: dict[str, Any]) -> None:
    back = dynamo.unmarshal(dynamo.marshal(item))
    assert back == item
    assert all(type(back[k]) is type(v) for k, v in item.items())


def test_attributes_and_map_members_that_are_none_are_not_written() -> None:
    assert dynamo.marshal({"a": None, "m": {"x": None, "y": 1}}) == {"m": {"M": {"y": {"N": "1"}}}}


def test_numbers_come_back_as_int_when_whole_and_float_otherwise() -> None:
    stored = {"whole": {"N": "2E+3"}, "frac": {"N": "1.50"}, "neg": {"N": "-7"}}
    assert dynamo.unmarshal(stored) == {"whole": 2000, "frac": 1.5, "neg": -7}
    assert isinstance(dynamo.unmarshal(stored)["whole"], int)


def test_sets_come_back_as_lists() -> None:
    assert sorted(dynamo.unmarshal(dynamo.marshal({"tags": {"x", "y"}}))["tags"]) == ["x", "y"]


def test_values_name_each_placeholder() -> None:
    assert dynamo.values(status="x", n=5, f=0.5) == {
        ":status": {"S": "x"},
        ":n": {"N": "5"},
        ":f": {"N": "0.5"},
    }


@pytest.mark.parametrize("bad", [10**38, -(10**38), float("nan"), float("inf"), Decimal("NaN"), object()])
def test_what_dynamodb_cannot_hold_is_refused_before_it_is_sent(bad: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017 - boto3's own refusal (TypeError or a decimal signal)
        dynamo.marshal({"v": bad})
    with pytest.raises(Exception):  # noqa: B017
        dynamo.marshal({"v": {"deep": [bad]}})


def test_an_update_sets_and_removes_named_fields() -> None:
    update = dynamo.update_of({"status": "x", "at": 1}, remove=["lock"])
    assert update.expression == "SET #f0 = :f0, #f1 = :f1 REMOVE #fr0"
    assert update.names == {"#f0": "status", "#f1": "at", "#fr0": "lock"}
    assert update.values == {"f0": "x", "f1": 1}


def test_items_read_through_our_client_come_back_as_written() -> None:
    """botocore parses the answer (binaries as bytes); `unmarshal` reads it as boto3's deserializer does."""
    import moto
    from boto3.dynamodb.types import Binary

    from telephony import aws
    from tests.support import create_key_table

    key = {"pk": {"S": "K"}, "sk": {"S": "S"}}
    item = {"n": 3, "f": 0.25, "s": "x", "m": {"l": [1, "a"]}, "bin": Binary(b"\x00\x01")}
    with moto.mock_aws():
        aws.reset()
        try:
            client = aws.dynamodb()
            create_key_table(client, "t")
            client.put_item(TableName="t", Item={**dynamo.marshal(item), **key})
            read = client.get_item(TableName="t", Key=key, ConsistentRead=True)["Item"]
            assert {k: v for k, v in dynamo.unmarshal(read).items() if k not in ("pk", "sk")} == item
        finally:
            aws.reset()
