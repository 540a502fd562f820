"""A recorded call over HTTP against the local stack (`make dev`): answered, hung up, its recording ready, and the
presigned link downloading a valid OGG file from moto's S3 server."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from mutagen.oggopus import OggOpus

from tests.e2e.conftest import bearer

CALLEE = "+14155550163"
NUMBER = {
    "phone_number": "+14155550164",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "e2e-recordings-pw",
    "metadata": {"agent_name": "e2e-recorder"},
}


def _recording(http: httpx.Client, token: str, call_id: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    body: dict[str, Any] = {}
    while time.time() < deadline:
        body = http.get(f"/outbound-calls/{call_id}/details", headers=bearer(token)).json()
        if (body.get("recording") or {}).get("status") == status:
            return body["recording"]  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"the recording never became {status}: {body}")


def test_a_recorded_call_gives_a_downloadable_ogg_file(http, local_stack):
    user = local_stack["users"][0]
    token = user["api_key"]
    livekit = local_stack["livekit"]["url"]
    registered = http.post(f"/agents/{uuid.uuid4()}/phone-numbers", headers=bearer(token), json=NUMBER)
    assert registered.status_code == 201, registered.text
    httpx.post(f"{livekit}/_emulator/outcomes", json={"number": CALLEE, "outcome": "answer", "after_ms": 200})

    created = http.post("/outbound-calls/create", headers=bearer(token), json={"phone_number": CALLEE, "record": True})
    assert created.status_code == 201, created.text
    call_id = created.json()["call_id"]
    _recording(http, token, call_id, "recording")
    assert http.get(f"/outbound-calls/{call_id}/recording", headers=bearer(token)).status_code == 409
    time.sleep(1.0)
    assert http.post(f"/outbound-calls/{call_id}/hangup", headers=bearer(token)).status_code == 200
    ready = _recording(http, token, call_id, "ready")

    link = http.get(f"/outbound-calls/{call_id}/recording", headers=bearer(token))
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert urlsplit(url).hostname == "127.0.0.1" and "X-Amz-Signature=" in url  # moto's S3, signed
    downloaded = httpx.get(url, timeout=10)
    assert downloaded.status_code == 200, downloaded.text
    data = downloaded.content
    assert data[:4] == b"OggS" and len(data) == ready["size_bytes"]
    assert abs(OggOpus(io.BytesIO(data)).info.length - ready["duration_seconds"]) < 0.05

    assert http.delete(f"/outbound-calls/{call_id}/recording", headers=bearer(token)).status_code == 204
    assert http.delete(f"/outbound-calls/{call_id}/recording", headers=bearer(token)).status_code == 404
    assert httpx.get(url, timeout=10).status_code == 404  # the object is gone from the bucket
