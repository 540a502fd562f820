"""Outbound calls: CreateSIPParticipant, dial outcomes, hang-ups and transfers."""

from __future__ import annotations

import time

import pytest
from emulator_helpers import TRUNK_NUMBER, Client
from google.protobuf.duration_pb2 import Duration
from livekit import api
from livekit.protocol import models

CALLEE = "+15551230000"


@pytest.fixture
def trunk(client: Client) -> str:
    return client.outbound_trunk()


def _attrs(client: Client, room: str, identity: str) -> dict[str, str]:
    p = client(lambda lk: lk.room.get_participant(api.RoomParticipantIdentity(room=room, identity=identity)))
    return dict(p.attributes)


# ------------------------------------------------------------------------------ request handling


def test_create_sip_participant_ids_and_attributes(client: Client, trunk: str) -> None:
    info = client.dial(
        trunk,
        CALLEE,
        "call-room",
        participant_attributes={"lead": "42"},
        participant_name="Callee",
        participant_metadata='{"k": 1}',
    )
    assert info.participant_id.startswith("PA_") and len(info.participant_id) == 15
    assert info.sip_call_id.startswith("SCL_") and len(info.sip_call_id) == 16
    assert info.participant_identity == "sip_" + CALLEE
    assert info.room_name == "call-room"

    (p,) = client.participants("call-room")
    assert (p.sid, p.identity, p.name, p.metadata) == (
        info.participant_id,
        info.participant_identity,
        "Callee",
        '{"k": 1}',
    )
    assert p.kind == models.ParticipantInfo.Kind.SIP
    attrs = dict(p.attributes)
    assert attrs.pop("sip.callStatus") in ("dialing", "ringing")
    assert attrs == {
        "lead": "42",
        "sip.callID": info.sip_call_id,
        "sip.trunkID": trunk,
        "sip.phoneNumber": CALLEE,
        "sip.hostname": "sip.example.com",
        "sip.trunkPhoneNumber": TRUNK_NUMBER,
    }
    client.wait_call(info.sip_call_id, lambda c: c["status"] == "active")
    assert _attrs(client, "call-room", info.participant_identity)["sip.callStatus"] == "active"
    rooms = client(lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=["call-room"]))).rooms
    assert [r.name for r in rooms] == ["call-room"] and rooms[0].sid.startswith("RM_")


def test_identity_number_and_hidden_phone_number(client: Client) -> None:
    trunk = client.outbound_trunk(numbers=["+15550009999"])
    info = client.dial(
        trunk, CALLEE, "r", participant_identity="agent-callee", sip_number="+15550008888", hide_phone_number=True
    )
    assert info.participant_identity == "agent-callee"
    attrs = _attrs(client, "r", "agent-callee")
    assert "sip.phoneNumber" not in attrs and "sip.trunkPhoneNumber" not in attrs and "sip.hostname" not in attrs
    assert attrs["sip.callID"] == info.sip_call_id
    assert client.call(info.sip_call_id)["trunk_phone_number"] == "+15550008888"


def test_request_fields_are_recorded(client: Client, trunk: str) -> None:
    info = client.dial(
        trunk,
        CALLEE,
        "rec",
        dtmf="1234#",
        play_dialtone=True,
        krisp_enabled=True,
        headers={"X-Campaign": "c1"},
        ringing_timeout=Duration(seconds=25),
        max_call_duration=Duration(seconds=600),
    )
    call = client.call(info.sip_call_id)
    assert call["dtmf"] == "1234#"
    assert call["play_dialtone"] is True and call["play_ringtone"] is False
    assert call["krisp_enabled"] is True
    assert call["headers"] == {"X-Campaign": "c1"}
    assert call["ringing_timeout"] == "25s" and call["ringing_timeout_seconds"] == 25.0
    assert call["max_call_duration_seconds"] == 600.0
    assert call["wait_until_answered"] is False
    assert call["sip_trunk_id"] == trunk and call["sip_call_to"] == CALLEE and call["room_name"] == "rec"
    (room,) = [r for r in client.state()["rooms"] if r["name"] == "rec"]
    (p,) = room["participants"]
    assert p["sip_call_id"] == info.sip_call_id
    assert p["sip"]["dtmf"] == "1234#" and p["sip"]["headers"] == {"X-Campaign": "c1"}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sip_call_to": CALLEE, "room_name": "r"}, "missing sip trunk id and sip number"),
        ({"sip_trunk_id": "ST_x", "room_name": "r"}, "missing sip callee number"),
        (
            {"sip_trunk_id": "ST_x", "sip_call_to": "bob@example.com", "room_name": "r"},
            "SipCallTo should be a phone number or SIP user, not a full SIP URI",
        ),
        ({"sip_trunk_id": "ST_x", "sip_call_to": CALLEE}, "missing room name"),
    ],
)
def test_create_sip_participant_validation(client: Client, fields: dict, message: str) -> None:
    err = client.error(lambda lk: lk.sip.create_sip_participant(api.CreateSIPParticipantRequest(**fields)))
    assert (err.code, err.status, err.message) == ("invalid_argument", 400, message)
    st = client.state()
    assert st["calls"] == [] and st["rooms"] == []


