"""The template's event sources, run against moto as AWS runs them: SQS queues polled as Lambda's event source
mappings poll them, DynamoDB streams read as Lambda reads them, schedules fired as EventBridge fires them. Each
function is invoked through the local runtime with the event AWS would send.

One thread per event source, started and stopped with the stack (`local/stack.py`) or a test's `world`. A kind
of event source is a class in `KINDS`; a template event of any other kind is listed as not run, with the reason.
What AWS would refuse in an event's properties is refused when the sources are made, and so is what the local
stack does not reproduce.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.event_filters import FilterError, compile_criteria, matches
from local.schedules import Schedule, parse
from local.template import ACCOUNT, REGION, EventSource, Queue, Stack, Stream

log = logging.getLogger("local.event_sources")

Invoke = Callable[[str, Any], Any]  # (function logical id, event) -> the function's answer; raises on its error


class Source:
    """One event source of one function, run on its own thread until `stop` is set."""

    def __init__(self, spec: EventSource, stack: Stack, invoke: Invoke, stop: threading.Event, **_: Any) -> None:
        self.spec = spec
        self.invoke = invoke
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name=f"{spec.function}.{spec.name}", daemon=True)

    def describe(self) -> str:
        raise NotImplementedError

    def prepare(self) -> None:
        """Done when the sources start, before the thread: what must hold once `EventSources.start` returns."""

    def _run(self) -> None:
        try:
            self.run()
        except Exception:  # a source that dies says so; the stack goes on
            log.exception("event source %s.%s stopped", self.spec.function, self.spec.name)

    def run(self) -> None:
        raise NotImplementedError


# Lambda's limits on an SQS event source mapping, as CreateEventSourceMapping checks them.
_MAX_BATCH, _MAX_FIFO_BATCH, _MAX_WINDOW = 10_000, 10, 300
# The system attributes Lambda puts in an SQS record, of those ReceiveMessage returns.
_RECORD_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


class QueuePoller(Source):
    """`Type: SQS`: receive a batch, invoke the function with it, delete what succeeded.

    Failures are left in the queue: every message of the batch when the function raises (or answers what Lambda
    takes for a failure of the whole batch), only those it names in `batchItemFailures` with
    ReportBatchItemFailures. moto shows them again after the queue's visibility timeout, and its redrive policy
    moves a message to the dead-letter queue once it has been received maxReceiveCount times.
    """

    # An idle queue is asked again after this pause, doubled up to the last while it stays empty.
    IDLE_PAUSES = (0.02, 0.04, 0.08, 0.16, 0.25)

    def __init__(
        self, spec: EventSource, stack: Stack, invoke: Invoke, stop: threading.Event, *, sqs: Any, **_: Any
    ) -> None:
        super().__init__(spec, stack, invoke, stop)
        props = spec.properties
        where = f"{spec.function}.{spec.name}"
        queues = {q.arn: q for q in stack.queues()}
        if props.get("Queue") not in queues:
            raise ValueError(f"{where}: queue {props.get('Queue')!r} is not a queue of the template")
        if "FilterCriteria" in props:
            raise ValueError(f"{where}: FilterCriteria is not applied by the local stack")
        self.queue: Queue = queues[props["Queue"]]
        fifo = self.queue.attributes.get("FifoQueue") == "true"
        self.batch_size = int(props.get("BatchSize", 10))
        self.window = float(props.get("MaximumBatchingWindowInSeconds", 0))
        if not 1 <= self.batch_size <= (_MAX_FIFO_BATCH if fifo else _MAX_BATCH):
            raise ValueError(f"{where}: BatchSize {self.batch_size} is outside what Lambda accepts for this queue")
        if not 0 <= self.window <= _MAX_WINDOW or (fifo and self.window):
            raise ValueError(f"{where}: MaximumBatchingWindowInSeconds {self.window} is refused for this queue")
        if self.batch_size > 10 and self.window < 1:
            raise ValueError(f"{where}: a BatchSize over 10 needs a MaximumBatchingWindowInSeconds of at least 1")
        visibility = int(self.queue.attributes.get("VisibilityTimeout", 30))
        timeout = stack.functions()[spec.function].timeout
        if visibility < timeout:
            raise ValueError(
                f"{where}: the queue's visibility timeout ({visibility} s) is shorter than the function's ({timeout} s)"
            )
        self.report_failures = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
        self.enabled = props.get("Enabled", True) is not False
        self.sqs = sqs
        self.busy = threading.Event()  # set while a batch is received and not yet settled

    def describe(self) -> str:
        window = f", window {self.window:g} s" if self.window else ""
        failures = ", partial batch failures" if self.report_failures else ""
        state = "" if self.enabled else " (disabled)"
        return f"SQS {self.queue.name} (batch {self.batch_size}{window}{failures}){state}"

    def run(self) -> None:
        if not self.enabled:
            return
        idle = 0
        while not self.stop.is_set():
            self.busy.set()
            try:
                batch = self._collect()
                if batch:
                    self.deliver(batch)
            finally:
                self.busy.clear()
            idle = 0 if batch else min(idle + 1, len(self.IDLE_PAUSES) - 1)
            if not batch:
                self.stop.wait(self.IDLE_PAUSES[idle])

    def _collect(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages. With a batching window, Lambda keeps receiving until the batch is full or the
        window, counted from the first message, has passed."""
        batch = self._receive(min(10, self.batch_size))
        if not batch or not self.window:
            return batch
        until = time.monotonic() + self.window
        while len(batch) < self.batch_size and time.monotonic() < until and not self.stop.is_set():
            more = self._receive(min(10, self.batch_size - len(batch)))
            batch += more
            if not more:
                self.stop.wait(min(self.IDLE_PAUSES[-1], max(until - time.monotonic(), 0)))
        return batch

    def _receive(self, count: int) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue.url,
            MaxNumberOfMessages=count,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        return list(answer.get("Messages") or [])

    def deliver(self, batch: list[dict[str, Any]]) -> None:
        event = {"Records": [self.record(message) for message in batch]}
        ids = {message["MessageId"] for message in batch}
        try:
            answer = self.invoke(self.spec.function, json.loads(json.dumps(event)))
        except Exception:
            log.exception("%s failed a batch of %d from %s", self.spec.function, len(batch), self.queue.name)
            failed = ids
        else:
            failed = self._failed(answer, ids) if self.report_failures else set()
        done = [m for m in batch if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=self.queue.url, Entries=entries)

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes") or {}
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {k: attributes[k] for k in _RECORD_ATTRIBUTES if k in attributes},
            "messageAttributes": {
                name: _record_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue.arn,
            "awsRegion": REGION,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record

    def _failed(self, answer: Any, ids: set[str]) -> set[str]:
        """The messages a ReportBatchItemFailures answer names. No answer, or no or an empty list, is a success;
        an item without a message id of this batch fails the whole batch, as Lambda reads it."""
        if answer is None:
            return set()
        if not isinstance(answer, dict):
            log.error("%s answered %r: the whole batch failed", self.spec.function, type(answer).__name__)
            return ids
        items = answer.get("batchItemFailures")
        if not items:
            return set()
        named = {item.get("itemIdentifier") if isinstance(item, dict) else None for item in items}
        if not named <= ids:
            log.error("%s named items not in its batch: the whole batch failed", self.spec.function)
            return ids
        return {str(i) for i in named}

    def settled(self) -> bool:
        """Nothing waits in the queue, in flight or delayed, and no batch is being handled."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        found = self.sqs.get_queue_attributes(QueueUrl=self.queue.url, AttributeNames=names)["Attributes"]
        return not self.busy.is_set() and all(int(found.get(n, 0)) == 0 for n in names)


def _record_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as Lambda's SQS record spells it (camelCase, binaries in base64)."""
    found: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        found["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        found["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return found


class ScheduledInvoker(Source):
    """`Type: Schedule` (an EventBridge rule) and `Type: ScheduleV2` (EventBridge Scheduler): invoke the function
    at each firing of its expression, with its Input or, for a rule, EventBridge's "Scheduled Event".

    The schedule's clock is `speed` times faster than the wall clock from when the sources start (a rate of a
    minute fires every second at 60), so a test or `make dev` can watch a slow schedule; `fire()` runs it now.
    """

    def __init__(
        self, spec: EventSource, stack: Stack, invoke: Invoke, stop: threading.Event, *, speed: float, **_: Any
    ) -> None:
        super().__init__(spec, stack, invoke, stop)
        props = spec.properties
        rule = spec.kind == "Schedule"
        self.expression = str(props["Schedule"] if rule else props["ScheduleExpression"])
        self.enabled = props.get("Enabled", True) is not False and props.get("State", "ENABLED") == "ENABLED"
        self.input = json.loads(props["Input"]) if props.get("Input") else None
        rule_name = props.get("Name") or f"{stack.name}-{spec.function}{spec.name}"
        self.rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule_name}"
        self.rule = rule
        self.speed = speed
        self.started_wall = datetime.now(UTC)
        self.started_clock = time.monotonic()
        zone = None if rule else props.get("ScheduleExpressionTimezone")
        self.schedule: Schedule = parse(self.expression, started=self.started_wall, timezone=zone)
        self.fired = 0
        self._lock = threading.Lock()  # one invocation at a time, by the clock or by `fire`

    def describe(self) -> str:
        speed = f", {self.speed:g}x faster" if self.speed != 1 else ""
        state = "" if self.enabled else " (disabled)"
        return f"{self.spec.kind} {self.expression}{speed}{state}"

    def now(self) -> datetime:
        """The schedule's clock."""
        return self.started_wall + timedelta(seconds=(time.monotonic() - self.started_clock) * self.speed)

    def run(self) -> None:
        if not self.enabled:
            return
        moment = self.now()
        while not self.stop.is_set():
            due = self.schedule.next_after(moment)
            if due is None:
                return
            wait = (due - self.now()).total_seconds() / self.speed
            if wait > 0 and self.stop.wait(wait):
                return
            moment = due
            try:
                self.fire(due)
            except Exception:  # asynchronous on AWS as well: the error is the function's log's, not the schedule's
                log.exception("%s failed its scheduled run at %s", self.spec.function, due.isoformat())

    def fire(self, at: datetime | None = None) -> Any:
        """Invoke the function once, as the schedule does; returns its answer (raises its error)."""
        with self._lock:
            self.fired += 1
            return self.invoke(self.spec.function, self.event(at or self.now()))

    def event(self, at: datetime) -> Any:
        if self.input is not None:
            return json.loads(json.dumps(self.input))
        if not self.rule:
            return {}
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT,
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [self.rule_arn],
            "detail": {},
        }


