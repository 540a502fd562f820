"""DynamoDB streams as the local stack runs them (local/event_sources.py's StreamPoller) against moto's in-process
mock, from small templates: Lambda's event, order, retries, partial batch responses, bisection, the OnFailure
queue, filters, and what Lambda refuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamLambdaOnFailureDestinationModel,
    DynamoDBStreamModel,
)

from local.event_sources import EventSources, StreamPoller, expire_items
from local.patches import adjust_dynamodb, sqs_checks_message_bytes
from local.resources import deploy
from local.template import Stack

STACK = "streams-test"
STREAM_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{STACK}-Outbox/stream/local"
FAILURES_ARN = f"arn:aws:sqs:us-east-1:123456789012:{STACK}-Failures"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Timeout: 1}
Resources:
  Outbox:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  Calls:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
  Failures:
    Type: AWS::SQS::Queue
  DispatchFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/dispatch/
      Handler: app.lambda_handler
      Events:
        Outbox:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Outbox.StreamArn
"""


class Functions:
    """Stands for the runtime: records each batch's records; `answer` decides what the function does with one."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.answer: Callable[[list[dict[str, Any]]], Any] = lambda records: None
        self.lock = threading.Lock()

    def invoke(self, function: str, event: Any) -> Any:
        assert function == "DispatchFunction"
        with self.lock:
            self.batches.append(event["Records"])
        return self.answer(event["Records"])

    def sort_keys(self) -> list[list[str]]:
        """Each batch's records, by their sort key."""
        with self.lock:
            return [[r["dynamodb"]["Keys"]["sk"]["S"] for r in batch] for batch in self.batches]


@pytest.fixture
def aws() -> Iterator[None]:
    adjust_dynamodb()
    sqs_checks_message_bytes()
    with moto.mock_aws():
        yield


@pytest.fixture
def functions() -> Functions:
    return Functions()


def stack_with(tmp_path: Path, **properties: Any) -> Stack:
    """The template, its DynamoDB event given these properties beside its Stream (JSON is YAML too)."""
    lines = "".join(f"            {name}: {json.dumps(value)}\n" for name, value in properties.items())
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE + lines)
    return Stack(name=STACK, path=path)


@pytest.fixture
def run(tmp_path: Path, aws: None, functions: Functions) -> Iterator[Callable[..., EventSources]]:
    """Deploy the template with the event's properties and start its sources; stopped (every thread) at the end."""
    started: list[EventSources] = []

    def start(*, write_first: Callable[[], None] | None = None, **properties: Any) -> EventSources:
        stack = stack_with(tmp_path, **properties)
        deploy(stack)
        if write_first:
            write_first()
        sources = EventSources(stack, functions.invoke).start()
        started.append(sources)
        return sources

    yield start
    for sources in started:
        sources.stop()
    assert not [t for t in threading.enumerate() if t.name == "DispatchFunction.Outbox"]


def dynamodb() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


def put(sk: str, pk: str = "call#1", **attributes: Any) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"S": str(v)} for k, v in attributes.items()}}
    dynamodb().put_item(TableName=f"{STACK}-Outbox", Item=item)


def failures() -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName=f"{STACK}-Failures")["QueueUrl"]
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    return [json.loads(m["Body"]) for m in found]


def wait(done: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def fail(*keys: str) -> Callable[[list[dict[str, Any]]], Any]:
    """A function that reports the records with these sort keys as failed, every time."""

    def answer(records: list[dict[str, Any]]) -> Any:
        failed = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"] in keys]
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}

    return answer


# ---------------------------------------------------------------- the event, and order


