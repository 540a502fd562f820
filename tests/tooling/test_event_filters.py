"""Lambda's event filtering as the local stack applies it (local/event_filters.py), rule by rule, on DynamoDB
stream records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.event_filters import FilterError, compile_criteria, matches

RECORD = {
    "eventName": "INSERT",
    "eventSource": "aws:dynamodb",
    "dynamodb": {
        "ApproximateCreationDateTime": 1767225600.0,
        "Keys": {"pk": {"S": "call#1"}, "sk": {"S": "event#0007"}},
        "NewImage": {
            "pk": {"S": "call#1"},
            "sk": {"S": "event#0007"},
            "type": {"S": "call.Answered"},
            "attempt": {"N": "3"},
            "tags": {"SS": ["a", "b"]},
            "done": {"BOOL": False},
            "note": {"NULL": True},
        },
        "SequenceNumber": "100",
        "SizeBytes": 80,
        "StreamViewType": "NEW_IMAGE",
    },
}


def passes(*patterns: dict[str, Any]) -> bool:
    return matches(compile_criteria({"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}), RECORD)


def image(name: str, kind: str, *rules: Any) -> dict[str, Any]:
    return {"dynamodb": {"NewImage": {name: {kind: list(rules)}}}}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"eventName": ["INSERT"]}, True),
        ({"eventName": ["MODIFY", "REMOVE"]}, False),
        ({"eventName": ["INSERT"], "eventSource": ["aws:dynamodb"]}, True),  # every field must match
        ({"eventName": ["INSERT"], "eventSource": ["aws:kinesis"]}, False),
        ({"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "event#"}]}}}}, True),
        ({"dynamodb": {"Keys": {"sk": {"S": [{"prefix": "call#"}]}}}}, False),
        ({"dynamodb": {"Keys": {"pk": {"S": ["call#1"]}}}}, True),
        ({"dynamodb": {"Keys": {"pk": ["call#1"]}}}, False),  # without the type, the value is an object: no match
        (image("type", "S", {"suffix": "Answered"}), True),
        (image("type", "S", {"equals-ignore-case": "CALL.ANSWERED"}), True),
        (image("type", "S", "call.answered"), False),  # exact is case-sensitive
        (image("type", "S", {"anything-but": ["call.Ended"]}), True),
        (image("type", "S", {"anything-but": "call.Answered"}), False),
        (image("type", "S", {"anything-but": {"prefix": "request."}}), True),
        (image("type", "S", {"exists": True}), True),
        (image("missing", "S", {"exists": False}), True),
        (image("missing", "S", {"exists": True}), False),
        (image("type", "S", {"exists": False}), False),
        (image("missing", "S", "x"), False),
        (image("attempt", "N", "3"), True),  # a DynamoDB number is a string in the record
        (image("attempt", "N", 3), False),
        (image("attempt", "N", {"numeric": [">", 1]}), False),  # ...and meets no numeric rule, as on AWS
        ({"dynamodb": {"ApproximateCreationDateTime": [{"numeric": [">", 0, "<=", 1767225600]}]}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": ["=", 80]}]}}, True),
        ({"dynamodb": {"SizeBytes": [{"numeric": ["<", 80]}]}}, False),
        (image("tags", "SS", "b"), True),  # a list matches when one of its elements does
        (image("tags", "SS", "c"), False),
        (image("done", "BOOL", False), True),
        (image("done", "BOOL", 0), False),  # false is not 0
        (image("note", "NULL", True), True),
        ({"dynamodb": {"OldImage": {"type": {"S": [{"exists": False}]}}}}, True),  # no OldImage at all
        ({"dynamodb": {"Keys": [{"exists": True}]}}, False),  # exists is for leaves, not objects
    ],
)
def test_a_pattern_matches_as_lambdas_filtering_does(pattern, expected):
    assert passes(pattern) is expected


def test_filters_are_alternatives():
    assert passes({"eventName": ["REMOVE"]}, {"eventName": ["INSERT"]})
    assert not passes({"eventName": ["REMOVE"]}, {"eventName": ["MODIFY"]})
    assert matches([], RECORD)  # no FilterCriteria: every record


@pytest.mark.parametrize(
    ("criteria", "refusal"),
    [
        ({"Filters": []}, "list of Filters"),
        ({"Filters": [{"Pattern": {"eventName": ["INSERT"]}}]}, "JSON string"),
        ({"Filters": [{"Pattern": "{not json"}]}, "invalid filter pattern"),
        ({"Filters": [{"Pattern": "[1]"}]}, "invalid filter pattern"),
        ({"Filters": [{"Pattern": "{}"}]}, "invalid filter pattern"),
        ({"Filters": [{"Pattern": '{"eventName": []}'}]}, "list of rules"),
        ({"Filters": [{"Pattern": '{"eventName": [{"prefix": 1}]}'}]}, "prefix takes a string"),
        ({"Filters": [{"Pattern": '{"eventName": [{"prefix": "a", "suffix": "b"}]}'}]}, "invalid filter pattern"),
        ({"Filters": [{"Pattern": '{"n": [{"numeric": [">"]}]}'}]}, "numeric"),
        ({"Filters": [{"Pattern": '{"n": [{"numeric": ["~", 1]}]}'}]}, "numeric"),
        ({"Filters": [{"Pattern": '{"n": [{"exists": "yes"}]}'}]}, "exists"),
        ({"Filters": [{"Pattern": '{"n": [{"regex": "a.*"}]}'}]}, "unknown filter rule"),
        ({"Filters": [{"Pattern": '{"n": [{"wildcard": "a*"}]}'}]}, "not applied by the local stack"),
        ({"Filters": [{"Pattern": '{"$or": [{"a": ["b"]}]}'}]}, "not applied by the local stack"),
    ],
)
def test_a_pattern_lambda_refuses_or_the_local_stack_does_not_apply_is_refused(criteria, refusal):
    with pytest.raises(FilterError, match=refusal):
        compile_criteria(criteria)
