"""Realistic Lambda events, built by the local stack itself so they cannot drift from it.

HTTP: the gateway (local/gateway.py) is given a runtime that records what it would invoke instead of
invoking it: the API Gateway v2 event (routeKey, rawPath, lowered headers, requestContext with the
authorizer's context) and, for the authorizer, its REQUEST event. The authorizer's answer is the
principal the benchmark chooses, exactly as the real authorizer would return it.

Schedules: the event the local stack's scheduler builds (an EventBridge rule's "Scheduled Event").

Streams and queues: the records moto holds (a table's stream, a queue's messages), read as Lambda's
event source mappings read them and shaped by the local stack's pollers (local/event_sources.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.gateway import Gateway
from local.template import Stack

Record = dict[str, Any]  # one record of a stream's or a queue's event, as Lambda puts it in `Records`


@dataclass(frozen=True)
class Principal:
    """The authorizer's context for a caller (what `Principal.to_context()` gives)."""

    user_id: str
    role: str = "user"
    key_id: str | None = None

    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {"user_id": self.user_id, "role": self.role, "auth_type": "api_key"}
        if self.key_id:
            context["key_id"] = self.key_id
        return context

    @property
    def bearer(self) -> str:
        return f"Bearer tpk_bench_{self.key_id or self.user_id}"


def user(user_id: str, *, key: str | None = None) -> Principal:
    return Principal(user_id, "user", key or f"ak_{user_id}")


def admin(user_id: str = "usr_bench_admin") -> Principal:
    return Principal(user_id, "admin", f"ak_{user_id}")


@dataclass
class Invocation:
    function: str  # logical id
    event: dict[str, Any]


class _Recorder:
    """Stands in for local.runtime.Runtime: records the invocation instead of running a handler."""

    def __init__(self, stack: Stack) -> None:
        self.functions = stack.functions()
        self.local = threading.local()

    def invoke(self, key: str, event: Any) -> Any:
        if event.get("type") == "REQUEST":  # the authorizer
            self.local.authorizer_event = event
            return {"isAuthorized": True, "context": self.local.principal.context()}
        self.local.invocation = Invocation(key, event)
        return {"statusCode": 204, "headers": {}, "body": ""}


class EventFactory:
    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._recorder = _Recorder(stack)
        self._gateway = Gateway(stack, self._recorder)  # type: ignore[arg-type]
        self._sources: Any = None
        self._streams: dict[str, _StreamReader] = {}
        self._queues: dict[str, _QueueReader] = {}

    def http(
        self,
        method: str,
        path: str,
        *,
        principal: Principal | None = None,
        body: Any = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Invocation:
        """The event the gateway hands the function serving `method path` (path with its ids filled in)."""
        sent = {"host": "127.0.0.1:3000", "user-agent": "bench/1.0", **(headers or {})}
        data = b""
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            sent.setdefault("content-type", "application/json")
        if principal is not None:
            sent.setdefault("authorization", principal.bearer)
        self._gateway._cache.clear()  # the authorizer's answer is the principal given here, every time
        self._recorder.local.principal = principal
        self._recorder.local.invocation = None
        target = f"{path}?{urlencode(query)}" if query else path
        status, _, reply = self._gateway.handle(method, target, sent, data)
        invocation: Invocation | None = self._recorder.local.invocation
        if invocation is None:
            raise RuntimeError(f"the gateway did not route {method} {path}: {status} {reply[:200]!r}")
        return invocation

    def authorizer(self, authorization: str, path: str = "/outbound-calls/stats") -> Invocation:
        """The authorizer's REQUEST event for a request carrying this Authorization header (never cached)."""
        self.http("GET", path, principal=Principal("usr_placeholder"), headers={"authorization": authorization})
        spec = self._gateway.authorizer
        if spec is None:
            raise RuntimeError("template.yaml has no default authorizer")
        return Invocation(spec.function, self._recorder.local.authorizer_event)

    # ------------------------------------------------------------ streams and queues
    def _source(self, function: str) -> Any:
        """The local stack's event source feeding `function` (made, never started: nothing is invoked)."""
        if self._sources is None:
            from local.event_sources import EventSources

            self._sources = EventSources(self._stack, _not_invoked)
        return self._sources.find(function)

    def streamed(self, function: str, keep: Callable[[Record], bool]) -> list[Record]:
        """The records of the stream feeding `function` that `keep` picks, of those not picked before, in the
        stream's order (the records picked by no call yet wait for the next)."""
        if function not in self._streams:
            self._streams[function] = _StreamReader(self._source(function))
        return self._streams[function].take(keep)

    def queued(self, function: str, keep: Callable[[Record], bool]) -> list[Record]:
        """The same for the messages of the queue feeding `function`: each is deleted from the queue once read, as
        the event source mapping deletes what its function handled, so none is seen twice."""
        if function not in self._queues:
            self._queues[function] = _QueueReader(self._source(function))
        return self._queues[function].take(keep)

    def scheduled(self, function: str) -> Invocation:
        """The event the schedule feeding `function` invokes it with, firing now."""
        from datetime import UTC, datetime

        return Invocation(function, self._source(function).event(datetime.now(UTC)))


def _not_invoked(function: str, event: Any) -> Any:
    raise RuntimeError(f"the benchmark's event sources invoke nothing ({function})")


class _Reader:
    """Records read from an event source and not yet picked by a scenario."""

    def __init__(self, source: Any) -> None:
        self._source = source  # the local stack's poller: its client, what it reads, its `record()`
        self._unpicked: list[Record] = []

    def _read(self) -> None:
        raise NotImplementedError

    def _add(self, found: list[dict[str, Any]]) -> None:
        """As the poller hands them to the function: its records, through JSON."""
        self._unpicked += json.loads(json.dumps([self._source.record(r) for r in found]))

    def take(self, keep: Callable[[Record], bool]) -> list[Record]:
        self._read()
        picked: list[Record] = []
        left: list[Record] = []
        for record in self._unpicked:
            (picked if keep(record) else left).append(record)
        self._unpicked = left
        return picked


class _StreamReader(_Reader):
    """A DynamoDB stream read forward from its start, shard by shard, as the event source mapping reads it."""

    def __init__(self, source: Any) -> None:
        super().__init__(source)
        self._iterators: dict[str, str | None] = {}

    def _read(self) -> None:
        streams, arn = self._source.streams, self._source.stream.arn
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id not in self._iterators:
                self._iterators[shard_id] = streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                ).get("ShardIterator")
            while self._iterators[shard_id]:
                answer = streams.get_records(ShardIterator=self._iterators[shard_id], Limit=1000)
                self._iterators[shard_id] = answer.get("NextShardIterator")
                found = answer.get("Records") or []
                self._add(found)
                if not found:
                    break


class _QueueReader(_Reader):
    """An SQS queue's messages, received as the event source mapping receives them."""

    def _read(self) -> None:
        sqs, url = self._source.sqs, self._source.queue.url
        while True:
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            ).get("Messages")
            if not messages:
                return
            self._add(messages)
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)
