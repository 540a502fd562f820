"""services/webhooks.py and services/deliveries.py against the fakes: registration, secrets, fan-out, attempts,
the retry schedule, a webhook's health, and what survives a deliverer that dies half-way."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from telephony.config import Settings
from telephony.errors import Conflict, InvalidInput, NotFound, TooManyWebhooks
from telephony.integrations.webhook_http import Result
from telephony.models.webhooks import CreateWebhook, DeliveryMessage, EventType, UpdateWebhook, WebhookRecord
from telephony.services import deliveries, events, webhooks
from tests.unit.fakes import ALICE, BOB, FakeEvents, FakeKms, FakeWebhooks, fake_store

URL = "https://93.184.215.14/hooks"  # a public address written as one: no resolver is asked
SCHEDULE = "5,300,1800"


@pytest.fixture(autouse=True)
def configured(monkeypatch):
    configured = Settings(webhook_retry_schedule=SCHEDULE, webhook_disable_after_seconds=5 * 86400)
    monkeypatch.setattr(webhooks, "settings", lambda: configured)
    monkeypatch.setattr(deliveries, "settings", lambda: configured)


class Sent:
    """The delivery queue: each message sent with its delay."""

    def __init__(self) -> None:
        self.messages: list[tuple[DeliveryMessage, int]] = []

    def __call__(self, message: DeliveryMessage, delay: int) -> None:
        self.messages.append((message, delay))


class Endpoint:
    """The customer's endpoint: answers in turn, and keeps what it was sent."""

    def __init__(self, *answers: Result) -> None:
        self.answers = list(answers)
        self.received: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: dict[str, str], *, allow_loopback: bool) -> Result:
        self.received.append((url, body, headers))
        return self.answers.pop(0)


def ok() -> Result:
    return Result(status=200, duration_ms=12)


def failed(status: int | None, retry_after: int | None = None) -> Result:
    return Result(status=status, duration_ms=30, error=None if status else "timed out", retry_after_seconds=retry_after)


def make(store: Any, kms: FakeKms, **body: Any) -> webhooks.WebhookCreated:
    return webhooks.create(
        CreateWebhook(**{"url": URL, "events": ["*"], **body}), principal=ALICE, store=store, secrets=kms
    )


def stored(store: Any, webhook_id: str) -> WebhookRecord:
    found = store.webhooks.get(ALICE.user_id, webhook_id)
    assert found is not None
    return found


@pytest.fixture
def store() -> Any:
    return fake_store(webhooks=FakeWebhooks(), events=FakeEvents())


# ---------------------------------------------------------------- registration


def test_the_secret_is_shown_once_and_stored_only_encrypted_for_its_webhook(store):
    kms = FakeKms()
    made = make(store, kms)
    assert made.secret.startswith("whsec_")
    record = stored(store, made.webhook_id)
    assert made.secret not in record.model_dump_json()
    assert kms.decrypt(record.secret, context=made.webhook_id) == made.secret
    assert "secret" not in webhooks.get(made.webhook_id, principal=ALICE, store=store).model_dump()
    assert all("secret" not in w.model_dump() for w in webhooks.list_own(principal=ALICE, store=store).items)


@pytest.mark.parametrize(
    ("url", "issue"),
    [
        ("http://93.184.215.14/hooks", "not_https"),
        ("https://10.0.0.8/hooks", "not_public"),
        ("https://169.254.169.254/latest/meta-data", "not_public"),
        ("https://[::ffff:127.0.0.1]/hooks", "not_public"),
    ],
)
def test_an_endpoint_that_is_not_https_on_a_public_address_is_refused_with_its_reason(store, url, issue):
    with pytest.raises(InvalidInput) as refused:
        make(store, FakeKms(), url=url)
    assert refused.value.details and refused.value.details[0]["issue"] == issue
    assert store.webhooks.items == {}


