"""Outbound calls through the real handlers, the LiveKit emulator and its signed webhooks."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests import seeding
from tests.support import assert_error

AGENT = str(uuid.UUID(int=9))
NUMBER = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "CANARY-pw-calls",
    "dtmf_config": {"dtmf_sequence": "ww123#"},
    "transfer_config": {"allowed_destinations": ["tel:+15105550100", "+15105550101"], "warm_transfer_enabled": True},
    "metadata": {"agent_name": "sales-agent"},
}
CALLEE = "+14155550199"


@pytest.fixture
def number(world, keys) -> dict[str, Any]:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    return reply.json()


def call(world, token, **body: Any):
    return world.client.post("/outbound-calls/create", token=token, json_body={"phone_number": CALLEE, **body})


def wait_status(world, token, call_id, status, timeout=10.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    body: dict[str, Any] = {}
    while time.time() < deadline:
        body = world.client.get(f"/outbound-calls/{call_id}/details", token=token).json()
        if body["status"] == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"call stayed {body.get('status')}, expected {status}")


def test_a_call_rings_is_answered_and_ends(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=150, talk_ms=400)
    created = call(world, keys.alice, system_prompt="Be brief", welcome_message="Hi", metadata={"crm": "42"})
    assert created.status == 201, created.body
    body = created.json()
    assert body["status"] in ("dialing", "ringing") and body["from_number"] == "+14155550142"
    cid = body["call_id"]
    state = world.livekit.state()
    (dispatch,) = state["dispatches"]
    assert dispatch["agentName"] == "sales-agent" and cid in dispatch["metadata"] and "Be brief" in dispatch["metadata"]
    (placed,) = state["calls"]
    assert placed["sip_call_to"] == CALLEE and placed["dtmf"] == "ww123#" and placed["wait_until_answered"] is False
    assert placed["participant_attributes"]["call_id"] == cid
    wait_status(world, keys.alice, cid, "in_progress")
    ended = wait_status(world, keys.alice, cid, "completed")
    assert ended["answered_at"] and ended["ended_at"] and ended["end_reason"] == "callee_hangup"
    assert ended["duration_seconds"] is not None


def test_busy_and_unanswered_calls(world, keys, number):
    world.livekit.set_outcome("+14155550188", "busy", after_ms=50)
    world.livekit.set_outcome("+14155550177", "no_answer", after_ms=50)
    busy = call(world, keys.alice, phone_number="+14155550188").json()["call_id"]
    silent = call(world, keys.alice, phone_number="+14155550177", ringing_timeout_seconds=1).json()["call_id"]
    b = wait_status(world, keys.alice, busy, "busy")
    # LiveKit's webhook says USER_REJECTED for 486 and for 603 alike: no code is claimed (docs/RELIABILITY.md)
    assert b["sip_status_code"] is None and b["end_reason"] == "rejected" and b["answered_at"] is None
    n = wait_status(world, keys.alice, silent, "no_answer")
    assert n["sip_status_code"] is None and n["end_reason"] == "no_answer"


def test_hangup_before_and_after_answer(world, keys, number):
    world.livekit.set_outcome("+14155550166", "answer", after_ms=5000)
    ringing = call(world, keys.alice, phone_number="+14155550166").json()["call_id"]
    hung = world.client.post(f"/outbound-calls/{ringing}/hangup", token=keys.alice)
    assert hung.status == 200 and hung.json()["status"] == "canceled"
    assert_error(world.client.post(f"/outbound-calls/{ringing}/hangup", token=keys.alice), 409, "conflict")

    world.livekit.set_outcome(CALLEE, "answer", after_ms=50)
    answered = call(world, keys.alice).json()["call_id"]
    wait_status(world, keys.alice, answered, "in_progress")
    done = world.client.post(f"/outbound-calls/{answered}/hangup", token=keys.alice)
    assert done.status == 200 and done.json()["status"] == "completed"
    assert world.livekit.state()["rooms"] == [] or all(r["name"] != answered for r in world.livekit.state()["rooms"])


def test_a_hangup_racing_the_answer_ends_the_call_completed(world, keys, number, monkeypatch):
    """The answer lands between the hangup's read and its write: the call was answered, so it is completed,
    with its duration, not canceled."""
    from telephony.integrations import livekit as lk
    from telephony.models.calls import CallStatus
    from telephony.repositories.store import default_store
    from telephony.services import calls as calls_service
    from telephony.util import now_iso

    world.livekit.set_outcome(CALLEE, "answer", after_ms=60_000)
    cid = call(world, keys.alice).json()["call_id"]
    delete_room = lk.LiveKit.delete_room

    def answered_meanwhile(self: Any, room: str) -> None:
        record = default_store().calls.get(cid)
        assert record is not None
        assert calls_service.move(record, CallStatus.IN_PROGRESS, {"answered_at": now_iso()})
        delete_room(self, room)

    monkeypatch.setattr(lk.LiveKit, "delete_room", answered_meanwhile)
    hung = world.client.post(f"/outbound-calls/{cid}/hangup", token=keys.alice)
    assert hung.status == 200, hung.body
    body = hung.json()
    assert body["status"] == "completed" and body["answered_at"] and body["duration_seconds"] is not None
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["by_status"]["completed"] == 1 and stats["by_status"]["canceled"] == 0
    assert stats["answered_calls"] == 1


def _left(call_id: str, *, call_status: str, reason: str = "CLIENT_INITIATED") -> str:
    from telephony.integrations import livekit as lk
    from telephony.repositories.store import default_store
    from telephony.services import call_lifecycle

    found = default_store().calls.get(call_id)
    assert found is not None
    identity = found.participant_identity
    event = {
        "event": "participant_left",
        "id": f"EV_{call_id}_{call_status}",
        "createdAt": str(int(time.time())),
        "room": {"name": call_id},
        "participant": {
            "identity": identity,
            "attributes": {"sip.callStatus": call_status},
            "disconnectReason": reason,
        },
    }
    return call_lifecycle.apply(lk.WebhookEvent.parse(json.dumps(event)))


def test_a_call_that_ends_answered_counts_as_answered_even_if_its_answer_was_not_reported(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=60_000)  # no answer webhook before the end
    created = call(world, keys.alice).json()
    assert _left(created["call_id"], call_status="hangup") == "moved to completed"
    ended = world.client.get(f"/outbound-calls/{created['call_id']}/details", token=keys.alice).json()
    assert ended["status"] == "completed" and ended["answered_at"] and ended["duration_seconds"] == 0
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["answered_calls"] == 1 and stats["by_status"]["completed"] == 1


def test_the_callee_leaving_as_the_answer_lands_keeps_the_duration(world, keys, number, monkeypatch):
    """participant_left read the call ringing; the answer was written before its own write."""
    from telephony.models.calls import CallStatus
    from telephony.repositories.calls import CallsRepository
    from telephony.repositories.store import default_store
    from telephony.services import calls as calls_service

    world.livekit.set_outcome(CALLEE, "answer", after_ms=60_000)
    created = call(world, keys.alice).json()
    cid = created["call_id"]
    answered_at = "2020-01-01T00:00:00.000Z"
    move = CallsRepository.move

    def answer_first(self: Any, current: Any, *args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(CallsRepository, "move", move)
        record = default_store().calls.get(cid)
        assert record is not None
        calls_service.move(record, CallStatus.IN_PROGRESS, {"answered_at": max(answered_at, record.created_at)})
        return move(self, current, *args, **kwargs)  # refused: the call is no longer what was read

    monkeypatch.setattr(CallsRepository, "move", answer_first)
    assert _left(cid, call_status="active") == "moved to completed"
    ended = world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice).json()
    assert ended["status"] == "completed" and ended["duration_seconds"] is not None
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["answered_calls"] == 1 and stats["total_duration_seconds"] == ended["duration_seconds"]


def test_transcript_times_are_validated_kept_in_utc_and_ordered(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=60_000)
    cid = call(world, keys.alice).json()["call_id"]
    path = f"/outbound-calls/{cid}/events"
    for at in ("not a time", "2026-01-01T10:00:00", "2026-13-01T10:00:00Z"):
        bad = world.client.post(
            path, token=keys.agent, json_body={"transcript": [{"role": "user", "text": "x", "at": at}]}
        )
        assert_error(bad, 400, "invalid_request")
    posts = [
        ("first", "2026-01-01T10:00:01Z"),
        ("third", "2026-01-01T11:00:02+01:00"),  # 10:00:02 UTC
        ("second", "2026-01-01T10:00:01.500Z"),
    ]
    for text, at in posts:
        body = {"transcript": [{"role": "agent", "text": text, "at": at}]}
        assert world.client.post(path, token=keys.agent, json_body=body).status == 200
    transcript = world.client.get(f"/outbound-calls/{cid}/details?include_transcript=true", token=keys.alice).json()
    assert [(s["text"], s["at"]) for s in transcript["transcript"]] == [
        ("first", "2026-01-01T10:00:01.000Z"),
        ("second", "2026-01-01T10:00:01.500Z"),
        ("third", "2026-01-01T10:00:02.000Z"),
    ]


def test_a_repeated_post_of_timed_segments_stores_them_once(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=60_000)
    cid = call(world, keys.alice).json()["call_id"]
    body = {
        "transcript": [
            {"role": "agent", "text": "Hello", "at": "2026-01-01T10:00:00Z"},
            {"role": "user", "text": "Hi", "at": "2026-01-01T10:00:00Z"},
            {"role": "user", "text": "Hi", "at": "2026-01-01T10:00:01Z"},
        ]
    }
    for _ in range(2):  # a retry after a timeout
        assert world.client.post(f"/outbound-calls/{cid}/events", token=keys.agent, json_body=body).status == 200
    transcript = world.client.get(f"/outbound-calls/{cid}/details?include_transcript=true", token=keys.alice).json()
    assert [(s["role"], s["text"]) for s in transcript["transcript"]] == [
        ("agent", "Hello"),
        ("user", "Hi"),
        ("user", "Hi"),
    ]


def test_a_calls_transcript_has_a_size_limit(world, keys, number, monkeypatch):
    """A call's details return its transcript whole, and a Lambda answer is at most 6 MB: the text is bounded."""
    from telephony.services import calls as calls_service

    monkeypatch.setattr(calls_service, "MAX_TRANSCRIPT_CHARS", 25)
    world.livekit.set_outcome(CALLEE, "answer", after_ms=60_000)
    cid = call(world, keys.alice).json()["call_id"]
    path = f"/outbound-calls/{cid}/events"

    def post(text: str, **extra: Any) -> Any:
        return world.client.post(
            path, token=keys.agent, json_body={"transcript": [{"role": "user", "text": text}], **extra}
        )

    assert post("x" * 20).status == 200
    full = post("y" * 6, summary="too late for the text")
    assert_error(full, 409, "conflict")
    assert post("z" * 5).status == 200  # exactly at the limit
    details = world.client.get(
        f"{path.rsplit('/', 1)[0]}/details?include_transcript=true&include_summary=true", token=keys.alice
    ).json()
    assert [s["text"] for s in details["transcript"]] == ["x" * 20, "z" * 5] and details["summary"] is None
    assert_error(world.client.post(path, token=keys.bob, json_body={"summary": "not mine"}), 404, "not_found")


