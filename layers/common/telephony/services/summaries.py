"""A summary of a finished call, written from its transcript by Amazon Bedrock, off the webhook's path.

Off unless the template parameter SummaryModelId names a model. When a call ends, `request` queues its id;
the summarize_call function runs `summarise` for each message. A summary the agent posted wins, before or
after the model's: the model's is written only if the call still has none.
"""

from __future__ import annotations

from enum import StrEnum

from telephony.config import settings
from telephony.errors import StatusChanged, UpstreamUnavailable
from telephony.integrations import bedrock as bedrock_integration
from telephony.integrations import queues
from telephony.models.calls import CallRecord
from telephony.models.summaries import SummaryRequest
from telephony.models.webhooks import EventType
from telephony.observability import logger
from telephony.repositories.store import Store, default_store
from telephony.services import events

PROMPT = (
    "Summarise this phone call between an AI agent and a person in three sentences: the purpose, "
    "what was agreed or learned, and any follow-up. Transcript:\n\n"
)
_WRITE_ATTEMPTS = 3
# The end of a long transcript is kept: it holds what was agreed, and the prompt stays within the model's input.
MAX_TRANSCRIPT_CHARS = 60000


class Outcome(StrEnum):
    """How a summary request ended. Each is final: the message is done with."""

    WRITTEN = "written"
    HAS_SUMMARY = "has_summary"  # the agent's summary was there first, or came while the model wrote
    NO_TRANSCRIPT = "no_transcript"
    UNKNOWN_CALL = "unknown_call"
    EMPTY_ANSWER = "empty_answer"


def request(call: CallRecord) -> bool:
    """Queue a summary of a call that has just ended, when summaries are on and it has none. A queue that does not
    take the message costs the call its summary, never its end: the call's status is already stored."""
    queue_url = settings().summary_queue_url
    if not queue_url or call.summary:
        return False
    try:
        queues.send(queue_url, SummaryRequest(call_id=call.call_id).model_dump_json())
    except UpstreamUnavailable:
        logger().exception("the call's summary was not queued", extra={"call_id": call.call_id})
        return False
    return True


def summarise(
    call_id: str, *, bedrock: bedrock_integration.Bedrock | None = None, store: Store | None = None
) -> Outcome:
    """Write the call's summary if it has none. Bedrock's and DynamoDB's failures are raised, so that the queue
    brings the message back later."""
    db = store or default_store()
    model = settings().require("summary_model_id")
    call = db.calls.get(call_id)
    if call is None:
        return _done(Outcome.UNKNOWN_CALL, call_id)
    if call.summary:
        return _done(Outcome.HAS_SUMMARY, call_id)
    segments = db.calls.segments(call_id)
    if not segments:
        return _done(Outcome.NO_TRANSCRIPT, call_id)
    transcript = "\n".join(f"{s.role}: {s.text}" for s in segments)[-MAX_TRANSCRIPT_CHARS:]
    text = (bedrock or bedrock_integration.default()).converse(
        model, PROMPT + transcript, max_tokens=400, temperature=0.2
    )
    if not text:
        return _done(Outcome.EMPTY_ANSWER, call_id)
    # only if there is still none: the agent may have posted its own while the model was writing this one
    for _ in range(_WRITE_ATTEMPTS):
        told = events.call_events(call, call.model_copy(update={"summary": text}), [EventType.CALL_SUMMARY_READY])
        try:
            written = db.calls.set_summary(call, text, source=model, events=told)
        except StatusChanged:  # the call's events moved on meanwhile: read it again
            fresh = db.calls.get(call_id)
            if fresh is None:
                return _done(Outcome.UNKNOWN_CALL, call_id)
            call = fresh
            continue
        return _done(Outcome.WRITTEN if written else Outcome.HAS_SUMMARY, call_id)
    raise StatusChanged(f"call {call_id} kept changing while its summary was written")


def _done(outcome: Outcome, call_id: str) -> Outcome:
    logger().info("call summary", extra={"call_id": call_id, "outcome": outcome.value})
    return outcome
