"""The benchmark measures every function of template.yaml, or its report says why not (bench/scenarios.py), and the
functions a queue or a stream feeds get their events as the local stack's pollers build them (bench/events.py)."""

from __future__ import annotations

import json
from typing import Any

from bench import template_info
from bench.events import _QueueReader
from bench.report import Report, render
from bench.scenarios import SCENARIOS, UNMEASURED, for_functions, unmeasured
from local.template import Stack


def test_every_function_deployed_with_the_default_parameters_has_a_scenario() -> None:
    functions = template_info.functions()
    scenarios, missing = for_functions(functions)
    assert [f.logical_id for f in missing] == []
    assert {s.function for s in scenarios} == {f.logical_id for f in functions}


def test_the_functions_a_queue_a_stream_or_a_schedule_feeds_are_told_apart() -> None:
    kinds = {f.logical_id: f.kind for f in template_info.functions()}
    assert kinds["DispatchEventsFunction"] == template_info.STREAM
    assert kinds["DeliverWebhookFunction"] == template_info.QUEUE
    assert kinds["SweepLiveCallsFunction"] == template_info.SCHEDULE
    fed = {"DispatchEventsFunction", "DeliverWebhookFunction", "SweepLiveCallsFunction"}
    assert {s.function for s in SCENARIOS if not s.warm} >= fed


def test_a_function_left_out_by_the_parameters_is_reported_with_its_reason() -> None:
    left_out = template_info.left_out()
    assert "SummarizeCallFunction" in left_out  # SummaryModelId is empty by default: else this proves nothing
    why = unmeasured([], left_out)
    assert why["SummarizeCallFunction"] == UNMEASURED["SummarizeCallFunction"]
    document = render(Report({"command": "make bench"}, unmeasured=why), passes=1)
    assert f"- SummarizeCallFunction: {UNMEASURED['SummarizeCallFunction']}." in document


def test_a_deployed_function_without_a_scenario_is_reported_and_keeps_its_reason() -> None:
    functions = template_info.functions(Stack({"SummaryModelId": "anthropic.claude-3-haiku-20240307-v1:0"}))
    _, missing = for_functions(functions)
    assert [f.logical_id for f in missing] == ["SummarizeCallFunction"]
    assert unmeasured(missing, []) == {"SummarizeCallFunction": UNMEASURED["SummarizeCallFunction"]}
    unknown = [f for f in functions if f.logical_id == "CreateWebhookFunction"]
    assert unmeasured(unknown, []) == {"CreateWebhookFunction": "no scenario in bench/scenarios.py"}


class FakeSqs:
    """A queue holding messages until they are deleted; a receive hands over at most 10 of those not in flight."""

    def __init__(self, bodies: list[dict[str, Any]]) -> None:
        self.messages = {str(i): json.dumps(body) for i, body in enumerate(bodies)}
        self.in_flight: set[str] = set()
        self.receives = 0

    def receive_message(self, **request: Any) -> dict[str, Any]:
        self.receives += 1
        free = [m for m in self.messages if m not in self.in_flight][: request["MaxNumberOfMessages"]]
        self.in_flight |= set(free)
        return {"Messages": [{"MessageId": m, "ReceiptHandle": f"rh-{m}", "Body": self.messages[m]} for m in free]}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:
        for entry in Entries:
            del self.messages[entry["ReceiptHandle"].removeprefix("rh-")]
        return {}


class FakePoller:
    def __init__(self, sqs: FakeSqs) -> None:
        self.sqs = sqs
        self.queue = type("Queue", (), {"url": "https://sqs.local/queue"})()

    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {"messageId": message["MessageId"], "body": message["Body"], "eventSource": "aws:sqs"}


def test_the_queue_reader_hands_each_message_over_once_and_keeps_the_others_for_later() -> None:
    sqs = FakeSqs([{"webhook_id": "wh_a" if i % 3 == 0 else "wh_b", "n": i} for i in range(25)])
    reader = _QueueReader(FakePoller(sqs))

    def of(webhook_id: str) -> Any:
        return lambda record: json.loads(record["body"])["webhook_id"] == webhook_id

    first = reader.take(of("wh_a"))
    assert [json.loads(r["body"])["n"] for r in first] == list(range(0, 25, 3))
    assert sqs.messages == {}  # taken off the queue once read, as the event source mapping deletes what it handled
    assert reader.take(of("wh_a")) == []
    second = reader.take(of("wh_b"))
    assert [json.loads(r["body"])["n"] for r in second] == [n for n in range(25) if n % 3]
    assert reader.take(of("wh_b")) == []