def test_a_user_holds_ten_webhooks_at_most(store):
    kms = FakeKms()
    for _ in range(10):
        make(store, kms)
    with pytest.raises(TooManyWebhooks):
        make(store, kms)


def test_another_users_webhook_is_not_found_for_every_operation(store):
    made = make(store, FakeKms())
    for operation in (
        lambda: webhooks.get(made.webhook_id, principal=BOB, store=store),
        lambda: webhooks.update(made.webhook_id, UpdateWebhook(enabled=False), principal=BOB, store=store),
        lambda: webhooks.delete(made.webhook_id, principal=BOB, store=store),
        lambda: webhooks.rotate_secret(made.webhook_id, principal=BOB, store=store, secrets=FakeKms()),
        lambda: webhooks.send_test(made.webhook_id, principal=BOB, store=store),
    ):
        with pytest.raises(NotFound):
            operation()
    assert stored(store, made.webhook_id).enabled


def test_enabling_a_disabled_webhook_forgets_why_it_was_disabled(store):
    made = make(store, FakeKms())
    store.webhooks.update(stored(store, made.webhook_id), {"enabled": False, "disabled_reason": "gone"})
    view = webhooks.update(made.webhook_id, UpdateWebhook(enabled=True), principal=ALICE, store=store)
    assert view.enabled and view.disabled_reason is None


# ---------------------------------------------------------------- fan-out


def test_an_event_is_queued_once_for_each_webhook_that_wants_it(store):
    kms = FakeKms()
    wants_all = make(store, kms)
    wants_ended = make(store, kms, events=["call.ended"])
    make(store, kms, events=["call.answered"])
    make(store, kms, enabled=False)
    ended = events.event(ALICE.user_id, EventType.CALL_ENDED, {"call_id": "call_1"})
    sent = Sent()
    assert deliveries.dispatch(ended, store=store, send=sent) == 2
    assert {m.webhook_id for m, _ in sent.messages} == {wants_all.webhook_id, wants_ended.webhook_id}
    # the stream hands the same record again (a retried batch): still pending, so queued again, not recorded twice
    assert deliveries.dispatch(ended, store=store, send=sent) == 2
    assert len(store.webhooks.deliveries) == 2


def test_a_test_event_goes_to_its_webhook_only(store):
    kms = FakeKms()
    first, second = make(store, kms), make(store, kms)
    sent_test = webhooks.send_test(second.webhook_id, principal=ALICE, store=store)
    event = store.events.get(sent_test.event_id)
    sent = Sent()
    deliveries.dispatch(event, store=store, send=sent)
    assert [m.webhook_id for m, _ in sent.messages] == [second.webhook_id] != [first.webhook_id]


# ---------------------------------------------------------------- attempts


def queued(store: Any, kms: FakeKms, **body: Any) -> tuple[WebhookRecord, DeliveryMessage, str]:
    """A webhook, and the first attempt of a call.ended event queued for it."""
    made = make(store, kms, **body)
    return stored(store, made.webhook_id), first_attempt(store), made.secret


def first_attempt(store: Any) -> DeliveryMessage:
    """A new call.ended event of alice's, fanned out to her one webhook."""
    event = events.event(ALICE.user_id, EventType.CALL_ENDED, {"call_id": "call_1", "sequence": 3})
    store.events.add(event)
    sent = Sent()
    deliveries.dispatch(event, store=store, send=sent)
    ((message, _),) = sent.messages
    return message


def test_a_delivery_is_signed_so_a_standard_webhooks_library_verifies_it(store):
    kms = FakeKms()
    webhook, message, secret = queued(store, kms)
    endpoint = Endpoint(ok())
    assert deliveries.deliver(message, store=store, secrets=kms, post=endpoint, send=Sent()) == "succeeded"
    ((url, body, headers),) = endpoint.received
    assert url == URL
    payload = Webhook(secret).verify(body, headers)
    assert payload["type"] == "call.ended" and payload["data"] == {"call_id": "call_1", "sequence": 3}
    assert store.webhooks.get_delivery(webhook.webhook_id, message.delivery_id).status == "succeeded"


