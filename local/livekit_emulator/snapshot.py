"""``GET /_emulator/state``: everything the emulator holds, as plain JSON. Called with ``Runtime.lock`` held."""

from __future__ import annotations

from typing import Any

from google.protobuf.json_format import MessageToDict
from livekit.protocol import models as models_pb

from .model import Call, Participant, Room
from .runtime import Runtime


def snapshot(rt: Runtime) -> dict[str, Any]:
    state = rt.state
    return {
        "inbound_trunks": [MessageToDict(t) for t in sorted(state.inbound_trunks.values(), key=_trunk_id)],
        "outbound_trunks": [MessageToDict(t) for t in sorted(state.outbound_trunks.values(), key=_trunk_id)],
        "dispatch_rules": [
            MessageToDict(r) for r in sorted(state.dispatch_rules.values(), key=lambda r: r.sip_dispatch_rule_id)
        ],
        "rooms": [_room(r) for r in state.rooms.values()],
        "dispatches": [MessageToDict(d) for r in state.rooms.values() for d in r.dispatches.values()],
        "transfers": [dict(t) for t in state.transfers],
        "egresses": [MessageToDict(e, preserving_proto_field_name=True) for e in state.egresses.values()],
        "calls": [call_record(c) for c in state.call_log],
        "inbound": [dict(a) for a in state.inbound],
        "events": [dict(e) for e in state.events],
        "webhook_url": rt.webhook_url,
        "config": {
            "departure_timeout_ms": int(rt.departure_timeout * 1000),
            "transfer_hangup_ms": int(rt.transfer_hangup_delay * 1000),
        },
        "webhooks_sent": rt.webhooks.sent,
        "webhooks_failed": rt.webhooks.failed,
        "outcomes": state.outcomes.as_dict(),
        "faults": state.faults.as_dict(),
        "counts": dict(state.counts),
        "sip_participants": {"live": dict(state.sip_live), "peak": dict(state.sip_peaks)},
    }


def call_record(call: Call) -> dict[str, Any]:
    """Every request field (proto names, defaults included) plus what happened to the call."""
    out: dict[str, Any] = MessageToDict(
        call.request, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for key, value in call.record.items():
        out[key] = dict(value) if isinstance(value, dict) else value
    return out


def _room(room: Room) -> dict[str, Any]:
    return {
        "name": room.name,
        "sid": room.sid,
        "metadata": room.metadata,
        "created_at_ms": room.created_at_ms,
        "empty_timeout": room.empty_timeout,
        "departure_timeout": room.departure_timeout,
        "max_participants": room.max_participants,
        "participants": [_participant(p) for p in room.participants.values()],
        "dispatches": [MessageToDict(d) for d in room.dispatches.values()],
    }


def _participant(p: Participant) -> dict[str, Any]:
    return {
        "sid": p.sid,
        "identity": p.identity,
        "name": p.name,
        "metadata": p.metadata,
        "attributes": dict(p.attributes),
        "kind": models_pb.ParticipantInfo.Kind.Name(p.kind),  # type: ignore[arg-type]
        "state": models_pb.ParticipantInfo.State.Name(p.state),  # type: ignore[arg-type]
        "joined_at_ms": p.joined_at_ms,
        "version": p.version,
        "tracks": [MessageToDict(p.track)] if p.track is not None else [],
        "sip_call_id": p.call.sip_call_id if p.call else None,
        "sip": call_record(p.call) if p.call else None,
    }


def _trunk_id(t: Any) -> str:
    return str(t.sip_trunk_id)
