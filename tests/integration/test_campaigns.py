"""Campaigns through the real handlers, the engine's state machine executing in moto, the LiveKit emulator and its
signed webhooks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests import seeding
from tests.support import assert_error

AGENT = str(uuid.UUID(int=33))
NUMBER = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "CANARY-pw-campaigns",
    "metadata": {"agent_name": "campaign-agent"},
}


@pytest.fixture
def number(world, keys) -> dict[str, Any]:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    seeding.set_limits("usr_alice", calls_per_hour=10_000, max_concurrent_calls=100)
    return reply.json()


def callees(n: int, first: int = 1000) -> list[str]:
    return [f"+1415555{first + i:04d}" for i in range(n)]


def create(world, token, number, contacts, **body: Any):
    payload = {
        "name": "test",
        "from_phone_number_id": number["phone_number_id"],
        "contacts": [c if isinstance(c, dict) else {"phone_number": c} for c in contacts],
        **body,
    }
    return world.client.post("/campaigns", token=token, json_body=payload)


def wait_for(world, token, campaign_id, status, timeout=60.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    body: dict[str, Any] = {}
    while time.time() < deadline:
        body = world.client.get(f"/campaigns/{campaign_id}", token=token).json()
        if body["status"] == status and body["counts"]["in_progress"] == 0 and body["counts"]["pending"] == 0:
            return body
        time.sleep(0.2)
    raise AssertionError(f"the campaign stayed {body.get('status')}: {body.get('counts')}")


def contacts_of(world, token, campaign_id, status=None) -> list[dict[str, Any]]:
    items, token_ = [], None
    while True:
        query = "limit=100" + (f"&status={status}" if status else "") + (f"&next_token={token_}" if token_ else "")
        page = world.client.get(f"/campaigns/{campaign_id}/contacts?{query}", token=token).json()
        items += page["items"]
        token_ = page.get("next_token")
        if not token_:
            return items


def campaign_calls(world, token, campaign_id) -> list[dict[str, Any]]:
    items, next_token = [], None
    while True:
        query = "limit=100" + (f"&next_token={next_token}" if next_token else "")
        page = world.client.get(f"/outbound-calls?{query}", token=token).json()
        items += [c for c in page["items"] if c.get("campaign_id") == campaign_id]
        next_token = page.get("next_token")
        if not next_token:
            return items


def test_bad_input_is_400_naming_the_field(world, keys, number):
    cases = [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": 101}, "max_concurrency"),
        ({"calling_window": {"start": "20:00", "end": "09:00"}}, "calling_window.end"),
        ({"calling_window": {"timezone": "Mars/Olympus"}}, "calling_window.timezone"),
        ({"schedule": {"end_at": "2020-01-01T00:00:00Z"}}, "schedule.end_at"),
        (
            {"schedule": {"start_at": "2099-01-02T00:00:00Z", "end_at": "2099-01-01T00:00:00Z"}},
            "schedule.end_at",
        ),
        (
            {
                "schedule": {"start_at": "2099-01-03T00:00:00Z", "end_at": "2099-01-03T05:00:00Z"},
                "calling_window": {"start": "09:00", "end": "17:00", "timezone": "UTC"},
            },
            "calling_window",
        ),
    ]
    for body, field in cases:
        reply = create(world, keys.alice, number, ["+14155550101"], **body)
        error = assert_error(reply, 400)
        assert any(field in json.dumps(d) for d in error["details"]), (field, error)
    too_many = create(world, keys.alice, number, callees(10_001, first=0))
    assert any("contacts" in json.dumps(d) for d in assert_error(too_many, 400)["details"])
    all_invalid = create(world, keys.alice, number, ["not a number", "+1"])
    assert "contacts[0].phone_number" in json.dumps(assert_error(all_invalid, 400)["details"])
    others = create(world, keys.alice, {"phone_number_id": "pn_nobodys"}, ["+14155550101"])
    assert "from_phone_number_id" in json.dumps(assert_error(others, 400)["details"])


def test_a_number_that_cannot_call_out_is_400(world, keys):
    pid = seeding.own_number("usr_alice", "+14155550177")
    reply = create(world, keys.alice, {"phone_number_id": pid}, ["+14155550101"], agent_name="x-agent")
    assert "from_phone_number_id" in json.dumps(assert_error(reply, 400)["details"])


def test_invalid_and_duplicate_contacts_are_counted_and_the_rest_kept(world, keys, number):
    reply = create(world, keys.alice, number, ["+14155550101", "+1 415 555 0101", "garbage", "+14155550102"])
    assert reply.status == 201, reply.body
    body = reply.json()
    assert body["status"] == "draft"
    assert body["counts"]["total"] == 3 and body["counts"]["pending"] == 2 and body["counts"]["duplicates"] == 1
    assert body["counts"]["skipped"]["invalid"] == 1
    assert body["invalid_contacts"] == [
        {"field": "contacts[2].phone_number", "phone_number": "garbage", "issue": "invalid"}
    ]
    listed = contacts_of(world, keys.alice, body["campaign_id"])
    assert [c["status"] for c in listed] == ["pending", "skipped", "pending"]


def test_wrong_status_is_409_and_others_campaigns_are_404(world, keys, number):
    world.livekit.set_outcome("*", "answer", after_ms=5, talk_ms=30)
    hook = {"url": "http://127.0.0.1:9/hooks", "events": ["campaign.started", "campaign.completed", "call.ended"]}
    webhook_id = world.client.post("/webhooks", token=keys.alice, json_body=hook).json()["webhook_id"]
    cid = create(world, keys.alice, number, ["+14155550101"]).json()["campaign_id"]
    assert_error(world.client.post(f"/campaigns/{cid}/pause", token=keys.alice), 409)
    assert_error(world.client.post(f"/campaigns/{cid}/resume", token=keys.alice), 409)
    assert_error(world.client.get(f"/campaigns/{cid}", token=keys.bob), 404)
    assert_error(world.client.post(f"/campaigns/{cid}/start", token=keys.bob), 404)
    added = world.client.post(
        f"/campaigns/{cid}/contacts", token=keys.alice, json_body={"contacts": [{"phone_number": "+14155550102"}]}
    )
    assert added.status == 200 and added.json()["counts"]["pending"] == 2, added.body
    started = world.client.post(f"/campaigns/{cid}/start", token=keys.alice)
    assert started.status == 200 and started.json()["status"] == "running", started.body
    assert_error(world.client.post(f"/campaigns/{cid}/start", token=keys.alice), 409)
    late = world.client.post(
        f"/campaigns/{cid}/contacts", token=keys.alice, json_body={"contacts": [{"phone_number": "+14155550103"}]}
    )
    assert_error(late, 409)
    done = wait_for(world, keys.alice, cid, "completed")
    assert done["counts"]["answered"] == 2
    assert_error(world.client.post(f"/campaigns/{cid}/cancel", token=keys.alice), 409)
    listed = world.client.get("/campaigns", token=keys.alice).json()["items"]
    assert [c["campaign_id"] for c in listed] == [cid]
    assert world.client.get("/campaigns", token=keys.bob).json()["items"] == []
    # the campaign's events and its calls' go to the account's webhooks, like any other
    deadline, types = time.time() + 20, []
    while time.time() < deadline and sorted(set(types)) != ["call.ended", "campaign.completed", "campaign.started"]:
        time.sleep(0.2)
        page = world.client.get(f"/webhooks/{webhook_id}/deliveries?limit=100", token=keys.alice).json()
        types = [d["type"] for d in page["items"]]
    told = {(d["type"], d["event_id"]) for d in page["items"]}  # each event once, whatever its delivery attempts
    assert sorted(t for t, _ in told) == ["call.ended", "call.ended", "campaign.completed", "campaign.started"]


def test_two_hundred_contacts_ten_at_a_time_ten_on_the_do_not_call_list(world, keys, number):
    """The issue's done-means: 190 calls, 10 skipped do_not_call, at most 10 live on the trunk, counts = calls."""
    world.livekit.set_outcome("*", "answer", after_ms=5, talk_ms=40)
    numbers = callees(200)
    listed = numbers[::20]
    assert world.client.post("/dnc", token=keys.alice, json_body={"numbers": listed}).status == 200
    contacts = [{"phone_number": n, "variables": {"first_name": f"N{i}"}} for i, n in enumerate(numbers)]
    created = create(world, keys.alice, number, contacts, max_concurrency=10)
    assert created.status == 201, created.body
    cid = created.json()["campaign_id"]
    assert world.client.post(f"/campaigns/{cid}/start", token=keys.alice).status == 200

    done = wait_for(world, keys.alice, cid, "completed", timeout=240)

    counts = done["counts"]
    assert counts["total"] == 200 and counts["skipped"]["do_not_call"] == 10 and done["attempts"] == 190
    placed = campaign_calls(world, keys.alice, cid)
    assert len(placed) == 190 and {c["phone_number"] for c in placed}.isdisjoint(listed)
    by_status: dict[str, int] = {}
    for c in placed:
        by_status[c["status"]] = by_status.get(c["status"], 0) + 1
    assert by_status == {"completed": 190} and counts["answered"] == 190
    assert counts["busy"] == counts["no_answer"] == counts["failed"] == counts["in_progress"] == 0
    state = world.livekit.state()
    trunk = number["outbound_trunk_id"]
    assert 0 < state["sip_participants"]["peak"][trunk] <= 10
    assert len({c["sip_call_to"] for c in state["calls"]}) == len(state["calls"]) == 190  # each dialled once
    skipped = contacts_of(world, keys.alice, cid, status="skipped")
    assert sorted(c["phone_number"] for c in skipped) == sorted(listed)
    answered = contacts_of(world, keys.alice, cid, status="answered")
    assert len(answered) == 190 and all(len(c["attempts"]) == 1 and c["attempts"][0]["call_id"] for c in answered)
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["by_status"]["completed"] == 190


