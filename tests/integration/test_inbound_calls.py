"""Inbound calls through the local stack: a caller dials a registered number in the LiveKit emulator, whose signed
webhooks make and move the call; the calls routes read, list, count and control it beside outbound calls."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.support import assert_error

AGENT = str(uuid.UUID(int=31))
OURS = "+14155550142"
CALLER = "+13125550177"
NUMBER = {
    "phone_number": OURS,
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "inbound-pw-0000",
    "transfer_config": {"allowed_destinations": ["tel:+15105550100"]},
    "metadata": {"agent_name": "front-desk"},
}


@pytest.fixture
def number(world, keys) -> dict[str, Any]:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    return reply.json()


def ring(world, to: str = OURS, **kw: Any) -> dict[str, Any]:
    placed = world.livekit.place_inbound(kw.pop("caller", CALLER), to, **kw)
    return dict(placed)


def wait_inbound(world, token, status: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    items: list[dict[str, Any]] = []
    while time.time() < deadline:
        reply = world.client.get("/calls?direction=inbound", token=token)
        assert reply.status == 200, reply.body
        items = reply.json()["items"]
        if items and items[0]["status"] == status:
            return items[0]
        time.sleep(0.05)
    raise AssertionError(f"no inbound call became {status}: {items}")


def test_an_inbound_call_is_answered_transcribed_ended_and_counted_as_inbound_only(world, keys, number):
    # Given a caller dialling alice's registered number, whose dispatch rule sends the agent
    placed = ring(world, answer_after_ms=100)
    assert placed["result"] == "accepted", placed

    # When the agent joins, the call is in progress in alice's inbound calls, with its number, caller and agent
    call = wait_inbound(world, keys.alice, "in_progress")
    assert call["direction"] == "inbound" and call["phone_number"] == OURS and call["from_number"] == CALLER
    assert call["phone_number_id"] == number["phone_number_id"] and call["agent_name"] == "front-desk"
    assert call["room_name"] == placed["room"] and call["answered_at"]
    cid = call["call_id"]

    # And the agent posts its transcript, which reads back
    posted = world.client.post(
        f"/calls/{cid}/events",
        token=keys.agent,
        json_body={"transcript": [{"role": "agent", "text": "Front desk, hello", "at": "2026-01-01T00:00:01Z"}]},
    )
    assert posted.status == 200, posted.body
    read = world.client.get(f"/calls/{cid}?include_transcript=true", token=keys.alice).json()
    assert [s["text"] for s in read["transcript"]] == ["Front desk, hello"]

    # When the caller hangs up, the call is completed with its duration (LiveKit's events carry whole seconds and a
    # call's times are never before its creation, read to the microsecond: 2 s apart is a duration of 1 s at least)
    time.sleep(2.1)
    hung = world.livekit.hangup(placed["room"])
    assert hung == 1
    ended = wait_inbound(world, keys.alice, "completed")
    assert ended["end_reason"] == "caller_hangup" and ended["duration_seconds"] >= 1

    # Then it is counted among inbound calls, and the seed's outbound paths know nothing of it
    inbound = world.client.get("/calls/stats?direction=inbound", token=keys.alice).json()
    assert inbound["total_calls"] == 1 and inbound["by_status"]["completed"] == 1 and inbound["answered_calls"] == 1
    assert inbound["total_duration_seconds"] == ended["duration_seconds"]
    assert world.client.get("/outbound-calls/stats", token=keys.alice).json()["total_calls"] == 0
    assert world.client.get("/calls/stats", token=keys.alice).json()["total_calls"] == 1
    assert world.client.get("/outbound-calls", token=keys.alice).json()["items"] == []
    assert_error(world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice), 404, "not_found")
    assert_error(
        world.client.post(f"/outbound-calls/{cid}/events", token=keys.agent, json_body={"summary": "x"}),
        404,
        "not_found",
    )
    # and another user finds nothing
    assert_error(world.client.get(f"/calls/{cid}", token=keys.bob), 404, "not_found")
    assert world.client.get("/calls", token=keys.bob).json()["items"] == []


def test_a_call_no_rule_takes_is_rejected_by_the_emulator_and_leaves_no_call(world, keys, number):
    placed = ring(world, to="+14155550143")  # no trunk of ours holds this number
    assert (placed["result"], placed["reason"], placed["sip_status_code"]) == ("rejected", "no_trunk", 404)
    assert world.livekit.state()["inbound"][-1]["result"] == "rejected"
    assert world.livekit.state()["rooms"] == []
    assert world.client.get("/calls", token=keys.alice).json()["items"] == []
    assert world.client.get("/calls/stats?direction=inbound", token=keys.alice).json()["total_calls"] == 0


def test_a_number_that_hides_callers_does_not_record_the_callers_number(world, keys):
    reply = world.client.post(
        f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body={**NUMBER, "hide_phone_number": True}
    )
    assert reply.status == 201, reply.body
    ring(world, answer_after_ms=60_000)
    call = wait_inbound(world, keys.alice, "ringing")
    assert call["from_number"] == "hidden"
    stored = world.client.get(f"/calls/{call['call_id']}", token=keys.alice).json()
    assert CALLER not in str(stored)


def test_the_owner_hangs_up_an_inbound_call_through_the_calls_path(world, keys, number):
    ring(world, answer_after_ms=50)
    call = wait_inbound(world, keys.alice, "in_progress")
    hung = world.client.post(f"/calls/{call['call_id']}/hangup", token=keys.alice)
    assert hung.status == 200, hung.body
    assert hung.json()["status"] == "completed" and hung.json()["direction"] == "inbound"
    assert_error(world.client.post(f"/outbound-calls/{call['call_id']}/hangup", token=keys.alice), 404, "not_found")


def test_calls_of_both_directions_page_newest_first_and_filter(world, keys, number):
    world.livekit.set_outcome("+14155550199", "answer", after_ms=30)
    placed = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": "+14155550199"})
    assert placed.status == 201, placed.body
    outbound_id = placed.json()["call_id"]
    time.sleep(0.01)
    ring(world, answer_after_ms=60_000)
    inbound_id = wait_inbound(world, keys.alice, "ringing")["call_id"]

    first = world.client.get("/calls?limit=1", token=keys.alice).json()
    assert [c["call_id"] for c in first["items"]] == [inbound_id] and first["next_token"]
    second = world.client.get(f"/calls?limit=1&next_token={first['next_token']}", token=keys.alice).json()
    assert [c["call_id"] for c in second["items"]] == [outbound_id]
    assert second["items"][0]["direction"] == "outbound"
    assert (
        second["next_token"] is None
        or world.client.get(f"/calls?limit=1&next_token={second['next_token']}", token=keys.alice).json()["items"] == []
    )

    outbound = world.client.get("/calls?direction=outbound", token=keys.alice).json()["items"]
    assert [c["call_id"] for c in outbound] == [outbound_id]
    ringing = world.client.get("/calls?status=ringing&direction=inbound", token=keys.alice).json()["items"]
    assert [c["call_id"] for c in ringing] == [inbound_id]
    mine = world.client.get(f"/calls?phone_number_id={number['phone_number_id']}", token=keys.alice).json()["items"]
    assert {c["call_id"] for c in mine} == {inbound_id, outbound_id}
    assert world.client.get("/calls?phone_number_id=pn_someone_else", token=keys.alice).json()["items"] == []
    future = world.client.get("/calls?created_after=2999-01-01T00:00:00Z", token=keys.alice).json()["items"]
    assert future == []
    window = world.client.get(
        "/calls?created_after=2020-01-01T00:00:00Z&created_before=2020-12-31T00:00:00%2B00:00", token=keys.alice
    ).json()["items"]
    assert window == []
    recent = world.client.get("/calls?created_after=2020-01-01T00:00:00Z", token=keys.alice).json()["items"]
    assert len(recent) == 2


@pytest.mark.parametrize(
    "query",
    [
        "direction=sideways",
        "status=talking",
        "phone_number_id=not-a-number-id",
        "created_after=yesterday",
        "created_after=2026-01-01T00:00:00",  # no offset
        "created_before=0.5",  # seconds since 1970: pydantic's lax mode would take it
        "created_after=1767225600",
        "created_after=2026-02-01T00:00:00Z&created_before=2026-01-01T00:00:00Z",  # reversed
        "created_after=2025-01-01T00:00:00Z&created_before=2026-01-03T00:00:00Z",  # longer than 366 days
        "next_token=bm90LWEtdG9rZW4",
        "limit=0",
    ],
)
def test_a_bad_filter_is_a_400(world, keys, query):
    assert_error(world.client.get(f"/calls?{query}", token=keys.alice), 400, "invalid_request")


def test_stats_of_a_bad_direction_are_a_400(world, keys):
    assert_error(world.client.get("/calls/stats?direction=up", token=keys.alice), 400, "invalid_request")


def test_an_inbound_call_to_a_number_that_records_is_recorded_and_served_on_the_calls_path_only(world, keys):
    # Given alice's number registered with agent_features (recording_enabled: seed 000's default, true)
    body = {**NUMBER, "agent_features": {"transcription_enabled": True}}
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=body)
    assert reply.status == 201, reply.body

    # When a caller's call is answered, then the caller hangs up
    placed = ring(world, answer_after_ms=100)
    assert placed["result"] == "accepted", placed
    cid = wait_inbound(world, keys.alice, "in_progress")["call_id"]
    deadline = time.time() + 10
    while (world.client.get(f"/calls/{cid}", token=keys.alice).json().get("recording") or {}).get("status") is None:
        assert time.time() < deadline, "the inbound call's recording never started"
        time.sleep(0.05)
    time.sleep(1.1)
    assert world.livekit.hangup(placed["room"]) == 1
    wait_inbound(world, keys.alice, "completed")

    # Then its recording is ready on the calls path, and the seed's outbound path does not know the call
    deadline = time.time() + 10
    while (got := world.client.get(f"/calls/{cid}/recording", token=keys.alice)).status != 200:
        assert got.status == 409 and time.time() < deadline, got.body
        time.sleep(0.05)
    assert got.json()["status"] == "ready" and got.json()["url"]
    assert_error(world.client.get(f"/outbound-calls/{cid}/recording", token=keys.alice), 404, "not_found")
    assert world.client.delete(f"/calls/{cid}/recording", token=keys.alice).status == 204
    assert_error(world.client.get(f"/calls/{cid}/recording", token=keys.alice), 404, "not_found")