def test_transfer_rules(world, keys, number):
    world.livekit.set_outcome("+14155550155", "answer", after_ms=3000)
    early = call(world, keys.alice, phone_number="+14155550155").json()["call_id"]
    assert_error(
        world.client.post(
            f"/outbound-calls/{early}/transfer", token=keys.alice, json_body={"transfer_to": "+15105550100"}
        ),
        409,
    )
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50)
    cid = call(world, keys.alice).json()["call_id"]
    wait_status(world, keys.alice, cid, "in_progress")
    refused = world.client.post(
        f"/outbound-calls/{cid}/transfer", token=keys.alice, json_body={"transfer_to": "+19005550100"}
    )
    assert_error(refused, 403, "forbidden")
    assert world.livekit.state()["transfers"] == []
    warm = world.client.post(
        f"/outbound-calls/{cid}/transfer",
        token=keys.alice,
        json_body={"transfer_to": "tel:+15105550101", "mode": "warm"},
    )
    assert warm.status == 200, warm.body
    assert any(c["sip_call_to"] == "+15105550101" for c in world.livekit.state()["calls"])
    cold = world.client.post(
        f"/outbound-calls/{cid}/transfer", token=keys.alice, json_body={"transfer_to": "+15105550100"}
    )
    assert cold.status == 200, cold.body
    assert [t["mode"] for t in cold.json()["transfers"]] == ["warm", "cold"]
    (transfer,) = world.livekit.state()["transfers"]
    assert transfer["transfer_to"] == "tel:+15105550100"
    ended = wait_status(world, keys.alice, cid, "completed")
    assert ended["end_reason"] == "transferred"


