"""Delivery of events to webhooks (docs/adr/0020-account-webhooks.md): the outbox's new events fanned out to the
webhooks that want them, each attempt queued, signed, sent, recorded, and retried on the schedule."""

from __future__ import annotations

import json
import secrets as random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from telephony import signing
from telephony.config import settings
from telephony.errors import Conflict, DomainError
from telephony.models.webhooks import DeliveryMessage, DeliveryRecord, EventRecord, WebhookRecord
from telephony.observability import count, logger
from telephony.repositories.store import Store, default_store
from telephony.util import epoch, iso, new_id, now, now_iso

if TYPE_CHECKING:
    from telephony.integrations.kms import Secrets
    from telephony.integrations.webhook_http import Result

# SQS holds a message back at most 15 minutes when it is sent. A longer wait is made of several such messages, so
# that no message waits in the queue for longer: the queue's age of its oldest message is the backlog of deliveries
# that are due, which the alarm watches.
MAX_SEND_DELAY = 900
RETRIED_STATUSES = {408, 429}
KEPT_SECONDS = 30 * 86400  # a delivery's record, for its webhook's owner to look back at
GONE = 410


def _queue_url() -> str:
    return settings().require("webhook_queue_url")


def _send(message: DeliveryMessage, delay: int) -> None:
    from telephony.integrations import queues

    queues.send(_queue_url(), message.model_dump_json(), delay_seconds=min(max(delay, 0), MAX_SEND_DELAY))


def first_attempt_id(event: EventRecord, webhook: WebhookRecord) -> str:
    """The same for a retried fan-out of the same event: its first attempt is made once. It sorts with the event's
    time (an event id's first characters are its time)."""
    from telephony.util import derived_id

    time_part = event.event_id.removeprefix("ev_")[:10]
    return "dl_" + time_part + derived_id("x", event.event_id, webhook.webhook_id).removeprefix("x_")[:16]


# ---------------------------------------------------------------- fan-out (the outbox's stream)


def dispatch(event: EventRecord, *, store: Store | None = None, send: Callable[..., None] = _send) -> int:
    """Queue the event's first attempt for every webhook of its owner that wants it; how many. Made again for a
    retried stream batch, it queues again the attempts still pending (their delivery is idempotent)."""
    db = store or default_store()
    queued = 0
    for webhook in db.webhooks.list_by_owner(event.owner_id):
        if not webhook.wants(event.type.value) or (event.webhook_id and event.webhook_id != webhook.webhook_id):
            continue
        delivery = _attempt(webhook, event.event_id, event.type.value, attempt=1, at=event.timestamp)
        delivery = delivery.model_copy(update={"delivery_id": first_attempt_id(event, webhook)})
        if not db.webhooks.add_delivery(delivery):
            existing = db.webhooks.get_delivery(webhook.webhook_id, delivery.delivery_id)
            if existing is None or existing.status != "pending":
                continue
        send(_message(delivery), 0)
        queued += 1
    return queued


def start(webhook: WebhookRecord, event_id: str, event_type: str, *, store: Store | None = None) -> DeliveryRecord:
    """A new first attempt of an event (a redelivery asked for), queued now."""
    db = store or default_store()
    delivery = _attempt(webhook, event_id, event_type, attempt=1, at=now_iso())
    db.webhooks.add_delivery(delivery)
    _send(_message(delivery), 0)
    return delivery


def _attempt(webhook: WebhookRecord, event_id: str, event_type: str, *, attempt: int, at: str) -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id=new_id("dl"),
        webhook_id=webhook.webhook_id,
        owner_id=webhook.owner_id,
        event_id=event_id,
        type=event_type,
        attempt=attempt,
        status="pending",
        created_at=at,
        updated_at=at,
        expires_at=epoch() + KEPT_SECONDS,
    )


def _message(delivery: DeliveryRecord) -> DeliveryMessage:
    return DeliveryMessage(owner_id=delivery.owner_id, webhook_id=delivery.webhook_id, delivery_id=delivery.delivery_id)


# ---------------------------------------------------------------- delivery (the queue)


class Outcome(NamedTuple):
    status: str  # succeeded | retrying | failed
    next_delay: int | None = None
    disable_reason: str | None = None


def body_of(event: EventRecord) -> bytes:
    """Standard Webhooks' body: the type, the event's time and its data."""
    return json.dumps(
        {"type": event.type.value, "timestamp": event.timestamp, "data": event.data}, separators=(",", ":")
    ).encode()


def deliver(
    message: DeliveryMessage,
    *,
    store: Store | None = None,
    secrets: Secrets | None = None,
    post: Callable[..., Result] | None = None,
    send: Callable[[DeliveryMessage, int], None] = _send,
) -> str:
    """Make the attempt `message` names, if it is still pending and its time has come (else it is queued again, held
    back until then); record what came of it, and queue the next attempt after a retryable failure. Returns the
    attempt's status."""
    db = store or default_store()
    delivery = db.webhooks.get_delivery(message.webhook_id, message.delivery_id)
    if delivery is None:
        return "gone"
    if delivery.status != "pending":
        _requeue_follow(db, delivery, send)
        return delivery.status
    if delivery.next_attempt_at:
        wait = int((datetime.fromisoformat(delivery.next_attempt_at) - now()).total_seconds())
        if wait > 0:
            send(message, wait)
            return "waiting"
    webhook = db.webhooks.get(message.owner_id, message.webhook_id)
    event = db.events.get(delivery.event_id)
    if webhook is None or not webhook.enabled or event is None:
        reason = "the webhook was deleted" if webhook is None else "the webhook is disabled"
        if event is None:
            reason = "the event is no longer kept"
        _settle(db, delivery, Outcome("failed"), error=reason)
        return "failed"
    result = _post(webhook, event, secrets, post)
    outcome = _judge(result, delivery.attempt)
    follow = None
    if outcome.status == "retrying" and outcome.next_delay is not None:
        follow = _attempt(webhook, event.event_id, event.type.value, attempt=delivery.attempt + 1, at=now_iso())
        follow = follow.model_copy(update={"next_attempt_at": iso(now() + timedelta(seconds=outcome.next_delay))})
    if _settle(db, delivery, outcome, result=result, follow=follow) and follow is not None:
        send(_message(follow), outcome.next_delay or 0)
    _watch(db, webhook, outcome)
    return outcome.status


