"""Account webhooks through the local stack: registered over the API, events written with their changes, fanned out
from the outbox's stream, delivered by the deliverer from its queue to a receiver on 127.0.0.1, signed as Standard
Webhooks v1 and verified here with the `standardwebhooks` library."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.receiver import Receiver
from tests.support import assert_error

AGENT = "3f2b8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"
NUMBER = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "metadata": {"agent_name": "hooks-agent"},
}
CALLEE = "+14155550199"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    sink = Receiver().start()
    yield sink
    sink.stop()


def wait_for(read: Any, done: Any, timeout: float = 20.0) -> Any:
    deadline = time.time() + timeout
    value = read()
    while not done(value):
        assert time.time() < deadline, f"timed out; last: {value}"
        time.sleep(0.05)
        value = read()
    return value


def register(world: Any, token: str, url: str, events: list[str], **more: Any) -> dict[str, Any]:
    reply = world.client.post("/webhooks", token=token, json_body={"url": url, "events": events, **more})
    assert reply.status == 201, reply.body
    return reply.json()  # type: ignore[no-any-return]


# ---------------------------------------------------------------- the endpoints


def test_a_webhook_is_registered_and_its_secret_shown_once(world, keys, receiver):
    made = register(world, keys.alice, receiver.url, ["call.ended"], description="crm")
    assert made["secret"].startswith("whsec_") and made["enabled"] is True
    got = world.client.get(f"/webhooks/{made['webhook_id']}", token=keys.alice)
    assert got.status == 200 and "secret" not in got.json() and made["secret"] not in got.body.decode()
    listed = world.client.get("/webhooks", token=keys.alice).json()["items"]
    assert [w["webhook_id"] for w in listed] == [made["webhook_id"]] and made["secret"] not in json.dumps(listed)
    changed = world.client.patch(
        f"/webhooks/{made['webhook_id']}", token=keys.alice, json_body={"events": ["*"], "description": None}
    )
    assert changed.status == 200 and changed.json()["events"] == ["*"] and changed.json()["description"] is None
    assert world.client.get(f"/webhooks/{made['webhook_id']}", token=keys.bob).status == 404  # another user's
    assert world.client.delete(f"/webhooks/{made['webhook_id']}", token=keys.bob).status == 404
    assert world.client.delete(f"/webhooks/{made['webhook_id']}", token=keys.alice).status == 200
    assert world.client.get(f"/webhooks/{made['webhook_id']}", token=keys.alice).status == 404


@pytest.mark.parametrize(
    ("url", "issue"),
    [
        ("http://hooks.example.com/x", "not_https"),
        ("https://10.0.0.5/x", "not_public"),
        ("https://169.254.169.254/latest/meta-data", "not_public"),
        ("https://[::1]/x", "not_public"),
        ("not a url", None),
    ],
)
def test_a_url_that_is_not_https_on_a_public_address_is_400_with_the_reason(world, keys, url, issue):
    reply = world.client.post("/webhooks", token=keys.alice, json_body={"url": url, "events": ["*"]})
    error = assert_error(reply, 400, "invalid_request")
    if issue:
        assert {"field": "url", "issue": issue} in error["details"]


def test_an_unknown_event_type_is_400(world, keys, receiver):
    reply = world.client.post("/webhooks", token=keys.alice, json_body={"url": receiver.url, "events": ["call.boom"]})
    assert_error(reply, 400, "invalid_request")


def test_at_most_ten_webhooks_per_user(world, keys, receiver):
    for _ in range(10):
        register(world, keys.alice, receiver.url, ["*"])
    assert_error(
        world.client.post("/webhooks", token=keys.alice, json_body={"url": receiver.url, "events": ["*"]}), 409
    )
    assert (
        world.client.post("/webhooks", token=keys.bob, json_body={"url": receiver.url, "events": ["*"]}).status == 201
    )


# ---------------------------------------------------------------- delivery


def _call(world: Any, keys: Any, *, answer_ms: int = 30) -> str:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    world.livekit.set_outcome(CALLEE, "answer", after_ms=answer_ms, talk_ms=60_000)
    created = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE})
    assert created.status == 201, created.body
    return str(created.json()["call_id"])


def test_a_calls_life_reaches_the_receiver_signed_in_order(world, keys, receiver):
    hook = register(world, keys.alice, receiver.url, ["call.ringing", "call.answered", "call.ended"])
    call_id = _call(world, keys)
    wait_for(
        lambda: world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice).json()["status"],
        lambda status: status == "in_progress",
    )
    assert world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice).status == 200
    got = wait_for(lambda: receiver.of_type(), lambda found: len(found) >= 3)
    bodies = [r.verified(hook["secret"]) for r in got]
    assert [b["type"] for b in bodies] == ["call.ringing", "call.answered", "call.ended"]
    assert [b["data"]["sequence"] for b in bodies] == [1, 2, 3]
    assert all(b["data"]["call_id"] == call_id and b["data"]["direction"] == "outbound" for b in bodies)
    assert "transcript" not in bodies[-1]["data"] and bodies[-1]["data"]["status"] == "completed"
    assert all(len(r.raw) < 20 * 1024 for r in got)


class TestRetries:
    @pytest.fixture
    def parameters(self) -> dict[str, str]:
        return {"WebhookRetrySchedule": "1,1,1"}

    def test_a_failing_receiver_gets_the_event_again_with_the_same_id(self, world, keys, receiver):
        receiver.answers = [500, 500, 200]
        hook = register(world, keys.alice, receiver.url, ["webhook.test"])
        assert world.client.post(f"/webhooks/{hook['webhook_id']}/test", token=keys.alice).status == 200
        got = wait_for(lambda: receiver.of_type(), lambda found: len(found) >= 3)
        assert len({r.headers["webhook-id"] for r in got}) == 1
        assert all(r.verified(hook["secret"])["type"] == "webhook.test" for r in got)
        log = wait_for(
            lambda: world.client.get(f"/webhooks/{hook['webhook_id']}/deliveries", token=keys.alice).json()["items"],
            lambda items: len(items) == 3 and items[0]["status"] == "succeeded",
        )
        assert [(d["attempt"], d["status"], d["response_status"]) for d in log] == [
            (3, "succeeded", 200),
            (2, "retrying", 500),
            (1, "retrying", 500),
        ]
        assert len({d["event_id"] for d in log}) == 1

    def test_a_receiver_answering_410_disables_the_webhook(self, world, keys, receiver):
        receiver.answers = [410]
        hook = register(world, keys.alice, receiver.url, ["webhook.test"])
        world.client.post(f"/webhooks/{hook['webhook_id']}/test", token=keys.alice)
        got = wait_for(
            lambda: world.client.get(f"/webhooks/{hook['webhook_id']}", token=keys.alice).json(),
            lambda body: body["enabled"] is False,
        )
        assert "410" in got["disabled_reason"]
        (only,) = world.client.get(f"/webhooks/{hook['webhook_id']}/deliveries", token=keys.alice).json()["items"]
        assert only["status"] == "failed" and only["response_status"] == 410

    def test_a_redelivery_sends_the_event_again(self, world, keys, receiver):
        hook = register(world, keys.alice, receiver.url, ["webhook.test"])
        world.client.post(f"/webhooks/{hook['webhook_id']}/test", token=keys.alice)
        (first,) = wait_for(lambda: receiver.of_type(), lambda found: len(found) == 1)
        (delivery,) = world.client.get(f"/webhooks/{hook['webhook_id']}/deliveries", token=keys.alice).json()["items"]
        again = world.client.post(
            f"/webhooks/{hook['webhook_id']}/deliveries/{delivery['delivery_id']}/redeliver", token=keys.alice
        )
        assert again.status == 200 and again.json()["event_id"] == delivery["event_id"]
        second = wait_for(lambda: receiver.of_type(), lambda found: len(found) == 2)[1]
        assert second.headers["webhook-id"] == first.headers["webhook-id"]


def test_during_a_rotation_both_secrets_verify(world, keys, receiver):
    hook = register(world, keys.alice, receiver.url, ["webhook.test"])
    rotated = world.client.post(f"/webhooks/{hook['webhook_id']}/rotate-secret", token=keys.alice).json()
    assert rotated["secret"] != hook["secret"] and rotated["previous_secret_expires_at"]
    world.client.post(f"/webhooks/{hook['webhook_id']}/test", token=keys.alice)
    (got,) = wait_for(lambda: receiver.of_type(), lambda found: len(found) == 1)
    assert got.verified(hook["secret"])["type"] == "webhook.test"
    assert got.verified(rotated["secret"])["type"] == "webhook.test"
    assert len(got.headers["webhook-signature"].split(" ")) == 2


def test_a_request_decision_reaches_its_owner(world, keys, receiver):
    hook = register(world, keys.alice, receiver.url, ["phone_number_request.rejected"])
    rid = world.client.post(
        "/telephony/phone-number-requests", token=keys.alice, json_body={"phone_number": "+14155550177"}
    ).json()["request_id"]
    world.client.post(f"/admin/phone-number-requests/{rid}/reject", token=keys.admin, json_body={"reason": "no"})
    (got,) = wait_for(lambda: receiver.of_type(), lambda found: len(found) == 1)
    body = got.verified(hook["secret"])
    assert body["type"] == "phone_number_request.rejected" and body["data"]["request_id"] == rid