def test_create_sip_participant_unknown_or_inbound_trunk(client: Client) -> None:
    err = client.error(
        lambda lk: lk.sip.create_sip_participant(
            api.CreateSIPParticipantRequest(sip_trunk_id="ST_nope", sip_call_to=CALLEE, room_name="r")
        )
    )
    assert (err.code, err.status, err.message) == ("not_found", 404, "requested sip trunk does not exist")
    inbound = client(
        lambda lk: lk.sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(trunk=api.SIPInboundTrunkInfo(numbers=["+15551112222"]))
        )
    )
    err = client.error(
        lambda lk: lk.sip.create_sip_participant(
            api.CreateSIPParticipantRequest(sip_trunk_id=inbound.sip_trunk_id, sip_call_to=CALLEE, room_name="r")
        )
    )
    assert err.code == "not_found"
    assert client.state()["rooms"] == []


# ------------------------------------------------------------------------------ outcomes, waiting


def test_answer_with_wait(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=80)
    t0 = time.monotonic()
    info = client.dial(trunk, CALLEE, "w", wait_until_answered=True)
    assert time.monotonic() - t0 >= 0.07
    call = client.call(info.sip_call_id)
    assert (call["status"], call["call_status"], call["result"]) == ("active", "active", "answered")
    assert call["wait_until_answered"] is True
    assert call["ringing_timeout_seconds"] == 30.0  # the client pins 30 s when waiting
    (p,) = client.participants("w")
    assert p.attributes["sip.callStatus"] == "active"
    assert len(p.tracks) == 1 and p.tracks[0].type == models.TrackType.AUDIO and p.is_publisher


def test_answer_without_wait_returns_at_once(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=1000)
    t0 = time.monotonic()
    info = client.dial(trunk, CALLEE, "nw")
    assert time.monotonic() - t0 < 0.7
    assert client.call(info.sip_call_id)["status"] in ("dialing", "ringing")
    client.wait_call(info.sip_call_id, lambda c: c["status"] == "ringing")
    assert _attrs(client, "nw", info.participant_identity)["sip.callStatus"] == "ringing"
    client.wait_call(info.sip_call_id, lambda c: c["status"] == "active")


FAILURES = [
    # outcome, extra, code, status, message, sip code, sip status, disconnect reason
    (
        "busy",
        {},
        "resource_exhausted",
        429,
        "INVITE failed: sip status: 486: Busy Here",
        "486",
        "Busy Here",
        "USER_REJECTED",
    ),
    (
        "reject",
        {},
        "permission_denied",
        403,
        "unexpected status from INVITE response: sip status: 603: Decline",
        "603",
        "Decline",
        "USER_REJECTED",
    ),
    (
        "fail",
        {},
        "failed_precondition",
        412,
        "unexpected status from INVITE response: sip status: 503: Service Unavailable",
        "503",
        "Service Unavailable",
        "CLIENT_INITIATED",
    ),
    (
        "fail",
        {"sip_code": 500},
        "failed_precondition",
        412,
        "unexpected status from INVITE response: sip status: 500: Server Internal Error",
        "500",
        "Server Internal Error",
        "CLIENT_INITIATED",
    ),
    (
        "busy",
        {"sip_code": 480},
        "resource_exhausted",
        429,
        "INVITE failed: sip status: 480: Temporarily Unavailable",
        "480",
        "Temporarily Unavailable",
        "USER_UNAVAILABLE",
    ),
    (
        "busy",
        {"sip_code": 600},
        "resource_exhausted",
        429,
        "unexpected status from INVITE response: sip status: 600: Busy Everywhere",
        "600",
        "Busy Everywhere",
        "USER_REJECTED",
    ),
    (
        "reject",
        {"sip_code": 403, "sip_status": "Nope"},
        "permission_denied",
        403,
        "unexpected status from INVITE response: sip status: 403: Nope",
        "403",
        "Nope",
        "USER_REJECTED",
    ),
    (
        "reject",
        {"sip_code": 404},
        "not_found",
        404,
        "INVITE failed: sip status: 404: Not Found",
        "404",
        "Not Found",
        "USER_UNAVAILABLE",
    ),
]


