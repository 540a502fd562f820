"""Webhooks, received by a local HTTP server and verified with livekit.api.WebhookReceiver."""

from __future__ import annotations

import base64
import hashlib
import json
import time

import jwt
import pytest
from emulator_helpers import API_KEY, API_SECRET, Client, WebhookSink
from livekit import api
from livekit.protocol import models

CALLEE = "+15551230000"
DR = models.DisconnectReason


def _set_url(client: Client, url: str | None) -> None:
    status, body = client.control("POST", "webhook", {"url": url})
    assert (status, body) == (200, {"ok": True, "url": url})


def _sequence(events: list) -> list[tuple]:
    out = []
    for ev in events:
        reason = DR.Name(ev.participant.disconnect_reason) if ev.event == "participant_left" else None
        status = ev.participant.attributes.get("sip.callStatus") if ev.participant.identity else None
        out.append((ev.event, reason, status))
    return out


def test_delivery_is_signed_and_verifiable(client: Client, webhook_sink: WebhookSink) -> None:
    _set_url(client, webhook_sink.url)
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="wh")))
    (ev,) = webhook_sink.wait(1)
    assert ev.event == "room_started" and ev.room.name == "wh" and ev.room.sid.startswith("RM_")
    assert ev.id.startswith("EV_") and abs(ev.created_at - time.time()) < 5
    headers, body = webhook_sink.received()[0]
    assert headers["Content-Type"] == "application/webhook+json"
    auth = headers["Authorization"]
    assert not auth.startswith("Bearer")
    claims = jwt.decode(auth, API_SECRET, algorithms=["HS256"], issuer=API_KEY)
    assert claims["sha256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
    assert json.loads(body)["event"] == "room_started"
    # a wrong secret or a tampered body is rejected by the SDK's receiver
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises plain Exceptions / jwt errors
        api.WebhookReceiver(api.TokenVerifier(API_KEY, "x" * 40)).receive(body.decode(), auth)
    with pytest.raises(Exception, match="hash mismatch"):
        api.WebhookReceiver(api.TokenVerifier(API_KEY, API_SECRET)).receive(body.decode() + " ", auth)
    # the sink saw the request before the emulator had the answer: the count follows the answer
    deadline = time.monotonic() + 5
    while client.state()["webhooks_sent"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.state()["webhooks_sent"] == 1


def test_answered_call_then_callee_hangs_up(client: Client, webhook_sink: WebhookSink) -> None:
    _set_url(client, webhook_sink.url)
    trunk = client.outbound_trunk()
    client.outcome(CALLEE, "answer", after_ms=20, talk_ms=50)
    info = client.dial(trunk, CALLEE, "seq-answer", participant_attributes={"campaign": "c7"})
    events = webhook_sink.wait(6)
    assert _sequence(events) == [
        ("room_started", None, None),
        ("participant_joined", None, "dialing"),
        ("track_published", None, None),
        ("track_unpublished", None, None),
        ("participant_left", "CLIENT_INITIATED", "hangup"),
        ("room_finished", None, None),
    ]
    joined, published, unpublished, left = events[1], events[2], events[3], events[4]
    assert joined.participant.sid == info.participant_id
    assert joined.participant.kind == models.ParticipantInfo.Kind.SIP
    assert joined.participant.state == models.ParticipantInfo.State.ACTIVE
    assert dict(joined.participant.attributes) == {
        "campaign": "c7",
        "sip.callID": info.sip_call_id,
        "sip.trunkID": trunk,
        "sip.phoneNumber": CALLEE,
        "sip.hostname": "sip.example.com",
        "sip.trunkPhoneNumber": "+15550001111",
        "sip.callStatus": "dialing",
    }
    # track events carry only the participant's sid and identity, as livekit-server sends them
    assert (published.participant.sid, published.participant.identity) == (info.participant_id, "sip_" + CALLEE)
    assert dict(published.participant.attributes) == {}
    assert published.track.type == models.TrackType.AUDIO and published.track.sid.startswith("TR_")
    assert unpublished.track.sid == published.track.sid
    assert left.participant.state == models.ParticipantInfo.State.DISCONNECTED
    assert left.participant.attributes["sip.callID"] == info.sip_call_id
    assert len({e.id for e in events}) == 6
    assert all(e.room.name == "seq-answer" for e in events)


@pytest.mark.parametrize(
    ("outcome", "extra", "reason"),
    [
        ("busy", {}, "USER_REJECTED"),
        ("reject", {}, "USER_REJECTED"),
        ("no_answer", {}, "USER_UNAVAILABLE"),
        ("fail", {}, "CLIENT_INITIATED"),
        ("fail", {"sip_code": 404}, "USER_UNAVAILABLE"),
    ],
)
def test_failed_dial_sequences(
    client: Client, webhook_sink: WebhookSink, outcome: str, extra: dict, reason: str
) -> None:
    _set_url(client, webhook_sink.url)
    trunk = client.outbound_trunk()
    client.outcome(CALLEE, outcome, after_ms=30, **extra)
    client.dial(trunk, CALLEE, "seq-fail")
    assert _sequence(webhook_sink.wait(4)) == [
        ("room_started", None, None),
        ("participant_joined", None, "dialing"),
        ("participant_left", reason, "ringing"),
        ("room_finished", None, None),
    ]


def test_remove_participant_sequence_and_existing_room(client: Client, webhook_sink: WebhookSink) -> None:
    trunk = client.outbound_trunk()
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="seq-rm")))
    _set_url(client, webhook_sink.url)  # room_started already happened before the URL was set
    info = client.dial(trunk, CALLEE, "seq-rm", wait_until_answered=True)
    client(
        lambda lk: lk.room.remove_participant(
            api.RoomParticipantIdentity(room="seq-rm", identity=info.participant_identity)
        )
    )
    assert _sequence(webhook_sink.wait(5)) == [
        ("participant_joined", None, "dialing"),
        ("track_published", None, None),
        ("track_unpublished", None, None),
        ("participant_left", "PARTICIPANT_REMOVED", "active"),
        ("room_finished", None, None),
    ]


