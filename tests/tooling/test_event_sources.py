"""The local stack's event sources (local/event_sources.py) against moto's SQS, from a small template: batches,
partial failures, redelivery after the visibility timeout, the dead-letter queue, schedules; and what the local
stand-ins refuse because AWS refuses it. DynamoDB streams: tests/tooling/test_event_streams.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from local.event_sources import EventSources, ScheduledInvoker
from local.resources import deploy
from local.schedules import parse
from local.template import Stack

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Timeout: 1}
Resources:
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDeadLetterQueue.Arn, maxReceiveCount: 2}
  WorkDeadLetterQueue:
    Type: AWS::SQS::Queue
  PlainQueue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 1}
  GatherQueue:
    Type: AWS::SQS::Queue
  WorkFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/work/
      Handler: app.lambda_handler
      Events:
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt WorkQueue.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures]}
  PlainFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/plain/
      Handler: app.lambda_handler
      Events:
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt PlainQueue.Arn}
  GatherFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/gather/
      Handler: app.lambda_handler
      Events:
        Queue:
          Type: SQS
          Properties: {Queue: !GetAtt GatherQueue.Arn, BatchSize: 25, MaximumBatchingWindowInSeconds: 1}
  SweepFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/sweep/
      Handler: app.lambda_handler
      Events:
        Every:
          Type: Schedule
          Properties: {Schedule: rate(1 minute)}
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: "cron(0 3 * * ? *)"
            ScheduleExpressionTimezone: Europe/Paris
            Input: '{"sweep": "nightly"}'
        Changes:
          Type: DynamoDB
          Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST}
        Uploads:
          Type: SNS
          Properties: {Topic: "arn:aws:sns:us-east-1:123456789012:uploads"}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_AND_OLD_IMAGES}
"""


class Functions:
    """Stands for the runtime: records each invocation; `answer[function]` decides what the function does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.answer: dict[str, Callable[[Any], Any]] = {}
        self.lock = threading.Lock()

    def invoke(self, function: str, event: Any) -> Any:
        with self.lock:
            self.calls.append((function, event))
        return self.answer.get(function, lambda event: None)(event)

    def events(self, function: str) -> list[Any]:
        with self.lock:
            return [event for name, event in self.calls if name == function]

    def bodies(self, function: str) -> list[list[str]]:
        return [[r["body"] for r in event["Records"]] for event in self.events(function)]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def aws() -> Iterator[None]:
    from local.patches import sqs_checks_message_bytes

    sqs_checks_message_bytes()
    with moto.mock_aws():
        yield


@pytest.fixture
def stack(tmp_path: Path, aws: None) -> Stack:
    made = Stack(name="events-test", path=write(tmp_path, TEMPLATE))
    deploy(made)
    return made


@pytest.fixture
def functions() -> Functions:
    return Functions()


@pytest.fixture
def sources(stack: Stack, functions: Functions) -> Iterator[EventSources]:
    running = EventSources(stack, functions.invoke).start()
    yield running
    running.stop()
    assert not [t for t in threading.enumerate() if t.name.endswith((".Queue", ".Every", ".Nightly", ".Changes"))]


def url(stack: Stack, logical_id: str) -> str:
    return next(q.url for q in stack.queues() if q.logical_id == logical_id)


def send(stack: Stack, logical_id: str, *bodies: str) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    for body in bodies:
        sqs.send_message(QueueUrl=url(stack, logical_id), MessageBody=body)


def wait(done: Callable[[], Any], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def queued(stack: Stack, logical_id: str) -> list[str]:
    """Every message of a queue, received at once and left there (visibility 0)."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    found = sqs.receive_message(QueueUrl=url(stack, logical_id), MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [m["Body"] for m in found.get("Messages", [])]


# ---------------------------------------------------------------- queues


