"""A summary of a finished call, from its transcript, with Amazon Bedrock (Converse API), when enabled.

Off unless the template parameter SummaryModelId names a model. A summary the agent posted wins;
failures are logged and leave the call without a summary (it is a convenience, not a contract).
"""

from __future__ import annotations

from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.errors import DomainError
from telephony.observability import logger
from telephony.repositories import calls as calls_repo
from telephony.repositories import dynamo

PROMPT = (
    "Summarise this phone call between an AI agent and a person in three sentences: the purpose, "
    "what was agreed or learned, and any follow-up. Transcript:\n\n"
)


def summarise_if_needed(record: dict[str, Any], *, client: Any = None) -> str | None:
    model = settings().summary_model_id
    if not model or record.get("summary"):
        return None
    segments = calls_repo.segments(record["call_id"])
    if not segments:
        return None
    transcript = "\n".join(f"{s['role']}: {s['text']}" for s in segments)[-60000:]
    try:
        answer = (client or aws.client("bedrock-runtime")).converse(
            modelId=model,
            messages=[{"role": "user", "content": [{"text": PROMPT + transcript}]}],
            inferenceConfig={"maxTokens": 400, "temperature": 0.2},
        )
        text = "".join(part.get("text", "") for part in answer["output"]["message"]["content"]).strip()
    except Exception:  # any Bedrock failure: the call simply has no generated summary
        logger().exception("summary generation failed", extra={"call_id": record["call_id"]})
        return None
    if not text:
        return None
    try:  # only if there is still none: the agent may have posted its own while Bedrock was writing this one
        calls_repo.set_summary(record["call_id"], record["owner_id"], text, source=model, only_if_absent=True)
    except dynamo.ConditionFailed:
        logger().info("the agent's summary came first and stands", extra={"call_id": record["call_id"]})
        return None
    except DomainError:
        logger().warning("could not store the summary", extra={"call_id": record["call_id"]})
        return None
    return text
