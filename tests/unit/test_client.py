"""The typed client against a fake transport: retries, Retry-After, Idempotency-Key, errors."""

from __future__ import annotations

import json

import httpx
import pytest

from telephony_client import ApiError, TelephonyClient
from telephony_client import client as client_module


def test_retries_429_after_retry_after_and_then_succeeds(monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", waits.append)
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"code": "rate_limited", "message": "x"}}),
            httpx.Response(
                503, headers={"Retry-After": "1"}, json={"error": {"code": "service_unavailable", "message": "y"}}
            ),
            httpx.Response(200, json={"items": []}),
        ]
    )
    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(lambda r: next(answers)))
    assert api.list_phone_numbers() == []
    assert waits == [2.0, 1.0]


def test_gives_up_after_max_retries_with_the_api_error(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda s: None)
    body = {"error": {"code": "rate_limited", "message": "slow down", "request_id": "r1", "details": []}}
    api = TelephonyClient(
        "http://api.test",
        api_key="k",
        max_retries=2,
        transport=httpx.MockTransport(lambda r: httpx.Response(429, json=body)),
    )
    with pytest.raises(ApiError) as raised:
        api.stats()
    assert raised.value.status == 429 and raised.value.code == "rate_limited" and raised.value.request_id == "r1"


def test_create_call_sends_one_idempotency_key_across_retries(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda s: None)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(503, json={"error": {"code": "service_unavailable", "message": "later"}})
        return httpx.Response(201, json={"call_id": "call_1", "status": "dialing"})

    api = TelephonyClient("http://api.test", api_key="tpk_x", transport=httpx.MockTransport(answer))
    assert api.create_call("+14155550199", system_prompt="hi")["call_id"] == "call_1"
    keys = {r.headers["Idempotency-Key"] for r in seen}
    assert len(seen) == 2 and len(keys) == 1 and next(iter(keys))
    assert seen[0].headers["Authorization"] == "Bearer tpk_x"
    assert json.loads(seen[0].content) == {"phone_number": "+14155550199", "system_prompt": "hi"}


def test_client_errors_are_not_retried(monkeypatch):
    monkeypatch.setattr(client_module.time, "sleep", lambda s: pytest.fail("must not wait"))
    api = TelephonyClient(
        "http://api.test",
        transport=httpx.MockTransport(
            lambda r: httpx.Response(404, json={"error": {"code": "not_found", "message": "no such call"}})
        ),
    )
    with pytest.raises(ApiError) as raised:
        api.call_details("call_x")
    assert raised.value.status == 404 and raised.value.message == "no such call"


