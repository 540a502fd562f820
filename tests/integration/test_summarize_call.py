"""Call summaries off the webhook's path: the LiveKit webhook queues the finished call, SummarizeCallFunction
(run by the local stack's SQS poller, from template.yaml) asks Bedrock, replaced here by a fake at the
integration boundary (there is no Bedrock locally), and writes the summary only if the call has none."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest

from telephony.errors import UpstreamUnavailable

AGENT = str(uuid.UUID(int=27))
NUMBER = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "summaries-pw-0000",
    "metadata": {"agent_name": "sales-agent"},
}
CALLEE = "+14155550199"
MODEL = "test-model"


@pytest.fixture
def parameters() -> dict[str, str]:
    return {"SummaryModelId": MODEL, "SummaryDelaySeconds": "0"}


class FakeBedrock:
    """Stands where telephony.integrations.bedrock.Bedrock does; `before` runs inside the model's call."""

    def __init__(self, answer: str = "Booked a demo for Monday.") -> None:
        self.answer = answer
        self.prompts: list[str] = []
        self.threads: list[str] = []
        self.before: Any = None
        self.fail_for: set[str] = set()

    def converse(self, model_id: str, prompt: str, *, max_tokens: int, temperature: float) -> str:
        assert model_id == MODEL
        self.prompts.append(prompt)
        self.threads.append(threading.current_thread().name)
        if any(marker in prompt for marker in self.fail_for):
            raise UpstreamUnavailable("Bedrock is unavailable; retry later")
        if self.before:
            self.before()
        return self.answer


@pytest.fixture
def bedrock(monkeypatch) -> FakeBedrock:
    from telephony.integrations import bedrock as integration

    fake = FakeBedrock()
    monkeypatch.setattr(integration, "default", lambda: fake)
    return fake


class Seen:
    """What the webhook queued (`request`'s answers) and how each summary request ended (`summarise`'s)."""

    def __init__(self) -> None:
        self.queued: dict[str, bool] = {}
        self.outcomes: dict[str, Any] = {}


@pytest.fixture
def seen(monkeypatch) -> Seen:
    from telephony.services import summaries

    found = Seen()
    request, summarise = summaries.request, summaries.summarise

    def requested(call: Any) -> bool:
        found.queued[call.call_id] = answer = request(call)
        return answer

    def summarised(call_id: str, **kwargs: Any) -> Any:
        found.outcomes[call_id] = outcome = summarise(call_id, **kwargs)
        return outcome

    monkeypatch.setattr(summaries, "request", requested)
    monkeypatch.setattr(summaries, "summarise", summarised)
    return found


@pytest.fixture
def number(world, keys) -> dict[str, Any]:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    return reply.json()


def answered_call(world, keys) -> str:
    world.livekit.set_outcome(CALLEE, "answer", after_ms=30, talk_ms=600_000)
    created = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE})
    assert created.status == 201, created.body
    call_id = created.json()["call_id"]
    wait(lambda: details(world, keys, call_id)["status"] == "in_progress", "the call to be answered")
    return str(call_id)


def post_events(world, keys, call_id: str, **body: Any) -> None:
    posted = world.client.post(f"/outbound-calls/{call_id}/events", token=keys.agent, json_body=body)
    assert posted.status == 200, posted.body


def callee_hangs_up(world, keys, call_id: str) -> None:
    """The callee leaves: LiveKit's participant_left webhook ends the call (and queues its summary)."""
    world.livekit.hangup(call_id)
    wait(lambda: details(world, keys, call_id)["status"] == "completed", "the call to end")


def details(world, keys, call_id: str) -> dict[str, Any]:
    query = "include_transcript=true&include_summary=true"
    return world.client.get(f"/outbound-calls/{call_id}/details?{query}", token=keys.alice).json()  # type: ignore[no-any-return]


