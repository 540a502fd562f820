"""Account webhooks: the endpoints a user registers, the events they are told of, the deliveries made to them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, field_validator

from telephony.models.calls import CallFacts
from telephony.models.campaigns import Campaign
from telephony.models.common import Body, Out, PageQuery, Record
from telephony.models.requests import PhoneNumberRequest


class EventType(StrEnum):
    CALL_RINGING = "call.ringing"
    CALL_ANSWERED = "call.answered"
    CALL_ENDED = "call.ended"
    CALL_TRANSFERRED = "call.transferred"
    CALL_SUMMARY_READY = "call.summary_ready"
    CALL_RECORDING_READY = "call.recording_ready"
    CALL_RECORDING_FAILED = "call.recording_failed"
    REQUEST_APPROVED = "phone_number_request.approved"
    REQUEST_REJECTED = "phone_number_request.rejected"
    REQUEST_ASSIGNED = "phone_number_request.assigned"
    REQUEST_EXPIRED = "phone_number_request.expired"
    REQUEST_FAILED = "phone_number_request.failed"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CAMPAIGN_COMPLETED = "campaign.completed"
    CAMPAIGN_CANCELED = "campaign.canceled"
    WEBHOOK_TEST = "webhook.test"


class CallEventData(CallFacts):
    """A call event's `data`: the call's details without its transcript."""

    sequence: int = Field(description="Grows with each event of this call: orders them whatever order they arrive in")


class TestEventData(Out):
    webhook_id: str
    message: str


# What each event's `data` is: a new kind of event is a type above, its data here, and a builder in services/events.py
EVENT_DATA: dict[EventType, type[Out]] = {
    **{t: CallEventData for t in EventType if t.value.startswith("call.")},
    **{t: PhoneNumberRequest for t in EventType if t.value.startswith("phone_number_request.")},
    **{t: Campaign for t in EventType if t.value.startswith("campaign.")},
    EventType.WEBHOOK_TEST: TestEventData,
}

EVERY = "*"
MAX_WEBHOOKS = 10


def _subscribable(events: list[str]) -> list[str]:
    known = {t.value for t in EventType}
    unknown = [e for e in events if e != EVERY and e not in known]
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}; known: {', '.join(sorted(known))} or '*'")
    if len(set(events)) != len(events):
        raise ValueError("an event type is named twice")
    return events


class CreateWebhook(Body):
    url: str = Field(max_length=2048, description="Where events are POSTed: https, on a public address")
    events: list[str] = Field(
        min_length=1, max_length=len(EventType) + 1, description='The event types to send, or `["*"]` for all'
    )
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = True

    _events = field_validator("events")(_subscribable)


class UpdateWebhook(Body):
    """Only the fields given change; enabling a disabled webhook clears its `disabled_reason`."""

    url: str | None = Field(default=None, max_length=2048)
    events: list[str] | None = Field(default=None, min_length=1, max_length=len(EventType) + 1)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None

    @field_validator("events")
    @classmethod
    def _known(cls, events: list[str] | None) -> list[str] | None:
        return _subscribable(events) if events is not None else None


class WebhookView(Out):
    webhook_id: str
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool
    disabled_reason: str | None = None
    created_at: str
    updated_at: str


class WebhookCreated(WebhookView):
    secret: str = Field(description="`whsec_...`: verifies the signatures. Shown once: store it now")


class SecretRotated(Out):
    webhook_id: str
    secret: str = Field(description="The new secret, shown once")
    previous_secret_expires_at: str = Field(description="Until then, events are signed with both secrets")


DeliveryStatus = Literal["pending", "succeeded", "retrying", "failed"]


class DeliveryView(Out):
    delivery_id: str
    event_id: str
    type: str
    attempt: int
    status: DeliveryStatus
    response_status: int | None = None
    duration_ms: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None
    created_at: str


class WebhookDeleted(Out):
    webhook_id: str
    status: Literal["deleted"] = "deleted"


class TestSent(Out):
    webhook_id: str
    event_id: str


# ---------------------------------------------------------------- stored


class WebhookRecord(Record):
    webhook_id: str
    owner_id: str
    url: str
    events: list[str]
    description: str | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    secret: str = Field(description="The signing secret, encrypted (base64 of KMS's ciphertext)")
    previous_secret: str | None = None
    previous_secret_expires_at: str | None = None
    failing_since: str | None = None
    created_at: str
    updated_at: str

    def wants(self, event_type: str) -> bool:
        return self.enabled and (EVERY in self.events or event_type in self.events)


class EventRecord(Record):
    """An event as the outbox holds it, written in the transaction of the change it tells of."""

    event_id: str
    type: EventType
    owner_id: str
    timestamp: str
    data: dict[str, Any]
    webhook_id: str | None = None  # a test event goes to this webhook only
    expires_at: int


class DeliveryRecord(Record):
    """One attempt to deliver an event to a webhook."""

    delivery_id: str
    webhook_id: str
    owner_id: str
    event_id: str
    type: str
    attempt: int
    status: DeliveryStatus
    response_status: int | None = None
    duration_ms: int | None = None
    error: str | None = None
    next_attempt_at: str | None = None
    next_delivery_id: str | None = None  # the attempt queued after this one failed
    created_at: str
    updated_at: str
    expires_at: int | None = None

    def view(self) -> DeliveryView:
        return DeliveryView.model_validate(self.model_dump())


class DeliveryMessage(Body):
    """What the delivery queue carries: the attempt to make."""

    model_config = Body.model_config | {"extra": "ignore"}
    owner_id: str
    webhook_id: str
    delivery_id: str


class DeliveriesQuery(PageQuery):
    pass
