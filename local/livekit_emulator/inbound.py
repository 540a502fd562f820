"""The simulated inbound SIP call: a caller dials one of the project's numbers (``POST /_emulator/inbound``).

As LiveKit's SIP service does (livekit/protocol sip/sip.go: ``MatchTrunkDetailed``, ``MatchDispatchRuleIter``,
``EvaluateDispatchRule``; livekit/sip pkg/sip/inbound.go): the inbound trunk is chosen by the called number (a trunk
with no numbers is the default), after its allowed numbers and addresses; the dispatch rule among those of that
trunk (or of no trunk), filtered by called and calling numbers and PIN, by priority; its room is named by its type
(direct: the room; individual: prefix, caller, random; callee: prefix, callee, random if asked); the rule's agents
are dispatched into it; the caller joins as a SIP participant, ringing, with the rule's metadata and attributes and
the ``sip.*`` ones (the caller's number left out, its identity hashed, when the rule hides it); its audio track is
published at once. The call is answered when the dispatched agent joins (``answer_after_ms`` later): the attribute
becomes ``active``. The caller hangs up after ``talk_ms`` or through ``POST /_emulator/hangup``; the agent leaves
with it. A call that matches nothing is rejected (SIP 404) and recorded as such; no room is made.

Every function here is called with ``Runtime.lock`` held.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb
from livekit.protocol import sip as sip_pb

from . import calls, ids, rooms
from .model import (
    ATTR_CALL_ID,
    ATTR_CALL_STATUS,
    ATTR_HOSTNAME,
    ATTR_PHONE_NUMBER,
    ATTR_TRUNK_ID,
    ATTR_TRUNK_NUMBER,
    Call,
    Outcome,
    Participant,
    Room,
    now_ms,
)
from .runtime import Runtime
from .validation import normalize_number

ATTR_RULE_ID = "sip.ruleID"
DR = models_pb.DisconnectReason
DEFAULT_ANSWER_AFTER_MS = 200
DEFAULT_RINGING_TIMEOUT = 180.0  # livekit/sip defaultRingingTimeout
MAX_CALL_DURATION = 24 * 3600.0  # livekit/sip maxCallDuration


class Rejected(Exception):
    """LiveKit answered the INVITE with a final error: nothing joins any room."""

    def __init__(self, reason: str, sip_status_code: int, sip_status: str) -> None:
        super().__init__(sip_status)
        self.reason = reason
        self.sip_status_code = sip_status_code
        self.sip_status = sip_status


def place(
    rt: Runtime,
    *,
    caller: str,
    called: str,
    source_ip: str = "",
    caller_host: str = "",
    pin: str = "",
    answer_after_ms: int | None = None,
    talk_ms: int | None = None,
) -> dict[str, Any]:
    """An inbound call: what happened to it, as ``/_emulator/state`` lists it under ``inbound``."""
    attempt: dict[str, Any] = {"from": caller, "to": called, "source_ip": source_ip, "at_ms": now_ms()}
    try:
        trunk = match_trunk(list(rt.state.inbound_trunks.values()), caller, called, source_ip, caller_host)
        rule = match_rule(list(rt.state.dispatch_rules.values()), trunk, caller, called, pin)
        _, rule_pin = _room_and_pin(rule)
        if rule_pin and pin != rule_pin:
            raise Rejected("pin_required", 404, "Does not match Trunks or Dispatch Rules")
    except Rejected as rejected:
        attempt.update(
            result="rejected",
            reason=rejected.reason,
            sip_status_code=rejected.sip_status_code,
            sip_status=rejected.sip_status,
        )
        rt.state.log_inbound(attempt)
        return attempt
    call = _accept(rt, trunk, rule, caller, called, caller_host, bool(rule_pin), answer_after_ms, talk_ms)
    attempt.update(
        result="accepted",
        sip_call_id=call.sip_call_id,
        room=call.room_name,
        identity=call.identity,
        trunk_id=trunk.sip_trunk_id if trunk else "",
        rule_id=rule.sip_dispatch_rule_id,
    )
    rt.state.log_inbound(attempt)
    return attempt


# ---------------------------------------------------------------- matching


def _numbers_match(number: str, allowed: list[str]) -> bool:
    if not allowed:
        return True
    norm = normalize_number(number)
    return any(number == a or norm == normalize_number(a) for a in allowed)


def _address_allowed(source_ip: str, host: str, masks: list[str]) -> bool:
    """livekit matchAddrMasks: an unknown source address, or no valid mask, allows the call."""
    try:
        ip = ipaddress.ip_address(source_ip)
    except ValueError:
        return True
    valid = [m for m in masks if m and not any(c in m for c in "()+*;, \t\n\r") and "://" not in m]
    if not valid:
        return True
    for mask in valid:
        if mask == host:
            return True
        try:
            if "/" in mask:
                if ip in ipaddress.ip_network(mask, strict=False):
                    return True
            elif ip == ipaddress.ip_address(mask.strip("[]")):
                return True
        except ValueError:
            continue
    return False


def match_trunk(
    trunks: list[sip_pb.SIPInboundTrunkInfo], caller: str, called: str, source_ip: str, host: str
) -> sip_pb.SIPInboundTrunkInfo | None:
    """The trunk for the called number (a trunk without numbers is the default); None when no trunk exists at all
    (the dispatch rules of no trunk may still take the call); rejected when trunks exist and none takes it."""
    if not trunks:
        return None
    called_norm = normalize_number(called)
    specific: sip_pb.SIPInboundTrunkInfo | None = None
    defaults: list[sip_pb.SIPInboundTrunkInfo] = []
    for trunk in sorted(trunks, key=lambda t: t.sip_trunk_id):
        if not _numbers_match(caller, list(trunk.allowed_numbers)):
            continue
        if not _address_allowed(source_ip, host, list(trunk.allowed_addresses)):
            continue
        if not trunk.numbers:
            defaults.append(trunk)
            continue
        if any(n == called or normalize_number(n) == called_norm for n in trunk.numbers):
            if specific is not None:
                raise Rejected("trunk_conflict", 500, f"Multiple SIP Trunks matched for {called!r}")
            specific = trunk
    if specific is not None:
        return specific
    if len(defaults) > 1:
        raise Rejected("trunk_conflict", 500, f"Multiple default SIP Trunks matched for {called!r}")
    if defaults:
        return defaults[0]
    raise Rejected("no_trunk", 404, "No trunk found")


def _room_and_pin(rule: sip_pb.SIPDispatchRuleInfo) -> tuple[str, str]:
    kind = rule.rule.WhichOneof("rule")
    if kind == "dispatch_rule_direct":
        return rule.rule.dispatch_rule_direct.room_name, rule.rule.dispatch_rule_direct.pin
    if kind == "dispatch_rule_individual":
        return rule.rule.dispatch_rule_individual.room_prefix, rule.rule.dispatch_rule_individual.pin
    if kind == "dispatch_rule_callee":
        return rule.rule.dispatch_rule_callee.room_prefix, rule.rule.dispatch_rule_callee.pin
    raise ValueError(f"unsupported SIP Dispatch Rule: {kind}")


def _priority(rule: sip_pb.SIPDispatchRuleInfo) -> tuple[int, str]:
    """livekit DispatchRulePriority (lower first), then the room for a predictable order."""
    kind = rule.rule.WhichOneof("rule")
    room, pin = _room_and_pin(rule)
    base = {"dispatch_rule_direct": 0, "dispatch_rule_individual": 1, "dispatch_rule_callee": 2}[str(kind)]
    priority = base + (0 if pin else 100)
    priority += 1000 if not rule.inbound_numbers else 0
    priority += 1000 if not rule.numbers else 0
    return priority, room


def match_rule(
    rules: list[sip_pb.SIPDispatchRuleInfo],
    trunk: sip_pb.SIPInboundTrunkInfo | None,
    caller: str,
    called: str,
    pin: str,
) -> sip_pb.SIPDispatchRuleInfo:
    """The rule of the trunk with the highest priority, else the best of the rules of no trunk."""
    specific: list[sip_pb.SIPDispatchRuleInfo] = []
    default: list[sip_pb.SIPDispatchRuleInfo] = []
    for rule in rules:
        if rule.inbound_numbers and caller not in rule.inbound_numbers:
            continue
        if rule.numbers and called not in rule.numbers:
            continue
        try:
            _, rule_pin = _room_and_pin(rule)
        except ValueError:
            continue
        if pin and rule_pin != pin:  # a PIN sent selects the rules that ask for it
            continue
        if not rule.trunk_ids:
            default.append(rule)
        elif trunk is not None and trunk.sip_trunk_id in rule.trunk_ids:
            specific.append(rule)
    for candidates in (specific, default):
        if candidates:
            return min(candidates, key=_priority)
    raise Rejected("no_dispatch_rule", 404, "Does not match Trunks or Dispatch Rules")


# ---------------------------------------------------------------- the accepted call


def _room_name(rule: sip_pb.SIPDispatchRuleInfo, caller: str, called: str) -> str:
    kind = rule.rule.WhichOneof("rule")
    if kind == "dispatch_rule_individual":
        individual = rule.rule.dispatch_rule_individual
        room = f"{individual.room_prefix}_{caller}" if individual.room_prefix else caller
        return room if individual.no_randomness else room + "_" + ids.new_id("")
    if kind == "dispatch_rule_callee":
        callee = rule.rule.dispatch_rule_callee
        room = f"{callee.room_prefix}_{called}" if callee.room_prefix else called
        return room + "_" + ids.new_id("") if callee.randomize else room
    return rule.rule.dispatch_rule_direct.room_name


def _accept(
    rt: Runtime,
    trunk: sip_pb.SIPInboundTrunkInfo | None,
    rule: sip_pb.SIPDispatchRuleInfo,
    caller: str,
    called: str,
    host: str,
    pin_prompt: bool,
    answer_after_ms: int | None,
    talk_ms: int | None,
) -> Call:
    call_id = ids.new_id(ids.SIP_CALL)
    trunk_id = trunk.sip_trunk_id if trunk is not None else ""
    attrs = dict(rule.attributes)
    attrs[ATTR_CALL_ID] = call_id
    attrs[ATTR_TRUNK_ID] = trunk_id
    shown = caller
    identity = "sip_" + caller
    if rule.hide_phone_number:
        identity = "sip_" + hashlib.sha256(caller.encode()).digest()[:8].hex()
        shown = caller[-4:] if len(caller) > 4 else caller[-1:]
    else:
        attrs[ATTR_PHONE_NUMBER] = caller
        attrs[ATTR_HOSTNAME] = host
        attrs[ATTR_TRUNK_NUMBER] = called
    attrs[ATTR_RULE_ID] = rule.sip_dispatch_rule_id
    status = "active" if pin_prompt else "ringing"
    attrs[ATTR_CALL_STATUS] = status

    config = rule.room_config
    request = room_pb.CreateRoomRequest(
        name=_room_name(rule, shown, called),  # LiveKit names an individual room after the caller as shown
        empty_timeout=config.empty_timeout,
        departure_timeout=config.departure_timeout,
        max_participants=config.max_participants,
        metadata=config.metadata,
    )
    request.agents.extend(config.agents)
    room, _ = rooms.ensure_room(rt, request.name, request)
    participant = Participant(
        sid=ids.new_id(ids.PARTICIPANT),
        identity=identity,
        name="Phone " + shown,
        metadata=rule.metadata,
        attributes=attrs,
        kind=models_pb.ParticipantInfo.Kind.SIP,
    )
    info = sip_pb.SIPCallInfo(
        call_id=call_id,
        trunk_id=trunk_id,
        dispatch_rule_id=rule.sip_dispatch_rule_id,
        room_name=room.name,
        participant_identity=identity,
        call_direction=sip_pb.SIPCallDirection.SCD_INBOUND,
    )
    ringing = trunk.ringing_timeout.seconds if trunk is not None and trunk.HasField("ringing_timeout") else 0
    longest = trunk.max_call_duration.seconds if trunk is not None and trunk.HasField("max_call_duration") else 0
    call = Call(
        sip_call_id=call_id,
        room_name=room.name,
        identity=identity,
        participant_sid=participant.sid,
        outcome=Outcome("answer", answer_after_ms, talk_ms),
        wait=False,
        record={
            "sip_call_id": call_id,
            "direction": "inbound",
            "participant_id": participant.sid,
            "identity": identity,
            "from": caller,
            "to": called,
            "status": status,
            "call_status": status,
            "created_at_ms": now_ms(),
        },
        request=info,
        ringing_timeout=float(ringing) or DEFAULT_RINGING_TIMEOUT,
        max_call_duration=float(longest) if 0 < longest < MAX_CALL_DURATION else MAX_CALL_DURATION,
        status=status,
        inbound=True,
    )
    participant.call = call
    rt.state.add_call(call)
    rooms.join(rt, room, participant)
    # livekit/sip publishes the caller's audio as soon as it joins, while the call still rings
    participant.track = models_pb.TrackInfo(
        sid=ids.new_id(ids.TRACK), type=models_pb.TrackType.AUDIO, name=identity, mime_type="audio/opus"
    )
    participant.version += 1
    rt.emit("track_published", room, participant.brief(), participant.track)
    _schedule(rt, call, room)
    return call


def _schedule(rt: Runtime, call: Call, room: Room) -> None:
    """The agent answers (if the rule dispatched one) or the ringing times out; then the caller's talk time."""

    def later(delay: float, fn: Any) -> None:
        def run() -> None:
            with rt.lock:
                if rt.state.is_live(call):
                    fn()

        call.timers.append(rt.scheduler.call_later(delay, run))

    answer_after = (call.outcome.after_ms if call.outcome.after_ms is not None else DEFAULT_ANSWER_AFTER_MS) / 1000.0
    if call.status == "active":
        _talk(rt, call, later)
    elif room.dispatches and answer_after < call.ringing_timeout:
        later(answer_after, lambda: _agent_answers(rt, call, later))
    else:  # nobody takes the call: LiveKit gives up when the ringing time is over
        later(call.ringing_timeout, lambda: _unanswered(rt, call))
    later(call.max_call_duration or MAX_CALL_DURATION, lambda: _max_duration(rt, call))