def test_records_reach_the_function_in_order_in_lambdas_event(run, functions):
    def writes() -> None:  # all four waiting when the poller starts: batches of two
        put("a", kind="call.ringing")
        dynamodb().update_item(
            TableName=f"{STACK}-Outbox",
            Key={"pk": {"S": "call#1"}, "sk": {"S": "a"}},
            UpdateExpression="SET kind = :k",
            ExpressionAttributeValues={":k": {"S": "call.answered"}},
        )
        put("b", blob="x")
        dynamodb().delete_item(TableName=f"{STACK}-Outbox", Key={"pk": {"S": "call#1"}, "sk": {"S": "a"}})

    before = time.time()
    sources = run(StartingPosition="TRIM_HORIZON", BatchSize=2, write_first=writes)
    sources.settle()

    assert functions.sort_keys() == [["a", "a"], ["b", "a"]]  # BatchSize 2, in the order written
    records = [r for batch in functions.batches for r in batch]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "INSERT", "REMOVE"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence) and len(set(sequence)) == 4
    parse(event={"Records": records}, model=DynamoDBStreamModel)  # Powertools reads it as Lambda's event

    insert, modify, _, remove = records
    assert set(insert) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert insert["eventSource"] == "aws:dynamodb" and insert["awsRegion"] == "us-east-1"
    assert insert["eventVersion"] == "1.1"
    assert insert["eventSourceARN"] == STREAM_ARN
    change = insert["dynamodb"]
    assert set(change) == {
        "ApproximateCreationDateTime",
        "Keys",
        "NewImage",
        "SequenceNumber",
        "SizeBytes",
        "StreamViewType",
    }
    assert change["Keys"] == {"pk": {"S": "call#1"}, "sk": {"S": "a"}}
    assert change["NewImage"] == {"pk": {"S": "call#1"}, "sk": {"S": "a"}, "kind": {"S": "call.ringing"}}
    assert change["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert change["SizeBytes"] == 2 * (2 + 6 + 2 + 1) + 4 + 12  # keys, then keys and kind: names and values, in bytes
    assert isinstance(change["ApproximateCreationDateTime"], float)
    assert int(before) <= change["ApproximateCreationDateTime"] <= time.time()
    assert modify["dynamodb"]["OldImage"]["kind"] == {"S": "call.ringing"}
    assert modify["dynamodb"]["NewImage"]["kind"] == {"S": "call.answered"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["kind"] == {"S": "call.answered"}
    assert len({r["eventID"] for r in records}) == 4


def test_binary_attributes_are_base64_in_the_event(run, functions):
    sources = run(StartingPosition="TRIM_HORIZON")
    item = {"pk": {"S": "p"}, "sk": {"S": "bin"}, "b": {"B": b"foobar"}, "m": {"M": {"bs": {"BS": [b"\x00"]}}}}
    dynamodb().put_item(TableName=f"{STACK}-Outbox", Item=item)
    sources.settle()
    ((record,),) = functions.batches
    assert record["dynamodb"]["NewImage"]["b"] == {"B": "Zm9vYmFy"}
    assert record["dynamodb"]["NewImage"]["m"] == {"M": {"bs": {"BS": ["AA=="]}}}


def test_latest_starts_with_what_is_written_once_the_sources_run(run, functions):
    sources = run(StartingPosition="LATEST", write_first=lambda: put("before"))
    put("after")
    sources.settle()
    assert functions.sort_keys() == [["after"]]


def test_trim_horizon_starts_with_the_oldest_record(run, functions):
    sources = run(StartingPosition="TRIM_HORIZON", write_first=lambda: put("before"))
    put("after")
    sources.settle()
    assert [k for batch in functions.sort_keys() for k in batch] == ["before", "after"]


def test_a_batching_window_waits_for_a_fuller_batch(run, functions):
    sources = run(StartingPosition="TRIM_HORIZON", BatchSize=10, MaximumBatchingWindowInSeconds=1)
    started = time.monotonic()
    for n in range(3):
        put(f"w{n}")
    wait(lambda: functions.batches, "the batch")
    assert time.monotonic() - started > 0.8  # BatchSize is not reached: the window is waited out
    sources.settle()
    assert functions.sort_keys() == [["w0", "w1", "w2"]]


# ---------------------------------------------------------------- failures


def test_a_batch_the_function_fails_blocks_the_shard_and_is_retried_until_it_succeeds(run, functions):
    raised = []

    def raise_twice(records: list[dict[str, Any]]) -> Any:
        if len(raised) < 2:
            raised.append(1)
            raise RuntimeError("boom")

    functions.answer = raise_twice
    sources = run(StartingPosition="TRIM_HORIZON", BatchSize=2, write_first=lambda: [put("a"), put("b")])
    put("c")
    sources.settle()
    assert functions.sort_keys() == [["a", "b"], ["a", "b"], ["a", "b"], ["c"]]  # c waited for a and b
    assert failures() == []


def test_a_partial_batch_response_resumes_at_the_first_failed_record(run, functions):
    answers = [fail("b", "d"), lambda records: {"batchItemFailures": []}]
    functions.answer = lambda records: answers[min(len(functions.batches), 2) - 1](records)
    writes = lambda: [put(k) for k in "abcd"]  # noqa: E731
    sources = run(
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        write_first=writes,
    )
    sources.settle()
    assert functions.sort_keys() == [["a", "b", "c", "d"], ["b", "c", "d"]]  # a was checkpointed; c is tried again


def test_without_report_batch_item_failures_the_answer_is_ignored(run, functions):
    functions.answer = fail("a")
    sources = run(StartingPosition="TRIM_HORIZON", write_first=lambda: put("a"))
    sources.settle()
    assert functions.sort_keys() == [["a"]]


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": 123}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"foo": "1"}]},
        {"batchItemFailures": [{"itemIdentifier": "999"}]},
        "not an object",
    ],
)
def test_an_answer_lambda_cannot_read_fails_the_whole_batch(run, functions, answer):
    functions.answer = lambda records: answer
    props = {"StartingPosition": "TRIM_HORIZON", "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    sources = run(
        **props,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": FAILURES_ARN}},
        write_first=lambda: put("a"),
    )
    sources.settle()
    assert functions.sort_keys() == [["a"], ["a"]]
    (failure,) = failures()
    assert failure["responseContext"]["functionError"] is None  # the function answered; Lambda could not read it


