"""Section 7's cost model (bench/cost.py): its arithmetic against a hand-computed example, DynamoDB's rules for
request units, Lambda's billed duration, and the memory rule of section 8 (bench/memory.py)."""

from __future__ import annotations

import json

import pytest

from bench import cost, memory
from bench.cost import (
    Index,
    Ledger,
    Table,
    Usage,
    attribute_size,
    billed_ms,
    by_service,
    change_units,
    gb_seconds,
    happy_path,
    index_write_units,
    item_kind,
    item_size,
    per_thousand,
    read_units,
    stored_bytes,
    write_units,
)
from bench.cost_meter import _emf_metrics
from local.template import ROOT


def test_dollars_per_thousand_lives_against_a_hand_computed_example() -> None:
    # Two lives' units, priced by hand at the table's list prices:
    #   API Gateway    30 requests    x $1.00 / 1,000,000    = $0.000030
    #   Lambda         54 requests    x $0.20 / 1,000,000    = $0.0000108
    #   Lambda (Arm)   0.9 GB-s       x $0.0000133334        = $0.00001200006
    #   DynamoDB       234 WRU        x $0.625 / 1,000,000   = $0.00014625
    #   DynamoDB       77 RRU         x $0.125 / 1,000,000   = $0.000009625
    #   SQS            30 requests    x $0.40 / 1,000,000    = $0.000012
    #   KMS            10 requests    x $0.03 / 10,000       = $0.00003
    #   S3             2 PUTs         x $0.005 / 1,000       = $0.00001
    #   Step Functions 6 transitions  x $0.025 / 1,000       = $0.00015
    #   Logs           0.001 GB       x $0.50                = $0.0005
    #   two lives: $0.00091067506; per 1,000 lives: x 1,000 / 2 = $0.45533753
    usage = Usage()
    for key, units in {
        "apigw.requests": 30,
        "lambda.requests": 54,
        "lambda.gb_seconds.arm64": 0.9,
        "dynamodb.wru": 234,
        "dynamodb.rru": 77,
        "sqs.requests": 30,
        "kms.requests": 10,
        "s3.put_requests": 2,
        "sfn.transitions": 6,
        "logs.ingested": 0.001,
    }.items():
        usage.add(key, units)
    assert per_thousand(usage, 2) == pytest.approx(0.45533753, rel=1e-9)
    services = by_service(usage)
    assert services["DynamoDB"] == pytest.approx(0.00014625 + 0.000009625, rel=1e-12)
    assert services["Lambda"] == pytest.approx(0.0000108 + 0.00001200006, rel=1e-12)


def test_a_unit_without_a_price_is_refused() -> None:
    with pytest.raises(KeyError):
        Usage().add("dynamodb.free_lunch", 1)
    with pytest.raises(KeyError):
        cost.dollars({"nothing.here": 1.0})


def test_lambda_bills_our_time_at_the_size_cpu_share_plus_the_waits_rounded_up() -> None:
    # 2 ms of our CPU at 512 MB (512 / 1,769 of a vCPU) is 6.91 ms; plus 3.2 ms of waits: 10.11 -> 11 ms billed
    assert billed_ms(2.0, 3.2, 512) == 11
    assert billed_ms(2.0, 0.5, 1769) == 3  # a whole vCPU: as measured
    assert billed_ms(2.0, 0.5, 3008) == 3  # single-threaded code gains nothing past one vCPU
    assert billed_ms(0.0, 0.0, 512) == 1  # at least a millisecond
    assert gb_seconds(11, 512) == pytest.approx(0.5 * 0.011)


def test_item_sizes_follow_dynamodb_rules() -> None:
    assert attribute_size({"S": "héllo"}) == 6  # UTF-8 bytes
    assert attribute_size({"N": "123.450"}) == 4  # 5 significant digits: 3 bytes, + 1
    assert attribute_size({"N": "0.001"}) == 2  # leading and trailing zeroes do not count
    assert attribute_size({"N": "-7"}) == 2
    assert attribute_size({"BOOL": True}) == 1
    assert attribute_size({"NULL": True}) == 1
    assert attribute_size({"B": b"\x00\x01"}) == 2
    assert attribute_size({"B": "AAE="}) == 2  # base64 as botocore may hand it over: its raw bytes
    assert attribute_size({"SS": ["a", "bc"]}) == 3
    assert attribute_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (1 + 2) + (1 + 2)
    assert attribute_size({"M": {"k": {"S": "v"}}}) == 3 + (1 + 1 + 1)
    assert item_size({"pk": {"S": "CALL#1"}, "n": {"N": "42"}}) == (2 + 6) + (1 + 2)
    assert item_size(None) == 0