def test_a_batch_is_delivered_as_lambda_sends_it_and_deleted(stack, functions, sources):
    send(stack, "WorkQueue", "one", "two", "three")
    sources.settle()

    delivered = [body for batch in functions.bodies("WorkFunction") for body in batch]
    assert sorted(delivered) == ["one", "three", "two"]
    record = functions.events("WorkFunction")[0]["Records"][0]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:events-test-WorkQueue"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(record["attributes"])
    assert queued(stack, "WorkQueue") == []


def test_message_attributes_are_spelt_as_in_lambdas_event(stack, functions, sources):
    boto3.client("sqs", region_name="us-east-1").send_message(
        QueueUrl=url(stack, "WorkQueue"),
        MessageBody="with attributes",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "summary"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    sources.settle()
    (record,) = functions.events("WorkFunction")[0]["Records"]
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "summary", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "blob": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    assert record["md5OfMessageAttributes"]


def test_a_reported_failure_comes_back_after_the_visibility_timeout_and_the_rest_is_deleted(stack, functions, sources):
    tries: dict[str, int] = {}

    def fail_b_once(event: Any) -> Any:
        failed = []
        for record in event["Records"]:
            tries[record["body"]] = tries.get(record["body"], 0) + 1
            if record["body"] == "b" and tries["b"] == 1:
                failed.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failed}

    functions.answer["WorkFunction"] = fail_b_once
    send(stack, "WorkQueue", "a", "b", "c")
    wait(lambda: tries.get("b") == 1 and len(tries) == 3, "the first delivery")
    started = time.monotonic()
    wait(lambda: tries.get("b") == 2, "b's redelivery")

    assert time.monotonic() - started > 0.5  # not before the queue's visibility timeout (1 s)
    assert tries == {"a": 1, "b": 2, "c": 1}  # a and c were deleted after their success
    last = functions.events("WorkFunction")[-1]["Records"]
    assert [(r["body"], r["attributes"]["ApproximateReceiveCount"]) for r in last] == [("b", "2")]
    sources.settle()


def test_a_function_error_fails_the_whole_batch(stack, functions):
    seen: list[list[str]] = []

    def raise_once(event: Any) -> Any:
        seen.append(sorted(r["body"] for r in event["Records"]))
        if len(seen) == 1:
            raise RuntimeError("boom")

    functions.answer["WorkFunction"] = raise_once
    send(stack, "WorkQueue", "x", "y")  # both waiting before the poller starts: one batch
    with EventSources(stack, functions.invoke) as running:
        wait(lambda: len(seen) == 2, "the batch's second delivery")
        running.settle()
    assert seen == [["x", "y"], ["x", "y"]]


@pytest.mark.parametrize(
    "answer",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"wrongKey": "x"}]},
        "not an object",
    ],
)
def test_an_answer_lambda_cannot_read_fails_the_whole_batch(stack, functions, sources, answer):
    functions.answer["WorkFunction"] = lambda event: answer if len(functions.events("WorkFunction")) == 1 else None
    send(stack, "WorkQueue", "only")
    wait(lambda: len(functions.events("WorkFunction")) == 2, "the redelivery")
    sources.settle()


def test_without_report_batch_item_failures_the_answer_is_ignored(stack, functions, sources):
    functions.answer["PlainFunction"] = lambda event: {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
    }
    send(stack, "PlainQueue", "p")
    sources.settle()
    time.sleep(1.2)  # past the visibility timeout: nothing comes back
    assert functions.bodies("PlainFunction") == [["p"]]


def test_a_message_that_keeps_failing_moves_to_the_dead_letter_queue_after_max_receive_count(stack, functions, sources):
    functions.answer["WorkFunction"] = lambda event: {
        "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]
    }
    send(stack, "WorkQueue", "poison")
    wait(lambda: queued(stack, "WorkDeadLetterQueue") == ["poison"], "the dead-letter queue", timeout=15)

    receive_counts = [
        e["Records"][0]["attributes"]["ApproximateReceiveCount"] for e in functions.events("WorkFunction")
    ]
    assert receive_counts == ["1", "2"]  # maxReceiveCount deliveries, then no more
    assert queued(stack, "WorkQueue") == []


