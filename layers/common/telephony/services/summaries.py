"""A summary of a finished call, from its transcript, with Amazon Bedrock (Converse API), when enabled.

Off unless the template parameter SummaryModelId names a model. A summary the agent posted wins;
failures are logged and leave the call without a summary (it is a convenience, not a contract).
"""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.errors import DomainError
from telephony.models.calls import CallRecord
from telephony.observability import logger
from telephony.repositories.store import Store, default_store

PROMPT = (
    "Summarise this phone call between an AI agent and a person in three sentences: the purpose, "
    "what was agreed or learned, and any follow-up. Transcript:\n\n"
)


def summarise_if_needed(call: CallRecord, *, client: Any = None, store: Store | None = None) -> str | None:
    db = store or default_store()
    model = settings().summary_model_id
    if not model or call.summary:
        return None
    segments = db.calls.segments(call.call_id)
    if not segments:
        return None
    transcript = "\n".join(f"{s.role}: {s.text}" for s in segments)[-60000:]
    try:
        answer = (client or aws.client("bedrock-runtime")).converse(
            modelId=model,
            messages=[{"role": "user", "content": [{"text": PROMPT + transcript}]}],
            inferenceConfig={"maxTokens": 400, "temperature": 0.2},
        )
        text = "".join(part.get("text", "") for part in answer["output"]["message"]["content"]).strip()
    except Exception:  # any Bedrock failure: the call simply has no generated summary
        logger().exception("summary generation failed", extra={"call_id": call.call_id})
        return None
    if not text:
        return None
    try:  # only if there is still none: the agent may have posted its own while Bedrock was writing this one
        written = db.calls.set_summary(call, text, source=model)
    except DomainError:
        logger().warning("could not store the summary", extra={"call_id": call.call_id})
        return None
    if not written:
        logger().info("the agent's summary came first and stands", extra={"call_id": call.call_id})
        return None
    return text