def test_a_cold_transfer_answered_after_the_callee_left_is_recorded(world, keys, number, monkeypatch):
    """LiveKit answers TransferSIPParticipant when the far end took the call; the callee's participant_left
    can be handled before that: the call is completed, and it ended by the transfer."""
    from telephony.integrations import livekit as lk

    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=60_000)
    cid = call(world, keys.alice).json()["call_id"]
    wait_status(world, keys.alice, cid, "in_progress")
    transfer = lk.LiveKit.transfer

    def slow_answer(self: Any, *args: Any, **kwargs: Any) -> None:
        transfer(self, *args, **kwargs)
        wait_status(world, keys.alice, cid, "completed")  # the BYE's webhook came first

    monkeypatch.setattr(lk.LiveKit, "transfer", slow_answer)
    reply = world.client.post(
        f"/outbound-calls/{cid}/transfer", token=keys.alice, json_body={"transfer_to": "+15105550100"}
    )
    assert reply.status == 200, reply.body
    body = reply.json()
    assert [t["mode"] for t in body["transfers"]] == ["cold"]
    assert body["status"] == "completed" and body["end_reason"] == "transferred"


def test_a_warm_transfer_without_the_outbound_trunk_is_a_409(world, keys, number):
    world.livekit.set_outcome(CALLEE, "answer", after_ms=50, talk_ms=5000)
    cid = call(world, keys.alice).json()["call_id"]
    wait_status(world, keys.alice, cid, "in_progress")
    # the number's record no longer has its outbound trunk (through the API only for a configured number, whose
    # trunk can be deleted apart; this one is registered, so its record is changed directly)
    from telephony import aws
    from telephony.repositories import dynamo
    from telephony.repositories import keys as item_keys

    aws.dynamodb().update_item(
        TableName=world.stack.environment()["NUMBERS_TABLE"],
        Key=dynamo.marshal(item_keys.number(number["phone_number_id"])),
        UpdateExpression="REMOVE livekit.outbound",
    )
    dialled = len(world.livekit.state()["calls"])
    warm = world.client.post(
        f"/outbound-calls/{cid}/transfer", token=keys.alice, json_body={"transfer_to": "+15105550101", "mode": "warm"}
    )
    assert_error(warm, 409, "conflict")
    assert len(world.livekit.state()["calls"]) == dialled
    assert world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice).json()["transfers"] == []


