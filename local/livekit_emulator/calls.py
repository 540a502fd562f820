"""The simulated outbound SIP call: dialling, ringing, then the callee's outcome, on timers.

CreateSIPParticipant starts a call with ``start``; the control API's hang-up, TransferSIPParticipant and
the timers move it on. Every function here is called with ``Runtime.lock`` held.
"""

from __future__ import annotations

from collections.abc import Callable

from livekit.protocol import models as models_pb

from . import ids, rooms
from .control import final_response
from .model import ATTR_CALL_STATUS, Call, Participant, Room, now_ms
from .runtime import Runtime
from .sipcodes import RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG, UNAVAILABLE, SIPFailure
from .twirp import TwirpError

DR = models_pb.DisconnectReason
DEFAULT_AFTER_MS = 200
RING_DELAY_MS = 10  # 180 Ringing arrives this long after the INVITE (capped by after_ms)


def start(rt: Runtime, call: Call) -> None:
    """Schedules ringing and the outcome; called right after the SIP participant joined."""
    outcome = call.outcome
    after = (outcome.after_ms if outcome.after_ms is not None else DEFAULT_AFTER_MS) / 1000.0
    if outcome.kind == "no_answer" and outcome.after_ms is None:
        after = call.ringing_timeout
    ring_at = min(RING_DELAY_MS / 1000.0, after / 2)

    def later(delay: float, fn: Callable[[], None]) -> None:
        def run() -> None:
            with rt.lock:
                if rt.state.is_live(call):
                    fn()

        call.timers.append(rt.scheduler.call_later(delay, run))

    later(ring_at, lambda: _ringing(rt, call))
    if outcome.kind == "no_answer":
        later(min(after, call.ringing_timeout), lambda: _no_answer(rt, call))
    elif call.ringing_timeout < after:
        later(call.ringing_timeout, lambda: _no_answer(rt, call))
    elif outcome.kind == "answer":
        later(after, lambda: _answer(rt, call))
    else:
        failure = SIPFailure(*final_response(outcome))
        later(after, lambda: _fail(rt, call, failure))
    if call.max_call_duration is not None:
        later(call.max_call_duration, lambda: _max_duration(rt, call))


def callee_hangup(rt: Runtime, call: Call) -> None:
    """The callee hangs up: a normal end once answered; while it rings, declining the call."""
    if call.status in ("dialing", "ringing"):
        _fail(rt, call, SIPFailure(603, "Decline"))
        return
    if call.status != "active":
        return
    hangup(rt, call, "hangup")


def hangup(rt: Runtime, call: Call, end: str) -> None:
    """The call ends normally (BYE): callStatus=hangup, disconnect reason CLIENT_INITIATED."""
    found = _participant_of(rt, call)
    rt.state.end_call(call, result=end, reason=DR.CLIENT_INITIATED)
    if found is not None:
        rooms.leave(rt, found[0], found[1], DR.CLIENT_INITIATED, call_status="hangup")


def hang_up_later(rt: Runtime, call: Call, delay: float, end: str) -> None:
    """``hangup`` after ``delay`` seconds, if the call is still up by then."""

    def fire() -> None:
        with rt.lock:
            if rt.state.is_live(call) and call.status == "active":
                hangup(rt, call, end)

    call.timers.append(rt.scheduler.call_later(delay, fire))


def _participant_of(rt: Runtime, call: Call) -> tuple[Room, Participant] | None:
    room = rt.state.rooms.get(call.room_name)
    if room is None:
        return None
    p = room.participants.get(call.identity)
    if p is None or p.call is not call:
        return None
    return room, p


def _set_status(rt: Runtime, call: Call, status: str) -> None:
    call.status = status
    call.record["status"] = status
    found = _participant_of(rt, call)
    if found is not None:
        found[1].set_attributes({ATTR_CALL_STATUS: status})
        call.record["call_status"] = status


def _ringing(rt: Runtime, call: Call) -> None:
    if call.status == "dialing":
        _set_status(rt, call, "ringing")


def _answer(rt: Runtime, call: Call) -> None:
    found = _participant_of(rt, call)
    if found is None:
        return
    room, p = found
    _set_status(rt, call, "active")
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
    rt.emit("track_published", room, p.brief(), p.track)
    call.finish(None)
    if call.outcome.talk_ms is not None:
        hang_up_later(rt, call, call.outcome.talk_ms / 1000.0, "hangup")


def _fail(rt: Runtime, call: Call, failure: SIPFailure) -> None:
    """The callee answered the INVITE with a final error response."""
    reason = DR.Value(failure.disconnect_reason)
    error = failure.error()
    rt.state.end_call(call, result=_failure_result(failure.code), reason=reason, failure=failure, error=error)
    call.finish(error)
    found = _participant_of(rt, call)
    if found is not None:
        rooms.leave(rt, found[0], found[1], reason)


def _no_answer(rt: Runtime, call: Call) -> None:
    """ringing_timeout expired: LiveKit cancels the INVITE."""
    reason = DR.Value(UNAVAILABLE)
    error = TwirpError(RINGING_TIMEOUT_CODE, RINGING_TIMEOUT_MSG)
    rt.state.end_call(call, result="no_answer", reason=reason, error=error)
    call.finish(error)
    found = _participant_of(rt, call)
    if found is not None:
        rooms.leave(rt, found[0], found[1], reason)


def _max_duration(rt: Runtime, call: Call) -> None:
    if call.status == "active":
        hangup(rt, call, "max_call_duration")
    else:
        _no_answer(rt, call)


def _failure_result(code: int) -> str:
    if code in (486, 600):
        return "busy"
    if code in (603, 403, 607, 608):
        return "rejected"
    if code in (404, 480, 408):
        return "unavailable"
    return "failed"
