"""The registry of the emulated Twirp services: what the HTTP layer routes to."""

from __future__ import annotations

import pytest
from livekit.protocol import room as room_pb

from local.livekit_emulator.services import REGISTRY, mount, room_service

ROOM_SERVICE = room_pb.DESCRIPTOR.services_by_name["RoomService"]


def test_the_registry_mounts_the_four_services_under_their_protobuf_names() -> None:
    assert sorted(REGISTRY) == ["livekit.AgentDispatchService", "livekit.Egress", "livekit.RoomService", "livekit.SIP"]
    for name, service in REGISTRY.items():
        assert service.name == name
        # every handler serves a method its protobuf service declares, whose request class is known
        assert set(service.handlers) <= set(service.requests), name


def test_the_sip_service_is_served_by_its_three_modules() -> None:
    handlers = REGISTRY["livekit.SIP"].handlers
    assert {"CreateSIPInboundTrunk", "DeleteSIPTrunk"} <= set(handlers)
    assert {"CreateSIPDispatchRule", "DeleteSIPDispatchRule"} <= set(handlers)
    assert {"CreateSIPParticipant", "TransferSIPParticipant"} <= set(handlers)


def test_mount_refuses_a_method_the_protobuf_service_does_not_have() -> None:
    with pytest.raises(ValueError, match=r"livekit\.RoomService has no method CreateRooms"):
        mount(ROOM_SERVICE, {"CreateRooms": room_service.create_room})


def test_mount_refuses_a_method_served_twice() -> None:
    with pytest.raises(ValueError, match=r"livekit\.RoomService\.CreateRoom is served twice"):
        mount(ROOM_SERVICE, room_service.METHODS, {"CreateRoom": room_service.create_room})