def test_webhook_methods_send_the_documented_requests():
    seen: list[tuple[str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        return httpx.Response(200, json={"items": [{"webhook_id": "wh_1"}]})

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    api.create_webhook("https://example.com/hook", ["call.ended"])
    assert api.list_webhooks() == [{"webhook_id": "wh_1"}]
    api.update_webhook("wh_1", enabled=False)
    api.rotate_webhook_secret("wh_1")
    api.test_webhook("wh_1")
    api.webhook_deliveries("wh_1", limit=5)
    api.redeliver("wh_1", "dl_1")
    api.delete_webhook("wh_1")
    assert seen == [
        ("POST", "/webhooks", {"url": "https://example.com/hook", "events": ["call.ended"]}),
        ("GET", "/webhooks", None),
        ("PATCH", "/webhooks/wh_1", {"enabled": False}),
        ("POST", "/webhooks/wh_1/rotate-secret", None),
        ("POST", "/webhooks/wh_1/test", None),
        ("GET", "/webhooks/wh_1/deliveries", None),
        ("POST", "/webhooks/wh_1/deliveries/dl_1/redeliver", None),
        ("DELETE", "/webhooks/wh_1", None),
    ]


def test_account_limit_methods_send_the_documented_requests():
    seen: list[tuple[str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, json.loads(request.content) if request.content else None))
        return httpx.Response(200, json={"user_id": "usr_a", "limits": {}, "usage": {}})

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    api.account_limits()
    api.user_limits("usr_a")
    api.set_user_limits("usr_a", max_concurrent_calls=25)
    assert seen == [
        ("GET", "/account/limits", None),
        ("GET", "/admin/accounts/usr_a/limits", None),
        ("PUT", "/admin/accounts/usr_a/limits", {"max_concurrent_calls": 25}),
    ]


def test_dnc_methods_send_the_documented_requests_with_the_plus_encoded():
    seen: list[tuple[str, str, object, dict[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.raw_path.decode(), body, dict(request.url.params)))
        return httpx.Response(200, json={"items": [], "next_token": None})

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    api.add_dnc_numbers(["+14155550123", "+1 415 555 0124"], reason="opted out")
    api.list_dnc_numbers(limit=10, next_token="t1")
    api.get_dnc_number("+14155550123")
    api.delete_dnc_number("+14155550123")
    api.add_dnc_numbers(["+14155550125"], global_list=True)
    api.list_dnc_numbers(global_list=True)
    api.get_dnc_number("+14155550125", global_list=True)
    api.delete_dnc_number("+14155550125", global_list=True)
    assert seen == [
        ("POST", "/dnc", {"numbers": ["+14155550123", "+1 415 555 0124"], "reason": "opted out"}, {}),
        ("GET", "/dnc?limit=10&next_token=t1", None, {"limit": "10", "next_token": "t1"}),
        ("GET", "/dnc/%2B14155550123", None, {}),
        ("DELETE", "/dnc/%2B14155550123", None, {}),
        ("POST", "/admin/dnc", {"numbers": ["+14155550125"]}, {}),
        ("GET", "/admin/dnc?limit=50", None, {"limit": "50"}),
        ("GET", "/admin/dnc/%2B14155550125", None, {}),
        ("DELETE", "/admin/dnc/%2B14155550125", None, {}),
    ]


def test_account_settings_methods_send_the_documented_requests():
    seen: list[tuple[str, str, object]] = []
    settings = {"calling_hours": {"start": "09:00", "end": "21:00", "days": ["mon"], "enforce": True}}

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        return httpx.Response(200, json=settings)

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    assert api.account_settings() == settings
    assert api.update_calling_hours(start="09:00", days=["mon"], enforce=True) == settings
    api.update_calling_hours(enforce=False)
    assert seen == [
        ("GET", "/account/settings", None),
        ("PUT", "/account/settings", {"calling_hours": {"start": "09:00", "days": ["mon"], "enforce": True}}),
        ("PUT", "/account/settings", {"calling_hours": {"enforce": False}}),
    ]


def test_calls_methods_of_both_directions_send_the_documented_requests():
    from datetime import UTC, datetime

    seen: list[tuple[str, str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, str(request.url.query, "ascii"), body))
        return httpx.Response(200, json={"items": []})

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    api.calls(direction="inbound", created_after=datetime(2026, 1, 1, tzinfo=UTC), limit=10)
    api.call("call_1", transcript=True)
    api.calls_stats(direction="inbound")
    api.hangup_call("call_1")
    api.transfer_call("call_1", "+15105550100")
    api.post_call_events("call_1", summary="done")
    assert seen == [
        ("GET", "/calls", "direction=inbound&created_after=2026-01-01T00%3A00%3A00%2B00%3A00&limit=10", None),
        ("GET", "/calls/call_1", "include_transcript=true&include_summary=false", None),
        ("GET", "/calls/stats", "direction=inbound", None),
        ("POST", "/calls/call_1/hangup", "", None),
        (
            "POST",
            "/calls/call_1/transfer",
            "",
            {"transfer_to": "+15105550100", "mode": "cold", "play_dialtone": False},
        ),
        ("POST", "/calls/call_1/events", "", {"summary": "done"}),
    ]


def test_campaign_methods_send_the_documented_requests():
    seen: list[tuple[str, str, object, dict[str, str]]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body, dict(request.url.params)))
        return httpx.Response(200, json={"campaign_id": "cmp_1", "items": []})

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    api.create_campaign(
        "Renewals",
        "pn_1",
        ["+14155550101", {"phone_number": "+14155550102", "variables": {"n": "A"}}],
        max_concurrency=3,
    )
    api.list_campaigns(limit=10)
    api.get_campaign("cmp_1")
    api.add_campaign_contacts("cmp_1", ["+14155550103"])
    api.campaign_contacts("cmp_1", status="answered")
    for verb in ("start", "pause", "resume", "cancel"):
        getattr(api, f"{verb}_campaign")("cmp_1")
    contacts = [{"phone_number": "+14155550101"}, {"phone_number": "+14155550102", "variables": {"n": "A"}}]
    assert seen == [
        (
            "POST",
            "/campaigns",
            {"name": "Renewals", "from_phone_number_id": "pn_1", "contacts": contacts, "max_concurrency": 3},
            {},
        ),
        ("GET", "/campaigns", None, {"limit": "10"}),
        ("GET", "/campaigns/cmp_1", None, {}),
        ("POST", "/campaigns/cmp_1/contacts", {"contacts": [{"phone_number": "+14155550103"}]}, {}),
        ("GET", "/campaigns/cmp_1/contacts", None, {"status": "answered", "limit": "50"}),
        ("POST", "/campaigns/cmp_1/start", None, {}),
        ("POST", "/campaigns/cmp_1/pause", None, {}),
        ("POST", "/campaigns/cmp_1/resume", None, {}),
        ("POST", "/campaigns/cmp_1/cancel", None, {}),
    ]


def test_recording_methods_send_the_documented_requests():
    seen: list[tuple[str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json={"call_id": "call_1", "status": "ready", "url": "https://s3.test/x"})

    api = TelephonyClient("http://api.test", api_key="k", transport=httpx.MockTransport(answer))
    assert api.recording("call_1")["url"] == "https://s3.test/x"
    assert api.delete_recording("call_1") is None
    assert seen == [("GET", "/outbound-calls/call_1/recording"), ("DELETE", "/outbound-calls/call_1/recording")]
