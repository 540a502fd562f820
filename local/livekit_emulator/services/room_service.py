"""livekit.RoomService: rooms and their participants (livekit-server pkg/service/roomservice.go)."""

from __future__ import annotations

from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb

from .. import rooms
from ..auth import Grants
from ..runtime import Handler, Runtime
from ..twirp import room_not_found

DR = models_pb.DisconnectReason


def create_room(rt: Runtime, g: Grants, req: room_pb.CreateRoomRequest) -> models_pb.Room:
    """The existing room if there is one; else a new one, with the request's agents dispatched to it."""
    g.ensure_room_create()
    with rt.lock:
        room, _ = rooms.ensure_room(rt, req.name, req)
        return room.to_proto()


def list_rooms(rt: Runtime, g: Grants, req: room_pb.ListRoomsRequest) -> room_pb.ListRoomsResponse:
    g.ensure_room_list()
    with rt.lock:
        listed = [r for r in rt.state.rooms.values() if not req.names or r.name in req.names]
        return room_pb.ListRoomsResponse(rooms=[r.to_proto() for r in listed])


def delete_room(rt: Runtime, g: Grants, req: room_pb.DeleteRoomRequest) -> room_pb.DeleteRoomResponse:
    """Everyone leaves (ROOM_DELETED; a call still dialling is aborted), then room_finished."""
    g.ensure_room_create()
    with rt.lock:
        room = rt.state.rooms.get(req.room)
        if room is None:
            raise room_not_found()
        for p in list(room.participants.values()):
            rooms.leave(rt, room, p, DR.ROOM_DELETED, finish_room=False)
        rooms.finish(rt, room)
    return room_pb.DeleteRoomResponse()


def list_participants(rt: Runtime, g: Grants, req: room_pb.ListParticipantsRequest) -> room_pb.ListParticipantsResponse:
    g.ensure_room_admin(req.room)
    with rt.lock:
        room = rt.state.rooms.get(req.room)
        participants = list(room.participants.values()) if room is not None else []
        return room_pb.ListParticipantsResponse(participants=[p.to_proto() for p in participants])


def get_participant(rt: Runtime, g: Grants, req: room_pb.RoomParticipantIdentity) -> models_pb.ParticipantInfo:
    g.ensure_room_admin(req.room)
    with rt.lock:
        _, p = rooms.find_participant(rt, req.room, req.identity)
        return p.to_proto()


def remove_participant(
    rt: Runtime, g: Grants, req: room_pb.RoomParticipantIdentity
) -> room_pb.RemoveParticipantResponse:
    g.ensure_room_admin(req.room)
    with rt.lock:
        room, p = rooms.find_participant(rt, req.room, req.identity)
        rooms.leave(rt, room, p, DR.PARTICIPANT_REMOVED)
    return room_pb.RemoveParticipantResponse()


def update_participant(rt: Runtime, g: Grants, req: room_pb.UpdateParticipantRequest) -> models_pb.ParticipantInfo:
    """Name and metadata replaced when given, attributes merged (an empty value deletes its key), permission set."""
    g.ensure_room_admin(req.room)
    with rt.lock:
        _, p = rooms.find_participant(rt, req.room, req.identity)
        changed = False
        if req.name and req.name != p.name:
            p.name = req.name
            changed = True
        if req.metadata and req.metadata != p.metadata:
            p.metadata = req.metadata
            changed = True
        if changed:
            p.version += 1
        p.set_attributes(dict(req.attributes))
        if req.HasField("permission"):
            p.permission.CopyFrom(req.permission)
            p.version += 1
        return p.to_proto()


def update_room_metadata(rt: Runtime, g: Grants, req: room_pb.UpdateRoomMetadataRequest) -> models_pb.Room:
    g.ensure_room_admin(req.room)
    with rt.lock:
        room = rt.state.rooms.get(req.room)
        if room is None:
            raise room_not_found()
        room.metadata = req.metadata
        return room.to_proto()


METHODS: dict[str, Handler] = {
    "CreateRoom": create_room,
    "ListRooms": list_rooms,
    "DeleteRoom": delete_room,
    "ListParticipants": list_participants,
    "GetParticipant": get_participant,
    "RemoveParticipant": remove_participant,
    "UpdateParticipant": update_participant,
    "UpdateRoomMetadata": update_room_metadata,
}
