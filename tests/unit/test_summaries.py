"""Call summaries with fakes: what the webhook queues, what the summariser asks Bedrock and stores, and the
Converse request and errors of the Bedrock integration (a stubbed client)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from telephony.config import Settings
from telephony.errors import UpstreamError, UpstreamUnavailable
from telephony.integrations import bedrock as bedrock_integration
from telephony.models.calls import CallRecord, SegmentRecord
from telephony.services import summaries
from tests.unit.fakes import fake_store

CALL = CallRecord(
    call_id="call_1",
    owner_id="usr_a",
    status="completed",
    phone_number="+14155550199",
    from_number="+14155550100",
    room_name="call_1",
    participant_identity="sip-call_1",
    created_at="2026-01-01T00:00:00.000Z",
    created_epoch=1767225600,
)


def _segments(*pairs: tuple[str, str]) -> list[SegmentRecord]:
    return [
        SegmentRecord(call_id="call_1", role=role, text=text, at=f"t{i}", index=str(i))  # type: ignore[arg-type]
        for i, (role, text) in enumerate(pairs)
    ]


SEGMENTS = _segments(("agent", "Can I book you for Monday?"), ("user", "Yes."))


class FakeBedrock:
    def __init__(self, answer: str = "Booked for Monday.", error: Exception | None = None) -> None:
        self.answer, self.error = answer, error
        self.asked: list[dict[str, Any]] = []

    def converse(self, model_id: str, prompt: str, *, max_tokens: int, temperature: float) -> str:
        self.asked.append({"model_id": model_id, "prompt": prompt})
        if self.error:
            raise self.error
        return self.answer


class FakeCalls:
    """The calls repository's reads and its conditional summary write (CallsRepository.set_summary)."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def get(self, call_id: str) -> CallRecord | None:
        return self.state["call"]

    def segments(self, call_id: str) -> list[SegmentRecord]:
        return self.state["segments"]

    def set_summary(self, call: CallRecord, summary: str, *, source: str, events: Any = ()) -> bool:
        if self.state["taken"]:
            return False
        self.state["stored"] = {
            "call_id": call.call_id,
            "owner_id": call.owner_id,
            "summary": summary,
            "source": source,
            "events": [(e.type.value, e.data["sequence"]) for e in events],
        }
        return True


@pytest.fixture
def calls(monkeypatch) -> dict[str, Any]:
    """The calls repository, faked: one call, its segments, and what was stored."""
    state: dict[str, Any] = {"call": CALL, "segments": list(SEGMENTS), "stored": None, "taken": False}
    monkeypatch.setattr(summaries, "settings", lambda: Settings(summary_model_id="test-model"))
    monkeypatch.setattr(summaries, "default_store", lambda: fake_store(calls=FakeCalls(state)))
    return state


def test_a_finished_call_is_summarised_from_its_transcript(calls):
    bedrock = FakeBedrock()
    assert summaries.summarise("call_1", bedrock=bedrock) is summaries.Outcome.WRITTEN
    (asked,) = bedrock.asked
    assert asked["model_id"] == "test-model"
    assert asked["prompt"].endswith("agent: Can I book you for Monday?\nuser: Yes.")
    assert calls["stored"] == {
        "call_id": "call_1",
        "owner_id": "usr_a",
        "summary": "Booked for Monday.",
        "source": "test-model",
        "events": [("call.summary_ready", 1)],
    }


def test_a_long_transcript_keeps_its_end(calls):
    calls["segments"] = _segments(*[("user", "x" * 1000)] * 100, ("user", "END"))
    bedrock = FakeBedrock()
    summaries.summarise("call_1", bedrock=bedrock)
    transcript = bedrock.asked[0]["prompt"].removeprefix(summaries.PROMPT)
    assert len(transcript) == summaries.MAX_TRANSCRIPT_CHARS and transcript.endswith("user: END")


def test_a_call_with_a_summary_is_not_sent_to_bedrock(calls):
    calls["call"] = CALL.model_copy(update={"summary": "the agent's"})
    bedrock = FakeBedrock()
    assert summaries.summarise("call_1", bedrock=bedrock) is summaries.Outcome.HAS_SUMMARY
    assert bedrock.asked == [] and calls["stored"] is None