def test_a_failed_attempt_is_retried_on_the_schedule_then_failed(store):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    endpoint = Endpoint(failed(500), failed(None), failed(503), failed(502))
    delays = []
    for expected in ("retrying", "retrying", "retrying", "failed"):
        sent = Sent()
        assert deliveries.deliver(message, store=store, secrets=kms, post=endpoint, send=sent) == expected
        if expected == "failed":
            assert sent.messages == []
            break
        ((message, delay),) = sent.messages
        delays.append(delay)
        follow = store.webhooks.get_delivery(webhook.webhook_id, message.delivery_id)
        # its time is written with it: run early, the attempt is only queued again
        follow = follow.model_copy(update={"next_attempt_at": None})
        store.webhooks.deliveries[(webhook.webhook_id, message.delivery_id)] = follow
    for planned, delay in zip((5, 300, 1800), delays, strict=True):
        assert planned - planned // 10 <= delay <= planned + planned // 10
    attempts = sorted(store.webhooks.deliveries.values(), key=lambda d: d.attempt)
    assert [(d.attempt, d.status, d.response_status) for d in attempts] == [
        (1, "retrying", 500),
        (2, "retrying", None),
        (3, "retrying", 503),
        (4, "failed", 502),
    ]
    assert attempts[1].error == "timed out"


def test_an_attempt_queued_before_its_time_waits_again(store):
    kms = FakeKms()
    _, message, _ = queued(store, kms)
    sent = Sent()
    deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(500)), send=sent)
    ((follow, delay),) = sent.messages
    again = Sent()
    endpoint = Endpoint()
    assert deliveries.deliver(follow, store=store, secrets=kms, post=endpoint, send=again) == "waiting"
    assert endpoint.received == [] and again.messages[0][0] == follow and 0 < again.messages[0][1] <= delay


def test_retry_after_is_honoured_when_longer_than_the_schedule(store):
    kms = FakeKms()
    _, message, _ = queued(store, kms)
    sent = Sent()
    deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(429, retry_after=120)), send=sent)
    assert sent.messages[0][1] == 120


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_a_client_error_is_not_retried(store, status):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    sent = Sent()
    assert deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(status)), send=sent) == "failed"
    assert sent.messages == [] and stored(store, webhook.webhook_id).enabled


def test_410_disables_the_webhook(store):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    assert deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(410)), send=Sent()) == "failed"
    after = stored(store, webhook.webhook_id)
    assert not after.enabled and after.disabled_reason and "410" in after.disabled_reason


def test_a_webhook_failing_every_delivery_for_five_days_is_disabled(store):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    six_days_ago = (datetime.now(UTC) - timedelta(days=6)).isoformat()
    store.webhooks.items[(ALICE.user_id, webhook.webhook_id)] = webhook.model_copy(
        update={"failing_since": six_days_ago}
    )
    deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(500)), send=Sent())
    after = stored(store, webhook.webhook_id)
    assert not after.enabled and after.disabled_reason == "every delivery failed for 5 days"


def test_a_success_clears_the_failing_time(store):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    store.webhooks.items[(ALICE.user_id, webhook.webhook_id)] = webhook.model_copy(
        update={"failing_since": datetime.now(UTC).isoformat()}
    )
    deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(ok()), send=Sent())
    assert stored(store, webhook.webhook_id).failing_since is None


def test_the_next_attempt_survives_a_deliverer_that_dies_after_settling(store):
    """The attempt and the next one are written together; if the run dies before queueing it, the queue hands the
    message back and the next attempt is queued then."""
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)

    def dies(message: DeliveryMessage, delay: int) -> None:
        raise RuntimeError("the function was stopped")

    with pytest.raises(RuntimeError):
        deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(500)), send=dies)
    sent = Sent()
    endpoint = Endpoint()
    assert deliveries.deliver(message, store=store, secrets=kms, post=endpoint, send=sent) == "retrying"
    assert endpoint.received == []  # the first attempt was made and recorded: not made again
    ((follow, _),) = sent.messages
    assert store.webhooks.get_delivery(webhook.webhook_id, follow.delivery_id).attempt == 2