@pytest.mark.parametrize("answer", [None, [], {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_answers_lambda_takes_for_a_success(run, functions, answer):
    functions.answer = lambda records: answer
    sources = run(
        StartingPosition="TRIM_HORIZON", FunctionResponseTypes=["ReportBatchItemFailures"], MaximumRetryAttempts=0
    )
    put("a")
    sources.settle()
    assert functions.sort_keys() == [["a"]]


def test_after_maximum_retry_attempts_the_batch_is_sent_to_the_on_failure_queue_and_skipped(run, functions):
    def poison(records: list[dict[str, Any]]) -> Any:
        if any(r["dynamodb"]["Keys"]["sk"]["S"] == "poison" for r in records):
            raise ValueError("cannot handle it")

    functions.answer = poison
    sources = run(
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": FAILURES_ARN}},
        write_first=lambda: [put("poison"), put("next")],
    )
    sources.settle()
    assert functions.sort_keys() == [["poison"], ["poison"], ["poison"], ["next"]]  # once and 2 retries, then on

    (failure,) = failures()
    parse(event=failure, model=DynamoDBStreamLambdaOnFailureDestinationModel)
    poisoned = functions.batches[0][0]["dynamodb"]
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert (
        failure["requestContext"]["functionArn"]
        == "arn:aws:lambda:us-east-1:123456789012:function:streams-test-DispatchFunction"
    )
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    info = failure["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poisoned["SequenceNumber"]
    assert info["batchSize"] == 1 and info["streamArn"] == STREAM_ARN and info["shardId"].startswith("shardId-")
    assert failure["version"] == "1.0" and failure["timestamp"].endswith("Z")


def test_a_partial_failure_given_up_on_sends_the_records_from_the_checkpoint(run, functions):
    functions.answer = fail("b")
    sources = run(
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": FAILURES_ARN}},
        write_first=lambda: [put(k) for k in "abc"],
    )
    put("d")
    sources.settle()
    assert functions.sort_keys() == [["a", "b", "c"], ["b", "c"], ["d"]]
    (failure,) = failures()
    first, second = functions.batches[1]
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        first["dynamodb"]["SequenceNumber"],
        second["dynamodb"]["SequenceNumber"],
        2,
    )
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["responseContext"]["functionError"] is None


def test_bisecting_isolates_the_record_the_function_fails_on(run, functions):
    def raise_on_c(records: list[dict[str, Any]]) -> Any:
        if any(r["dynamodb"]["Keys"]["sk"]["S"] == "c" for r in records):
            raise RuntimeError("c")

    functions.answer = raise_on_c
    sources = run(
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumRetryAttempts=0,
        BisectBatchOnFunctionError=True,
        DestinationConfig={"OnFailure": {"Destination": FAILURES_ARN}},
        write_first=lambda: [put(k) for k in "abcd"],
    )
    sources.settle()
    assert functions.sort_keys() == [
        ["a", "b", "c", "d"],
        ["a", "b"],
        ["c", "d"],
        ["c"],
        ["d"],
    ]  # a split is not a retry
    (failure,) = failures()
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["startSequenceNumber"] == functions.batches[3][0]["dynamodb"]["SequenceNumber"]


def test_records_older_than_the_maximum_age_are_skipped_to_the_on_failure_queue(run, functions):
    sources = run(
        StartingPosition="TRIM_HORIZON",
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": FAILURES_ARN}},
    )
    poller = sources.find("DispatchFunction")
    assert isinstance(poller, StreamPoller)
    poller.clock = lambda: time.time() + 120  # every record is two minutes old when it is read
    put("stale")
    sources.settle()
    assert functions.batches == []
    (failure,) = failures()
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 0


# ---------------------------------------------------------------- filters

OUTBOX_EVENTS = json.dumps({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"type": {"S": [{"prefix": "call."}]}}}})
ONE_KEY = json.dumps({"dynamodb": {"Keys": {"sk": {"S": ["pinned"]}}}})


def test_filter_criteria_decide_which_records_reach_the_function(run, functions):
    criteria = {"Filters": [{"Pattern": OUTBOX_EVENTS}, {"Pattern": ONE_KEY}]}
    sources = run(StartingPosition="TRIM_HORIZON", FilterCriteria=criteria)
    put("e1", type="call.ended")  # INSERT of a call event: passes the first
    put("e2", type="request.approved")  # not a call event
    put("e1", type="call.answered")  # a MODIFY
    put("pinned", type="other")  # the second filter's key
    dynamodb().delete_item(TableName=f"{STACK}-Outbox", Key={"pk": {"S": "call#1"}, "sk": {"S": "pinned"}})
    put("e3")  # no type at all
    sources.settle()
    delivered = [(r["eventName"], r["dynamodb"]["Keys"]["sk"]["S"]) for batch in functions.batches for r in batch]
    assert delivered == [("INSERT", "e1"), ("INSERT", "pinned"), ("REMOVE", "pinned")]


def test_a_filter_on_ttl_deletions_sees_the_service_identity(run, functions):
    only_ttl = json.dumps({"userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}})
    sources = run(StartingPosition="TRIM_HORIZON", FilterCriteria={"Filters": [{"Pattern": only_ttl}]})
    now = time.time()
    dynamodb().put_item(
        TableName=f"{STACK}-Outbox",
        Item={"pk": {"S": "p"}, "sk": {"S": "old"}, "expires_at": {"N": str(int(now) - 10)}},
    )
    dynamodb().put_item(
        TableName=f"{STACK}-Outbox",
        Item={"pk": {"S": "p"}, "sk": {"S": "fresh"}, "expires_at": {"N": str(int(now) + 3600)}},
    )
    dynamodb().delete_item(TableName=f"{STACK}-Outbox", Key={"pk": {"S": "p"}, "sk": {"S": "fresh"}})  # a user's delete
    assert expire_items(now) == 1
    sources.settle()
    ((record,),) = functions.batches
    assert record["eventName"] == "REMOVE" and record["dynamodb"]["Keys"]["sk"] == {"S": "old"}
    assert record["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    parse(event={"Records": [record]}, model=DynamoDBStreamModel)


# ---------------------------------------------------------------- transactions


def test_a_transactions_writes_reach_the_stream_and_a_failed_ones_do_not(run, functions):
    sources = run(StartingPosition="TRIM_HORIZON")
    dynamodb().put_item(TableName=f"{STACK}-Calls", Item={"pk": {"S": "call#1"}, "status": {"S": "ringing"}})

    def answer(sequence: int, status: str, expected: str) -> Any:
        return dynamodb().transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": f"{STACK}-Calls",
                        "Key": {"pk": {"S": "call#1"}},
                        "UpdateExpression": "SET #s = :new",
                        "ConditionExpression": "#s = :expected",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":new": {"S": status}, ":expected": {"S": expected}},
                    }
                },
                {
                    "Put": {
                        "TableName": f"{STACK}-Outbox",
                        "Item": {
                            "pk": {"S": "call#1"},
                            "sk": {"S": f"event#{sequence}"},
                            "type": {"S": f"call.{status}"},
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    answer(1, "answered", "ringing")
    with pytest.raises(dynamodb().exceptions.TransactionCanceledException):
        answer(2, "ended", "ringing")  # the call is no longer ringing: nothing is written, the event neither
    answer(2, "ended", "answered")
    sources.settle()
    records = [r for batch in functions.batches for r in batch]
    assert [(r["eventName"], r["dynamodb"]["NewImage"]["type"]["S"]) for r in records] == [
        ("INSERT", "call.answered"),
        ("INSERT", "call.ended"),
    ]


# ---------------------------------------------------------------- what is refused, what is said, and stopping


@pytest.mark.parametrize(
    ("properties", "refusal"),
    [
        ({"StartingPosition": "AT_TIMESTAMP"}, "TRIM_HORIZON or LATEST"),
        ({}, "TRIM_HORIZON or LATEST"),
        ({"StartingPosition": "LATEST", "BatchSize": 10001}, "BatchSize 10001"),
        ({"StartingPosition": "LATEST", "MaximumBatchingWindowInSeconds": 301}, "MaximumBatchingWindowInSeconds"),
        ({"StartingPosition": "LATEST", "MaximumRetryAttempts": -2}, "MaximumRetryAttempts"),
        ({"StartingPosition": "LATEST", "MaximumRecordAgeInSeconds": 30}, "MaximumRecordAgeInSeconds"),
        ({"StartingPosition": "LATEST", "ParallelizationFactor": 2}, "ParallelizationFactor"),
        ({"StartingPosition": "LATEST", "TumblingWindowInSeconds": 60}, "TumblingWindowInSeconds"),
        ({"StartingPosition": "LATEST", "FunctionResponseTypes": ["Other"]}, "FunctionResponseTypes"),
        ({"StartingPosition": "LATEST", "Queue": "x"}, "not properties of a DynamoDB event"),
        (
            {
                "StartingPosition": "LATEST",
                "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sns:us-east-1:1:t"}},
            },
            "not a queue of the template",
        ),
        ({"StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": "not json"}]}}, "invalid filter"),
        (
            {"StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": "INSERT"}'}]}},
            "list of rules",
        ),
        (
            {"StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": '{"$or": [{"a": ["b"]}]}'}]}},
            "not applied by the local stack",
        ),
    ],
)
def test_what_lambda_refuses_or_the_local_stack_does_not_run_is_refused(tmp_path, aws, functions, properties, refusal):
    stack = stack_with(tmp_path, **properties)
    with pytest.raises(ValueError, match=refusal):
        EventSources(stack, functions.invoke)


