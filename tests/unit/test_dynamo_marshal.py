"""`dynamo.marshal` and `dynamo.values` write common values directly; they must give exactly what boto3's
TypeSerializer (after `_dynamo_safe`) gave, and refuse what it refused."""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeSerializer

from telephony.repositories import dynamo
from tests.unit.test_dynamo_unmarshal import ITEMS


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


MORE = [
    {"empty": "", "t": True, "list": [None, False, 0, "", [], {}], "tuple": (1, "a"), "max": 10**38 - 1},
    {"min": -(10**38) + 1, "float": 0.1, "nested": {"drop": None, "keep": [None, {"x": None, "y": 1.25}]}},
    {"enum": Colour.RED, "int_enum": Level.HIGH, "bytes": b"\x00", "binary": Binary(b"z"), "set": {"a"}},
    {"dec": Decimal("12.500"), "exp": Decimal("1E+5"), "neg": -7, "unicode": "é\u2603"},
]


def _old(item: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {k: serializer.serialize(dynamo._dynamo_safe(v)) for k, v in item.items() if v is not None}


@pytest.mark.parametrize("item", ITEMS + MORE)
def test_marshal_gives_what_the_serializer_gave(item: dict[str, Any]) -> None:
    mine, theirs = dynamo.marshal(item), _old(item)
    for name in ("tags", "ns", "bins", "set"):  # sets: the order of either is the set's
        for side in (mine, theirs):
            if name in side:
                ((tag, members),) = side[name].items()
                side[name] = {tag: sorted(members, key=repr)}
    assert mine == theirs
    assert [type(v) for v in mine.values()] == [type(v) for v in theirs.values()]


def test_values_give_what_the_serializer_gave() -> None:
    named = {"s": "x", "n": 5, "none": None, "m": {"a": None, "b": [1.5]}, "e": Colour.RED}
    serializer = TypeSerializer()
    assert dynamo.values(**named) == {f":{k}": serializer.serialize(dynamo._dynamo_safe(v)) for k, v in named.items()}


@pytest.mark.parametrize("bad", [10**38, -(10**38), 10**40, float("nan"), float("inf"), Decimal("NaN"), object()])
def test_marshal_refuses_what_the_serializer_refused(bad: Any) -> None:
    with pytest.raises(Exception) as theirs:
        _old({"v": bad})
    with pytest.raises(type(theirs.value)):
        dynamo.marshal({"v": bad})
    with pytest.raises(type(theirs.value)):
        dynamo.marshal({"v": {"deep": [bad]}})
