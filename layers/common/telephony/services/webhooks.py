"""A user's webhooks: registered, listed, changed, deleted, their secrets rotated, tested, their deliveries listed
and redelivered. Delivery itself is services/deliveries.py."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telephony import signing
from telephony.config import settings
from telephony.errors import Conflict, NotFound
from telephony.models.common import Page
from telephony.models.principal import Principal
from telephony.models.webhooks import (
    MAX_WEBHOOKS,
    CreateWebhook,
    DeliveryView,
    EventType,
    SecretRotated,
    TestSent,
    UpdateWebhook,
    WebhookCreated,
    WebhookRecord,
    WebhookView,
)
from telephony.repositories.store import Store, default_store
from telephony.services import deliveries, events
from telephony.util import iso, new_id, now, now_iso

if TYPE_CHECKING:
    from telephony.integrations.kms import Secrets

ROTATION_OVERLAP = timedelta(hours=24)


def _secrets(given: Secrets | None) -> Secrets:
    from telephony.integrations import kms

    return given or kms.default()


def _checked(url: str) -> str:
    """The URL if events may be sent to it (https, a public address): InvalidInput with the reason otherwise."""
    from telephony.integrations import webhook_http

    webhook_http.check(url, allow_loopback=settings().loopback_webhooks)
    return url


def view(webhook: WebhookRecord) -> WebhookView:
    return WebhookView.model_validate(webhook.model_dump())


def owned(webhook_id: str, principal: Principal, db: Store) -> WebhookRecord:
    webhook = db.webhooks.get(principal.user_id, webhook_id)
    if webhook is None:
        raise NotFound("no such webhook")
    return webhook


def create(
    body: CreateWebhook, *, principal: Principal, store: Store | None = None, secrets: Secrets | None = None
) -> WebhookCreated:
    db = store or default_store()
    url = _checked(body.url)
    webhook_id = new_id("wh")
    secret = signing.new_secret()
    moment = now_iso()
    webhook = WebhookRecord(
        webhook_id=webhook_id,
        owner_id=principal.user_id,
        url=url,
        events=body.events,
        description=body.description,
        enabled=body.enabled,
        secret=_secrets(secrets).encrypt(secret, context=webhook_id),
        created_at=moment,
        updated_at=moment,
    )
    db.webhooks.create(webhook, max_webhooks=MAX_WEBHOOKS)
    return WebhookCreated(**view(webhook).model_dump(), secret=secret)


def list_own(*, principal: Principal, store: Store | None = None) -> Page[WebhookView]:
    webhooks = (store or default_store()).webhooks.list_by_owner(principal.user_id)
    return Page[WebhookView](items=[view(w) for w in webhooks])


def get(webhook_id: str, *, principal: Principal, store: Store | None = None) -> WebhookView:
    return view(owned(webhook_id, principal, store or default_store()))


def update(webhook_id: str, body: UpdateWebhook, *, principal: Principal, store: Store | None = None) -> WebhookView:
    db = store or default_store()
    webhook = owned(webhook_id, principal, db)
    fields: dict[str, Any] = {"updated_at": now_iso()}
    if body.url is not None:
        fields["url"] = _checked(body.url)
    if body.events is not None:
        fields["events"] = body.events
    if "description" in body.model_fields_set:
        fields["description"] = body.description
    if body.enabled is not None:
        fields["enabled"] = body.enabled
        if body.enabled:  # enabled again by its owner: its past failures are forgotten
            fields["disabled_reason"] = None
            fields["failing_since"] = None
    return view(db.webhooks.update(webhook, fields))


def delete(webhook_id: str, *, principal: Principal, store: Store | None = None) -> None:
    db = store or default_store()
    db.webhooks.delete(owned(webhook_id, principal, db))


def rotate_secret(
    webhook_id: str, *, principal: Principal, store: Store | None = None, secrets: Secrets | None = None
) -> SecretRotated:
    db = store or default_store()
    webhook = owned(webhook_id, principal, db)
    secret = signing.new_secret()
    until = iso(now() + ROTATION_OVERLAP)
    encrypted = _secrets(secrets).encrypt(secret, context=webhook_id)
    db.webhooks.rotate(webhook, secret=encrypted, previous_expires_at=until, updated_at=now_iso())
    return SecretRotated(webhook_id=webhook_id, secret=secret, previous_secret_expires_at=until)


def send_test(webhook_id: str, *, principal: Principal, store: Store | None = None) -> TestSent:
    """A `webhook.test` event, delivered to this webhook only, as any other event is (queued, signed, retried)."""
    db = store or default_store()
    webhook = owned(webhook_id, principal, db)
    test = events.event(
        principal.user_id,
        EventType.WEBHOOK_TEST,
        {"webhook_id": webhook_id, "message": "a test event, sent on request"},
        webhook_id=webhook.webhook_id,
    )
    db.events.add(test)
    return TestSent(webhook_id=webhook_id, event_id=test.event_id)


def list_deliveries(
    webhook_id: str, *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[DeliveryView]:
    db = store or default_store()
    webhook = owned(webhook_id, principal, db)
    items, token = db.webhooks.list_deliveries(webhook.webhook_id, limit=limit, token=next_token)
    return Page[DeliveryView](items=[d.view() for d in items], next_token=token)


def redeliver(webhook_id: str, delivery_id: str, *, principal: Principal, store: Store | None = None) -> DeliveryView:
    """The delivery's event again, as a new attempt made now (its retries follow the schedule from the start)."""
    db = store or default_store()
    webhook = owned(webhook_id, principal, db)
    delivery = db.webhooks.get_delivery(webhook.webhook_id, delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    if db.events.get(delivery.event_id) is None:
        raise Conflict("the event of this delivery is older than events are kept (7 days): it cannot be sent again")
    return deliveries.start(webhook, delivery.event_id, delivery.type, store=db).view()