def test_the_agents_summary_written_meanwhile_stands(calls):
    calls["taken"] = True  # the conditional write finds a summary
    assert summaries.summarise("call_1", bedrock=FakeBedrock()) is summaries.Outcome.HAS_SUMMARY
    assert calls["stored"] is None


def test_no_transcript_no_call_or_no_text_is_done_with(calls):
    calls["segments"] = []
    assert summaries.summarise("call_1", bedrock=FakeBedrock()) is summaries.Outcome.NO_TRANSCRIPT
    calls["segments"] = SEGMENTS
    assert summaries.summarise("call_1", bedrock=FakeBedrock(answer="")) is summaries.Outcome.EMPTY_ANSWER
    calls["call"] = None
    assert summaries.summarise("call_1", bedrock=FakeBedrock()) is summaries.Outcome.UNKNOWN_CALL
    assert calls["stored"] is None


@pytest.mark.parametrize("error", [UpstreamUnavailable("throttled"), UpstreamError("refused")])
def test_a_bedrock_failure_is_raised_for_the_queue_to_retry(calls, error):
    with pytest.raises(type(error)):
        summaries.summarise("call_1", bedrock=FakeBedrock(error=error))
    assert calls["stored"] is None


def test_the_summariser_needs_its_model(calls, monkeypatch):
    monkeypatch.setattr(summaries, "settings", lambda: Settings())
    with pytest.raises(Exception, match="SUMMARY_MODEL_ID"):
        summaries.summarise("call_1", bedrock=FakeBedrock())


# ---------------------------------------------------------------- the webhook's side: queue the call


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, str]]:
    messages: list[tuple[str, str]] = []
    monkeypatch.setattr(summaries, "settings", lambda: Settings(summary_queue_url="https://sqs.local/q"))
    monkeypatch.setattr(summaries.queues, "send", lambda url, body: messages.append((url, body)) or "id")
    return messages


def test_a_finished_call_is_queued_by_its_id(sent):
    assert summaries.request(CALL) is True
    assert sent == [("https://sqs.local/q", '{"call_id":"call_1"}')]


def test_nothing_is_queued_for_a_call_with_a_summary_or_when_summaries_are_off(sent, monkeypatch):
    assert summaries.request(CALL.model_copy(update={"summary": "the agent's"})) is False
    monkeypatch.setattr(summaries, "settings", lambda: Settings())
    assert summaries.request(CALL) is False
    assert sent == []


def test_a_queue_that_refuses_costs_the_summary_not_the_webhook(monkeypatch):
    monkeypatch.setattr(summaries, "settings", lambda: Settings(summary_queue_url="https://sqs.local/q"))

    def refuse(url: str, body: str) -> str:
        raise UpstreamUnavailable("the queue did not take the message")

    monkeypatch.setattr(summaries.queues, "send", refuse)
    assert summaries.request(CALL) is False


# ---------------------------------------------------------------- the Bedrock integration


def runtime_client() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_converse_sends_one_user_message_and_joins_the_answers_text():
    client = runtime_client()
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {
                    "message": {"role": "assistant", "content": [{"text": " Booked "}, {"text": "for Monday. "}]}
                },
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14},
                "metrics": {"latencyMs": 5},
            },
            {
                "modelId": "test-model",
                "messages": [{"role": "user", "content": [{"text": "the prompt"}]}],
                "inferenceConfig": {"maxTokens": 400, "temperature": ANY},
            },
        )
        text = bedrock_integration.Bedrock(client).converse("test-model", "the prompt", max_tokens=400, temperature=0.2)
    assert text == "Booked for Monday."


@pytest.mark.parametrize(
    ("code", "status", "raised"),
    [
        ("ThrottlingException", 429, UpstreamUnavailable),
        ("ServiceUnavailableException", 503, UpstreamUnavailable),
        ("ModelTimeoutException", 408, UpstreamUnavailable),
        ("AccessDeniedException", 403, UpstreamError),
        ("ValidationException", 400, UpstreamError),
        ("ResourceNotFoundException", 404, UpstreamError),
    ],
)
def test_bedrock_errors_are_told_apart(code, status, raised):
    client = runtime_client()
    with Stubber(client) as stub:
        stub.add_client_error("converse", service_error_code=code, http_status_code=status)
        with pytest.raises(raised) as caught:
            bedrock_integration.Bedrock(client).converse("m", "p", max_tokens=1, temperature=0)
    assert caught.value.details == [{"service": "bedrock", "code": code}]