def test_read_units_round_up_per_4_kb_and_halve_when_eventually_consistent() -> None:
    assert read_units(4096, consistent=True) == 1.0
    assert read_units(4097, consistent=True) == 2.0
    assert read_units(4097, consistent=False) == 1.0
    assert read_units(0, consistent=True) == 1.0  # an item not found still costs a read
    assert read_units(0, consistent=False) == 0.5
    assert read_units(4097, consistent=True, transactional=True) == 4.0


def test_write_units_round_up_per_kb_of_the_larger_image_and_double_in_a_transaction() -> None:
    assert write_units(1024, 1024) == 1
    assert write_units(1024, 1025) == 2
    assert write_units(300, 0) == 1  # a delete: the item deleted
    assert write_units(0, 0) == 1
    assert write_units(1500, 900, transactional=True) == 4


TABLE_KEYS = ("pk", "sk")
BY_STATUS = Index("by_status", ("gsi2pk", "gsi2sk"))


def call(status: str, **extra: str) -> dict[str, dict[str, str]]:
    item = {"pk": {"S": "CALL#1"}, "sk": {"S": "CALL"}, "status": {"S": status}}
    if status != "ended":  # a sparse index: ended calls leave it
        item |= {"gsi2pk": {"S": f"S#{status}"}, "gsi2sk": {"S": "2025-01-01"}}
    return item | {k: {"S": v} for k, v in extra.items()}


def test_an_index_is_written_only_when_its_entry_changes() -> None:
    ringing = call("ringing")
    assert index_write_units(ringing, ringing, BY_STATUS, TABLE_KEYS) == 0  # unchanged
    assert index_write_units(ringing, call("ringing", note="x"), BY_STATUS, TABLE_KEYS) == 1  # an attribute
    assert index_write_units(ringing, call("talking"), BY_STATUS, TABLE_KEYS) == 2  # its key: delete + put
    assert index_write_units(None, ringing, BY_STATUS, TABLE_KEYS) == 1  # enters
    assert index_write_units(ringing, call("ended"), BY_STATUS, TABLE_KEYS) == 1  # leaves
    assert index_write_units(call("ended"), call("ended", note="x"), BY_STATUS, TABLE_KEYS) == 0  # never in it
    keys_only = Index("keys", ("gsi2pk", "gsi2sk"), "KEYS_ONLY")
    assert index_write_units(ringing, call("ringing", note="x"), keys_only, TABLE_KEYS) == 0  # not projected
    big = call("ringing", note="x" * 1100)  # over 1 KB: its entry too (ALL projected)
    assert index_write_units(ringing, big, BY_STATUS, TABLE_KEYS) == 2


def test_a_transaction_doubles_the_table_write_but_not_its_indexes() -> None:
    table = Table("calls", "CallsTable", TABLE_KEYS, (BY_STATUS,))
    assert change_units(table, call("ringing"), call("talking"), transactional=True) == (2, 2)
    assert change_units(table, call("ringing"), call("talking"), transactional=False) == (1, 2)


def test_stored_bytes_count_100_bytes_an_item_and_each_index_entry() -> None:
    table = Table("calls", "CallsTable", TABLE_KEYS, (BY_STATUS,))
    item = call("ringing")
    assert stored_bytes(table, item) == 2 * (item_size(item) + 100)
    assert stored_bytes(table, call("ended")) == item_size(call("ended")) + 100


def test_an_item_kind_keeps_the_key_words_and_hides_the_ids() -> None:
    table = Table("calls", "CallsTable", TABLE_KEYS)
    key = {"pk": {"S": "OWNER#usr_01abc#STATS"}, "sk": {"S": "DAY#2026-12-07"}}
    assert item_kind(table, key) == "CallsTable OWNER#*#STATS / DAY#*"
    assert item_kind(table, {"pk": {"S": "LIVECALLS#7"}, "sk": {"N": "3"}}) == "CallsTable LIVECALLS#* / *"


def test_the_review_workflow_approval_path() -> None:
    definition = json.loads((ROOT / "statemachines" / "number_review.asl.json").read_text())
    assert happy_path(definition) == ["AwaitReview", "AssignNumber", "Assigned"]