def _requeue_follow(db: Store, delivery: DeliveryRecord, send: Callable[[DeliveryMessage, int], None]) -> None:
    """A settled attempt's message seen again: the run that settled it may have died before it queued the next
    attempt, so that one is queued again while it is pending (its delivery happens once: the first run of it
    settles it)."""
    if delivery.status != "retrying" or not delivery.next_delivery_id:
        return
    follow = db.webhooks.get_delivery(delivery.webhook_id, delivery.next_delivery_id)
    if follow is not None and follow.status == "pending":
        due = datetime.fromisoformat(follow.next_attempt_at) if follow.next_attempt_at else now()
        send(_message(follow), int((due - now()).total_seconds()))


def _post(
    webhook: WebhookRecord, event: EventRecord, secrets: Secrets | None, post: Callable[..., Result] | None
) -> Result:
    from telephony.integrations import kms, webhook_http

    keys = secrets or kms.default()
    signing_secrets = [keys.decrypt(webhook.secret, context=webhook.webhook_id)]
    if (
        webhook.previous_secret
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > now_iso()
    ):
        signing_secrets.append(keys.decrypt(webhook.previous_secret, context=webhook.webhook_id))
    body = body_of(event)
    headers = signing.headers(signing_secrets, event.event_id, epoch(), body)
    return (post or webhook_http.post)(webhook.url, body, headers, allow_loopback=settings().loopback_webhooks)


def _judge(result: Result, attempt: int) -> Outcome:
    """What an answer means: 2xx delivered; 410 gone for good; network errors, timeouts, 408, 429 and 5xx tried
    again on the schedule (a Retry-After respected, not shortened); any other answer failed."""
    status = result.status
    if status is not None and 200 <= status < 300:
        return Outcome("succeeded")
    if status == GONE:
        return Outcome("failed", disable_reason="the endpoint answered 410 Gone")
    if status is not None and status not in RETRIED_STATUSES and status < 500:
        return Outcome("failed")
    delays = settings().retry_delays
    if attempt > len(delays):
        return Outcome("failed")
    delay = _jittered(delays[attempt - 1])
    if result.retry_after_seconds is not None:
        delay = max(delay, result.retry_after_seconds)
    return Outcome("retrying", next_delay=delay)


def _jittered(seconds: int) -> int:
    """Within 10% either side, so that many failed deliveries do not come back in step."""
    spread = seconds // 10
    return seconds - spread + random.randbelow(2 * spread + 1) if spread else seconds


def _settle(
    db: Store,
    delivery: DeliveryRecord,
    outcome: Outcome,
    *,
    result: Result | None = None,
    error: str | None = None,
    follow: DeliveryRecord | None = None,
) -> bool:
    """Record the attempt's outcome, with the next attempt if there is one; False when another run of this message
    settled it first (its outcome stands)."""
    settled = delivery.model_copy(
        update={
            "status": outcome.status,
            "response_status": result.status if result else None,
            "duration_ms": result.duration_ms if result else None,
            "error": (result.error if result else error),
            "next_attempt_at": follow.next_attempt_at if follow else None,
            "next_delivery_id": follow.delivery_id if follow else None,
            "updated_at": now_iso(),
        }
    )
    try:
        db.webhooks.settle(settled, follow=follow)
    except Conflict:
        return False
    count("WebhookDeliveriesSucceeded" if outcome.status == "succeeded" else "WebhookAttemptsFailed")
    if outcome.status == "failed":
        count("WebhookDeliveriesFailed")
    return True


def _watch(db: Store, webhook: WebhookRecord, outcome: Outcome) -> None:
    """Keep the webhook's health: a success clears its failing time; a 410 disables it; failing every delivery
    for `webhook_disable_after_seconds` disables it."""
    try:
        if outcome.status == "succeeded":
            db.webhooks.succeeding(webhook)
            return
        if outcome.disable_reason:
            db.webhooks.update(
                webhook, {"enabled": False, "disabled_reason": outcome.disable_reason, "updated_at": now_iso()}
            )
            return
        db.webhooks.failing(webhook, since=now_iso())
        if webhook.failing_since:
            failing_for = (datetime.now(UTC) - datetime.fromisoformat(webhook.failing_since)).total_seconds()
            if failing_for > settings().webhook_disable_after_seconds:
                days = settings().webhook_disable_after_seconds // 86400
                reason = f"every delivery failed for {days} days"
                db.webhooks.update(webhook, {"enabled": False, "disabled_reason": reason, "updated_at": now_iso()})
    except DomainError:
        logger().warning("a webhook's health could not be recorded", extra={"webhook_id": webhook.webhook_id})