# The properties of a SAM `Type: DynamoDB` event; any other is refused, as SAM refuses it.
_STREAM_PROPERTIES = frozenset(
    {
        "Stream",
        "StartingPosition",
        "StartingPositionTimestamp",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
        "BisectBatchOnFunctionError",
        "FunctionResponseTypes",
        "FilterCriteria",
        "DestinationConfig",
        "Enabled",
        "ParallelizationFactor",
        "TumblingWindowInSeconds",
        "KmsKeyArn",
        "MetricsConfig",
    }
)
# Lambda's limits on a stream's event source mapping, as CreateEventSourceMapping checks them.
_STREAM_MAX_BATCH, _MAX_RETRIES, _MIN_AGE, _MAX_AGE = 10_000, 10_000, 60, 604_800


@dataclass
class _Shard:
    """Where the poller is in one shard: the next iterator, and the records read (and kept by the filters) that
    the function has not yet taken."""

    shard_id: str
    iterator: str | None
    last_read: str | None = None  # the sequence number of the last record read
    waiting: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0


class StreamPoller(Source):
    """`Type: DynamoDB`: read a table's stream as Lambda's event source mapping reads it, shard by shard, in order.

    Records start at `StartingPosition` (LATEST: those written once the sources have started), pass the
    `FilterCriteria` (`local/event_filters.py`) or are dropped, and go to the function in batches of `BatchSize`
    (gathered for `MaximumBatchingWindowInSeconds`) in Lambda's DynamoDB event. A batch that fails blocks its shard
    and is invoked again until it succeeds or `MaximumRetryAttempts` retries have failed: every record of it when
    the function raises (or answers what Lambda takes for a failure of the whole batch), those from the first one
    named in `batchItemFailures` with ReportBatchItemFailures (the records before it are done). With
    `BisectBatchOnFunctionError` a batch the function raised on is split in two and each half is tried on its own;
    a split is not a retry. A batch given up on, or records older than `MaximumRecordAgeInSeconds`, are skipped,
    and the record of them (not the records themselves) is sent to the `OnFailure` queue, as Lambda sends it.
    """

    IDLE_PAUSES = (0.02, 0.04, 0.08, 0.16, 0.25)
    # A failed batch is invoked again after these pauses, the last repeated.
    RETRY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.0)

    def __init__(
        self,
        spec: EventSource,
        stack: Stack,
        invoke: Invoke,
        stop: threading.Event,
        *,
        streams: Any,
        sqs: Any,
        **_: Any,
    ) -> None:
        super().__init__(spec, stack, invoke, stop)
        props = spec.properties
        where = f"{spec.function}.{spec.name}"
        unknown = sorted(set(props) - _STREAM_PROPERTIES)
        if unknown:
            raise ValueError(f"{where}: {unknown} are not properties of a DynamoDB event")
        tables = stack.streams()
        if props.get("Stream") not in tables:
            raise ValueError(f"{where}: {props.get('Stream')!r} is not the stream of a table of the template")
        self.stream: Stream = tables[props["Stream"]]
        self.position = props.get("StartingPosition")
        if self.position not in ("TRIM_HORIZON", "LATEST") or "StartingPositionTimestamp" in props:
            raise ValueError(f"{where}: StartingPosition must be TRIM_HORIZON or LATEST for a DynamoDB stream")
        self.batch_size = int(props.get("BatchSize", 100))
        self.window = float(props.get("MaximumBatchingWindowInSeconds", 0))
        self.max_retries = int(props.get("MaximumRetryAttempts", -1))
        self.max_age = int(props.get("MaximumRecordAgeInSeconds", -1))
        if not 1 <= self.batch_size <= _STREAM_MAX_BATCH:
            raise ValueError(f"{where}: BatchSize {self.batch_size} is outside what Lambda accepts (1 to 10000)")
        if not 0 <= self.window <= _MAX_WINDOW:
            raise ValueError(f"{where}: MaximumBatchingWindowInSeconds {self.window:g} is outside 0 to 300")
        if not -1 <= self.max_retries <= _MAX_RETRIES:
            raise ValueError(f"{where}: MaximumRetryAttempts {self.max_retries} is outside -1 to 10000")
        if self.max_age != -1 and not _MIN_AGE <= self.max_age <= _MAX_AGE:
            raise ValueError(f"{where}: MaximumRecordAgeInSeconds {self.max_age} is neither -1 nor 60 to 604800")
        self.bisect = _true(props.get("BisectBatchOnFunctionError", False))
        response_types = set(props.get("FunctionResponseTypes") or [])
        if not response_types <= {"ReportBatchItemFailures"}:
            raise ValueError(f"{where}: FunctionResponseTypes {sorted(response_types)} are not Lambda's")
        self.report_failures = bool(response_types)
        if int(props.get("ParallelizationFactor", 1)) != 1:
            raise ValueError(f"{where}: a ParallelizationFactor other than 1 is not run by the local stack")
        if int(props.get("TumblingWindowInSeconds", 0)):
            raise ValueError(f"{where}: TumblingWindowInSeconds is not run by the local stack")
        try:
            self.filters = compile_criteria(props["FilterCriteria"]) if "FilterCriteria" in props else []
        except FilterError as refused:
            raise ValueError(f"{where}: {refused}") from None
        self.on_failure: Queue | None = None
        destination = (props.get("DestinationConfig") or {}).get("OnFailure") or {}
        if destination:
            queues = {q.arn: q for q in stack.queues()}
            if destination.get("Destination") not in queues or destination.get("Type", "SQS") != "SQS":
                raise ValueError(
                    f"{where}: OnFailure {destination.get('Destination')!r} is not a queue of the template "
                    "(the local stack sends failure records to SQS queues only)"
                )
            self.on_failure = queues[destination["Destination"]]
        self.enabled = _true(props.get("Enabled", True))
        self.function_arn = stack.functions()[spec.function].arn
        self.streams = streams
        self.sqs = sqs
        self.shards: list[_Shard] = []
        self.busy = threading.Event()  # set while records are read or a batch is being handled
        self.clock: Callable[[], float] = time.time  # what a record's age is measured against

    def describe(self) -> str:
        parts = [self.position or "", f"batch {self.batch_size}"]
        parts += [f"window {self.window:g} s"] if self.window else []
        parts += [f"{self.max_retries} retries"] if self.max_retries >= 0 else []
        parts += [f"records up to {self.max_age} s old"] if self.max_age >= 0 else []
        parts += ["bisect on error"] if self.bisect else []
        parts += ["partial batch failures"] if self.report_failures else []
        parts += [f"{len(self.filters)} filter{'s' if len(self.filters) > 1 else ''}"] if self.filters else []
        parts += [f"on failure to {self.on_failure.name}"] if self.on_failure else []
        state = "" if self.enabled else " (disabled)"
        return f"DynamoDB stream of {self.stream.table} ({', '.join(parts)}){state}"

    def prepare(self) -> None:
        """Take each shard's starting position now: LATEST means the records written once the sources started."""
        if not self.enabled:
            return
        described = self.streams.describe_stream(StreamArn=self.stream.arn)["StreamDescription"]
        self.shards = [
            _Shard(shard["ShardId"], self._iterator(shard["ShardId"], self.position)) for shard in described["Shards"]
        ]

    def _iterator(self, shard_id: str, position: str | None, after: str | None = None) -> str | None:
        request: dict[str, Any] = {"StreamArn": self.stream.arn, "ShardId": shard_id}
        if after is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            request["ShardIteratorType"] = position
        return self.streams.get_shard_iterator(**request).get("ShardIterator")

    def run(self) -> None:
        if not self.enabled:
            return
        idle = 0
        while not self.stop.is_set():
            self.busy.set()
            try:
                worked = [self._step(shard) for shard in self.shards]
            finally:
                self.busy.clear()
            idle = 0 if any(worked) else min(idle + 1, len(self.IDLE_PAUSES) - 1)
            if not any(worked):
                self.stop.wait(self.IDLE_PAUSES[idle])

    def _step(self, shard: _Shard) -> bool:
        """Read what the shard has, then hand the function one batch; whether anything was read or handled."""
        read = self._read(shard) if len(shard.waiting) < self.batch_size else 0
        if not shard.waiting:
            return read > 0
        if self.window:
            until = time.monotonic() + self.window
            while len(shard.waiting) < self.batch_size and time.monotonic() < until and not self.stop.is_set():
                if not self._read(shard):
                    self.stop.wait(min(self.IDLE_PAUSES[-1], max(until - time.monotonic(), 0)))
        batch = shard.waiting[: self.batch_size]
        done = self._deliver(shard, batch)
        del shard.waiting[:done]
        return True

    def _read(self, shard: _Shard) -> int:
        """GetRecords once; keep the records the filters pass. Returns how many records were read."""
        if shard.iterator is None:  # a closed shard, read to its end
            return 0
        try:
            answer = self.streams.get_records(ShardIterator=shard.iterator, Limit=1000)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
            shard.iterator = self._iterator(shard.shard_id, self.position, after=shard.last_read)
            return 0
        shard.iterator = answer.get("NextShardIterator")
        for found in answer.get("Records") or []:
            shard.last_read = found["dynamodb"]["SequenceNumber"]
            record = self.record(found)
            if matches(self.filters, record):
                shard.waiting.append(record)
        return len(answer.get("Records") or [])

    def record(self, found: dict[str, Any]) -> dict[str, Any]:
        """A GetRecords record as Lambda puts it in the function's event."""
        change = found["dynamodb"]
        dynamodb: dict[str, Any] = {
            "ApproximateCreationDateTime": float(int(change["ApproximateCreationDateTime"].timestamp())),
            "Keys": _image(change["Keys"]),
        }
        for image in ("NewImage", "OldImage"):
            if image in change:
                dynamodb[image] = _image(change[image])
        dynamodb.update(
            SequenceNumber=change["SequenceNumber"],
            SizeBytes=change["SizeBytes"],
            StreamViewType=change["StreamViewType"],
        )
        record = {
            "eventID": found["eventID"],
            "eventName": found["eventName"],
            "eventVersion": found["eventVersion"],
            "eventSource": "aws:dynamodb",
            "awsRegion": found["awsRegion"],
            "dynamodb": dynamodb,
            "eventSourceARN": self.stream.arn,
        }
        identity = found.get("userIdentity")
        if identity:  # TTL's deletions
            record["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
        return record

    def _deliver(self, shard: _Shard, records: list[dict[str, Any]]) -> int:
        """Hand the records to the function until each is done with (handled, or given up on); returns how many
        are, from the first: all of them unless the sources are stopped meanwhile."""
        work = deque([_Batch(records)])
        settled = 0
        while work:
            batch = work[0]
            expired = self._expired(batch.records)
            if expired:
                self._give_up(shard, batch.records[:expired], "RecordAgeExceeded", batch.invocations, None)
                settled += expired
                batch.records = batch.records[expired:]
                if not batch.records:
                    work.popleft()
                    continue
            batch.invocations += 1
            failed_at, raised = self._invoke(batch.records)
            if failed_at is None:
                settled += len(batch.records)
                work.popleft()
                continue
            if raised and self.bisect and len(batch.records) > 1:
                half = len(batch.records) // 2
                work.popleft()
                work.appendleft(_Batch(batch.records[half:], batch.retries, batch.invocations))
                work.appendleft(_Batch(batch.records[:half], batch.retries, batch.invocations))
                continue
            settled += failed_at  # checkpointed: the records before the first failed one are done
            batch.records = batch.records[failed_at:]
            batch.retries += 1
            if 0 <= self.max_retries < batch.retries:
                condition = "RetryAttemptsExhausted"
                self._give_up(shard, batch.records, condition, batch.invocations, "Unhandled" if raised else None)
                settled += len(batch.records)
                work.popleft()
                continue
            pause = self.RETRY_PAUSES[min(batch.retries, len(self.RETRY_PAUSES)) - 1]
            if self.stop.wait(pause):
                break
        return settled

    def _expired(self, records: list[dict[str, Any]]) -> int:
        """How many records, from the first, are older than MaximumRecordAgeInSeconds."""
        if self.max_age < 0:
            return 0
        oldest_kept = self.clock() - self.max_age
        count = 0
        for record in records:
            if record["dynamodb"]["ApproximateCreationDateTime"] >= oldest_kept:
                break
            count += 1
        return count

    def _invoke(self, records: list[dict[str, Any]]) -> tuple[int | None, bool]:
        """(index of the first record to try again, or None when the batch succeeded; whether the function raised)."""
        try:
            answer = self.invoke(self.spec.function, json.loads(json.dumps({"Records": records})))
        except Exception:
            log.exception(
                "%s failed a batch of %d from %s's stream", self.spec.function, len(records), self.stream.table
            )
            return 0, True
        if not self.report_failures:
            return None, False
        return self._checkpoint(answer, records), False

    def _checkpoint(self, answer: Any, records: list[dict[str, Any]]) -> int | None:
        """Where a ReportBatchItemFailures answer asks the batch to resume: the first record it names. No answer, an
        empty one, or no or an empty list is a success; an item Lambda cannot read (no sequence number of this
        batch) fails the whole batch, as Lambda reads it."""
        if answer is None or answer == [] or answer == {}:
            return None
        items = answer.get("batchItemFailures") if isinstance(answer, dict) else None
        if isinstance(answer, dict) and not items:
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in records]
        named = [item.get("itemIdentifier") if isinstance(item, dict) else None for item in items or []]
        if not isinstance(items, list) or not all(isinstance(n, str) and n in sequence for n in named):
            log.error("%s answered %r: the whole batch failed", self.spec.function, answer)
            return 0
        return min(sequence.index(str(n)) for n in named)

    def _give_up(
        self, shard: _Shard, records: list[dict[str, Any]], condition: str, invocations: int, error: str | None
    ) -> None:
        """Skip the records; the OnFailure queue gets Lambda's record of them."""
        log.warning(
            "%s: %d records of %s's stream skipped (%s)", self.spec.function, len(records), self.stream.table, condition
        )
        if self.on_failure is None:
            return
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": error},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _instant(first["ApproximateCreationDateTime"]),
                "approximateArrivalOfLastRecord": _instant(last["ApproximateCreationDateTime"]),
                "batchSize": len(records),
                "streamArn": self.stream.arn,
            },
        }
        self.sqs.send_message(QueueUrl=self.on_failure.url, MessageBody=json.dumps(body))

    def settled(self) -> bool:
        """No batch is being handled, none waits, and the stream has nothing past what was read."""
        if not self.enabled:
            return True
        if self.busy.is_set() or any(shard.waiting for shard in self.shards):
            return False
        for shard in self.shards:
            if shard.iterator and self.streams.get_records(ShardIterator=shard.iterator, Limit=1).get("Records"):
                return False
        return not self.busy.is_set()


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _image(image: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as DynamoDB JSON spells them (boto3 hands binaries over as bytes; the event has base64)."""
    return {name: _attribute(value) for name, value in image.items()}


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    ((kind, inner),) = value.items()
    if kind == "B":
        return {kind: base64.b64encode(inner).decode()}
    if kind == "BS":
        return {kind: [base64.b64encode(member).decode() for member in inner]}
    if kind == "M":
        return {kind: _image(inner)}
    if kind == "L":
        return {kind: [_attribute(member) for member in inner]}
    return {kind: inner}


def _instant(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


KINDS: dict[str, type[Source]] = {
    "SQS": QueuePoller,
    "DynamoDB": StreamPoller,
    "Schedule": ScheduledInvoker,
    "ScheduleV2": ScheduledInvoker,
}


class TimeToLive:
    """DynamoDB's TTL process: the expired items of the tables with TTL enabled deleted every `period` seconds
    (`local.patches.expire_dynamodb_items`, which writes the REMOVE records TTL writes)."""

    def __init__(self, stack: Stack, period: float, stop: threading.Event) -> None:
        self.tables = {
            stack.physical_name(logical_id): str(props["TimeToLiveSpecification"]["AttributeName"])
            for logical_id, props in stack.tables().items()
            if _true((props.get("TimeToLiveSpecification") or {}).get("Enabled", False))
        }
        self.period = period
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name="dynamodb.ttl", daemon=True)

    def describe(self) -> str:
        tables = ", ".join(f"{table} ({attribute})" for table, attribute in self.tables.items())
        return f"TTL <- expired items of {tables} deleted every {self.period:g} s"

    def _run(self) -> None:
        while not self.stop.wait(self.period):
            try:
                expire_items()
            except Exception:  # the next sweep tries again
                log.exception("the TTL sweep failed")


def expire_items(now: float | None = None) -> int:
    """Delete the expired items of every table with TTL enabled now, as DynamoDB's TTL does; returns how many."""
    from local.patches import expire_dynamodb_items

    return expire_dynamodb_items(now)


class EventSources:
    """Every event source of the template, run against moto (`endpoint_url`: its server; None: the in-process mock)
    and invoking functions through `invoke` (the local runtime's). With `ttl_period`, the tables' TTL is applied
    every that many seconds as well (`TimeToLive`)."""

    def __init__(
        self,
        stack: Stack,
        invoke: Invoke,
        *,
        endpoint_url: str | None = None,
        schedule_speed: float = 1.0,
        ttl_period: float | None = None,
    ) -> None:
        self._stop = threading.Event()
        session = boto3.session.Session(region_name=REGION)
        sqs = session.client("sqs", endpoint_url=endpoint_url)
        # botocore sends a request naming a stream ARN to an endpoint of the ARN's account, which moto does not serve
        streams = session.client(
            "dynamodbstreams", endpoint_url=endpoint_url, config=Config(account_id_endpoint_mode="disabled")
        )
        self.sources: list[Source] = []
        self.not_run: list[tuple[EventSource, str]] = []
        for spec in stack.event_sources():
            kind = KINDS.get(spec.kind)
            if kind is None:
                self.not_run.append((spec, f"{spec.kind} events are not run by the local stack"))
                continue
            self.sources.append(kind(spec, stack, invoke, self._stop, sqs=sqs, streams=streams, speed=schedule_speed))
        ttl = TimeToLive(stack, ttl_period, self._stop) if ttl_period else None
        self.ttl = ttl if ttl is not None and ttl.tables else None

    def describe(self) -> list[str]:
        lines = [f"{s.spec.function} <- {s.describe()}" for s in self.sources]
        lines += [self.ttl.describe()] if self.ttl else []
        return lines + [f"{spec.function} <- {reason}" for spec, reason in self.not_run]

    def start(self) -> EventSources:
        for source in self.sources:
            source.prepare()
        for source in self.sources:
            source.thread.start()
        if self.ttl:
            self.ttl.thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every source and wait for its thread: an invocation under way is finished first (a failed batch is
        not tried again)."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        threads = [s.thread for s in self.sources] + ([self.ttl.thread] if self.ttl else [])
        for thread in threads:
            if thread.is_alive():
                thread.join(max(deadline - time.monotonic(), 0))
        running = [thread.name for thread in threads if thread.is_alive()]
        if running:
            raise RuntimeError(f"event sources still running after {timeout} s: {running}")

    def __enter__(self) -> EventSources:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    def find(self, function: str, name: str | None = None) -> Source:
        """The source of `function` (a logical id) named `name` under its Events, or its only one."""
        found = [s for s in self.sources if s.spec.function == function and name in (None, s.spec.name)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} event sources match {function} {name or ''}".rstrip())
        return found[0]

    def run_schedule(self, function: str, name: str | None = None) -> Any:
        """Fire a schedule now, whatever its expression; returns the function's answer."""
        source = self.find(function, name)
        if not isinstance(source, ScheduledInvoker):
            raise TypeError(f"{source.thread.name} is not a schedule")
        return source.fire()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait until every stream is read to its end and every queue is empty (nothing visible, in flight or
        delayed), with no batch being handled, twice running: a function fed by one may write to another."""
        streams = [s for s in self.sources if isinstance(s, StreamPoller) and s.enabled]
        queues = [s for s in self.sources if isinstance(s, QueuePoller) and s.enabled]
        deadline = time.monotonic() + timeout
        quiet = 0
        while quiet < 2:
            if all(s.settled() for s in streams) and all(q.settled() for q in queues):
                quiet += 1
                continue
            quiet = 0
            if time.monotonic() > deadline:
                raise TimeoutError(f"event sources not settled after {timeout} s")
            time.sleep(0.02)
