"""The LiveKit Twirp services the emulator serves, as livekit-server mounts them (pkg/service/server.go).

Each module here serves one LiveKit service, or one part of the large ``livekit.SIP`` (trunks, dispatch
rules, calls), and ends with ``METHODS``: the table of the methods it serves, by their protobuf name.
``REGISTRY`` mounts those tables under their protobuf service, which is all the HTTP layer looks up.
Serving another LiveKit service is its module and one more ``mount`` line in ``REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from livekit.protocol import agent_dispatch as agent_dispatch_pb
from livekit.protocol import egress as egress_pb
from livekit.protocol import room as room_pb
from livekit.protocol import sip as sip_pb

from ..runtime import Handler
from . import agent_dispatch, egress, room_service, sip_dispatch_rules, sip_participants, sip_trunks


@dataclass(frozen=True)
class TwirpService:
    """One protobuf service: how to decode each of its methods' requests, and the handlers of those served.

    A method of the service without a handler is routed like the others and answers ``unimplemented``.
    """

    name: str  # "livekit.SIP"
    requests: Mapping[str, Any]  # method name -> its request message class
    handlers: Mapping[str, Handler]


def mount(service: ServiceDescriptor, *tables: Mapping[str, Handler]) -> TwirpService:
    """``service`` served by the handlers of ``tables``. A misspelt or doubly served method fails at import."""
    requests = {m.name: message_factory.GetMessageClass(m.input_type) for m in service.methods}
    handlers: dict[str, Handler] = {}
    for table in tables:
        for method, handler in table.items():
            if method not in requests:
                raise ValueError(f"{service.full_name} has no method {method}")
            if method in handlers:
                raise ValueError(f"{service.full_name}.{method} is served twice")
            handlers[method] = handler
    return TwirpService(service.full_name, requests, handlers)


REGISTRY: dict[str, TwirpService] = {
    s.name: s
    for s in (
        mount(
            sip_pb.DESCRIPTOR.services_by_name["SIP"],
            sip_trunks.METHODS,
            sip_dispatch_rules.METHODS,
            sip_participants.METHODS,
        ),
        mount(room_pb.DESCRIPTOR.services_by_name["RoomService"], room_service.METHODS),
        mount(agent_dispatch_pb.DESCRIPTOR.services_by_name["AgentDispatchService"], agent_dispatch.METHODS),
        mount(egress_pb.DESCRIPTOR.services_by_name["Egress"], egress.METHODS),
    )
}