def test_a_deliverer_that_dies_before_settling_makes_the_attempt_again(store):
    kms = FakeKms()
    _, message, _ = queued(store, kms)
    store.webhooks.fail("settle", RuntimeError("the function was stopped"))
    with pytest.raises(RuntimeError):
        deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(ok()), send=Sent())
    endpoint = Endpoint(ok())
    assert deliveries.deliver(message, store=store, secrets=kms, post=endpoint, send=Sent()) == "succeeded"
    assert len(endpoint.received) == 1  # at least once: the receiver dedupes on webhook-id


def test_during_a_rotation_both_secrets_sign_and_after_it_only_the_new_one(store):
    kms = FakeKms()
    webhook, message, old_secret = queued(store, kms)
    rotated = webhooks.rotate_secret(webhook.webhook_id, principal=ALICE, store=store, secrets=kms)
    assert rotated.secret != old_secret
    endpoint = Endpoint(ok())
    deliveries.deliver(message, store=store, secrets=kms, post=endpoint, send=Sent())
    _, body, headers = endpoint.received[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old_secret, rotated.secret):
        Webhook(secret).verify(body, headers)
    # once the overlap is over, only the new secret signs
    expired = stored(store, webhook.webhook_id).model_copy(
        update={"previous_secret_expires_at": "2000-01-01T00:00:00Z"}
    )
    store.webhooks.items[(ALICE.user_id, webhook.webhook_id)] = expired
    later = first_attempt(store)
    endpoint = Endpoint(ok())
    deliveries.deliver(later, store=store, secrets=kms, post=endpoint, send=Sent())
    assert len(endpoint.received[0][2]["webhook-signature"].split(" ")) == 1


def test_a_deleted_webhooks_queued_attempt_fails_without_sending(store):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    webhooks.delete(webhook.webhook_id, principal=ALICE, store=store)
    endpoint = Endpoint()
    assert deliveries.deliver(message, store=store, secrets=kms, post=endpoint, send=Sent()) == "failed"
    assert endpoint.received == []
    assert store.webhooks.get_delivery(webhook.webhook_id, message.delivery_id).error == "the webhook was deleted"


def test_a_redelivery_is_a_new_first_attempt_of_the_same_event(store, monkeypatch):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    deliveries.deliver(message, store=store, secrets=kms, post=Endpoint(failed(404)), send=Sent())
    sent = Sent()
    monkeypatch.setattr(deliveries, "_send", sent)
    again = webhooks.redeliver(webhook.webhook_id, message.delivery_id, principal=ALICE, store=store)
    first = store.webhooks.get_delivery(webhook.webhook_id, message.delivery_id)
    assert again.delivery_id != first.delivery_id and again.event_id == first.event_id and again.attempt == 1
    assert [m.delivery_id for m, _ in sent.messages] == [again.delivery_id]


def test_a_redelivery_of_an_event_no_longer_kept_is_refused(store):
    kms = FakeKms()
    webhook, message, _ = queued(store, kms)
    event_id = store.webhooks.get_delivery(webhook.webhook_id, message.delivery_id).event_id
    del store.events.items[event_id]
    with pytest.raises(Conflict):
        webhooks.redeliver(webhook.webhook_id, message.delivery_id, principal=ALICE, store=store)


def test_the_body_is_the_event_as_standard_webhooks_has_it():
    event = events.event("usr_a", EventType.WEBHOOK_TEST, {"webhook_id": "wh_1"})
    assert json.loads(deliveries.body_of(event)) == {
        "type": "webhook.test",
        "timestamp": event.timestamp,
        "data": {"webhook_id": "wh_1"},
    }