@pytest.mark.parametrize(
    ("outcome", "extra", "code", "status", "message", "sip_code", "sip_status", "reason"), FAILURES
)
def test_failure_with_wait(
    client: Client,
    trunk: str,
    outcome: str,
    extra: dict,
    code: str,
    status: int,
    message: str,
    sip_code: str,
    sip_status: str,
    reason: str,
) -> None:
    client.outcome(CALLEE, outcome, after_ms=30, **extra)
    with pytest.raises(api.SipCallError) as info:
        client.dial(trunk, CALLEE, "f", wait_until_answered=True)
    err = info.value
    assert (err.code, err.status, err.message) == (code, status, message)
    assert err.metadata["sip_status_code"] == sip_code and err.metadata["sip_status"] == sip_status
    assert err.sip_status_code == int(sip_code)
    assert err.metadata["error_details"]  # base64 google.rpc.Status, as xtwirp writes it
    (call,) = client.state()["calls"]
    assert call["status"] == "ended" and call["disconnect_reason"] == reason
    assert call["sip_status_code"] == int(sip_code)
    assert client.state()["rooms"] == []  # the participant left, the room finished
    left = [e for e in client.events("f") if e["event"] == "participant_left"]
    assert [(e["disconnect_reason"], e["call_status"]) for e in left] == [(reason, "ringing")]


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        ("busy", "USER_REJECTED"),
        ("reject", "USER_REJECTED"),
        ("fail", "CLIENT_INITIATED"),
        ("no_answer", "USER_UNAVAILABLE"),
    ],
)
def test_failure_without_wait(client: Client, trunk: str, outcome: str, reason: str) -> None:
    client.outcome(CALLEE, outcome, after_ms=40)
    info = client.dial(trunk, CALLEE, "async")
    call = client.wait_call(info.sip_call_id, lambda c: c["status"] == "ended")
    assert call["disconnect_reason"] == reason
    assert [e["event"] for e in client.wait_events("async", 4)] == [
        "room_started",
        "participant_joined",
        "participant_left",
        "room_finished",
    ]


def test_no_answer_with_wait(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "no_answer", after_ms=50)
    with pytest.raises(api.TwirpError) as info:
        client.dial(trunk, CALLEE, "na", wait_until_answered=True)
    err = info.value
    assert not isinstance(err, api.SipCallError)
    assert (err.code, err.status, err.message, err.metadata) == ("canceled", 408, "sip request timed out", {})
    (call,) = client.state()["calls"]
    assert (call["result"], call["disconnect_reason"]) == ("no_answer", "USER_UNAVAILABLE")


def test_ringing_timeout_cuts_answer_short(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=5000)
    t0 = time.monotonic()
    with pytest.raises(api.TwirpError) as info:
        client.dial(trunk, CALLEE, "rt", wait_until_answered=True, ringing_timeout=Duration(nanos=100_000_000))
    assert time.monotonic() - t0 < 2
    assert (info.value.code, info.value.message) == ("canceled", "sip request timed out")


def test_talk_ms_callee_hangs_up(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=10, talk_ms=60)
    info = client.dial(trunk, CALLEE, "talk", wait_until_answered=True)
    call = client.wait_call(info.sip_call_id, lambda c: c["status"] == "ended")
    assert (call["result"], call["end"], call["call_status"], call["disconnect_reason"]) == (
        "answered",
        "hangup",
        "hangup",
        "CLIENT_INITIATED",
    )
    assert client.participants("talk") == []


def test_max_call_duration(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=10)
    info = client.dial(trunk, CALLEE, "max", max_call_duration=Duration(nanos=150_000_000))
    call = client.wait_call(info.sip_call_id, lambda c: c["status"] == "ended")
    assert (call["end"], call["disconnect_reason"]) == ("max_call_duration", "CLIENT_INITIATED")


