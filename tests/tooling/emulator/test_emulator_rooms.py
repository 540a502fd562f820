"""RoomService and AgentDispatchService through the official client."""

from __future__ import annotations

from emulator_helpers import Client
from livekit import api

CALLEE = "+15551230000"


def test_create_list_delete_room(client: Client) -> None:
    room = client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="r1", metadata="m", empty_timeout=60)))
    assert room.sid.startswith("RM_") and len(room.sid) == 15
    assert (room.name, room.metadata, room.empty_timeout, room.departure_timeout) == ("r1", "m", 60, 20)
    again = client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="r1")))
    assert again.sid == room.sid  # an existing room is returned as it is
    client(lambda lk: lk.room.create_room(api.CreateRoomRequest(name="r2")))
    rooms = client(lambda lk: lk.room.list_rooms(api.ListRoomsRequest())).rooms
    assert sorted(r.name for r in rooms) == ["r1", "r2"]
    rooms = client(lambda lk: lk.room.list_rooms(api.ListRoomsRequest(names=["r2", "nope"]))).rooms
    assert [r.name for r in rooms] == ["r2"]
    client(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="r1")))
    assert [r["name"] for r in client.state()["rooms"]] == ["r2"]
    assert [e["event"] for e in client.events("r1")] == ["room_started", "room_finished"]


def test_delete_unknown_room(client: Client) -> None:
    err = client.error(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="ghost")))
    assert (err.code, err.status, err.message) == ("not_found", 404, "requested room does not exist")


def test_delete_room_with_call(client: Client) -> None:
    trunk = client.outbound_trunk()
    info = client.dial(trunk, CALLEE, "dr", wait_until_answered=True)
    client(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room="dr")))
    call = client.call(info.sip_call_id)
    assert (call["status"], call["end"], call["disconnect_reason"]) == ("ended", "room_deleted", "ROOM_DELETED")
    assert [(e["event"], e.get("disconnect_reason")) for e in client.events("dr")] == [
        ("room_started", None),
        ("participant_joined", None),
        ("track_published", None),
        ("track_unpublished", None),
        ("participant_left", "ROOM_DELETED"),
        ("room_finished", None),
    ]
    assert client.participants("dr") == []


def test_participants(client: Client) -> None:
    trunk = client.outbound_trunk()
    a = client.dial(trunk, CALLEE, "p", participant_identity="a", wait_until_answered=True)
    client.dial(trunk, "+15551230001", "p", participant_identity="b", wait_until_answered=True)
    assert sorted(p.identity for p in client.participants("p")) == ["a", "b"]
    assert client.participants("unknown-room") == []
    got = client(lambda lk: lk.room.get_participant(api.RoomParticipantIdentity(room="p", identity="a")))
    assert got.sid == a.participant_id
    err = client.error(lambda lk: lk.room.get_participant(api.RoomParticipantIdentity(room="p", identity="zz")))
    assert (err.code, err.status, err.message) == ("not_found", 404, "participant does not exist")

    updated = client(
        lambda lk: lk.room.update_participant(
            api.UpdateParticipantRequest(
                room="p", identity="a", metadata="meta", name="Alice", attributes={"x": "1", "sip.phoneNumber": ""}
            )
        )
    )
    assert (updated.metadata, updated.name, updated.attributes["x"]) == ("meta", "Alice", "1")
    assert "sip.phoneNumber" not in updated.attributes  # an empty value deletes the key
    assert updated.attributes["sip.callStatus"] == "active"
    again = client(lambda lk: lk.room.get_participant(api.RoomParticipantIdentity(room="p", identity="a")))
    assert dict(again.attributes) == dict(updated.attributes)
    err = client.error(lambda lk: lk.room.update_participant(api.UpdateParticipantRequest(room="p", identity="zz")))
    assert err.code == "not_found"

    client(lambda lk: lk.room.remove_participant(api.RoomParticipantIdentity(room="p", identity="a")))
    assert [p.identity for p in client.participants("p")] == ["b"]
    # the room lives on while someone is in it
    assert [r["name"] for r in client.state()["rooms"]] == ["p"]


def test_duplicate_identity_replaces_participant(client: Client) -> None:
    trunk = client.outbound_trunk()
    first = client.dial(trunk, CALLEE, "dup", participant_identity="same", wait_until_answered=True)
    second = client.dial(trunk, CALLEE, "dup", participant_identity="same", wait_until_answered=True)
    (p,) = client.participants("dup")
    assert p.sid == second.participant_id
    call = client.call(first.sip_call_id)
    assert (call["end"], call["disconnect_reason"]) == ("duplicate_identity", "DUPLICATE_IDENTITY")


def test_agent_dispatch(client: Client) -> None:
    d = client(
        lambda lk: lk.agent_dispatch.create_dispatch(
            api.CreateAgentDispatchRequest(room="ad", agent_name="telephony-agent", metadata='{"lead": 1}')
        )
    )
    assert d.id.startswith("AD_") and len(d.id) == 15
    assert (d.room, d.agent_name, d.metadata) == ("ad", "telephony-agent", '{"lead": 1}')
    assert d.state.created_at > 0
    assert [e["event"] for e in client.events("ad")] == ["room_started"]  # the room was created
    d2 = client(lambda lk: lk.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(room="ad", agent_name="x")))
    listed = client(lambda lk: lk.agent_dispatch.list_dispatch("ad"))
    assert sorted(x.id for x in listed) == sorted([d.id, d2.id])
    assert client(lambda lk: lk.agent_dispatch.get_dispatch(d2.id, "ad")).agent_name == "x"
    deleted = client(lambda lk: lk.agent_dispatch.delete_dispatch(d.id, "ad"))
    assert deleted.id == d.id and deleted.state.deleted_at > 0
    assert [x.id for x in client(lambda lk: lk.agent_dispatch.list_dispatch("ad"))] == [d2.id]
    assert [x["id"] for x in client.state()["dispatches"]] == [d2.id]
    err = client.error(lambda lk: lk.agent_dispatch.delete_dispatch(d.id, "ad"))
    assert (err.code, err.status, err.message) == ("not_found", 404, "dispatch ID not found")
    err = client.error(lambda lk: lk.agent_dispatch.list_dispatch("no-such-room"))
    assert (err.code, err.status) == ("unavailable", 503)


def test_create_room_with_agents(client: Client) -> None:
    client(
        lambda lk: lk.room.create_room(
            api.CreateRoomRequest(name="ag", agents=[api.RoomAgentDispatch(agent_name="a1", metadata="m")])
        )
    )
    (d,) = client(lambda lk: lk.agent_dispatch.list_dispatch("ag"))
    assert (d.agent_name, d.metadata, d.room) == ("a1", "m", "ag")
