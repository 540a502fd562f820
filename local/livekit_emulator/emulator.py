"""The emulator: state, the emulated Twirp services and the control API."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.json_format import MessageToDict
from livekit.protocol import agent_dispatch as agent_dispatch_pb
from livekit.protocol import models as models_pb
from livekit.protocol import room as room_pb
from livekit.protocol import sip as sip_pb
from livekit.protocol import webhook as webhook_pb

from . import ids
from .auth import Grants
from .model import (
    ATTR_CALL_ID,
    ATTR_CALL_STATUS,
    ATTR_HOSTNAME,
    ATTR_PHONE_NUMBER,
    ATTR_TRUNK_ID,
    ATTR_TRUNK_NUMBER,
    DEFAULT_DEPARTURE_TIMEOUT,
    DEFAULT_EMPTY_TIMEOUT,
    Call,
    Fault,
    Outcome,
    Participant,
    Room,
    now_ms,
)
from .scheduler import Scheduler
from .sipcodes import RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG, UNAVAILABLE, SIPFailure, reason_phrase
from .twirp import HTTP_STATUS, TwirpError
from .validation import (
    InvalidArgument,
    PlainError,
    apply_dispatch_rule_update,
    apply_inbound_update,
    apply_outbound_update,
    filter_inbound,
    filter_outbound,
    filter_rules,
    normalize_number,
    validate_create_sip_participant,
    validate_dispatch_rule,
    validate_dispatch_rule_update,
    validate_dispatch_rules,
    validate_inbound_trunk,
    validate_inbound_update,
    validate_outbound_trunk,
    validate_outbound_update,
    validate_transfer,
    validate_trunks,
)
from .webhooks import WebhookSender, encode_event

log = logging.getLogger("livekit_emulator")

DEFAULT_API_KEY = "devkey"
# >= 32 bytes, as PyJWT recommends for HS256 keys
DEFAULT_API_SECRET = "devsecret-devsecret-devsecret-devsecret"  # noqa: S105 - local dev default  # nosec B105

OUTCOMES = ("answer", "busy", "no_answer", "reject", "fail")
# default SIP final responses of the failure outcomes
OUTCOME_SIP = {"busy": (486, "Busy Here"), "reject": (603, "Decline"), "fail": (503, "Service Unavailable")}
DEFAULT_AFTER_MS = 200
RING_DELAY_MS = 10  # 180 Ringing arrives this long after the INVITE (capped by after_ms)
SIP_DEFAULT_RINGING_TIMEOUT = 180.0  # livekit/sip defaultRingingTimeout
SIP_MAX_CALL_DURATION = 24 * 3600.0
WAIT_UNTIL_ANSWERED_TIMEOUT = 80.0  # livekit-server CreateSIPParticipant with wait_until_answered
MAX_EVENT_LOG = 10_000
MAX_CALL_LOG = 10_000

ERR_TRUNK_NOT_FOUND = "requested sip trunk does not exist"
ERR_RULE_NOT_FOUND = "requested sip dispatch rule does not exist"
ERR_ROOM_NOT_FOUND = "requested room does not exist"
ERR_PARTICIPANT_NOT_FOUND = "participant does not exist"

DR = models_pb.DisconnectReason
SIP_KIND = models_pb.ParticipantInfo.Kind.SIP
STANDARD_KIND = models_pb.ParticipantInfo.Kind.STANDARD
DISCONNECTED = models_pb.ParticipantInfo.State.DISCONNECTED


def _as_twirp(exc: Exception, wrap: bool) -> TwirpError:
    """How an error reaches the Twirp boundary.

    ``wrap``: the handler wrapped it as ``twirp.NewError(InvalidArgument, err.Error())``;
    otherwise a plain Go error becomes ``unknown`` (HTTP 500) and a psrpc one keeps its code.
    """
    if isinstance(exc, TwirpError):
        return exc
    if wrap or isinstance(exc, InvalidArgument):
        return TwirpError("invalid_argument", str(exc))
    return TwirpError("unknown", str(exc))


def _duration_seconds(msg: Any, name: str) -> float | None:
    if not msg.HasField(name):
        return None
    d = getattr(msg, name)
    return d.seconds + d.nanos / 1e9


class Emulator:
    """A LiveKit server emulator (Twirp API + SIP call simulation + webhooks).

    ``start()`` serves it in a background thread; all state sits behind one lock.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        webhook_url: str | None = None,
        *,
        departure_timeout: float = 0.0,
        transfer_hangup_delay: float = 0.1,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.webhook_url = webhook_url
        # How long an emptied room lingers before room_finished (LiveKit: departure_timeout, 20 s).
        self.departure_timeout = departure_timeout
        # After a successful transfer the SIP participant leaves this much later (peer BYE).
        self.transfer_hangup_delay = transfer_hangup_delay
        self._defaults = (departure_timeout, transfer_hangup_delay)
        self._lock = threading.RLock()
        self._scheduler = Scheduler()
        self._webhooks = WebhookSender(api_key, api_secret)
        self._server: Any = None
        self._stopped = False
        self.url: str | None = None
        self._clear()

    # ------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Emulator:
        from .server import EmulatorHTTPServer

        if self._server is not None:
            raise RuntimeError("emulator already started")
        if self._stopped:
            raise RuntimeError("a stopped emulator cannot be started again; create a new one")
        self._server = EmulatorHTTPServer(self, host, port)
        self._server.serve_in_background()
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        return self

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._stopped = True
        with self._lock:
            self._release_waiters(TwirpError("unavailable", "server is closed"))
        self._scheduler.stop()
        self._webhooks.stop()
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forgets everything: trunks, rules, rooms, calls, transfers, outcomes, faults, events."""
        with self._lock:
            self._release_waiters(TwirpError("canceled", "emulator reset"))
            self._scheduler.cancel_all()
            self._webhooks.reset()
            self._clear()
            self.departure_timeout, self.transfer_hangup_delay = self._defaults

    def flush_webhooks(self, timeout: float = 5.0) -> bool:
        """Waits until every webhook queued so far was delivered (or dropped)."""
        return self._webhooks.flush(timeout)

    def _clear(self) -> None:
        self._inbound: dict[str, sip_pb.SIPInboundTrunkInfo] = {}
        self._outbound: dict[str, sip_pb.SIPOutboundTrunkInfo] = {}
        self._rules: dict[str, sip_pb.SIPDispatchRuleInfo] = {}
        self._rooms: dict[str, Room] = {}
        self._calls: dict[str, Call] = {}
        self._call_log: list[Call] = []
        self._transfers: list[dict[str, Any]] = []
        self._outcomes: dict[str, list[Outcome]] = {}
        self._faults: dict[str, list[Fault]] = {}
        self._counts: dict[str, int] = {}
        self._events: list[dict[str, Any]] = []

    def _release_waiters(self, error: TwirpError) -> None:
        for call in self._calls.values():
            call.cancel_timers()
            call.finish(error)

    # ------------------------------------------------------------------ control API

    def set_outcome(
        self,
        number: str,
        outcome: str,
        *,
        after_ms: int | None = None,
        talk_ms: int | None = None,
        sip_code: int | None = None,
        sip_status: str | None = None,
        times: int | None = None,
    ) -> Outcome:
        """How ``number`` (``"*"``: any number without its own setting) behaves when dialled."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
        for name, value in (("after_ms", after_ms), ("talk_ms", talk_ms), ("times", times)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a non-negative integer")
        if times == 0:
            raise ValueError("times must be at least 1")
        if sip_code is not None:
            if outcome in ("answer", "no_answer"):
                raise ValueError("sip_code only applies to busy, reject and fail")
            if not isinstance(sip_code, int) or not 300 <= sip_code <= 699:
                raise ValueError("sip_code must be a final non-2xx SIP status (300-699)")
        if not number:
            raise ValueError("number is required")
        spec = Outcome(outcome, after_ms, talk_ms, sip_code, sip_status, times)
        with self._lock:
            entries = self._outcomes.setdefault(number, [])
            if times is None:
                entries[:] = [e for e in entries if e.times is not None]
                entries.append(spec)
            else:
                # one-shot outcomes are consumed in the order they were added, before the persistent one
                pos = next((i for i, e in enumerate(entries) if e.times is None), len(entries))
                entries.insert(pos, spec)
        return spec

    def add_fault(
        self,
        method: str,
        code: str,
        *,
        times: int = 1,
        msg: str | None = None,
        meta: dict[str, str] | None = None,
        delay_ms: int = 0,
    ) -> Fault:
        """The next ``times`` calls of ``method`` fail with Twirp error ``code``, before any state change."""
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown twirp code {code!r}")
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ValueError("times must be a positive integer")
        if not method:
            raise ValueError("method is required")
        fault = Fault(code, times, msg if msg is not None else f"injected {code} fault", dict(meta or {}), delay_ms)
        with self._lock:
            self._faults.setdefault(method, []).append(fault)
        return fault

    def hangup(self, room: str, identity: str | None = None) -> int:
        """The callee hangs up now. Returns how many calls were affected."""
        with self._lock:
            r = self._rooms.get(room)
            if r is None:
                return 0
            calls = [
                p.call
                for p in list(r.participants.values())
                if p.call is not None and p.call.status != "ended" and (identity is None or p.identity == identity)
            ]
            for call in calls:
                self._callee_hangup(call)
            return len(calls)

    def configure(self, *, departure_timeout: float | None = None, transfer_hangup_delay: float | None = None) -> None:
        """Changes timing settings until the next reset (which restores the constructor's values)."""
        for name, value in (("departure_timeout", departure_timeout), ("transfer_hangup_delay", transfer_hangup_delay)):
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a non-negative number")
        with self._lock:
            if departure_timeout is not None:
                self.departure_timeout = float(departure_timeout)
            if transfer_hangup_delay is not None:
                self.transfer_hangup_delay = float(transfer_hangup_delay)

    def take_fault(self, method: str) -> Fault | None:
        with self._lock:
            faults = self._faults.get(method)
            if not faults:
                return None
            fault = faults[0]
            fault.times -= 1
            if fault.times <= 0:
                faults.pop(0)
            if not faults:
                del self._faults[method]
            return Fault(fault.code, 0, fault.msg, dict(fault.meta), fault.delay_ms)

    def count(self, method: str) -> None:
        with self._lock:
            self._counts[method] = self._counts.get(method, 0) + 1

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "inbound_trunks": [MessageToDict(t) for t in sorted(self._inbound.values(), key=_trunk_id)],
                "outbound_trunks": [MessageToDict(t) for t in sorted(self._outbound.values(), key=_trunk_id)],
                "dispatch_rules": [
                    MessageToDict(r) for r in sorted(self._rules.values(), key=lambda r: r.sip_dispatch_rule_id)
                ],
                "rooms": [self._room_state(r) for r in self._rooms.values()],
                "dispatches": [MessageToDict(d) for r in self._rooms.values() for d in r.dispatches.values()],
                "transfers": [dict(t) for t in self._transfers],
                "calls": [_call_state(c) for c in self._call_log],
                "events": [dict(e) for e in self._events],
                "webhook_url": self.webhook_url,
                "config": {
                    "departure_timeout_ms": int(self.departure_timeout * 1000),
                    "transfer_hangup_ms": int(self.transfer_hangup_delay * 1000),
                },
                "webhooks_sent": self._webhooks.sent,
                "webhooks_failed": self._webhooks.failed,
                "outcomes": {n: [o.as_dict() for o in lst] for n, lst in self._outcomes.items()},
                "faults": {m: [f.as_dict() for f in lst] for m, lst in self._faults.items()},
                "counts": dict(self._counts),
            }

    def _room_state(self, room: Room) -> dict[str, Any]:
        return {
            "name": room.name,
            "sid": room.sid,
            "metadata": room.metadata,
            "created_at_ms": room.created_at_ms,
            "empty_timeout": room.empty_timeout,
            "departure_timeout": room.departure_timeout,
            "max_participants": room.max_participants,
            "participants": [self._participant_state(p) for p in room.participants.values()],
            "dispatches": [MessageToDict(d) for d in room.dispatches.values()],
        }

    def _participant_state(self, p: Participant) -> dict[str, Any]:
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
            "sip": _call_state(p.call) if p.call else None,
        }

    # ------------------------------------------------------------------ webhooks

    def _emit(
        self,
        event: str,
        room: Room,
        participant: models_pb.ParticipantInfo | None = None,
        track: models_pb.TrackInfo | None = None,
    ) -> None:
        ev = webhook_pb.WebhookEvent(event=event, id=ids.new_id(ids.WEBHOOK_EVENT), created_at=int(time.time()))
        ev.room.CopyFrom(room.to_proto())
        if participant is not None:
            ev.participant.CopyFrom(participant)
        if track is not None:
            ev.track.CopyFrom(track)
        summary: dict[str, Any] = {
            "id": ev.id,
            "event": event,
            "room": room.name,
            "room_sid": room.sid,
            "created_at": ev.created_at,
        }
        if participant is not None:
            summary["participant_identity"] = participant.identity
            summary["participant_sid"] = participant.sid
            if event == "participant_left":
                summary["disconnect_reason"] = DR.Name(participant.disconnect_reason)
            if ATTR_CALL_STATUS in participant.attributes:
                summary["call_status"] = participant.attributes[ATTR_CALL_STATUS]
        if track is not None:
            summary["track_sid"] = track.sid
        self._events.append(summary)
        if len(self._events) > MAX_EVENT_LOG:
            del self._events[: len(self._events) - MAX_EVENT_LOG]
        url = self.webhook_url
        if url:
            self._webhooks.enqueue(url, encode_event(ev))

    # ------------------------------------------------------------------ rooms

    def _ensure_room(self, name: str, req: room_pb.CreateRoomRequest | None = None) -> tuple[Room, bool]:
        room = self._rooms.get(name)
        if room is not None:
            return room, False
        room = Room(sid=ids.new_id(ids.ROOM), name=name)
        if req is not None:
            room.empty_timeout = req.empty_timeout or DEFAULT_EMPTY_TIMEOUT
            room.departure_timeout = req.departure_timeout or DEFAULT_DEPARTURE_TIMEOUT
            room.max_participants = req.max_participants
            room.metadata = req.metadata
        self._rooms[name] = room
        self._emit("room_started", room)
        if req is not None:
            for agent in req.agents:
                self._add_dispatch(
                    room,
                    agent_name=agent.agent_name,
                    metadata=agent.metadata,
                    attributes=dict(agent.attributes),
                    restart_policy=agent.restart_policy,
                    deployment=agent.deployment,
                )
        return room, True

    def _add_dispatch(self, room: Room, **fields: Any) -> agent_dispatch_pb.AgentDispatch:
        attributes = fields.pop("attributes", {})
        dispatch = agent_dispatch_pb.AgentDispatch(id=ids.new_id(ids.AGENT_DISPATCH), room=room.name, **fields)
        dispatch.attributes.update(attributes)
        dispatch.state.created_at = time.time_ns()
        room.dispatches[dispatch.id] = dispatch
        return dispatch

    def _join(self, room: Room, participant: Participant) -> None:
        if room.finish_timer is not None:
            room.finish_timer.cancel()
            room.finish_timer = None
        old = room.participants.get(participant.identity)
        if old is not None:
            self._leave(room, old, DR.DUPLICATE_IDENTITY, finish_room=False)
        room.participants[participant.identity] = participant
        self._emit("participant_joined", room, participant.to_proto())

    def _leave(
        self,
        room: Room,
        p: Participant,
        reason: int,
        *,
        call_status: str | None = None,
        finish_room: bool = True,
    ) -> None:
        """A participant leaves: track_unpublished (if it published), then participant_left."""
        if room.participants.get(p.identity) is not p:
            return
        if call_status is not None:
            p.set_attributes({ATTR_CALL_STATUS: call_status})
            if p.call is not None:
                p.call.record["call_status"] = call_status
        if p.track is not None:
            self._emit("track_unpublished", room, p.brief(), p.track)
        del room.participants[p.identity]
        p.state = DISCONNECTED
        p.disconnect_reason = reason
        self._emit("participant_left", room, p.to_proto())
        call = p.call
        if call is not None and call.status != "ended":
            if call.status == "active":
                self._end_call(call, result=DR.Name(reason).lower(), reason=reason)  # type: ignore[arg-type]
            else:
                # The SIP bridge sees its room connection close: the dial in progress is aborted.
                error = TwirpError(RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG)
                self._end_call(call, result="aborted", reason=reason, error=error)
                call.finish(error)
        if finish_room and not room.participants:
            self._schedule_room_finish(room)

    def _schedule_room_finish(self, room: Room) -> None:
        if self.departure_timeout <= 0:
            self._finish_room(room)
            return

        def fire() -> None:
            with self._lock:
                if self._rooms.get(room.name) is room and not room.participants:
                    self._finish_room(room)

        if room.finish_timer is not None:
            room.finish_timer.cancel()
        room.finish_timer = self._scheduler.call_later(self.departure_timeout, fire)

    def _finish_room(self, room: Room) -> None:
        if self._rooms.get(room.name) is not room:
            return
        if room.finish_timer is not None:
            room.finish_timer.cancel()
            room.finish_timer = None
        del self._rooms[room.name]
        self._emit("room_finished", room)

    # ------------------------------------------------------------------ SIP calls

    def _resolve_outcome(self, number: str) -> Outcome:
        normalized = normalize_number(number)
        keys = [number] + [k for k in self._outcomes if k != number and normalize_number(k) == normalized]
        keys.append("*")
        for key in keys:
            entries = self._outcomes.get(key)
            if not entries:
                continue
            spec = entries[0]
            if spec.times is not None:
                spec.times -= 1
                if spec.times <= 0:
                    entries.pop(0)
                    if not entries:
                        del self._outcomes[key]
            return Outcome(spec.kind, spec.after_ms, spec.talk_ms, spec.sip_code, spec.sip_status, None)
        return Outcome("answer")

    def _start_call(self, call: Call) -> None:
        """Schedules ringing and the outcome; called with the lock held, right after the join."""
        outcome = call.outcome
        after = (outcome.after_ms if outcome.after_ms is not None else DEFAULT_AFTER_MS) / 1000.0
        if outcome.kind == "no_answer" and outcome.after_ms is None:
            after = call.ringing_timeout
        ring_at = min(RING_DELAY_MS / 1000.0, after / 2)

        def later(delay: float, fn: Callable[[], None]) -> None:
            def run() -> None:
                with self._lock:
                    if self._calls.get(call.sip_call_id) is call and call.status != "ended":
                        fn()

            call.timers.append(self._scheduler.call_later(delay, run))

        later(ring_at, lambda: self._ringing(call))
        if outcome.kind == "no_answer":
            later(min(after, call.ringing_timeout), lambda: self._no_answer(call))
        elif call.ringing_timeout < after:
            later(call.ringing_timeout, lambda: self._no_answer(call))
        elif outcome.kind == "answer":
            later(after, lambda: self._answer(call))
        else:
            code, status = OUTCOME_SIP[outcome.kind]
            if outcome.sip_code is not None:
                code = outcome.sip_code
                status = outcome.sip_status if outcome.sip_status is not None else reason_phrase(code)
            elif outcome.sip_status is not None:
                status = outcome.sip_status
            failure = SIPFailure(code, status)
            later(after, lambda: self._fail(call, failure))
        if call.max_call_duration is not None:
            later(call.max_call_duration, lambda: self._max_duration(call))

    def _participant_of(self, call: Call) -> tuple[Room, Participant] | None:
        room = self._rooms.get(call.room_name)
        if room is None:
            return None
        p = room.participants.get(call.identity)
        if p is None or p.call is not call:
            return None
        return room, p

    def _set_call_status(self, call: Call, status: str) -> None:
        call.status = status
        call.record["status"] = status
        found = self._participant_of(call)
        if found is not None:
            found[1].set_attributes({ATTR_CALL_STATUS: status})
            call.record["call_status"] = status

    def _ringing(self, call: Call) -> None:
        if call.status == "dialing":
            self._set_call_status(call, "ringing")

    def _answer(self, call: Call) -> None:
        found = self._participant_of(call)
        if found is None:
            return
        room, p = found
        self._set_call_status(call, "active")
        call.record["answered_at_ms"] = now_ms()
        call.record["result"] = "answered"
        # Media flows: the SIP participant's audio track reaches the server.
        p.track = models_pb.TrackInfo(
            sid=ids.new_id(ids.TRACK),
            type=models_pb.TrackType.AUDIO,
            name=p.identity,
            mime_type="audio/opus",
        )
        p.version += 1
        self._emit("track_published", room, p.brief(), p.track)
        call.finish(None)
        talk_ms = call.outcome.talk_ms
        if talk_ms is not None:

            def hang() -> None:
                with self._lock:
                    if self._calls.get(call.sip_call_id) is call and call.status == "active":
                        self._callee_hangup(call)

            call.timers.append(self._scheduler.call_later(talk_ms / 1000.0, hang))

    def _end_call(
        self,
        call: Call,
        *,
        result: str,
        reason: int,
        failure: SIPFailure | None = None,
        error: TwirpError | None = None,
    ) -> None:
        call.status = "ended"
        call.cancel_timers()
        self._calls.pop(call.sip_call_id, None)
        rec = call.record
        rec["status"] = "ended"
        rec["ended_at_ms"] = now_ms()
        if rec.get("result") == "answered":
            rec["end"] = result
        else:
            rec["result"] = result
        rec["disconnect_reason"] = DR.Name(reason)  # type: ignore[arg-type]
        if failure is not None:
            rec["sip_status_code"] = failure.code
            rec["sip_status"] = failure.status
        if error is not None:
            rec["error"] = {"code": error.code, "msg": error.msg, "meta": dict(error.meta)}

    def _fail(self, call: Call, failure: SIPFailure) -> None:
        """The callee answered the INVITE with a final error response."""
        reason = DR.Value(failure.disconnect_reason)
        error = failure.error()
        self._end_call(call, result=_failure_result(failure.code), reason=reason, failure=failure, error=error)
        call.finish(error)
        found = self._participant_of(call)
        if found is not None:
            self._leave(found[0], found[1], reason)

    def _no_answer(self, call: Call) -> None:
        """ringing_timeout expired: LiveKit cancels the INVITE."""
        reason = DR.Value(UNAVAILABLE)
        error = TwirpError(RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG)
        self._end_call(call, result="no_answer", reason=reason, error=error)
        call.finish(error)
        found = self._participant_of(call)
        if found is not None:
            self._leave(found[0], found[1], reason)

    def _callee_hangup(self, call: Call) -> None:
        if call.status in ("dialing", "ringing"):
            # hanging up a ringing phone is declining the call
            self._fail(call, SIPFailure(603, "Decline"))
            return
        if call.status != "active":
            return
        self._hangup(call, "hangup")

    def _hangup(self, call: Call, end: str) -> None:
        """The call ends normally (BYE): callStatus=hangup, disconnect reason CLIENT_INITIATED."""
        found = self._participant_of(call)
        self._end_call(call, result=end, reason=DR.CLIENT_INITIATED)
        if found is not None:
            self._leave(found[0], found[1], DR.CLIENT_INITIATED, call_status="hangup")

    def _max_duration(self, call: Call) -> None:
        if call.status == "active":
            self._hangup(call, "max_call_duration")
        else:
            self._no_answer(call)

    # ------------------------------------------------------------------ Twirp dispatch

    def handler_for(self, service: str, method: str) -> Callable[[Grants, Any], Any] | None:
        return getattr(self, f"_rpc_{service}_{method}", None)

    # ---- SIP: trunks

    def _rpc_SIP_CreateSIPInboundTrunk(
        self, g: Grants, req: sip_pb.CreateSIPInboundTrunkRequest
    ) -> sip_pb.SIPInboundTrunkInfo:
        g.ensure_sip_admin()
        if not req.HasField("trunk"):
            raise TwirpError("invalid_argument", "missing trunk")
        if req.trunk.sip_trunk_id:
            raise TwirpError("invalid_argument", "trunk id must not be set")
        try:
            validate_inbound_trunk(req.trunk)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        info = sip_pb.SIPInboundTrunkInfo()
        info.CopyFrom(req.trunk)
        with self._lock:
            listed = filter_inbound(
                list(self._inbound.values()), sip_pb.ListSIPInboundTrunkRequest(numbers=req.trunk.numbers)
            )
            validate_trunks([*listed, info])
            info.sip_trunk_id = ids.new_id(ids.SIP_TRUNK)
            self._inbound[info.sip_trunk_id] = info
            return _clone(info)

    def _rpc_SIP_CreateSIPOutboundTrunk(
        self, g: Grants, req: sip_pb.CreateSIPOutboundTrunkRequest
    ) -> sip_pb.SIPOutboundTrunkInfo:
        g.ensure_sip_admin()
        if not req.HasField("trunk"):
            raise TwirpError("invalid_argument", "missing trunk")
        if req.trunk.sip_trunk_id:
            raise TwirpError("invalid_argument", "trunk id must not be set")
        try:
            validate_outbound_trunk(req.trunk)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        info = sip_pb.SIPOutboundTrunkInfo()
        info.CopyFrom(req.trunk)
        with self._lock:
            info.sip_trunk_id = ids.new_id(ids.SIP_TRUNK)
            self._outbound[info.sip_trunk_id] = info
            return _clone(info)

    def _rpc_SIP_UpdateSIPInboundTrunk(
        self, g: Grants, req: sip_pb.UpdateSIPInboundTrunkRequest
    ) -> sip_pb.SIPInboundTrunkInfo:
        def no_conflict(info: sip_pb.SIPInboundTrunkInfo) -> None:  # called under the lock
            listed = filter_inbound(
                list(self._inbound.values()), sip_pb.ListSIPInboundTrunkRequest(numbers=info.numbers)
            )
            validate_trunks([info if t.sip_trunk_id == req.sip_trunk_id else t for t in listed])

        g.ensure_sip_admin()
        return self._update_trunk(
            req,
            self._inbound,
            sip_pb.SIPInboundTrunkInfo,
            validate_inbound_trunk,
            validate_inbound_update,
            apply_inbound_update,
            no_conflict,
        )

    def _rpc_SIP_UpdateSIPOutboundTrunk(
        self, g: Grants, req: sip_pb.UpdateSIPOutboundTrunkRequest
    ) -> sip_pb.SIPOutboundTrunkInfo:
        g.ensure_sip_admin()
        return self._update_trunk(
            req,
            self._outbound,
            sip_pb.SIPOutboundTrunkInfo,
            validate_outbound_trunk,
            validate_outbound_update,
            apply_outbound_update,
            None,
        )

    def _update_trunk(
        self,
        req: Any,
        store: dict[str, Any],
        info_type: Any,
        validate: Callable[[Any], None],
        validate_update: Callable[[Any], None],
        apply_update: Callable[[Any, Any], None],
        check: Callable[[Any], None] | None,
    ) -> Any:
        """UpdateSIPInboundTrunk / UpdateSIPOutboundTrunk: `replace` the whole trunk or apply an `update`."""
        action = req.WhichOneof("action")
        try:
            if not req.sip_trunk_id:
                raise PlainError("trunk id must be set")
            if action is None:
                raise PlainError("missing or unsupported update action")
            if action == "replace":
                if req.replace.sip_trunk_id and req.replace.sip_trunk_id != req.sip_trunk_id:
                    raise PlainError("trunk id in the info must be empty or match the id in the update")
                validate(req.replace)
            else:
                validate_update(req.update)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        with self._lock:
            current = store.get(req.sip_trunk_id)
            if current is None:
                raise TwirpError("not_found", ERR_TRUNK_NOT_FOUND)
            info = info_type()
            if action == "replace":
                info.CopyFrom(req.replace)
                info.sip_trunk_id = current.sip_trunk_id
            else:
                info.CopyFrom(current)
                apply_update(info, req.update)
                try:
                    validate(info)
                except (PlainError, InvalidArgument) as e:
                    raise _as_twirp(e, wrap=False) from None
            if check is not None:
                check(info)
            store[info.sip_trunk_id] = info
            return _clone(info)

    def _rpc_SIP_GetSIPInboundTrunk(
        self, g: Grants, req: sip_pb.GetSIPInboundTrunkRequest
    ) -> sip_pb.GetSIPInboundTrunkResponse:
        g.ensure_sip_admin()
        if not req.sip_trunk_id:
            raise TwirpError("invalid_argument", "trunk ID is required")
        with self._lock:
            trunk = self._inbound.get(req.sip_trunk_id)
            if trunk is None:
                raise TwirpError("not_found", ERR_TRUNK_NOT_FOUND)
            return sip_pb.GetSIPInboundTrunkResponse(trunk=trunk)

    def _rpc_SIP_GetSIPOutboundTrunk(
        self, g: Grants, req: sip_pb.GetSIPOutboundTrunkRequest
    ) -> sip_pb.GetSIPOutboundTrunkResponse:
        g.ensure_sip_admin()
        if not req.sip_trunk_id:
            raise TwirpError("invalid_argument", "trunk ID is required")
        with self._lock:
            trunk = self._outbound.get(req.sip_trunk_id)
            if trunk is None:
                raise TwirpError("not_found", ERR_TRUNK_NOT_FOUND)
            return sip_pb.GetSIPOutboundTrunkResponse(trunk=trunk)

    def _rpc_SIP_ListSIPInboundTrunk(
        self, g: Grants, req: sip_pb.ListSIPInboundTrunkRequest
    ) -> sip_pb.ListSIPInboundTrunkResponse:
        g.ensure_sip_admin()
        with self._lock:
            return sip_pb.ListSIPInboundTrunkResponse(items=filter_inbound(list(self._inbound.values()), req))

    def _rpc_SIP_ListSIPOutboundTrunk(
        self, g: Grants, req: sip_pb.ListSIPOutboundTrunkRequest
    ) -> sip_pb.ListSIPOutboundTrunkResponse:
        g.ensure_sip_admin()
        with self._lock:
            return sip_pb.ListSIPOutboundTrunkResponse(items=filter_outbound(list(self._outbound.values()), req))

    def _rpc_SIP_ListSIPTrunk(self, g: Grants, req: sip_pb.ListSIPTrunkRequest) -> sip_pb.ListSIPTrunkResponse:
        """Deprecated legacy listing: every trunk converted to SIPTrunkInfo."""
        g.ensure_sip_admin()
        with self._lock:
            items = [_inbound_as_legacy(t) for t in self._inbound.values()]
            items += [_outbound_as_legacy(t) for t in self._outbound.values()]
            items.sort(key=_trunk_id)
            return sip_pb.ListSIPTrunkResponse(items=items)

    def _rpc_SIP_DeleteSIPTrunk(self, g: Grants, req: sip_pb.DeleteSIPTrunkRequest) -> sip_pb.SIPTrunkInfo:
        g.ensure_sip_admin()
        if not req.sip_trunk_id:
            raise TwirpError("invalid_argument", "trunk ID is required")
        with self._lock:
            # As the server: the store deletes the id from every trunk table, present or not.
            self._inbound.pop(req.sip_trunk_id, None)
            self._outbound.pop(req.sip_trunk_id, None)
        return sip_pb.SIPTrunkInfo(sip_trunk_id=req.sip_trunk_id)

    # ---- SIP: dispatch rules

    def _rpc_SIP_CreateSIPDispatchRule(
        self, g: Grants, req: sip_pb.CreateSIPDispatchRuleRequest
    ) -> sip_pb.SIPDispatchRuleInfo:
        g.ensure_sip_admin()
        if req.HasField("dispatch_rule"):
            info = _clone(req.dispatch_rule)
            if info.sip_dispatch_rule_id:
                raise TwirpError("invalid_argument", "rule id must not be set")
        else:
            info = sip_pb.SIPDispatchRuleInfo(
                trunk_ids=req.trunk_ids,
                hide_phone_number=req.hide_phone_number,
                inbound_numbers=req.inbound_numbers,
                name=req.name,
                metadata=req.metadata,
                room_preset=req.room_preset,
            )
            if req.HasField("rule"):
                info.rule.CopyFrom(req.rule)
            if req.HasField("room_config"):
                info.room_config.CopyFrom(req.room_config)
            info.attributes.update(req.attributes)
        try:
            validate_dispatch_rule(info)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        with self._lock:
            listed = filter_rules(
                list(self._rules.values()), sip_pb.ListSIPDispatchRuleRequest(trunk_ids=req.trunk_ids)
            )
            try:
                validate_dispatch_rules([*listed, info])
            except InvalidArgument as e:
                raise _as_twirp(e, wrap=False) from None
            info.sip_dispatch_rule_id = ids.new_id(ids.SIP_DISPATCH_RULE)
            self._rules[info.sip_dispatch_rule_id] = info
            return _clone(info)

    def _rpc_SIP_UpdateSIPDispatchRule(
        self, g: Grants, req: sip_pb.UpdateSIPDispatchRuleRequest
    ) -> sip_pb.SIPDispatchRuleInfo:
        g.ensure_sip_admin()
        action = req.WhichOneof("action")
        try:
            if not req.sip_dispatch_rule_id:
                raise PlainError("rule id must be set")
            if action is None:
                raise PlainError("missing or unsupported update action")
            if action == "replace":
                rid = req.replace.sip_dispatch_rule_id
                if rid and rid != req.sip_dispatch_rule_id:
                    raise PlainError("rule id in the info must be empty or match the id in the update")
                validate_dispatch_rule(req.replace)
            else:
                validate_dispatch_rule_update(req.update)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        with self._lock:
            current = self._rules.get(req.sip_dispatch_rule_id)
            if current is None:
                raise TwirpError("not_found", ERR_RULE_NOT_FOUND)
            if action == "replace":
                info = _clone(req.replace)
                info.sip_dispatch_rule_id = current.sip_dispatch_rule_id
            else:
                info = _clone(current)
                try:
                    apply_dispatch_rule_update(info, req.update)
                except (PlainError, InvalidArgument) as e:
                    raise _as_twirp(e, wrap=False) from None
            listed = filter_rules(
                list(self._rules.values()), sip_pb.ListSIPDispatchRuleRequest(trunk_ids=info.trunk_ids)
            )
            try:
                validate_dispatch_rules(
                    [info if r.sip_dispatch_rule_id == req.sip_dispatch_rule_id else r for r in listed]
                )
            except InvalidArgument as e:
                raise _as_twirp(e, wrap=False) from None
            self._rules[info.sip_dispatch_rule_id] = info
            return _clone(info)

    def _rpc_SIP_ListSIPDispatchRule(
        self, g: Grants, req: sip_pb.ListSIPDispatchRuleRequest
    ) -> sip_pb.ListSIPDispatchRuleResponse:
        g.ensure_sip_admin()
        with self._lock:
            return sip_pb.ListSIPDispatchRuleResponse(items=filter_rules(list(self._rules.values()), req))

    def _rpc_SIP_DeleteSIPDispatchRule(
        self, g: Grants, req: sip_pb.DeleteSIPDispatchRuleRequest
    ) -> sip_pb.SIPDispatchRuleInfo:
        g.ensure_sip_admin()
        if not req.sip_dispatch_rule_id:
            raise TwirpError("invalid_argument", "dispatch rule ID is required")
        with self._lock:
            info = self._rules.pop(req.sip_dispatch_rule_id, None)
            if info is None:
                raise TwirpError("not_found", ERR_RULE_NOT_FOUND)
            return info

    # ---- SIP: calls

    def _rpc_SIP_CreateSIPParticipant(
        self, g: Grants, req: sip_pb.CreateSIPParticipantRequest
    ) -> sip_pb.SIPParticipantInfo:
        g.ensure_sip_call()
        try:
            validate_create_sip_participant(req)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        call_id = ids.new_id(ids.SIP_CALL)
        with self._lock:
            trunk: sip_pb.SIPOutboundTrunkInfo | None = None
            if req.sip_trunk_id:
                trunk = self._outbound.get(req.sip_trunk_id)
                if trunk is None:
                    raise TwirpError("not_found", ERR_TRUNK_NOT_FOUND)
            if trunk is not None:
                hostname = trunk.address
            elif req.HasField("trunk"):
                hostname = req.trunk.hostname
            else:
                hostname = ""
            number = req.sip_number
            if not number:
                if trunk is None or not trunk.numbers:
                    raise TwirpError("failed_precondition", "no numbers on outbound trunk")
                number = random.choice(list(trunk.numbers))  # noqa: S311 - LiveKit picks one at random too  # nosec B311
            if hostname.endswith("twilio.com") and not number.startswith("+"):
                number = "+" + number

            attrs = dict(req.participant_attributes)
            attrs[ATTR_CALL_ID] = call_id
            attrs[ATTR_TRUNK_ID] = req.sip_trunk_id or (trunk.sip_trunk_id if trunk is not None else "")
            if not req.hide_phone_number:
                attrs[ATTR_PHONE_NUMBER] = req.sip_call_to
                attrs[ATTR_HOSTNAME] = hostname
                attrs[ATTR_TRUNK_NUMBER] = number
            attrs[ATTR_CALL_STATUS] = "dialing"
            identity = req.participant_identity or "sip_" + req.sip_call_to

            ringing_timeout = _duration_seconds(req, "ringing_timeout") or SIP_DEFAULT_RINGING_TIMEOUT
            max_call_duration = _duration_seconds(req, "max_call_duration")
            if max_call_duration is not None and (max_call_duration <= 0 or max_call_duration > SIP_MAX_CALL_DURATION):
                max_call_duration = SIP_MAX_CALL_DURATION

            room, _ = self._ensure_room(req.room_name)
            participant = Participant(
                sid=ids.new_id(ids.PARTICIPANT),
                identity=identity,
                name=req.participant_name,
                metadata=req.participant_metadata,
                attributes=attrs,
                kind=SIP_KIND,
            )
            record: dict[str, Any] = {}
            record.update(
                {
                    "sip_call_id": call_id,
                    "participant_id": participant.sid,
                    "identity": identity,
                    "trunk_phone_number": number,
                    "hostname": hostname,
                    "ringing_timeout_seconds": _duration_seconds(req, "ringing_timeout"),
                    "max_call_duration_seconds": _duration_seconds(req, "max_call_duration"),
                    "status": "dialing",
                    "call_status": "dialing",
                    "created_at_ms": now_ms(),
                }
            )
            call = Call(
                sip_call_id=call_id,
                room_name=room.name,
                identity=identity,
                participant_sid=participant.sid,
                outcome=self._resolve_outcome(req.sip_call_to),
                wait=req.wait_until_answered,
                record=record,
                request=_clone(req),
                ringing_timeout=ringing_timeout,
                max_call_duration=max_call_duration,
            )
            record["outcome"] = call.outcome.as_dict()
            participant.call = call
            self._calls[call_id] = call
            self._call_log.append(call)
            if len(self._call_log) > MAX_CALL_LOG:
                del self._call_log[: len(self._call_log) - MAX_CALL_LOG]
            self._join(room, participant)
            self._start_call(call)
            info = sip_pb.SIPParticipantInfo(
                participant_id=participant.sid,
                participant_identity=identity,
                room_name=req.room_name,
                sip_call_id=call_id,
            )
        if not req.wait_until_answered:
            return info
        if not call.done.wait(WAIT_UNTIL_ANSWERED_TIMEOUT):
            raise TwirpError("deadline_exceeded", "request timed out")
        if call.error is not None:
            raise call.error
        return info

    def _rpc_SIP_TransferSIPParticipant(
        self, g: Grants, req: sip_pb.TransferSIPParticipantRequest
    ) -> sip_pb.TransferSIPParticipantResponse:
        if not req.room_name:
            raise TwirpError("invalid_argument", "Missing room name")
        if not req.participant_identity:
            raise TwirpError("invalid_argument", "Missing participant identity")
        g.ensure_sip_call()
        g.ensure_room_admin(req.room_name)
        try:
            refer_to = validate_transfer(req)
        except (PlainError, InvalidArgument) as e:
            raise _as_twirp(e, wrap=True) from None
        with self._lock:
            room = self._rooms.get(req.room_name)
            p = room.participants.get(req.participant_identity) if room is not None else None
            if room is None or p is None:
                raise TwirpError("not_found", ERR_PARTICIPANT_NOT_FOUND)
            call_id = p.attributes.get(ATTR_CALL_ID)
            if call_id is None:
                raise TwirpError("invalid_argument", "no SIP session associated with participant")
            call = self._calls.get(call_id)
            if call is None or call.status != "active":
                raise TwirpError("failed_precondition", "can't transfer non established call")
            if call.transfer_to is not None:
                if call.transfer_to != refer_to:
                    raise TwirpError("invalid_argument", "call already being transferred elsewhere")
                return _clone(call.transfer_response)
            ringing_timeout = _duration_seconds(req, "ringing_timeout")
            transfer_id = ids.new_id(ids.SIP_TRANSFER)
            self._transfers.append(
                {
                    "transfer_id": transfer_id,
                    "room": req.room_name,
                    "identity": req.participant_identity,
                    "sip_call_id": call_id,
                    "transfer_to": req.transfer_to,
                    "refer_to": refer_to,
                    "play_dialtone": req.play_dialtone,
                    "headers": dict(req.headers),
                    "ringing_timeout_seconds": ringing_timeout if ringing_timeout is not None else 30.0,
                    "at_ms": now_ms(),
                }
            )
            call.record["transferred_to"] = refer_to
            resp = sip_pb.TransferSIPParticipantResponse(
                transfer_id=transfer_id,
                status=sip_pb.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL,
                reason=sip_pb.SIPTransferReason.STR_COMPLETED,
            )
            resp.sip_status.code = 200  # type: ignore[assignment]
            resp.sip_status.status = "OK"
            call.transfer_to = refer_to
            call.transfer_response = resp

            def bye() -> None:
                with self._lock:
                    if self._calls.get(call.sip_call_id) is call and call.status == "active":
                        self._hangup(call, "transferred")

            call.timers.append(self._scheduler.call_later(self.transfer_hangup_delay, bye))
            return _clone(resp)

    # ---- RoomService

    def _rpc_RoomService_CreateRoom(self, g: Grants, req: room_pb.CreateRoomRequest) -> models_pb.Room:
        g.ensure_room_create()
        with self._lock:
            room, _ = self._ensure_room(req.name, req)
            return room.to_proto()

    def _rpc_RoomService_ListRooms(self, g: Grants, req: room_pb.ListRoomsRequest) -> room_pb.ListRoomsResponse:
        g.ensure_room_list()
        with self._lock:
            rooms = [r for r in self._rooms.values() if not req.names or r.name in req.names]
            return room_pb.ListRoomsResponse(rooms=[r.to_proto() for r in rooms])

    def _rpc_RoomService_DeleteRoom(self, g: Grants, req: room_pb.DeleteRoomRequest) -> room_pb.DeleteRoomResponse:
        g.ensure_room_create()
        with self._lock:
            room = self._rooms.get(req.room)
            if room is None:
                raise TwirpError("not_found", ERR_ROOM_NOT_FOUND)
            for p in list(room.participants.values()):
                self._leave(room, p, DR.ROOM_DELETED, finish_room=False)
            self._finish_room(room)
        return room_pb.DeleteRoomResponse()

    def _rpc_RoomService_ListParticipants(
        self, g: Grants, req: room_pb.ListParticipantsRequest
    ) -> room_pb.ListParticipantsResponse:
        g.ensure_room_admin(req.room)
        with self._lock:
            room = self._rooms.get(req.room)
            participants = list(room.participants.values()) if room is not None else []
            return room_pb.ListParticipantsResponse(participants=[p.to_proto() for p in participants])

    def _find_participant(self, room_name: str, identity: str) -> tuple[Room, Participant]:
        room = self._rooms.get(room_name)
        p = room.participants.get(identity) if room is not None else None
        if room is None or p is None:
            raise TwirpError("not_found", ERR_PARTICIPANT_NOT_FOUND)
        return room, p

    def _rpc_RoomService_GetParticipant(
        self, g: Grants, req: room_pb.RoomParticipantIdentity
    ) -> models_pb.ParticipantInfo:
        g.ensure_room_admin(req.room)
        with self._lock:
            _, p = self._find_participant(req.room, req.identity)
            return p.to_proto()

    def _rpc_RoomService_RemoveParticipant(
        self, g: Grants, req: room_pb.RoomParticipantIdentity
    ) -> room_pb.RemoveParticipantResponse:
        g.ensure_room_admin(req.room)
        with self._lock:
            room, p = self._find_participant(req.room, req.identity)
            self._leave(room, p, DR.PARTICIPANT_REMOVED)
        return room_pb.RemoveParticipantResponse()

    def _rpc_RoomService_UpdateParticipant(
        self, g: Grants, req: room_pb.UpdateParticipantRequest
    ) -> models_pb.ParticipantInfo:
        g.ensure_room_admin(req.room)
        with self._lock:
            _, p = self._find_participant(req.room, req.identity)
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

    def _rpc_RoomService_UpdateRoomMetadata(self, g: Grants, req: room_pb.UpdateRoomMetadataRequest) -> models_pb.Room:
        g.ensure_room_admin(req.room)
        with self._lock:
            room = self._rooms.get(req.room)
            if room is None:
                raise TwirpError("not_found", ERR_ROOM_NOT_FOUND)
            room.metadata = req.metadata
            return room.to_proto()

    # ---- AgentDispatchService

    def _rpc_AgentDispatchService_CreateDispatch(
        self, g: Grants, req: agent_dispatch_pb.CreateAgentDispatchRequest
    ) -> agent_dispatch_pb.AgentDispatch:
        g.ensure_room_admin(req.room)
        with self._lock:
            room, _ = self._ensure_room(req.room)
            dispatch = self._add_dispatch(
                room,
                agent_name=req.agent_name,
                metadata=req.metadata,
                attributes=dict(req.attributes),
                restart_policy=req.restart_policy,
                deployment=req.deployment,
            )
            return _clone(dispatch)

    def _dispatch_room(self, name: str) -> Room:
        room = self._rooms.get(name)
        if room is None:
            # the request goes to the room's psrpc topic, which nobody serves
            raise TwirpError("unavailable", "no response from servers")
        return room

    def _rpc_AgentDispatchService_DeleteDispatch(
        self, g: Grants, req: agent_dispatch_pb.DeleteAgentDispatchRequest
    ) -> agent_dispatch_pb.AgentDispatch:
        g.ensure_room_admin(req.room)
        with self._lock:
            room = self._dispatch_room(req.room)
            dispatch = room.dispatches.pop(req.dispatch_id, None)
            if dispatch is None:
                raise TwirpError("not_found", "dispatch ID not found")
            dispatch.state.deleted_at = time.time_ns()
            return _clone(dispatch)

    def _rpc_AgentDispatchService_ListDispatch(
        self, g: Grants, req: agent_dispatch_pb.ListAgentDispatchRequest
    ) -> agent_dispatch_pb.ListAgentDispatchResponse:
        g.ensure_room_admin(req.room)
        with self._lock:
            room = self._dispatch_room(req.room)
            items = [d for d in room.dispatches.values() if not req.dispatch_id or d.id == req.dispatch_id]
            return agent_dispatch_pb.ListAgentDispatchResponse(agent_dispatches=items)