def test_pause_stops_new_dials_within_five_seconds_and_resume_finishes(world, keys, number):
    world.livekit.set_outcome("*", "answer", after_ms=20, talk_ms=300)
    contacts = [{"phone_number": n, "variables": {"first_name": "Ada"}} for n in callees(60)]
    cid = create(world, keys.alice, number, contacts, max_concurrency=3).json()["campaign_id"]
    world.client.post(f"/campaigns/{cid}/start", token=keys.alice)
    deadline = time.time() + 30
    while len(world.livekit.state()["calls"]) < 5 and time.time() < deadline:
        time.sleep(0.05)
    # each call carries the campaign and its contact's variables to the agent (its dispatch lives with its room)
    live = [json.loads(d["metadata"]) for d in world.livekit.state()["dispatches"]]
    assert live and all(m["campaign_id"] == cid and m["variables"]["first_name"] == "Ada" for m in live)
    paused = world.client.post(f"/campaigns/{cid}/pause", token=keys.alice)
    assert paused.status == 200 and paused.json()["status"] == "paused", paused.body
    time.sleep(5)
    dialled = len(world.livekit.state()["calls"])
    time.sleep(3)
    assert len(world.livekit.state()["calls"]) == dialled < 60
    body = world.client.get(f"/campaigns/{cid}", token=keys.alice).json()
    assert body["status"] == "paused" and body["counts"]["in_progress"] == 0 and body["attempts"] == dialled
    resumed = world.client.post(f"/campaigns/{cid}/resume", token=keys.alice)
    assert resumed.status == 200 and resumed.json()["status"] == "running"
    done = wait_for(world, keys.alice, cid, "completed", timeout=120)
    assert done["counts"]["answered"] == 60 and len(world.livekit.state()["calls"]) == 60