def test_transcript_and_summary_from_the_agent(world, keys, number):
    cid = call(world, keys.alice).json()["call_id"]
    posted = world.client.post(
        f"/outbound-calls/{cid}/events",
        token=keys.agent,
        json_body={
            "transcript": [
                {"role": "agent", "text": "Hello", "at": "2026-01-01T00:00:01Z"},
                {"role": "user", "text": "Hi there", "at": "2026-01-01T00:00:02Z"},
            ],
            "summary": "A greeting.",
        },
    )
    assert posted.status == 200, posted.body
    details = world.client.get(
        f"/outbound-calls/{cid}/details?include_transcript=true&include_summary=true", token=keys.alice
    ).json()
    assert [s["text"] for s in details["transcript"]] == ["Hello", "Hi there"]
    assert details["summary"] == "A greeting."
    plain = world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice).json()
    assert plain["transcript"] is None and plain["summary"] is None


def test_another_users_call_is_not_found_everywhere(world, keys, number):
    cid = call(world, keys.alice).json()["call_id"]
    for method, path, body in (
        ("GET", f"/outbound-calls/{cid}/details", None),
        ("POST", f"/outbound-calls/{cid}/hangup", None),
        ("POST", f"/outbound-calls/{cid}/transfer", {"transfer_to": "+15105550100"}),
        ("POST", f"/outbound-calls/{cid}/events", {"summary": "x"}),
    ):
        assert_error(world.client.request(method, path, token=keys.bob, json_body=body), 404, "not_found")