def _failure_result(code: int) -> str:
    if code in (486, 600):
        return "busy"
    if code in (603, 403, 607, 608):
        return "rejected"
    if code in (404, 480, 408):
        return "unavailable"
    return "failed"


def _trunk_id(t: Any) -> str:
    return str(t.sip_trunk_id)


def _clone(msg: Any) -> Any:
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def _call_state(call: Call) -> dict[str, Any]:
    """Every request field (proto names, defaults included) plus what happened to the call."""
    out: dict[str, Any] = MessageToDict(
        call.request, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for key, value in call.record.items():
        out[key] = dict(value) if isinstance(value, dict) else value
    return out


def _inbound_as_legacy(t: sip_pb.SIPInboundTrunkInfo) -> sip_pb.SIPTrunkInfo:
    return sip_pb.SIPTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        kind=sip_pb.SIPTrunkInfo.TrunkKind.TRUNK_INBOUND,
        name=t.name,
        metadata=t.metadata,
        outbound_number=t.numbers[0] if t.numbers else "",
        inbound_addresses=t.allowed_addresses,
        inbound_numbers=t.allowed_numbers,
        inbound_username=t.auth_username,
        inbound_password=t.auth_password,
    )


def _outbound_as_legacy(t: sip_pb.SIPOutboundTrunkInfo) -> sip_pb.SIPTrunkInfo:
    return sip_pb.SIPTrunkInfo(
        sip_trunk_id=t.sip_trunk_id,
        kind=sip_pb.SIPTrunkInfo.TrunkKind.TRUNK_OUTBOUND,
        name=t.name,
        metadata=t.metadata,
        outbound_address=t.address,
        transport=t.transport,
        outbound_number=t.numbers[0] if t.numbers else "",
        outbound_username=t.auth_username,
        outbound_password=t.auth_password,
    )


__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "OUTCOMES", "Emulator"]