def test_cancel_skips_what_was_not_dialled(world, keys, number):
    world.livekit.set_outcome("*", "answer", after_ms=20, talk_ms=200)
    cid = create(world, keys.alice, number, callees(40), max_concurrency=2).json()["campaign_id"]
    world.client.post(f"/campaigns/{cid}/start", token=keys.alice)
    time.sleep(0.5)
    canceled = world.client.post(f"/campaigns/{cid}/cancel", token=keys.alice)
    assert canceled.status == 200 and canceled.json()["status"] == "canceled"
    done = wait_for(world, keys.alice, cid, "canceled", timeout=60)
    counts = done["counts"]
    assert counts["answered"] + counts["skipped"]["canceled"] == 40 and counts["skipped"]["canceled"] > 0
    assert counts["answered"] == done["attempts"] == len(world.livekit.state()["calls"])


def test_busy_contacts_are_retried_after_the_delay(world, keys, number, monkeypatch):
    from telephony.services import campaign_engine

    world.livekit.set_outcome("+14155550101", "busy", after_ms=10)
    world.livekit.set_outcome("+14155550102", "answer", after_ms=10, talk_ms=20)
    retry = {"on": ["busy"], "max_attempts": 3, "delay_seconds": 60}
    cid = create(world, keys.alice, number, ["+14155550101", "+14155550102"], retry=retry).json()["campaign_id"]
    # the engine's clock runs a minute ahead at each step, so the delay passes without the test waiting for it
    moments = iter(range(int(time.time()), int(time.time()) + 100_000, 61))
    monkeypatch.setattr(campaign_engine, "epoch", lambda: next(moments))
    monkeypatch.setattr(campaign_engine, "IDLE_SECONDS", 1)
    world.client.post(f"/campaigns/{cid}/start", token=keys.alice)
    done = wait_for(world, keys.alice, cid, "completed", timeout=60)
    assert done["counts"]["busy"] == 1 and done["counts"]["answered"] == 1 and done["attempts"] == 4
    (busy,) = contacts_of(world, keys.alice, cid, status="busy")
    assert [a["attempt"] for a in busy["attempts"]] == [1, 2, 3]
    assert len({a["call_id"] for a in busy["attempts"]}) == 3 and {a["status"] for a in busy["attempts"]} == {"busy"}


def test_the_campaign_fills_its_places_and_never_more(world, keys, number):
    world.livekit.set_outcome("*", "answer", after_ms=5, talk_ms=1500)
    cid = create(world, keys.alice, number, callees(12), max_concurrency=4).json()["campaign_id"]
    world.client.post(f"/campaigns/{cid}/start", token=keys.alice)
    done = wait_for(world, keys.alice, cid, "completed", timeout=120)
    assert done["counts"]["answered"] == 12
    assert world.livekit.state()["sip_participants"]["peak"][number["outbound_trunk_id"]] == 4


def test_the_account_limit_holds_below_the_campaigns(world, keys, number):
    seeding.set_limits("usr_alice", max_concurrent_calls=2)
    world.livekit.set_outcome("*", "answer", after_ms=5, talk_ms=800)
    cid = create(world, keys.alice, number, callees(8), max_concurrency=5).json()["campaign_id"]
    world.client.post(f"/campaigns/{cid}/start", token=keys.alice)
    done = wait_for(world, keys.alice, cid, "completed", timeout=120)
    assert done["counts"]["answered"] == 8 and done["attempts"] == 8
    assert world.livekit.state()["sip_participants"]["peak"][number["outbound_trunk_id"]] == 2