def test_outcome_times_and_wildcard(client: Client, trunk: str) -> None:
    client.outcome("*", "busy", after_ms=10)
    client.outcome(CALLEE, "answer", after_ms=10)
    client.outcome(CALLEE, "reject", after_ms=10, times=1)
    with pytest.raises(api.SipCallError) as info:
        client.dial(trunk, CALLEE, "t1", wait_until_answered=True)
    assert info.value.sip_status_code == 603
    client.dial(trunk, "+1 555 123 0000", "t2", wait_until_answered=True)  # normalised match, persistent setting
    with pytest.raises(api.SipCallError) as info:
        client.dial(trunk, "+15559998888", "t3", wait_until_answered=True)  # wildcard
    assert info.value.sip_status_code == 486


def test_default_outcome_is_answer_after_200ms(client: Client, trunk: str) -> None:
    t0 = time.monotonic()
    client.dial(trunk, "+15550101010", "d", wait_until_answered=True)
    assert 0.15 <= time.monotonic() - t0 < 2


# ------------------------------------------------------------------------------ hang-up, removal, deletion


def test_control_hangup(client: Client, trunk: str) -> None:
    info = client.dial(trunk, CALLEE, "h", wait_until_answered=True)
    status, body = client.control("POST", "hangup", {"room": "h"})
    assert (status, body) == (200, {"ok": True, "calls": 1})
    call = client.call(info.sip_call_id)
    assert (call["end"], call["call_status"], call["disconnect_reason"]) == ("hangup", "hangup", "CLIENT_INITIATED")
    status, body = client.control("POST", "hangup", {"room": "h"})
    assert status == 404 and "error" in body


def test_control_hangup_while_ringing_declines(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=5000)
    info = client.dial(trunk, CALLEE, "hr")
    assert client.control("POST", "hangup", {"room": "hr"})[0] == 200
    call = client.call(info.sip_call_id)
    assert (call["result"], call["sip_status_code"], call["disconnect_reason"]) == ("rejected", 603, "USER_REJECTED")


def test_remove_participant_ends_call(client: Client, trunk: str) -> None:
    info = client.dial(trunk, CALLEE, "rm", wait_until_answered=True)
    client(
        lambda lk: lk.room.remove_participant(
            api.RoomParticipantIdentity(room="rm", identity=info.participant_identity)
        )
    )
    call = client.call(info.sip_call_id)
    assert (call["end"], call["disconnect_reason"]) == ("participant_removed", "PARTICIPANT_REMOVED")
    err = client.error(lambda lk: lk.room.remove_participant(api.RoomParticipantIdentity(room="rm", identity="x")))
    assert (err.code, err.status, err.message) == ("not_found", 404, "participant does not exist")


def test_delete_room_while_waiting(client: Client, trunk: str) -> None:
    import threading

    client.outcome(CALLEE, "answer", after_ms=3000)
    errors: list[api.TwirpError] = []

    def dial() -> None:
        try:
            client.dial(trunk, CALLEE, "del", wait_until_answered=True)
        except api.TwirpError as e:
            errors.append(e)

    t = threading.Thread(target=dial)
    t.start()
    deadline = time.monotonic() + 5
    while not client.state()["calls"] and time.monotonic() < deadline:
        time.sleep(0.01)
    client(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="del")))
    t.join(5)
    assert [(e.code, e.message) for e in errors] == [("canceled", "sip request timed out")]
    (call,) = client.state()["calls"]
    assert (call["result"], call["disconnect_reason"]) == ("aborted", "ROOM_DELETED")


# ------------------------------------------------------------------------------ transfers


def test_transfer(client: Client, trunk: str) -> None:
    info = client.dial(trunk, CALLEE, "tr", wait_until_answered=True)
    resp = client(
        lambda lk: lk.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                room_name="tr",
                participant_identity=info.participant_identity,
                transfer_to="sip:queue@pbx.example.com",
                play_dialtone=True,
                headers={"X-Reason": "escalation"},
            )
        )
    )
    assert resp.transfer_id.startswith("STR_")
    assert resp.status == api.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL
    (tr,) = client.state()["transfers"]
    assert tr["room"] == "tr" and tr["identity"] == info.participant_identity
    assert (tr["transfer_to"], tr["refer_to"]) == ("sip:queue@pbx.example.com", "<sip:queue@pbx.example.com>")
    assert tr["play_dialtone"] is True and tr["headers"] == {"X-Reason": "escalation"}
    assert tr["sip_call_id"] == info.sip_call_id and tr["ringing_timeout_seconds"] == 30.0
    call = client.wait_call(info.sip_call_id, lambda c: c["status"] == "ended")
    assert (call["end"], call["call_status"], call["disconnect_reason"]) == (
        "transferred",
        "hangup",
        "CLIENT_INITIATED",
    )