def wait(done: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.time() + timeout
    while not done():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


TRANSCRIPT = [
    {"role": "agent", "text": "Would Monday suit you for a demo?"},
    {"role": "user", "text": "Monday works."},
]


def test_a_call_that_ends_with_a_transcript_is_summarised_by_its_own_function(world, keys, number, bedrock, seen):
    # Given an answered call whose agent posted its transcript
    call_id = answered_call(world, keys)
    post_events(world, keys, call_id, transcript=TRANSCRIPT)

    # When the callee hangs up
    callee_hangs_up(world, keys, call_id)

    # Then the summary is written by SummarizeCallFunction, through the queue, not by the webhook
    wait(lambda: call_id in seen.outcomes, "the summary request to be handled")
    assert seen.queued == {call_id: True} and seen.outcomes == {call_id: "written"}
    assert details(world, keys, call_id)["summary"] == "Booked a demo for Monday."
    from telephony.repositories.store import default_store

    assert getattr(default_store().calls.get(call_id), "summary_source", None) == MODEL
    (prompt,) = bedrock.prompts
    assert "agent: Would Monday suit you for a demo?\nuser: Monday works." in prompt
    assert bedrock.threads == ["SummarizeCallFunction.Queue"]  # the event source's poller, off the webhook's path
    world.events.settle()  # and the message was deleted


def test_the_agents_summary_posted_before_the_call_ends_stands(world, keys, number, bedrock, seen):
    call_id = answered_call(world, keys)
    post_events(world, keys, call_id, transcript=TRANSCRIPT, summary="The agent's own.")

    callee_hangs_up(world, keys, call_id)
    wait(lambda: call_id in seen.queued, "the webhook's decision")

    assert seen.queued == {call_id: False}  # the webhook saw the summary: nothing was queued
    assert details(world, keys, call_id)["summary"] == "The agent's own."
    assert bedrock.prompts == []


def test_the_agents_summary_posted_while_bedrock_writes_one_stands(world, keys, number, bedrock, seen):
    call_id = answered_call(world, keys)
    post_events(world, keys, call_id, transcript=TRANSCRIPT)
    bedrock.before = lambda: post_events(world, keys, call_id, summary="The agent's own, late.")

    callee_hangs_up(world, keys, call_id)
    wait(lambda: call_id in seen.outcomes, "the summary request to be handled")

    assert len(bedrock.prompts) == 1 and seen.outcomes == {call_id: "has_summary"}
    assert details(world, keys, call_id)["summary"] == "The agent's own, late."
    from telephony.repositories.store import default_store

    assert getattr(default_store().calls.get(call_id), "summary_source", None) == "agent"


def test_a_call_without_a_transcript_is_done_with(world, keys, number, bedrock, seen):
    call_id = answered_call(world, keys)

    callee_hangs_up(world, keys, call_id)
    wait(lambda: call_id in seen.outcomes, "the summary request to be handled")
    world.events.settle()  # deleted: not to be tried again

    assert seen.outcomes == {call_id: "no_transcript"}
    assert details(world, keys, call_id)["summary"] is None
    assert bedrock.prompts == []


def sqs_record(world, message_id: str, body: str) -> dict[str, Any]:
    """A record of the SQS event Lambda sends, from the summary queue."""
    queue = next(q for q in world.stack.queues() if q.logical_id == "SummaryQueue")
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": "us-east-1",
    }


def test_a_bedrock_outage_fails_only_its_message(world, keys, number, bedrock):
    """The handler's answer to a batch: the message Bedrock failed is named, for the queue to bring back later; the
    other is summarised. (Redelivery and the dead-letter queue are the queue's: tests/tooling/test_event_sources.py.)"""
    calls = []
    for callee, words in (("+14155550199", "the first call"), ("+14155550198", "the second call")):
        world.livekit.set_outcome(callee, "answer", after_ms=30, talk_ms=600_000)
        created = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": callee})
        calls.append(created.json()["call_id"])
        post_events(world, keys, calls[-1], transcript=[{"role": "user", "text": words}])
    bedrock.fail_for = {"the first call"}

    event = {"Records": [sqs_record(world, f"m-{i}", json.dumps({"call_id": c})) for i, c in enumerate(calls)]}
    answer = world.runtime.invoke("SummarizeCallFunction", event)

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert details(world, keys, calls[0])["summary"] is None
    assert details(world, keys, calls[1])["summary"] == "Booked a demo for Monday."


def test_a_message_that_is_not_a_summary_request_fails(world, bedrock):
    event = {"Records": [sqs_record(world, "m-0", '{"call": "x"}')]}
    with pytest.raises(Exception, match="All records failed"):  # the whole batch fails: Lambda brings it back
        world.runtime.invoke("SummarizeCallFunction", event)


def test_summaries_are_off_without_a_model():
    """Without SummaryModelId the template has no summary queue and no function, and the webhook has no queue."""
    from local.template import Stack

    off = Stack()
    assert "SummarizeCallFunction" not in off.functions()
    assert "SummaryQueue" not in {q.logical_id for q in off.queues()}
    assert "SUMMARY_QUEUE_URL" not in off.functions()["LivekitWebhookFunction"].environment
    on = Stack({"SummaryModelId": MODEL})
    webhook = on.functions()["LivekitWebhookFunction"].environment
    assert webhook["SUMMARY_QUEUE_URL"].endswith("/telephony-local-SummaryQueue")
    assert "SUMMARY_MODEL_ID" not in webhook  # only the summarising function knows the model
    assert on.functions()["SummarizeCallFunction"].environment["SUMMARY_MODEL_ID"] == MODEL