def _max_duration(rt: Runtime, call: Call) -> None:
    if call.status != "active":
        _unanswered(rt, call)
        return
    calls.hangup(rt, call, "max_call_duration")
    room = rt.state.rooms.get(call.room_name)
    if room is not None:
        _agents_leave(rt, room)


def _agent_answers(rt: Runtime, call: Call, later: Any) -> None:
    room = rt.state.rooms.get(call.room_name)
    if room is None:
        return
    for dispatch in list(room.dispatches.values()):
        agent = Participant(
            sid=ids.new_id(ids.PARTICIPANT),
            identity=f"agent-{dispatch.id}",
            name=dispatch.agent_name,
            metadata=dispatch.metadata,
            attributes={},
            kind=models_pb.ParticipantInfo.Kind.AGENT,
        )
        rooms.join(rt, room, agent)
    found = room.participants.get(call.identity)
    if found is None:
        return
    call.status = "active"
    call.record.update(status="active", call_status="active", answered_at_ms=now_ms(), result="answered")
    found.set_attributes({ATTR_CALL_STATUS: "active"})  # no webhook tells of this, as in LiveKit
    _talk(rt, call, later)


def _talk(rt: Runtime, call: Call, later: Any) -> None:
    if call.outcome.talk_ms is not None:
        later(call.outcome.talk_ms / 1000.0, lambda: caller_hangs_up(rt, call))