def _transfer_error(client: Client, **fields) -> api.TwirpError:
    return client.error(lambda lk: lk.sip.transfer_sip_participant(api.TransferSIPParticipantRequest(**fields)))


def test_transfer_rules(client: Client, trunk: str) -> None:
    assert client.control("POST", "config", {"transfer_hangup_ms": 5000})[0] == 200
    info = client.dial(trunk, CALLEE, "trr", wait_until_answered=True)
    ident = info.participant_identity
    err = _transfer_error(client, room_name="trr", participant_identity=ident, transfer_to="+15550001234")
    assert (err.code, err.status, err.message) == (
        "invalid_argument",
        400,
        "transfer_to must be a valid SIP(s) or TEL URI (sip:, sips: or tel:)",
    )
    err = _transfer_error(client, room_name="trr", participant_identity=ident)
    assert (err.code, err.message) == ("invalid_argument", "missing transfer to")
    err = _transfer_error(client, room_name="trr", participant_identity="nobody", transfer_to="tel:+15550001234")
    assert (err.code, err.status, err.message) == ("not_found", 404, "participant does not exist")
    assert client.state()["transfers"] == []
    # tel: URIs are accepted as they are
    client(
        lambda lk: lk.sip.transfer_sip_participant(
            api.TransferSIPParticipantRequest(
                room_name="trr", participant_identity=ident, transfer_to="tel:+15550001234"
            )
        )
    )
    assert client.state()["transfers"][0]["refer_to"] == "tel:+15550001234"
    # the same transfer again is the same transfer; another target is refused
    err = _transfer_error(client, room_name="trr", participant_identity=ident, transfer_to="tel:+15550009999")
    assert (err.code, err.message) == ("invalid_argument", "call already being transferred elsewhere")


def test_transfer_needs_a_sip_session(client: Client, trunk: str) -> None:
    info = client.dial(trunk, CALLEE, "ns", wait_until_answered=True)
    # without its sip.callID attribute the participant has no SIP session for LiveKit
    client(
        lambda lk: lk.room.update_participant(
            api.UpdateParticipantRequest(room="ns", identity=info.participant_identity, attributes={"sip.callID": ""})
        )
    )
    err = _transfer_error(
        client, room_name="ns", participant_identity=info.participant_identity, transfer_to="tel:+15550001234"
    )
    assert (err.code, err.status, err.message) == (
        "invalid_argument",
        400,
        "no SIP session associated with participant",
    )
    err = _transfer_error(client, participant_identity=info.participant_identity, transfer_to="tel:+1")
    assert (err.code, err.message) == ("invalid_argument", "Missing room name")


def test_transfer_of_unanswered_call(client: Client, trunk: str) -> None:
    client.outcome(CALLEE, "answer", after_ms=5000)
    info = client.dial(trunk, CALLEE, "tu")
    err = _transfer_error(
        client, room_name="tu", participant_identity=info.participant_identity, transfer_to="tel:+15550001234"
    )
    assert (err.code, err.status, err.message) == ("failed_precondition", 412, "can't transfer non established call")


def test_transfer_requires_room_admin(client: Client, trunk: str) -> None:
    from emulator_helpers import token

    info = client.dial(trunk, CALLEE, "ta", wait_until_answered=True)
    from livekit.protocol import sip as sip_pb

    body = sip_pb.TransferSIPParticipantRequest(
        room_name="ta", participant_identity=info.participant_identity, transfer_to="tel:+1555"
    ).SerializeToString()
    for tok in (token(sip=api.SIPGrants(call=True)), token(video=api.VideoGrants(room_admin=True, room="ta"))):
        status, _, raw = client.http(
            "POST",
            "/twirp/livekit.SIP/TransferSIPParticipant",
            body,
            {"Content-Type": "application/protobuf", "Authorization": "Bearer " + tok},
        )
        assert (status, raw) == (401, b'{"code":"unauthenticated","msg":"permissions denied"}')
    assert client.state()["transfers"] == []