def test_a_stream_that_is_not_a_tables_is_refused(tmp_path, aws, functions):
    stack = stack_with(tmp_path, StartingPosition="LATEST")
    stack.resources["DispatchFunction"]["Properties"]["Events"]["Outbox"]["Properties"]["Stream"] = {
        "Fn::GetAtt": ["Calls", "StreamArn"]  # a table without a StreamSpecification
    }
    with pytest.raises(ValueError, match="is not the stream of a table"):
        EventSources(stack, functions.invoke)


def test_the_stream_source_says_what_it_runs(tmp_path, aws, functions):
    stack = stack_with(
        tmp_path,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=2,
        MaximumRetryAttempts=3,
        BisectBatchOnFunctionError=True,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": OUTBOX_EVENTS}]},
        DestinationConfig={"OnFailure": {"Destination": FAILURES_ARN}},
    )
    assert EventSources(stack, functions.invoke).describe() == [
        "DispatchFunction <- DynamoDB stream of streams-test-Outbox (TRIM_HORIZON, batch 10, window 2 s, 3 retries, "
        "bisect on error, partial batch failures, 1 filter, on failure to streams-test-Failures)"
    ]
    with_ttl = EventSources(stack, functions.invoke, ttl_period=60).describe()
    assert "TTL <- expired items of streams-test-Outbox (expires_at) deleted every 60 s" in with_ttl


