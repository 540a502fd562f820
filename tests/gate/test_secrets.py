"""A canary SIP `auth_password` and a canary API key go through every flow that touches them, errors
included; neither may appear in any response (the key once, in the answer that creates it), any log
line at any level, any error message, or any DynamoDB item."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.gate.conftest import (
    AGENT,
    ALLOWED,
    CONFIGURE,
    REGISTER,
    call_in_progress,
    figure,
    own_number,
    scan,
    wait_for,
)

PASSWORD = "CANARY-sip-pw-5f1e0c2a9b"
SECOND_PASSWORD = "CANARY-sip-pw-second-77d1"
TABLES = ("API_KEYS_TABLE", "RATE_LIMITS_TABLE", "REQUESTS_TABLE", "NUMBERS_TABLE", "CALLS_TABLE", "IDEMPOTENCY_TABLE")


class Everything:
    """Every response body and header, and every log line, of the flow."""

    def __init__(self) -> None:
        self.responses: list[str] = []
        self.logs = io.StringIO()

    def text(self) -> str:
        return "\n".join(self.responses) + "\n" + self.logs.getvalue()


class _Records(logging.Handler):
    """Any library's log record, with its arguments and extra fields."""

    def __init__(self, sink: io.StringIO) -> None:
        super().__init__(level=logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.write(f"{record.name} {record.getMessage()} {record.__dict__}\n")


@pytest.fixture
def seen(world, keys) -> Iterator[Everything]:
    from telephony.observability import logger

    everything = Everything()
    product = logger()
    handler = product.registered_handler
    old_stream = handler.setStream(everything.logs)  # the product's own JSON lines, exactly as Lambda prints them
    old_level = product.log_level
    product.setLevel("DEBUG")
    records = _Records(everything.logs)
    root = logging.getLogger()
    root_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    quiet = {name: logging.getLogger(name).level for name in ("botocore", "boto3", "urllib3", "moto", "werkzeug")}
    for name in quiet:  # AWS SDK wire logs (request bodies) are not the product's logging, and are off in Lambda
        logging.getLogger(name).setLevel(logging.INFO)
    original = world.client.request

    def request(*args: Any, **kw: Any) -> Any:
        reply = original(*args, **kw)
        everything.responses.append(reply.body.decode(errors="replace") + repr(reply.headers))
        return reply

    world.client.request = request  # type: ignore[method-assign]
    yield everything
    world.client.request = original  # type: ignore[method-assign]
    root.removeHandler(records)
    root.setLevel(root_level)
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    handler.setStream(old_stream)
    product.setLevel(old_level)


def test_canaries_never_leak(world, keys, seen, capfd, relaxed_budgets):
    client = world.client
    # Given a canary API key, shown once at creation
    created = client.post("/api-keys", token=keys.alice_jwt, json_body={"name": "canary"})
    assert created.status == 201
    api_key = created.json()["api_key"]
    secret = api_key.removeprefix("tpk_").split("_", 1)[1]  # the id has no "_"; the url-safe secret may
    seen.responses.clear()  # the one answer allowed to carry it

    # When every flow that touches them runs, errors included
    registered = client.post(
        f"/agents/{AGENT}/phone-numbers", token=api_key, json_body={**REGISTER, "auth_password": PASSWORD}
    )
    assert registered.status == 201, registered.body
    assert client.post(f"/agents/{AGENT}/phone-numbers", token=api_key, json_body=REGISTER).status == 409
    client.get(f"/agents/{AGENT}/phone-numbers", token=api_key)
    pid = own_number("usr_alice")
    trunk = {**CONFIGURE["sip_trunk"], "auth_password": PASSWORD}
    base = f"/outbound-calls/phone-numbers/{pid}"
    assert client.post(f"{base}/configure", token=api_key, json_body={**CONFIGURE, "sip_trunk": trunk}).status == 200
    client.get(f"{base}/configuration", token=api_key)
    client.get("/outbound-calls/phone-numbers", token=api_key)
    world.livekit.add_fault("UpdateSIPOutboundTrunk", "unavailable", times=1)
    second = {**trunk, "auth_password": SECOND_PASSWORD, "address": "sip2.telnyx.com"}
    assert client.post(f"{base}/configure", token=api_key, json_body={"sip_trunk": second}).status == 503
    world.livekit.add_fault("UpdateSIPInboundTrunk", "invalid_argument", times=1, msg="refused")
    assert client.post(f"{base}/configure", token=api_key, json_body={"sip_trunk": second}).status == 400
    for bad in (
        {**trunk, "address": "127.0.0.1"},
        {**trunk, "auth_password": PASSWORD * 10},
        {**trunk, "auth_username": None},
        {**trunk, "numbers": ["+1415555"]},
        {**trunk, "surprise": PASSWORD},
    ):
        assert client.post(f"{base}/configure", token=api_key, json_body={"sip_trunk": bad}).status == 400
    assert client.post(f"{base}/configure", token=api_key, json_body={"sip_trunk": second}).status == 200
    call_id = call_in_progress(world, api_key)
    client.get(f"/outbound-calls/{call_id}/details?include_transcript=true&include_summary=true", token=api_key)
    client.post(f"/outbound-calls/{call_id}/transfer", token=api_key, json_body={"transfer_to": ALLOWED})
    client.get("/outbound-calls", token=api_key)
    client.get("/outbound-calls/stats", token=api_key)
    client.get("/api-keys", token=api_key)
    client.delete(f"{base}/configuration?config_type=all", token=api_key)
    client.delete(f"/agents/{AGENT}/phone-numbers/{registered.json()['phone_number_id']}", token=api_key)
    # credentials that fail: a forged secret, another scheme, in a body, then the key revoked
    assert client.get("/api-keys", token=api_key[:-1] + ("A" if api_key[-1] != "A" else "B")).status == 401
    assert client.get("/api-keys", headers={"authorization": f"Basic {api_key}"}).status == 401
    assert client.post("/api-keys", token=api_key, json_body={"name": "x", "role": api_key}).status == 400
    assert client.delete(f"/api-keys/{created.json()['key_id']}", token=keys.alice_jwt).status == 200
    assert client.get("/api-keys", token=api_key).status == 401
    assert client.get("/outbound-calls", token=api_key).status == 401

    # Then they appear nowhere
    printed = capfd.readouterr()
    everything = seen.text() + printed.out + printed.err
    lines = everything.count("\n")
    assert lines > 50, "the capture saw too little to prove anything"
    for canary in (PASSWORD, SECOND_PASSWORD, api_key, secret):
        assert canary not in everything, f"{canary[:12]}... leaked"
    items = [str(item) for table in TABLES for item in scan(table)]
    for canary in (PASSWORD, SECOND_PASSWORD, api_key, secret):
        assert not [i for i in items if canary in i], f"{canary[:12]}... stored in DynamoDB"
    figure(
        "secrets.scanned",
        {"responses": len(seen.responses), "log_and_output_lines": lines, "dynamodb_items": len(items), "canaries": 4},
    )


def test_the_sip_password_is_only_in_secrets_manager_and_livekit(world, keys):
    """Where it must be: Secrets Manager (to restore a trunk) and LiveKit (to authenticate SIP)."""
    from telephony import aws

    registered = world.client.post(
        f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body={**REGISTER, "auth_password": PASSWORD}
    ).json()
    secrets = aws.client("secretsmanager")
    values = [secrets.get_secret_value(SecretId=s["ARN"])["SecretString"] for s in secrets.list_secrets()["SecretList"]]
    assert sum(PASSWORD in v for v in values) == 1
    (inbound,) = world.livekit.state()["inbound_trunks"]
    assert inbound["authPassword"] == PASSWORD
    assert PASSWORD not in str(registered)


def test_a_webhook_secret_is_shown_once_and_never_again(world, keys, seen, capfd):
    """A webhook's secret appears in the answer that creates (or rotates) it and nowhere else: no other answer,
    no log line, no stored item (it is kept encrypted), while events are signed with it and delivered."""
    from local.receiver import Receiver

    receiver = Receiver(answers=[500]).start()
    client = world.client
    try:
        made = client.post("/webhooks", token=keys.alice, json_body={"url": receiver.url, "events": ["*"]})
        assert made.status == 201, made.body
        hook = made.json()
        rotated = client.post(f"/webhooks/{hook['webhook_id']}/rotate-secret", token=keys.alice)
        assert rotated.status == 200
        secrets = [hook["secret"], rotated.json()["secret"]]
        seen.responses.clear()  # the two answers allowed to carry them

        base = f"/webhooks/{hook['webhook_id']}"
        client.get(base, token=keys.alice)
        client.get("/webhooks", token=keys.alice)
        client.patch(base, token=keys.alice, json_body={"description": "crm"})
        client.patch(base, token=keys.alice, json_body={"url": "https://10.0.0.1/x"})  # refused: 400
        client.get(base, token=keys.bob)  # another user's: 404
        assert client.post(f"{base}/test", token=keys.alice).status == 200
        deliveries = wait_for(
            lambda: client.get(f"{base}/deliveries", token=keys.alice).json()["items"],
            lambda items: any(d["status"] == "succeeded" for d in items),
            20,
            "the test event to be delivered after a 500",
        )
        client.post(f"{base}/deliveries/{deliveries[0]['delivery_id']}/redeliver", token=keys.alice)
        wait_for(lambda: len(receiver.received), lambda n: n >= 3, 20, "the redelivery")
        client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=REGISTER)
        call_in_progress(world, keys.alice)
        client.delete(base, token=keys.alice)
        world.events.settle()

        printed = capfd.readouterr()
        everything = seen.text() + printed.out + printed.err
        assert everything.count("\n") > 20, "the capture saw too little to prove anything"
        keys_only = [s.removeprefix("whsec_") for s in secrets]
        for canary in secrets + keys_only:
            assert canary not in everything, f"{canary[:12]}... leaked"
        items = [str(item) for table in ("WEBHOOKS_TABLE", "EVENTS_TABLE") for item in scan(table)]
        assert items
        for canary in secrets + keys_only:
            assert not [i for i in items if canary in i], f"{canary[:12]}... stored in DynamoDB"
        for got in receiver.received:  # and the events were signed with them all the same
            assert got.verified(secrets[0])["type"]
    finally:
        receiver.stop()