def _unanswered(rt: Runtime, call: Call) -> None:
    room = rt.state.rooms.get(call.room_name)
    p = room.participants.get(call.identity) if room is not None else None
    rt.state.end_call(call, result="no_answer", reason=DR.USER_UNAVAILABLE)
    if room is not None and p is not None:
        rooms.leave(rt, room, p, DR.USER_UNAVAILABLE)
        _agents_leave(rt, room)


def caller_hangs_up(rt: Runtime, call: Call) -> None:
    """The caller hangs up (BYE, or CANCEL while it rings): callStatus=hangup, CLIENT_INITIATED either way."""
    room = rt.state.rooms.get(call.room_name)
    p = room.participants.get(call.identity) if room is not None else None
    rt.state.end_call(call, result="caller_hangup", reason=DR.CLIENT_INITIATED)
    if room is not None and p is not None:
        rooms.leave(rt, room, p, DR.CLIENT_INITIATED, call_status="hangup")
        _agents_leave(rt, room)


def _agents_leave(rt: Runtime, room: Room) -> None:
    """An agent leaves once the SIP participant it served is gone (the agents framework's default)."""
    if any(p.kind == models_pb.ParticipantInfo.Kind.SIP for p in room.participants.values()):
        return
    for p in list(room.participants.values()):
        if p.kind == models_pb.ParticipantInfo.Kind.AGENT:
            rooms.leave(rt, room, p, DR.CLIENT_INITIATED)
