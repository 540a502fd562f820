"""Rooms and participants as livekit-server runs them: who is in a room, and the webhooks that say so.

Every function here is called with ``Runtime.lock`` held.
"""

from __future__ import annotations

import time

from livekit.protocol import agent_dispatch as agent_dispatch_pb
from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb

from . import ids, recorder
from .model import ATTR_CALL_STATUS, ATTR_TRUNK_ID, DEFAULT_DEPARTURE_TIMEOUT, DEFAULT_EMPTY_TIMEOUT, Participant, Room
from .runtime import Runtime
from .sipcodes import RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG
from .twirp import TwirpError, participant_not_found

DR = models_pb.DisconnectReason
DISCONNECTED = models_pb.ParticipantInfo.State.DISCONNECTED


def ensure_room(rt: Runtime, name: str, req: room_pb.CreateRoomRequest | None = None) -> tuple[Room, bool]:
    """The room called ``name``, created (room_started, the request's agents dispatched) if absent."""
    room = rt.state.rooms.get(name)
    if room is not None:
        return room, False
    room = Room(sid=ids.new_id(ids.ROOM), name=name)
    if req is not None:
        room.empty_timeout = req.empty_timeout or DEFAULT_EMPTY_TIMEOUT
        room.departure_timeout = req.departure_timeout or DEFAULT_DEPARTURE_TIMEOUT
        room.max_participants = req.max_participants
        room.metadata = req.metadata
    rt.state.rooms[name] = room
    rt.emit("room_started", room)
    if req is not None:
        for agent in req.agents:
            add_dispatch(
                room,
                agent_name=agent.agent_name,
                metadata=agent.metadata,
                attributes=dict(agent.attributes),
                restart_policy=agent.restart_policy,
                deployment=agent.deployment,
            )
    return room, True


def add_dispatch(
    room: Room,
    *,
    agent_name: str,
    metadata: str,
    attributes: dict[str, str],
    restart_policy: int,
    deployment: str,
) -> agent_dispatch_pb.AgentDispatch:
    dispatch = agent_dispatch_pb.AgentDispatch(
        id=ids.new_id(ids.AGENT_DISPATCH),
        room=room.name,
        agent_name=agent_name,
        metadata=metadata,
        restart_policy=restart_policy,  # type: ignore[arg-type]
        deployment=deployment,
    )
    dispatch.attributes.update(attributes)
    dispatch.state.created_at = time.time_ns()
    room.dispatches[dispatch.id] = dispatch
    return dispatch


def find_participant(rt: Runtime, room_name: str, identity: str) -> tuple[Room, Participant]:
    room = rt.state.rooms.get(room_name)
    p = room.participants.get(identity) if room is not None else None
    if room is None or p is None:
        raise participant_not_found()
    return room, p


def join(rt: Runtime, room: Room, participant: Participant) -> None:
    """``participant`` joins; one already there with its identity leaves (DUPLICATE_IDENTITY)."""
    if room.finish_timer is not None:
        room.finish_timer.cancel()
        room.finish_timer = None
    old = room.participants.get(participant.identity)
    if old is not None:
        leave(rt, room, old, DR.DUPLICATE_IDENTITY, finish_room=False)
    room.participants[participant.identity] = participant
    if participant.attributes.get(ATTR_TRUNK_ID):
        rt.state.sip_joined(participant.attributes[ATTR_TRUNK_ID])
    rt.emit("participant_joined", room, participant.to_proto())


def leave(
    rt: Runtime,
    room: Room,
    p: Participant,
    reason: int,
    *,
    call_status: str | None = None,
    finish_room: bool = True,
) -> None:
    """A participant leaves: track_unpublished (if it published), then participant_left.

    A SIP participant's call ends with it; one still dialling is aborted, and a request waiting for
    its answer gets the error LiveKit gives a dial cut short.
    """
    if room.participants.get(p.identity) is not p:
        return
    if call_status is not None:
        p.set_attributes({ATTR_CALL_STATUS: call_status})
        if p.call is not None:
            p.call.record["call_status"] = call_status
    if p.track is not None:
        rt.emit("track_unpublished", room, p.brief(), p.track)
    del room.participants[p.identity]
    if p.attributes.get(ATTR_TRUNK_ID):
        rt.state.sip_left(p.attributes[ATTR_TRUNK_ID])
    p.state = DISCONNECTED
    p.disconnect_reason = reason
    rt.emit("participant_left", room, p.to_proto())
    call = p.call
    if call is not None and call.status != "ended":
        if call.status == "active":
            rt.state.end_call(call, result=DR.Name(reason).lower(), reason=reason)  # type: ignore[arg-type]
        else:
            # The SIP bridge sees its room connection close: the dial in progress is aborted.
            error = TwirpError(RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG)
            rt.state.end_call(call, result="aborted", reason=reason, error=error)
            call.finish(error)
    if finish_room and not room.participants:
        schedule_finish(rt, room)


def schedule_finish(rt: Runtime, room: Room) -> None:
    """An emptied room finishes after the departure timeout, unless someone joins first."""
    if rt.departure_timeout <= 0:
        finish(rt, room)
        return

    def fire() -> None:
        with rt.lock:
            if rt.state.rooms.get(room.name) is room and not room.participants:
                finish(rt, room)

    if room.finish_timer is not None:
        room.finish_timer.cancel()
    room.finish_timer = rt.scheduler.call_later(rt.departure_timeout, fire)


def finish(rt: Runtime, room: Room) -> None:
    """The room closes: room_finished."""
    if rt.state.rooms.get(room.name) is not room:
        return
    if room.finish_timer is not None:
        room.finish_timer.cancel()
        room.finish_timer = None
    del rt.state.rooms[room.name]
    recorder.room_closed(rt, room)
    rt.emit("room_finished", room)
