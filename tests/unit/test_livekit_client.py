"""The layer's own Twirp client (ADR 0007): tokens, error answers, transport failures, webhook checks.

The requests themselves are exercised against the emulator by the integration and gate tests."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time

import jwt
import pytest

from telephony.errors import InvalidInput, NotFound, Unauthenticated, UpstreamError, UpstreamUnavailable
from telephony.integrations import livekit as lk

CREDENTIALS = lk.Credentials("http://127.0.0.1:1", "APIkey", "a-secret-of-at-least-32-characters!!")


def test_tokens_carry_the_grants_in_livekits_claim_names_and_are_reused():
    token = lk._token(CREDENTIALS, {"roomAdmin": True, "room": "call_1"}, {"call": True})
    claims = jwt.decode(token, CREDENTIALS.api_secret, algorithms=["HS256"], issuer="APIkey")
    assert claims["video"] == {"roomAdmin": True, "room": "call_1"} and claims["sip"] == {"call": True}
    assert claims["exp"] - claims["nbf"] > 60
    assert lk._token(CREDENTIALS, {"roomAdmin": True, "room": "call_1"}, {"call": True}) == token
    assert lk._token(CREDENTIALS, {"roomAdmin": True, "room": "call_2"}, {"call": True}) != token


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (400, b'{"code":"invalid_argument","msg":"bad number"}', InvalidInput, "invalid_argument"),
        (404, b'{"code":"not_found","msg":"no trunk"}', NotFound, "not_found"),
        (503, b'{"code":"unavailable","msg":"later"}', UpstreamUnavailable, "unavailable"),
        (503, b"<html>proxy</html>", UpstreamUnavailable, "unknown"),  # not JSON: the status decides
        (502, b"<html>proxy</html>", UpstreamError, "unknown"),
        (500, b'["not", "an", "object"]', UpstreamError, "unknown"),
    ],
)
def test_error_answers_become_domain_errors(status, body, expected, code):
    failure = lk._failure(status, body)
    assert failure.code == code and failure.status == status
    translated = lk._translate(failure)
    assert type(translated) is expected
    assert translated.details == [{"livekit_code": code}]


def test_sip_status_of_a_failed_dial_is_read_from_the_metadata():
    failure = lk._failure(400, b'{"code":"unavailable","msg":"busy","meta":{"sip_status_code":"486"}}')
    assert lk._sip_status(failure) == 486
    assert lk._sip_status(lk._failure(400, b'{"code":"unavailable","meta":{"sip_status_code":"x"}}')) is None


def test_an_unreachable_server_is_a_503_without_waiting_for_the_timeout():
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = lk.LiveKit(lk.Credentials(f"ws://127.0.0.1:{port}", "APIkey", CREDENTIALS.api_secret), timeout=5)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as info:
        client.create_dispatch("call_x", "agent", "")
    assert info.value.details == [{"livekit_code": "unreachable"}]
    assert time.monotonic() - started < 5
    assert client.base_url == f"http://127.0.0.1:{port}"


def _signed(body: str, **claims) -> str:
    digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
    now = int(time.time())
    payload = {"iss": "APIkey", "nbf": now, "exp": now + 300, "sha256": digest, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, CREDENTIALS.api_secret, algorithm="HS256")


def test_webhooks_are_accepted_only_with_our_signature_over_this_body():
    client = lk.LiveKit(CREDENTIALS)
    body = json.dumps({"event": "room_started", "id": "EV_1", "room": {"name": "call_1"}, "unknownField": 1})
    event = client.verify_webhook(body, _signed(body))
    assert (event.event, event.id, event.room_name) == ("room_started", "EV_1", "call_1")
    refused = [
        _signed(body + " "),  # another body
        _signed(body, exp=None),  # never expires
        _signed(body, iss="someone-else"),
        _signed(body, exp=int(time.time()) - 3600),
        _signed(body, sha256="not base64!"),
        jwt.encode({"iss": "APIkey", "exp": int(time.time()) + 60}, "another-secret-of-32-characters!!!", "HS256"),
        "",
    ]
    for authorization in refused:
        with pytest.raises(Unauthenticated):
            client.verify_webhook(body, authorization)
    with pytest.raises(Unauthenticated):
        client.verify_webhook("{not json", _signed("{not json"))
