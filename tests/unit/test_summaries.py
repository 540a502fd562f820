"""Bedrock summaries with a stubbed client: the Converse request we send and what we store."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from telephony.config import Settings
from telephony.services import summaries


@pytest.fixture
def stored(monkeypatch) -> dict[str, Any]:
    saved: dict[str, Any] = {}
    monkeypatch.setattr(summaries, "settings", lambda: Settings(summary_model_id="test-model"))
    monkeypatch.setattr(
        summaries.calls_repo,
        "segments",
        lambda call_id: [{"role": "agent", "text": "Can I book you for Monday?"}, {"role": "user", "text": "Yes."}],
    )
    monkeypatch.setattr(
        summaries.calls_repo,
        "set_summary",
        lambda call_id, owner_id, summary, *, source, only_if_absent: saved.update(
            summary=summary, summary_source=source, only_if_absent=only_if_absent
        ),
    )
    return saved


def bedrock() -> Any:
    return boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_a_finished_call_gets_a_summary_from_its_transcript(stored):
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
        text = summaries.summarise_if_needed({"call_id": "call_1", "owner_id": "usr_a"}, client=client)
    assert text == "Booked for Monday."
    assert stored == {"summary": "Booked for Monday.", "summary_source": "test-model", "only_if_absent": True}


def test_an_agent_summary_is_kept(stored):
    assert summaries.summarise_if_needed({"call_id": "call_1", "summary": "mine"}, client=object()) is None
    assert stored == {}


def test_a_bedrock_failure_leaves_no_summary(stored):
    client = bedrock()
    with Stubber(client) as stub:
        stub.add_client_error("converse", service_error_code="ThrottlingException", http_status_code=429)
        assert summaries.summarise_if_needed({"call_id": "call_1"}, client=client) is None
    assert stored == {}


def test_summaries_are_off_without_a_model(monkeypatch, stored):
    monkeypatch.setattr(summaries, "settings", lambda: Settings())
    assert summaries.summarise_if_needed({"call_id": "call_1"}, client=object()) is None
