"""Bedrock summaries with a stubbed client: the Converse request we send and what we store."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from telephony.config import Settings
from telephony.models.calls import CallRecord, SegmentRecord
from telephony.services import summaries
from tests.unit.fakes import fake_store


class FakeCalls:
    def __init__(self) -> None:
        self.saved: dict[str, Any] = {}

    def segments(self, call_id: str) -> list[SegmentRecord]:
        return [
            SegmentRecord(call_id=call_id, role="agent", text="Can I book you for Monday?", at="t1", index="0"),
            SegmentRecord(call_id=call_id, role="user", text="Yes.", at="t2", index="1"),
        ]

    def set_summary(self, call: CallRecord, summary: str, *, source: str) -> bool:
        self.saved.update(summary=summary, summary_source=source)
        return True


@pytest.fixture
def calls(monkeypatch) -> FakeCalls:
    monkeypatch.setattr(summaries, "settings", lambda: Settings(summary_model_id="test-model"))
    return FakeCalls()


def _call(**fields: Any) -> CallRecord:
    base = {
        "call_id": "call_1",
        "owner_id": "usr_a",
        "status": "completed",
        "phone_number": "+14155550199",
        "from_number": "+14155550100",
        "room_name": "call_1",
        "participant_identity": "sip-call_1",
        "created_at": "2026-01-01T00:00:00.000Z",
        "created_epoch": 1767225600,
    }
    return CallRecord.model_validate({**base, **fields})


def bedrock() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_a_finished_call_gets_a_summary_from_its_transcript(calls):
    client = bedrock()
    with Stubber(client) as stub:
        stub.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": "Booked for Monday."}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 10, "outputTokens": 4, "totalTokens": 14},
                "metrics": {"latencyMs": 5},
            },
            {"modelId": "test-model", "messages": ANY, "inferenceConfig": ANY},
        )
        text = summaries.summarise_if_needed(_call(), client=client, store=fake_store(calls=calls))
    assert text == "Booked for Monday."
    assert calls.saved == {"summary": "Booked for Monday.", "summary_source": "test-model"}


def test_an_agent_summary_is_kept(calls):
    assert summaries.summarise_if_needed(_call(summary="mine"), client=object(), store=fake_store(calls=calls)) is None
    assert calls.saved == {}


def test_a_bedrock_failure_leaves_no_summary(calls):
    client = bedrock()
    with Stubber(client) as stub:
        stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        assert summaries.summarise_if_needed(_call(), client=client, store=fake_store(calls=calls)) is None
    assert calls.saved == {}


def test_summaries_are_off_without_a_model(monkeypatch, calls):
    monkeypatch.setattr(summaries, "settings", lambda: Settings())
    assert summaries.summarise_if_needed(_call(), client=object(), store=fake_store(calls=calls)) is None