def test_events_for_a_call_not_yours_write_nothing(world, keys, number):
    """The summary's write is the ownership check: refused, it leaves the call as it was and creates no call."""
    cid = call(world, keys.alice).json()["call_id"]
    body = {"transcript": [{"role": "user", "text": "not mine"}], "summary": "overwritten"}
    assert_error(world.client.post(f"/outbound-calls/{cid}/events", token=keys.bob, json_body=body), 404, "not_found")
    details = world.client.get(
        f"/outbound-calls/{cid}/details?include_transcript=true&include_summary=true", token=keys.alice
    ).json()
    assert details["summary"] is None and details["transcript"] == []
    absent = "call_" + "0" * 24
    assert_error(
        world.client.post(f"/outbound-calls/{absent}/events", token=keys.alice, json_body=body), 404, "not_found"
    )
    assert_error(world.client.get(f"/outbound-calls/{absent}/details", token=keys.alice), 404, "not_found")


def test_callee_validation(world, keys, number):
    for callee in ("+19005550123", "12345", "+1415555"):
        assert_error(call(world, keys.alice, phone_number=callee), 400, "invalid_request")
    assert world.livekit.state()["calls"] == []


def test_no_outbound_number_is_a_clear_409(world, keys):
    error = assert_error(call(world, keys.bob), 409, "conflict")
    assert "number" in error["message"]


def test_the_default_outbound_number_is_found_past_the_first_page(world, keys, number):
    """Without from_phone_number_id the newest number that can place calls is used, however many newer
    inbound-only numbers the account holds (the owner's index is read a page of 100 at a time)."""
    from tests import seeding

    for i in range(130):  # newer than the registered number, none able to place calls
        seeding.own_number("usr_alice", f"+1415556{i:04d}", created_at=f"2099-01-01T00:00:{i % 60:02d}.{i:03d}Z")
    reply = call(world, keys.alice)
    assert reply.status == 201, reply.body
    details = world.client.get(f"/outbound-calls/{reply.json()['call_id']}/details", token=keys.alice).json()
    assert details["from_number"] == NUMBER["phone_number"]
    assert details["from_phone_number_id"] == number["phone_number_id"]