def test_a_batching_window_waits_for_a_fuller_batch(stack, functions, sources):
    sqs = boto3.client("sqs", region_name="us-east-1")
    sent = time.monotonic()
    for first in (0, 10):  # 15 messages: more than one receive (10 at most) can give
        entries = [{"Id": str(i), "MessageBody": f"g{i}"} for i in range(first, min(first + 10, 15))]
        sqs.send_message_batch(QueueUrl=url(stack, "GatherQueue"), Entries=entries)
    wait(lambda: functions.events("GatherFunction"), "the batch")
    assert time.monotonic() - sent > 0.8  # BatchSize 25 is not reached: the 1 s window is waited out
    sources.settle()
    assert [len(batch) for batch in functions.bodies("GatherFunction")] == [15]


def test_stopping_ends_every_poller_thread(stack, functions):
    running = EventSources(stack, functions.invoke).start()
    names = {s.thread.name for s in running.sources}
    assert names <= {t.name for t in threading.enumerate()}
    started = time.monotonic()
    running.stop()
    assert time.monotonic() - started < 1
    assert not names & {t.name for t in threading.enumerate()}


# ---------------------------------------------------------------- schedules


def test_a_rate_schedule_fires_on_its_clock_with_eventbridges_scheduled_event(stack, functions):
    with EventSources(stack, functions.invoke, schedule_speed=240) as running:  # a minute every quarter second
        wait(lambda: len(functions.events("SweepFunction")) >= 2, "two firings", timeout=5)
        source = running.find("SweepFunction", "Every")
        assert "rate(1 minute), 240x faster" in source.describe()
    event = functions.events("SweepFunction")[0]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/events-test-SweepFunctionEvery"]
    assert event["detail"] == {} and event["account"] == "123456789012" and event["region"] == "us-east-1"
    first, second = (datetime.fromisoformat(e["time"]) for e in functions.events("SweepFunction")[:2])
    assert (second - first).total_seconds() == 60


def test_a_schedule_runs_now_when_a_test_asks(stack, functions, sources):
    functions.answer["SweepFunction"] = lambda event: {"swept": event}
    assert sources.run_schedule("SweepFunction", "Nightly") == {"swept": {"sweep": "nightly"}}  # its Input
    with pytest.raises(TypeError):
        sources.run_schedule("WorkFunction")


def test_cron_and_at_expressions_fire_when_eventbridge_would():
    moment = datetime(2026, 3, 5, 10, 7, 30, tzinfo=UTC)  # a Thursday

    def next_of(expression: str, zone: str | None = None) -> str:
        found = parse(expression, started=moment, timezone=zone).next_after(moment)
        return found.isoformat() if found else "never"

    assert next_of("cron(0/15 * * * ? *)") == "2026-03-05T10:15:00+00:00"
    assert next_of("cron(0 9 ? * MON-FRI *)") == "2026-03-06T09:00:00+00:00"
    assert next_of("cron(0 18 L * ? *)") == "2026-03-31T18:00:00+00:00"
    assert next_of("cron(0 10 ? * 6#3 *)") == "2026-03-20T10:00:00+00:00"  # the third Friday
    assert next_of("cron(0 10 ? * 2L *)") == "2026-03-30T10:00:00+00:00"  # the last Monday
    assert next_of("cron(0 8 1W * ? *)") == "2026-04-01T08:00:00+00:00"
    assert next_of("cron(0 9 * * ? *)", "America/New_York") == "2026-03-05T14:00:00+00:00"
    assert next_of("cron(0 9 * * ? 2025)") == "never"
    assert next_of("at(2026-03-05T11:00:00)") == "2026-03-05T11:00:00+00:00"
    assert next_of("rate(5 minutes)") == "2026-03-05T10:12:30+00:00"


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(0 minutes)",
        "rate(5 seconds)",
        "cron(0 12 * * * *)",
        "cron(0 12 ? * ? *)",
        "cron(60 * * * ? *)",
        "cron(0 12 * * ?)",
        "cron(0 0 ? * 8 *)",
        "every 5 minutes",
    ],
)
def test_expressions_eventbridge_refuses_are_refused(expression):
    with pytest.raises(ValueError):
        parse(expression, started=datetime.now(UTC))