def test_stopping_ends_the_poller_even_while_a_batch_is_retried_forever(run, functions):
    def always(records: list[dict[str, Any]]) -> Any:
        raise RuntimeError("down")

    functions.answer = always
    sources = run(StartingPosition="TRIM_HORIZON", write_first=lambda: put("stuck"))
    wait(lambda: len(functions.batches) >= 3, "a few retries")
    started = time.monotonic()
    sources.stop()
    assert time.monotonic() - started < 2
    assert "DispatchFunction.Outbox" not in {t.name for t in threading.enumerate()}


def test_the_ttl_sweep_runs_on_its_period_and_stops_with_the_sources(tmp_path, aws, functions):
    stack = stack_with(tmp_path, StartingPosition="LATEST")  # the item's INSERT is not delivered, its deletion is
    deploy(stack)
    dynamodb().put_item(
        TableName=f"{STACK}-Outbox",
        Item={"pk": {"S": "p"}, "sk": {"S": "old"}, "expires_at": {"N": str(int(time.time()) - 1)}},
    )
    with EventSources(stack, functions.invoke, ttl_period=0.1) as sources:
        wait(lambda: functions.batches, "the TTL deletion's record")
        sources.settle()
    assert [r["eventName"] for r in functions.batches[0]] == ["REMOVE"]
    assert "dynamodb.ttl" not in {t.name for t in threading.enumerate()}
