"""Standard Webhooks v1 signing, verified by the official `standardwebhooks` library as a receiver would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from telephony import signing

BODY = json.dumps({"type": "call.ended", "timestamp": "2026-01-01T00:00:00Z", "data": {"call_id": "c1"}}).encode()
EVENT_ID = "evt_01J9Z8Q4M3"


def _verify(secret: str, headers: dict[str, str], body: bytes = BODY) -> object:
    return Webhook(secret).verify(body, headers)


def test_a_new_secret_is_whsec_and_base64_of_32_random_bytes():
    secret = signing.new_secret()

    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert len({signing.new_secret() for _ in range(50)}) == 50


def test_the_headers_are_standard_webhooks_v1_and_the_library_verifies_them():
    secret = signing.new_secret()
    now = int(time.time())

    headers = signing.headers([secret], EVENT_ID, now, BODY)

    assert headers["webhook-id"] == EVENT_ID
    assert headers["webhook-timestamp"] == str(now)
    assert headers["Content-Type"] == "application/json"
    assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", headers["webhook-signature"])
    assert _verify(secret, headers) == json.loads(BODY)


@pytest.mark.parametrize("trial", range(20))
def test_every_signature_verifies_whatever_the_secret_id_and_body(trial):
    secret = signing.new_secret()
    event_id = f"evt_{trial:04d}_{secret[-8:-1]}"
    body = json.dumps({"type": "webhook.test", "data": {"n": trial, "text": "é" * trial}}).encode()

    headers = signing.headers([secret], event_id, int(time.time()), body)

    assert _verify(secret, headers, body) == json.loads(body)


def test_the_signature_is_the_hmac_of_id_timestamp_and_body_with_the_decoded_key():
    key = bytes(range(32))
    secret = "whsec_" + base64.b64encode(key).decode()

    signature = signing.sign([secret], "msg_1", 1_700_000_000, b'{"a":1}')

    expected = hmac.new(key, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(expected).decode()
    # the library's own signer agrees on the same input
    library = Webhook(secret).sign("msg_1", datetime.fromtimestamp(1_700_000_000, tz=UTC), '{"a":1}')
    assert signature == library


def test_during_a_rotation_both_secrets_verify_from_one_header():
    old, new = signing.new_secret(), signing.new_secret()

    headers = signing.headers([new, old], EVENT_ID, int(time.time()), BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert _verify(old, headers) == json.loads(BODY)
    assert _verify(new, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        _verify(signing.new_secret(), headers)


def test_a_wrong_secret_fails():
    headers = signing.headers([signing.new_secret()], EVENT_ID, int(time.time()), BODY)

    with pytest.raises(WebhookVerificationError):
        _verify(signing.new_secret(), headers)


def test_a_changed_body_fails():
    secret = signing.new_secret()
    headers = signing.headers([secret], EVENT_ID, int(time.time()), BODY)

    with pytest.raises(WebhookVerificationError):
        _verify(secret, headers, BODY.replace(b"call.ended", b"call.endex"))
    with pytest.raises(WebhookVerificationError):
        _verify(secret, headers, BODY + b" ")


def test_a_changed_timestamp_or_id_fails():
    secret = signing.new_secret()
    now = int(time.time())
    headers = signing.headers([secret], EVENT_ID, now, BODY)

    with pytest.raises(WebhookVerificationError):
        _verify(secret, {**headers, "webhook-timestamp": str(now - 1)})
    with pytest.raises(WebhookVerificationError):
        _verify(secret, {**headers, "webhook-id": EVENT_ID + "x"})


def test_an_old_attempt_is_refused_by_the_receiver_so_each_attempt_is_signed_with_its_own_time():
    secret = signing.new_secret()
    stale = signing.headers([secret], EVENT_ID, int(time.time()) - 3600, BODY)

    with pytest.raises(WebhookVerificationError, match="too old"):
        _verify(secret, stale)


@pytest.mark.parametrize(
    "secrets",
    [[], ["not-a-secret"], ["whsec_"], ["whsec_!!!notbase64"], ["WHSEC_" + base64.b64encode(b"k" * 32).decode()]],
    ids=["none", "no-prefix", "empty", "not-base64", "prefix-case"],
)
def test_a_malformed_secret_is_a_bug_not_a_silent_signature(secrets):
    with pytest.raises(ValueError):
        signing.sign(secrets, EVENT_ID, int(time.time()), BODY)


def test_one_secret_passed_as_a_string_is_refused():
    with pytest.raises(TypeError):
        signing.sign(signing.new_secret(), EVENT_ID, int(time.time()), BODY)  # type: ignore[arg-type]


@pytest.mark.parametrize("message_id", ["", "evt 1", "evt\r\nx-injected: 1", "évt"])
def test_an_id_that_would_break_the_header_is_refused(message_id):
    with pytest.raises(ValueError):
        signing.headers([signing.new_secret()], message_id, int(time.time()), BODY)


@pytest.mark.parametrize("timestamp", [-1, 1.5, True, "1700000000"])
def test_the_timestamp_is_whole_unix_seconds(timestamp):
    with pytest.raises(ValueError):
        signing.sign([signing.new_secret()], EVENT_ID, timestamp, BODY)