# ---------------------------------------------------------------- what is run, and what is refused


def test_the_sources_say_what_they_run_and_what_they_do_not(stack, functions):
    lines = EventSources(stack, functions.invoke).describe()
    assert "WorkFunction <- SQS events-test-WorkQueue (batch 5, partial batch failures)" in lines
    assert "GatherFunction <- SQS events-test-GatherQueue (batch 25, window 1 s)" in lines
    assert "SweepFunction <- ScheduleV2 cron(0 3 * * ? *)" in lines
    assert "SweepFunction <- DynamoDB stream of events-test-Table (LATEST, batch 100)" in lines
    assert "SweepFunction <- SNS events are not run by the local stack" in lines
    assert isinstance(EventSources(stack, functions.invoke).find("SweepFunction", "Every"), ScheduledInvoker)


def test_a_table_with_a_stream_specification_has_its_stream(stack):
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName="events-test-Table")["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize(
    ("text", "change", "refusal"),
    [
        ("Function: {Timeout: 1}", "Function: {Timeout: 5}", "shorter than the function's"),
        ("BatchSize: 25, MaximumBatchingWindowInSeconds: 1", "BatchSize: 25", "needs a MaximumBatchingWindowInSeconds"),
        ("BatchSize: 5,", "BatchSize: 10001,", "BatchSize 10001 is outside"),
        (
            "{Queue: !GetAtt PlainQueue.Arn}",
            "{Queue: !GetAtt PlainQueue.Arn, FilterCriteria: {Filters: [{Pattern: x}]}}",
            "FilterCriteria",
        ),
        (
            "{Queue: !GetAtt PlainQueue.Arn}",
            "{Queue: arn:aws:sqs:us-east-1:1:elsewhere}",
            "not a queue of the template",
        ),
        ("rate(1 minute)", "rate(1 minutes)", "positive whole number"),
    ],
)
def test_what_lambda_or_eventbridge_refuses_is_refused(tmp_path, aws, functions, text, change, refusal):
    assert text in TEMPLATE
    stack = Stack(name="events-test", path=write(tmp_path, TEMPLATE.replace(text, change)))
    with pytest.raises(ValueError, match=refusal):
        EventSources(stack, functions.invoke)


def test_sqs_refuses_a_message_over_the_queues_size_in_bytes_as_aws_does(stack):
    """moto counts characters; SQS counts UTF-8 bytes (and refuses characters outside XML's)."""
    from botocore.exceptions import ClientError

    from telephony.errors import UpstreamUnavailable
    from telephony.integrations import queues

    sqs = boto3.client("sqs", region_name="us-east-1")
    small = sqs.create_queue(QueueName="small", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=small, MessageBody="x" * 1024)
    with pytest.raises(ClientError, match="Message must be shorter than 1024 bytes"):
        sqs.send_message(QueueUrl=small, MessageBody="é" * 600)  # 600 characters, 1,200 bytes
    with pytest.raises(ClientError, match="InvalidMessageContents"):
        sqs.send_message(QueueUrl=small, MessageBody="a\x00b")
    big = url(stack, "PlainQueue")  # the default size: 1 MiB
    with pytest.raises(UpstreamUnavailable) as refused:
        queues.send(big, json.dumps({"text": "x" * 1_048_576}))
    assert refused.value.details == [{"service": "sqs", "code": "InvalidParameterValue"}]