@pytest.mark.parametrize("step", ["save_inprogress", "save_success"])
def test_an_idempotency_store_failing_is_a_503_before_the_call_and_its_answer_after(world, keys, number, step):
    """Before the work: nothing done, a clean 503 (it was a 500). After it: the call is placed, so the answer is
    the 201 (a 500 invited a retry that, once the in-progress record expired, placed a second call)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    def failing(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ProvisionedThroughputExceededException")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoDBPersistenceLayer, step, failing)
        reply = world.client.post(
            "/outbound-calls/create",
            token=keys.alice,
            headers={"idempotency-key": f"store-{step}"},
            json_body={"phone_number": CALLEE},
        )
    placed = world.livekit.state()["calls"]
    if step == "save_inprogress":
        assert_error(reply, 503, "service_unavailable")
        assert placed == []
    else:
        assert reply.status == 201, reply.body
        assert [c["participant_attributes"]["call_id"] for c in placed] == [reply.json()["call_id"]]


def test_idempotency_key_gives_one_livekit_call(world, keys, number):
    headers = {"idempotency-key": "order-77"}
    first = world.client.post(
        "/outbound-calls/create", token=keys.alice, headers=headers, json_body={"phone_number": CALLEE}
    )
    again = world.client.post(
        "/outbound-calls/create", token=keys.alice, headers=headers, json_body={"phone_number": CALLEE}
    )
    same_number = world.client.post(
        "/outbound-calls/create", token=keys.alice, headers=headers, json_body={"phone_number": "+1 (415) 555-0199"}
    )
    assert first.status == again.status == same_number.status == 201
    assert first.json() == again.json() == same_number.json()
    assert len(world.livekit.state()["calls"]) == 1
    other_body = world.client.post(
        "/outbound-calls/create", token=keys.alice, headers=headers, json_body={"phone_number": "+14155550111"}
    )
    assert_error(other_body, 422, "idempotency_key_reused")
    # another tenant's identical key is its own request, never alice's response
    bob = world.client.post(
        "/outbound-calls/create", token=keys.bob, headers=headers, json_body={"phone_number": CALLEE}
    )
    assert bob.status == 409 and first.json()["call_id"] not in bob.body.decode()


def test_a_livekit_failure_leaves_the_call_failed_and_no_room(world, keys, number):
    world.livekit.add_fault("CreateSIPParticipant", "unavailable", times=1)
    reply = call(world, keys.alice)
    assert_error(reply, 503, "service_unavailable")
    listed = world.client.get("/outbound-calls", token=keys.alice).json()["items"]
    assert [c["status"] for c in listed] == ["failed"]
    assert world.livekit.state()["rooms"] == []


def test_webhook_signature_is_checked(world, keys):
    reply = world.client.post(
        "/livekit/webhook",
        raw=b'{"event": "room_finished"}',
        headers={"authorization": "forged", "content-type": "application/webhook+json"},
    )
    assert_error(reply, 401, "unauthorized")
    unsigned = world.client.post("/livekit/webhook", raw=b"{}", headers={"content-type": "application/webhook+json"})
    assert_error(unsigned, 401)


def test_replayed_and_reordered_webhooks_change_nothing(world, keys, number):
    from livekit import api

    world.livekit.set_outcome(CALLEE, "answer", after_ms=30, talk_ms=100)
    cid = call(world, keys.alice).json()["call_id"]
    wait_status(world, keys.alice, cid, "completed")
    world.livekit.flush_webhooks(5)
    stats_before = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    details_before = world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice).json()
    events = [e for e in world.livekit.state()["events"] if e["room"] == cid]
    assert [e["event"] for e in events][:2] == ["room_started", "participant_joined"]
    # replay every event, newest first, signed as LiveKit signs them
    for recorded in reversed(events):
        event = api.WebhookEvent(
            id=recorded["id"], event=recorded["event"], created_at=int(time.time()), room=api.Room(name=cid)
        )
        if recorded.get("participant_identity"):
            event.participant.identity = recorded["participant_identity"]
            event.participant.attributes["sip.callStatus"] = "active"
        body = api.WebhookEvent.to_json(event) if hasattr(api.WebhookEvent, "to_json") else None
        from google.protobuf.json_format import MessageToJson

        body = MessageToJson(event)
        token = (
            api.AccessToken(world.livekit.api_key, world.livekit.api_secret)
            .with_sha256(__import__("base64").b64encode(__import__("hashlib").sha256(body.encode()).digest()).decode())
            .to_jwt()
        )
        reply = world.client.post(
            "/livekit/webhook",
            raw=body.encode(),
            headers={"authorization": token, "content-type": "application/webhook+json"},
        )
        assert reply.status == 200, reply.body
    assert world.client.get("/outbound-calls/stats", token=keys.alice).json() == stats_before
    assert world.client.get(f"/outbound-calls/{cid}/details", token=keys.alice).json() == details_before


def test_stats_match_a_count_by_hand(world, keys, number, monkeypatch):
    # a few hundred calls of mixed outcomes: more than one user's hourly budgets allow
    seeding.set_limits(
        "usr_alice",
        calls_per_hour=10_000,
        api_requests_per_hour=100_000,
        api_requests_per_hour_per_user=100_000,
        max_concurrent_calls=1_000,
    )
    outcomes = {
        "+14155550101": "answer",
        "+14155550102": "busy",
        "+14155550103": "no_answer",
        "+14155550104": "reject",
        "+14155550105": "fail",
        "+14155550106": "answer",
    }
    for callee, outcome in outcomes.items():
        world.livekit.set_outcome(callee, outcome, after_ms=20, talk_ms=300)
    total = 200
    created = []
    for i in range(total):
        callee = list(outcomes)[i % len(outcomes)]
        reply = call(world, keys.alice, phone_number=callee, ringing_timeout_seconds=1)
        assert reply.status == 201, reply.body
        created.append(reply.json()["call_id"])
        if i % 50 == 25:  # hang some up by hand, answered or not
            world.client.post(f"/outbound-calls/{created[-1]}/hangup", token=keys.alice)
    deadline = time.time() + 60
    while time.time() < deadline:
        polled = world.client.get("/outbound-calls/stats", token=keys.alice)
        assert polled.status == 200, polled.body
        open_calls = polled.json()["by_status"]
        if sum(open_calls[s] for s in ("queued", "dialing", "ringing", "in_progress")) == 0:
            break
        time.sleep(0.5)
    listed = _all_calls(world, keys.alice)
    assert sorted(c["call_id"] for c in listed) == sorted(created)
    by_hand: dict[str, int] = {}
    for c in listed:
        by_hand[c["status"]] = by_hand.get(c["status"], 0) + 1
    assert set(by_hand) >= {"completed", "busy", "no_answer", "failed"}
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["total_calls"] == total
    assert {k: v for k, v in stats["by_status"].items() if v} == by_hand
    answered = sum(1 for c in listed if c["answered_at"])
    assert stats["answered_calls"] == answered
    assert stats["total_duration_seconds"] == sum(c["duration_seconds"] or 0 for c in listed)
    assert stats["last_24h"]["total_calls"] == total
    filtered = _all_calls(world, keys.alice, status="busy")
    assert len(filtered) == by_hand["busy"] and all(c["status"] == "busy" for c in filtered)


def _all_calls(world, token, status: str | None = None) -> list[dict[str, Any]]:
    items, next_token = [], None
    while True:
        query = (
            "limit=37" + (f"&status={status}" if status else "") + (f"&next_token={next_token}" if next_token else "")
        )
        page = world.client.get(f"/outbound-calls?{query}", token=token).json()
        items += page["items"]
        next_token = page["next_token"]
        if not next_token:
            return items


def test_concurrent_creates_with_one_key_place_one_call(world, keys, number):
    from concurrent.futures import ThreadPoolExecutor

    headers = {"idempotency-key": "burst-1"}

    def create(_: int) -> Any:
        return world.client.post(
            "/outbound-calls/create", token=keys.alice, headers=headers, json_body={"phone_number": CALLEE}
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(create, range(20)))
    statuses = sorted(r.status for r in replies)
    assert set(statuses) <= {201, 409}, statuses
    created = {r.json()["call_id"] for r in replies if r.status == 201}
    assert len(created) == 1
    assert len(world.livekit.state()["calls"]) == 1