def test_departure_timeout_delays_room_finished(client: Client, webhook_sink: WebhookSink) -> None:
    _set_url(client, webhook_sink.url)
    assert client.control("POST", "config", {"departure_timeout_ms": 1000})[0] == 200
    trunk = client.outbound_trunk()
    client.outcome(CALLEE, "busy", after_ms=10)
    client.dial(trunk, CALLEE, "seq-dep")
    webhook_sink.wait(3)
    time.sleep(0.1)
    assert [e.event for e in webhook_sink.events()] == ["room_started", "participant_joined", "participant_left"]
    assert [r["name"] for r in client.state()["rooms"]] == ["seq-dep"]
    assert webhook_sink.wait(4)[-1].event == "room_finished"


def test_delivery_failures_do_not_block(client: Client, webhook_sink: WebhookSink) -> None:
    webhook_sink.status = 500
    _set_url(client, webhook_sink.url)
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="f1")))
    webhook_sink.wait(1)
    # nobody listening at all
    _set_url(client, "http://127.0.0.1:9/unreachable")
    t0 = time.monotonic()
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="f2")))
    client(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="f2")))
    assert time.monotonic() - t0 < 1
    assert client.control("POST", "webhooks/flush", {"timeout": 5}) == (200, {"ok": True})
    st = client.state()
    assert (st["webhooks_sent"], st["webhooks_failed"]) == (0, 3)


def test_events_are_recorded_without_url(client: Client) -> None:
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="nourl")))
    (ev,) = client.state()["events"]
    assert (ev["event"], ev["room"]) == ("room_started", "nourl") and ev["id"].startswith("EV_")
    assert client.state()["webhooks_sent"] == 0
