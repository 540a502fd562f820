"""The template's event sources, run against moto as AWS runs them: SQS queues polled as Lambda's event source
mappings poll them, schedules fired as EventBridge fires them. Each function is invoked through the local
runtime with the event AWS would send.

One thread per event source, started and stopped with the stack (`local/stack.py`) or a test's `world`. A kind
of event source is a class in `KINDS`; a template event of any other kind is listed as not run, with the reason.
A DynamoDB Streams poller would be one more class: moto keeps the records of a table with a StreamSpecification
(`local/resources.py` turns it on), read with `dynamodbstreams` GetShardIterator and GetRecords.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from local.schedules import Schedule, parse
from local.template import ACCOUNT, REGION, EventSource, Queue, Stack

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


KINDS: dict[str, type[Source]] = {"SQS": QueuePoller, "Schedule": ScheduledInvoker, "ScheduleV2": ScheduledInvoker}


class EventSources:
    """Every event source of the template, run against moto (`endpoint_url`: its server; None: the in-process mock)
    and invoking functions through `invoke` (the local runtime's)."""

    def __init__(
        self, stack: Stack, invoke: Invoke, *, endpoint_url: str | None = None, schedule_speed: float = 1.0
    ) -> None:
        self._stop = threading.Event()
        sqs = boto3.session.Session(region_name=REGION).client("sqs", endpoint_url=endpoint_url)
        self.sources: list[Source] = []
        self.not_run: list[tuple[EventSource, str]] = []
        for spec in stack.event_sources():
            kind = KINDS.get(spec.kind)
            if kind is None:
                self.not_run.append((spec, f"{spec.kind} events are not run by the local stack"))
                continue
            self.sources.append(kind(spec, stack, invoke, self._stop, sqs=sqs, speed=schedule_speed))

    def describe(self) -> list[str]:
        lines = [f"{s.spec.function} <- {s.describe()}" for s in self.sources]
        return lines + [f"{spec.function} <- {reason}" for spec, reason in self.not_run]

    def start(self) -> EventSources:
        for source in self.sources:
            source.thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Stop every source and wait for its thread: a batch being handled is finished first."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for source in self.sources:
            if source.thread.is_alive():
                source.thread.join(max(deadline - time.monotonic(), 0))
        running = [s.thread.name for s in self.sources if s.thread.is_alive()]
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
        """Wait until every queue is empty (nothing visible, in flight or delayed) and no batch is being handled."""
        queues = [s for s in self.sources if isinstance(s, QueuePoller) and s.enabled]
        deadline = time.monotonic() + timeout
        while not all(q.settled() for q in queues):
            if time.monotonic() > deadline:
                raise TimeoutError(f"queues not settled after {timeout} s")
            time.sleep(0.02)
