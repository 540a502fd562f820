"""livekit.AgentDispatchService: the agents dispatched to a room.

As livekit-server pkg/service/agent_dispatch_service.go serves it.
"""

from __future__ import annotations

import time

from livekit.protocol import agent_dispatch as agent_dispatch_pb

from .. import rooms
from ..auth import Grants
from ..messages import clone
from ..model import Room
from ..runtime import Handler, Runtime
from ..twirp import TwirpError


def create_dispatch(
    rt: Runtime, g: Grants, req: agent_dispatch_pb.CreateAgentDispatchRequest
) -> agent_dispatch_pb.AgentDispatch:
    """Creates the room if needed (room_started)."""
    g.ensure_room_admin(req.room)
    with rt.lock:
        room, _ = rooms.ensure_room(rt, req.room)
        dispatch = rooms.add_dispatch(
            room,
            agent_name=req.agent_name,
            metadata=req.metadata,
            attributes=dict(req.attributes),
            restart_policy=req.restart_policy,
            deployment=req.deployment,
        )
        return clone(dispatch)


def delete_dispatch(
    rt: Runtime, g: Grants, req: agent_dispatch_pb.DeleteAgentDispatchRequest
) -> agent_dispatch_pb.AgentDispatch:
    g.ensure_room_admin(req.room)
    with rt.lock:
        room = _served_room(rt, req.room)
        dispatch = room.dispatches.pop(req.dispatch_id, None)
        if dispatch is None:
            raise TwirpError("not_found", "dispatch ID not found")
        dispatch.state.deleted_at = time.time_ns()
        return clone(dispatch)


def list_dispatch(
    rt: Runtime, g: Grants, req: agent_dispatch_pb.ListAgentDispatchRequest
) -> agent_dispatch_pb.ListAgentDispatchResponse:
    g.ensure_room_admin(req.room)
    with rt.lock:
        room = _served_room(rt, req.room)
        items = [d for d in room.dispatches.values() if not req.dispatch_id or d.id == req.dispatch_id]
        return agent_dispatch_pb.ListAgentDispatchResponse(agent_dispatches=items)


def _served_room(rt: Runtime, name: str) -> Room:
    room = rt.state.rooms.get(name)
    if room is None:
        # the request goes to the room's psrpc topic, which nobody serves
        raise TwirpError("unavailable", "no response from servers")
    return room


METHODS: dict[str, Handler] = {
    "CreateDispatch": create_dispatch,
    "DeleteDispatch": delete_dispatch,
    "ListDispatch": list_dispatch,
}