def test_a_ledger_sums_its_steps() -> None:
    ledger = Ledger(lives=1)
    ledger.step("a").usage.add("apigw.requests", 2)
    ledger.step("b").usage.add("apigw.requests", 1)
    ledger.step("b").counts["WRU"] += 3
    assert ledger.usage() == {"apigw.requests": 3.0}
    assert ledger.count("WRU") == 3


def test_emf_lines_name_their_custom_metrics() -> None:
    line = json.dumps(
        {
            "_aws": {
                "Timestamp": 1,
                "CloudWatchMetrics": [
                    {"Namespace": "Telephony", "Dimensions": [["service"]], "Metrics": [{"Name": "CallsCreated"}]}
                ],
            },
            "service": "telephony",
            "CallsCreated": [1.0],
        }
    )
    assert _emf_metrics(line) == ["Telephony/CallsCreated [service=telephony]"]
    assert _emf_metrics('{"level": "INFO", "message": "hi"}') == []


def test_the_memory_rule() -> None:
    assert memory.rule(61) == 512  # twice 61 MB fits well under the floor
    assert memory.rule(300) == 640  # twice 300 MB, rounded up to 128 MB steps
    run = {"rss_import_mb": 50.0, "rss_setup_mb": 124.0, "rss_event_mb": 135.0, "rss_peak_mb": 135.0}
    assert memory.own_peak_mb(run) == 61.0  # the import's 50 MB plus the first event's 11; moto's 74 left out


def test_the_meter_counts_what_dynamodb_would_bill_from_moto() -> None:
    """A Query is charged for the items it read, not those its filter answered; an update that moves an item in an
    index writes the index twice; a transaction doubles the table's write."""
    import boto3
    import moto

    from bench.cost_meter import Meter, _Invocation

    with moto.mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        client = session.client("dynamodb")
        client.create_table(
            TableName="calls",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi2pk", "gsi2sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_status",
                    "KeySchema": [
                        {"AttributeName": "gsi2pk", "KeyType": "HASH"},
                        {"AttributeName": "gsi2sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        padding = "x" * 1900  # three items just under 2 KB (1,963 bytes): 5.9 KB read by the Query below
        for n in range(3):
            item = call("ringing", note=padding) | {"sk": {"S": f"CALL{n}"}}
            client.put_item(TableName="calls", Item=item)
        meter = Meter()
        meter.tables = {"calls": Table("calls", "CallsTable", TABLE_KEYS, (BY_STATUS,))}
        meter._raw = session.client("dynamodb")
        metered = session.client("dynamodb")
        for event, handler, first in meter.handlers():
            (metered.meta.events.register_first if first else metered.meta.events.register_last)(event, handler)
        meter.active = True
        meter._local.invocation = _Invocation("life", "CallsFunction")

        answer = metered.query(
            TableName="calls",
            KeyConditionExpression="pk = :pk",
            FilterExpression="sk = :one",
            ExpressionAttributeValues={":pk": {"S": "CALL#1"}, ":one": {"S": "CALL0"}},
            ConsistentRead=True,
        )
        assert answer["Count"] == 1 and answer["ScannedCount"] == 3
        metered.update_item(
            TableName="calls",
            Key={"pk": {"S": "CALL#1"}, "sk": {"S": "CALL1"}},
            UpdateExpression="SET gsi2pk = :s",
            ExpressionAttributeValues={":s": {"S": "S#talking"}},
        )
        metered.transact_write_items(
            TransactItems=[{"Put": {"TableName": "calls", "Item": {"pk": {"S": "CALL#2"}, "sk": {"S": "CALL"}}}}]
        )
        counts = meter.ledger.steps["life"].counts
        assert meter.errors == []
        assert counts["RRU"] == 2.0  # 5.9 KB read, strongly consistent: 2 units, though one item was answered
        assert counts["WRU"] == 2 + 2  # the update of a 1,963-byte item, then the transaction's small put, doubled
        assert counts["WRU (indexes)"] == 2 + 2  # its entry leaves its key and enters the new one: 2 + 2
        assert counts["DynamoDB requests"] == 3
        assert counts["RRU"] + counts["WRU"] + counts["WRU (indexes)"] == sum(meter.ledger.usage().values())
        # by kind of item: the update's 2 + 4 to `CALL#1 / CALL1`, the transaction's 2 to `CALL#2 / CALL`
        assert meter.ledger.units_by_kind == {"CallsTable CALL#* / *": 6, "CallsTable CALL#* / CALL": 2}
        assert meter.ledger.transactional_by_kind == {"CallsTable CALL#* / CALL": 2}
