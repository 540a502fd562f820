"""The client: one method per endpoint, JSON in and out, typed errors."""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

Json = dict[str, Any]


class ApiError(Exception):
    """An error answer of the API: `{"error": {"code", "message", "request_id", "details"}}`."""

    def __init__(self, status: int, body: Any) -> None:
        error = (body or {}).get("error") if isinstance(body, dict) else None
        error = error or {"code": "http_error", "message": str(body), "request_id": None, "details": []}
        super().__init__(f"{status} {error.get('code')}: {error.get('message')}")
        self.status = status
        self.code = error.get("code")
        self.message = error.get("message")
        self.request_id = error.get("request_id")
        self.details = error.get("details") or []


class TelephonyClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        credential = api_key or token
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait

    def __enter__(self) -> TelephonyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------ transport
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Json | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Send a request; retry 429/503 after Retry-After (at most `max_retries` times); raise ApiError."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        for attempt in range(self.max_retries + 1):
            response = self._http.request(method, path, json=json, params=query, headers=headers)
            if response.status_code in (429, 503) and attempt < self.max_retries:
                time.sleep(self._wait(response, attempt))
                continue
            break
        body = response.json() if response.content else None
        if response.status_code >= 400:
            raise ApiError(response.status_code, body)
        return body

    def _wait(self, response: httpx.Response, attempt: int) -> float:
        raw = response.headers.get("Retry-After")
        try:
            wait = float(raw) if raw is not None else 0.5 * 2**attempt
        except ValueError:
            wait = 0.5 * 2**attempt
        return min(max(wait, 0.0), self.max_retry_wait)

    # ------------------------------------------------------------ API keys
    def create_api_key(self, name: str, *, role: str = "user") -> Json:
        return self.request("POST", "/api-keys", json={"name": name, "role": role})  # type: ignore[no-any-return]

    def list_api_keys(self) -> list[Json]:
        return self.request("GET", "/api-keys")["items"]  # type: ignore[no-any-return]

    def revoke_api_key(self, key_id: str) -> Json:
        return self.request("DELETE", f"/api-keys/{key_id}")  # type: ignore[no-any-return]

    # ------------------------------------------------------------ phone-number requests
    def request_phone_number(
        self, *, phone_number: str | None = None, country: str | None = None, **extra: Any
    ) -> Json:
        body = {"phone_number": phone_number, "country": country, **extra}
        return self.request(
            "POST",
            "/telephony/phone-number-requests",  # type: ignore[no-any-return]
            json={k: v for k, v in body.items() if v is not None},
        )

    def get_phone_number_request(self, request_id: str) -> Json:
        return self.request("GET", f"/telephony/phone-number-requests/{request_id}")  # type: ignore[no-any-return]

    def list_phone_number_requests(self, *, limit: int = 50, next_token: str | None = None) -> Json:
        return self.request(
            "GET",
            "/telephony/phone-number-requests",  # type: ignore[no-any-return]
            params={"limit": limit, "next_token": next_token},
        )

    def review_queue(self, *, status: str = "pending") -> list[Json]:
        return self.request("GET", "/admin/phone-number-requests", params={"status": status})["items"]  # type: ignore[no-any-return]

    def approve(
        self, request_id: str, *, phone_number: str | None = None, provider: str | None = None, note: str | None = None
    ) -> Json:
        body = {"phone_number": phone_number, "provider": provider, "note": note}
        return self.request(
            "POST",
            f"/admin/phone-number-requests/{request_id}/approve",  # type: ignore[no-any-return]
            json={k: v for k, v in body.items() if v is not None},
        )

    def reject(self, request_id: str, reason: str) -> Json:
        return self.request(
            "POST",
            f"/admin/phone-number-requests/{request_id}/reject",  # type: ignore[no-any-return]
            json={"reason": reason},
        )

    # ------------------------------------------------------------ numbers and LiveKit configuration
    def list_phone_numbers(self) -> list[Json]:
        return self.request("GET", "/outbound-calls/phone-numbers")["items"]  # type: ignore[no-any-return]

    def configure(
        self, phone_number_id: str, *, sip_trunk: Json | None = None, dispatch_rule: Json | None = None
    ) -> Json:
        body = {"sip_trunk": sip_trunk, "dispatch_rule": dispatch_rule}
        return self.request(
            "POST",
            f"/outbound-calls/phone-numbers/{phone_number_id}/configure",  # type: ignore[no-any-return]
            json={k: v for k, v in body.items() if v is not None},
        )

    def configuration(self, phone_number_id: str) -> Json:
        return self.request("GET", f"/outbound-calls/phone-numbers/{phone_number_id}/configuration")  # type: ignore[no-any-return]

    def delete_configuration(self, phone_number_id: str, config_type: str = "all") -> Json:
        return self.request(
            "DELETE",
            f"/outbound-calls/phone-numbers/{phone_number_id}/configuration",  # type: ignore[no-any-return]
            params={"config_type": config_type},
        )

    def register_phone_number(self, agent_id: str, phone_number: str, provider: str, **fields: Any) -> Json:
        return self.request(
            "POST",
            f"/agents/{agent_id}/phone-numbers",  # type: ignore[no-any-return]
            json={"phone_number": phone_number, "provider": provider, **fields},
        )

    def agent_phone_numbers(self, agent_id: str) -> list[Json]:
        return self.request("GET", f"/agents/{agent_id}/phone-numbers")["items"]  # type: ignore[no-any-return]

    def unregister_phone_number(self, agent_id: str, phone_number_id: str) -> Json:
        return self.request("DELETE", f"/agents/{agent_id}/phone-numbers/{phone_number_id}")  # type: ignore[no-any-return]

    # ------------------------------------------------------------ calls
    def create_call(self, phone_number: str, *, idempotency_key: str | None = None, **fields: Any) -> Json:
        """Place a call (`record=True` records it once answered). The Idempotency-Key (generated when not given) makes
        the retries safe."""
        key = idempotency_key or str(uuid.uuid4())
        return self.request(
            "POST",
            "/outbound-calls/create",
            json={"phone_number": phone_number, **fields},  # type: ignore[no-any-return]
            headers={"Idempotency-Key": key},
        )

    def call_details(self, call_id: str, *, transcript: bool = False, summary: bool = False) -> Json:
        return self.request(
            "GET",
            f"/outbound-calls/{call_id}/details",  # type: ignore[no-any-return]
            params={"include_transcript": str(transcript).lower(), "include_summary": str(summary).lower()},
        )

    def list_calls(self, *, status: str | None = None, limit: int = 50, next_token: str | None = None) -> Json:
        return self.request(
            "GET",
            "/outbound-calls",  # type: ignore[no-any-return]
            params={"status": status, "limit": limit, "next_token": next_token},
        )

    def hangup(self, call_id: str) -> Json:
        return self.request("POST", f"/outbound-calls/{call_id}/hangup")  # type: ignore[no-any-return]

    def recording(self, call_id: str) -> Json:
        """The call's recording; when it is ready, `url` links to its OGG file for 5 minutes (ask again for another).
        404 when the call was not recorded or its recording was deleted; 409 while it is being made."""
        return self.request("GET", f"/outbound-calls/{call_id}/recording")  # type: ignore[no-any-return]

    def delete_recording(self, call_id: str) -> None:
        """Remove the call's recording (204); a second delete is 404."""
        self.request("DELETE", f"/outbound-calls/{call_id}/recording")

    def transfer(self, call_id: str, transfer_to: str, *, mode: str = "cold", play_dialtone: bool = False) -> Json:
        return self.request(
            "POST",
            f"/outbound-calls/{call_id}/transfer",  # type: ignore[no-any-return]
            json={"transfer_to": transfer_to, "mode": mode, "play_dialtone": play_dialtone},
        )

    def post_events(self, call_id: str, *, transcript: list[Json] | None = None, summary: str | None = None) -> Json:
        body = {"transcript": transcript, "summary": summary}
        return self.request(
            "POST",
            f"/outbound-calls/{call_id}/events",  # type: ignore[no-any-return]
            json={k: v for k, v in body.items() if v is not None},
        )

    def stats(self) -> Json:
        return self.request("GET", "/outbound-calls/stats")  # type: ignore[no-any-return]

    # ------------------------------------------------------------ calls of both directions (inbound included)
    def calls(
        self,
        *,
        direction: str | None = None,
        status: str | None = None,
        phone_number_id: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        limit: int = 50,
        next_token: str | None = None,
    ) -> Json:
        """Your calls, `outbound` and `inbound`, newest first; times as aware datetimes or ISO 8601 text."""
        return self.request(
            "GET",
            "/calls",  # type: ignore[no-any-return]
            params={
                "direction": direction,
                "status": status,
                "phone_number_id": phone_number_id,
                "created_after": _moment(created_after),
                "created_before": _moment(created_before),
                "limit": limit,
                "next_token": next_token,
            },
        )

    def call(self, call_id: str, *, transcript: bool = False, summary: bool = False) -> Json:
        """A call of either direction."""
        return self.request(
            "GET",
            f"/calls/{call_id}",  # type: ignore[no-any-return]
            params={"include_transcript": str(transcript).lower(), "include_summary": str(summary).lower()},
        )

    def calls_stats(self, *, direction: str | None = None) -> Json:
        """Statistics of one direction's calls, or of both."""
        return self.request("GET", "/calls/stats", params={"direction": direction})  # type: ignore[no-any-return]

    def hangup_call(self, call_id: str) -> Json:
        """Hang up a call of either direction."""
        return self.request("POST", f"/calls/{call_id}/hangup")  # type: ignore[no-any-return]

    def transfer_call(self, call_id: str, transfer_to: str, *, mode: str = "cold", play_dialtone: bool = False) -> Json:
        """Transfer a call of either direction."""
        return self.request(
            "POST",
            f"/calls/{call_id}/transfer",  # type: ignore[no-any-return]
            json={"transfer_to": transfer_to, "mode": mode, "play_dialtone": play_dialtone},
        )

    def post_call_events(
        self, call_id: str, *, transcript: list[Json] | None = None, summary: str | None = None
    ) -> Json:
        """The transcript and summary of a call of either direction (by its owner or its agent)."""
        body = {"transcript": transcript, "summary": summary}
        return self.request(
            "POST",
            f"/calls/{call_id}/events",  # type: ignore[no-any-return]
            json={k: v for k, v in body.items() if v is not None},
        )

    # ------------------------------------------------------------ account
    def account_limits(self) -> Json:
        """Your account's limits and what you use of them now (live calls included)."""
        return self.request("GET", "/account/limits")  # type: ignore[no-any-return]

    def user_limits(self, user_id: str) -> Json:
        """Admin: a user's limits and usage."""
        return self.request("GET", f"/admin/accounts/{user_id}/limits")  # type: ignore[no-any-return]

    def set_user_limits(self, user_id: str, **limits: int) -> Json:
        """Admin: change some of a user's limits (`max_concurrent_calls=25`, ...); the others keep their values."""
        return self.request("PUT", f"/admin/accounts/{user_id}/limits", json=limits)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ webhooks
    def create_webhook(self, url: str, events: list[str], *, description: str | None = None) -> Json:
        """Register an endpoint; the answer's `secret` is shown this once."""
        body = {"url": url, "events": events, "description": description}
        return self.request("POST", "/webhooks", json={k: v for k, v in body.items() if v is not None})  # type: ignore[no-any-return]

    def list_webhooks(self) -> list[Json]:
        return self.request("GET", "/webhooks")["items"]  # type: ignore[no-any-return]

    def get_webhook(self, webhook_id: str) -> Json:
        return self.request("GET", f"/webhooks/{webhook_id}")  # type: ignore[no-any-return]

    def update_webhook(self, webhook_id: str, **fields: Any) -> Json:
        """Change `url`, `events`, `description` or `enabled`; only the fields given change."""
        return self.request("PATCH", f"/webhooks/{webhook_id}", json=fields)  # type: ignore[no-any-return]

    def delete_webhook(self, webhook_id: str) -> Json:
        return self.request("DELETE", f"/webhooks/{webhook_id}")  # type: ignore[no-any-return]

    def rotate_webhook_secret(self, webhook_id: str) -> Json:
        return self.request("POST", f"/webhooks/{webhook_id}/rotate-secret")  # type: ignore[no-any-return]

    def test_webhook(self, webhook_id: str) -> Json:
        return self.request("POST", f"/webhooks/{webhook_id}/test")  # type: ignore[no-any-return]

    def webhook_deliveries(self, webhook_id: str, *, limit: int = 50, next_token: str | None = None) -> Json:
        return self.request(
            "GET",
            f"/webhooks/{webhook_id}/deliveries",  # type: ignore[no-any-return]
            params={"limit": limit, "next_token": next_token},
        )

    def redeliver(self, webhook_id: str, delivery_id: str) -> Json:
        return self.request("POST", f"/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")  # type: ignore[no-any-return]

    # ------------------------------------------------------------ do-not-call lists
    def add_dnc_numbers(self, numbers: list[str], *, reason: str | None = None, global_list: bool = False) -> Json:
        """List up to 1,000 numbers (E.164); `global_list` is the operator's list (admins). Answers how many were
        added and already listed. A 503 may leave part of a batch listed: the retry this client makes finishes it."""
        body = {"numbers": numbers, "reason": reason}
        return self.request("POST", _dnc(global_list), json={k: v for k, v in body.items() if v is not None})  # type: ignore[no-any-return]

    def list_dnc_numbers(self, *, limit: int = 50, next_token: str | None = None, global_list: bool = False) -> Json:
        return self.request("GET", _dnc(global_list), params={"limit": limit, "next_token": next_token})  # type: ignore[no-any-return]

    def get_dnc_number(self, phone_number: str, *, global_list: bool = False) -> Json:
        return self.request("GET", _dnc(global_list, phone_number))  # type: ignore[no-any-return]

    def delete_dnc_number(self, phone_number: str, *, global_list: bool = False) -> Json:
        return self.request("DELETE", _dnc(global_list, phone_number))  # type: ignore[no-any-return]

    # ------------------------------------------------------------ account settings
    def account_settings(self) -> Json:
        """`{"calling_hours": {"start", "end", "days", "enforce"}}`; the defaults until first changed."""
        return self.request("GET", "/account/settings")  # type: ignore[no-any-return]

    def update_calling_hours(
        self,
        *,
        start: str | None = None,
        end: str | None = None,
        days: list[str] | None = None,
        enforce: bool | None = None,
    ) -> Json:
        """Change the calling hours (`HH:MM` local times, day names `mon`..`sun`); only the fields given change.
        Answers with the whole of the settings."""
        given = {"start": start, "end": end, "days": days, "enforce": enforce}
        fields = {k: v for k, v in given.items() if v is not None}
        return self.request("PUT", "/account/settings", json={"calling_hours": fields})  # type: ignore[no-any-return]

    # ------------------------------------------------------------ campaigns
    def create_campaign(self, name: str, from_phone_number_id: str, contacts: list[Json | str], **fields: Any) -> Json:
        """A draft campaign. `contacts`: E.164 numbers, or `{"phone_number", "variables"?, "metadata"?}`; `fields`:
        `agent_name`, `system_prompt`, `welcome_message`, `voice`, `metadata`, `schedule`, `calling_window`,
        `max_concurrency`, `retry`."""
        body = {
            "name": name,
            "from_phone_number_id": from_phone_number_id,
            "contacts": [{"phone_number": c} if isinstance(c, str) else c for c in contacts],
            **fields,
        }
        return self.request("POST", "/campaigns", json=body)  # type: ignore[no-any-return]

    def list_campaigns(self, *, limit: int = 50, next_token: str | None = None) -> Json:
        return self.request(  # type: ignore[no-any-return]
            "GET", "/campaigns", params={"limit": limit, "next_token": next_token}
        )

    def get_campaign(self, campaign_id: str) -> Json:
        """The campaign with its `counts` and `attempts`."""
        return self.request("GET", f"/campaigns/{campaign_id}")  # type: ignore[no-any-return]

    def add_campaign_contacts(self, campaign_id: str, contacts: list[Json | str]) -> Json:
        """More contacts for a draft or paused campaign."""
        body = {"contacts": [{"phone_number": c} if isinstance(c, str) else c for c in contacts]}
        return self.request("POST", f"/campaigns/{campaign_id}/contacts", json=body)  # type: ignore[no-any-return]

    def campaign_contacts(
        self, campaign_id: str, *, status: str | None = None, limit: int = 50, next_token: str | None = None
    ) -> Json:
        """A page of the campaign's contacts with their attempts and call ids."""
        return self.request(  # type: ignore[no-any-return]
            "GET",
            f"/campaigns/{campaign_id}/contacts",
            params={"status": status, "limit": limit, "next_token": next_token},
        )

    def start_campaign(self, campaign_id: str) -> Json:
        return self.request("POST", f"/campaigns/{campaign_id}/start")  # type: ignore[no-any-return]

    def pause_campaign(self, campaign_id: str) -> Json:
        return self.request("POST", f"/campaigns/{campaign_id}/pause")  # type: ignore[no-any-return]

    def resume_campaign(self, campaign_id: str) -> Json:
        return self.request("POST", f"/campaigns/{campaign_id}/resume")  # type: ignore[no-any-return]

    def cancel_campaign(self, campaign_id: str) -> Json:
        return self.request("POST", f"/campaigns/{campaign_id}/cancel")  # type: ignore[no-any-return]

    def wait_for(self, call_id: str, *statuses: str, timeout: float = 30.0, interval: float = 0.2) -> Json:
        """Poll a call until it reaches one of `statuses`."""
        deadline = time.monotonic() + timeout
        while True:
            details = self.call_details(call_id)
            if details["status"] in statuses or time.monotonic() > deadline:
                return details
            time.sleep(interval)


def _dnc(global_list: bool, phone_number: str | None = None) -> str:
    """A do-not-call list's path, or one number's in it with its + encoded (%2B)."""
    path = "/admin/dnc" if global_list else "/dnc"
    return f"{path}/{quote(phone_number, safe='')}" if phone_number is not None else path


def _moment(value: datetime | str | None) -> str | None:
    """A time as the API reads it: ISO 8601 with its offset (a naive datetime is refused by the API, not here)."""
    return value.isoformat() if isinstance(value, datetime) else value
