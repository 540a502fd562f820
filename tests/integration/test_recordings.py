"""Call recordings through the real handlers: the egress the answer starts in the LiveKit emulator, its webhooks, the
file it uploads to the in-process moto's recordings bucket, and the recording's routes."""

from __future__ import annotations

import io
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from mutagen.oggopus import OggOpus

from tests.integration.test_calls import AGENT, CALLEE, NUMBER, call, wait_status
from tests.support import assert_error


@pytest.fixture
def number(world, keys) -> dict[str, Any]:
    """Alice's number, registered without agent_features."""
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    return reply.json()  # type: ignore[no-any-return]


def bucket(world) -> str:
    (name,) = world.stack.buckets()
    return str(name)


def wait_recording(world, token, call_id, status, timeout=10.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    recording: dict[str, Any] | None = None
    while time.time() < deadline:
        recording = world.client.get(f"/outbound-calls/{call_id}/details", token=token).json().get("recording")
        if recording and recording["status"] == status:
            return recording
        time.sleep(0.05)
    raise AssertionError(f"the recording is {recording}, expected {status}")


def ogg_pages_are_intact(data: bytes) -> int:
    """Every Ogg page's CRC (RFC 3533: polynomial 0x04C11DB7, unreflected, over the page with its CRC zeroed)."""

    def crc(page: bytes) -> int:
        value = 0
        for byte in page:
            value ^= byte << 24
            for _ in range(8):
                value = ((value << 1) ^ 0x04C11DB7) if value & 0x80000000 else value << 1
                value &= 0xFFFFFFFF
        return value

    offset = pages = 0
    while offset < len(data):
        assert data[offset : offset + 4] == b"OggS", f"no page at {offset}"
        segments = data[offset + 26]
        body = sum(data[offset + 27 : offset + 27 + segments])
        end = offset + 27 + segments + body
        page = bytearray(data[offset:end])
        stated = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        assert crc(bytes(page)) == stated, f"page {pages} has a wrong CRC"
        offset, pages = end, pages + 1
    return pages


def test_a_recorded_call_ends_with_a_ready_recording_and_a_playable_file(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=1500)
    created = call(world, keys.alice, record=True)
    assert created.status == 201, created.body
    cid = created.json()["call_id"]
    (dispatch,) = world.livekit.state()["dispatches"]
    assert json.loads(dispatch["metadata"])["recording"] is True  # the agent can say the call is recorded

    recording = wait_recording(world, keys.alice, cid, "recording")
    assert_error(world.client.get(f"/outbound-calls/{cid}/recording", token=keys.alice), 409, "conflict")
    (egress,) = world.livekit.state()["egresses"]
    request = egress["room_composite"]
    assert request["audio_only"] is True and request["audio_mixing"] == "DUAL_CHANNEL_AGENT"
    (output,) = request["file_outputs"]
    assert output["file_type"] == "OGG" and output["filepath"] == f"recordings/usr_alice/{cid}.ogg"
    assert output["s3"]["bucket"] == bucket(world) and output["s3"]["access_key"]

    wait_status(world, keys.alice, cid, "completed")
    ready = wait_recording(world, keys.alice, cid, "ready")
    assert ready["egress_id"] == recording["egress_id"] and ready["size_bytes"] > 0
    assert 1.0 <= ready["duration_seconds"] <= 3.0

    got = world.client.get(f"/outbound-calls/{cid}/recording", token=keys.alice)
    assert got.status == 200, got.body
    link = got.json()
    query = parse_qs(urlsplit(link["url"]).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert f"recordings/usr_alice/{cid}.ogg" in urlsplit(link["url"]).path
    data = boto3.client("s3").get_object(Bucket=bucket(world), Key=f"recordings/usr_alice/{cid}.ogg")["Body"].read()
    assert data[:4] == b"OggS" and ogg_pages_are_intact(data) >= 3
    audio = OggOpus(io.BytesIO(data))
    assert abs(audio.info.length - ready["duration_seconds"]) < 0.05


def test_record_follows_the_number_when_the_call_says_nothing(world, keys):
    features = {**NUMBER, "agent_features": {"transcription_enabled": True}}  # recording_enabled: seed 000's true
    assert world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=features).status == 201
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=300)
    cid = call(world, keys.alice).json()["call_id"]
    details = wait_status(world, keys.alice, cid, "completed")
    assert details["record"] is True
    off = call(world, keys.alice, record=False).json()["call_id"]
    quiet = wait_status(world, keys.alice, off, "completed")
    assert quiet["record"] is False and quiet["recording"] is None
    assert_error(world.client.get(f"/outbound-calls/{off}/recording", token=keys.alice), 404, "not_found")
    assert_error(world.client.delete(f"/outbound-calls/{off}/recording", token=keys.alice), 404, "not_found")


@pytest.mark.parametrize("value", ["yes", 1, 0, None, [], {}])
def test_record_must_be_a_boolean(world, keys, number, value):
    reply = call(world, keys.alice, record=value)
    if value is None:  # null is "absent": the number decides
        assert reply.status == 201, reply.body
        return
    error = assert_error(reply, 400, "invalid_request")
    assert error["details"] == [{"field": "record", "issue": "Input should be a valid boolean"}]


def test_a_number_without_agent_features_records_only_when_asked(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=300, talk_ms=200)
    cid = call(world, keys.alice).json()["call_id"]
    (dispatch,) = world.livekit.state()["dispatches"]
    assert json.loads(dispatch["metadata"])["recording"] is False
    assert wait_status(world, keys.alice, cid, "completed")["record"] is False
    assert world.livekit.state()["egresses"] == []


def test_deleting_a_recording_twice_is_204_then_404(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=300)
    cid = call(world, keys.alice, record=True).json()["call_id"]
    wait_recording(world, keys.alice, cid, "ready")
    key = f"recordings/usr_alice/{cid}.ogg"
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=bucket(world), Key=key)["ContentLength"] > 0
    first = world.client.delete(f"/outbound-calls/{cid}/recording", token=keys.alice)
    assert first.status == 204 and not first.body
    assert s3.list_objects_v2(Bucket=bucket(world), Prefix=key).get("KeyCount") == 0
    assert_error(world.client.delete(f"/outbound-calls/{cid}/recording", token=keys.alice), 404, "not_found")
    assert_error(world.client.get(f"/outbound-calls/{cid}/recording", token=keys.alice), 404, "not_found")
    details = world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice).json()
    assert details["recording"]["status"] == "deleted"


def test_a_hangup_stops_the_egress(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50)  # the callee never hangs up
    cid = call(world, keys.alice, record=True).json()["call_id"]
    wait_recording(world, keys.alice, cid, "recording")
    time.sleep(0.2)
    hung = world.client.post(f"/outbound-calls/{cid}/hangup", token=keys.alice)
    assert hung.status == 200, hung.body
    ready = wait_recording(world, keys.alice, cid, "ready")
    (egress,) = world.livekit.state()["egresses"]
    assert egress["status"] == "EGRESS_COMPLETE" and ready["egress_id"] == egress["egress_id"]
    assert world.livekit.state()["counts"].get("StopEgress") == 1
