"""In-memory rooms, participants and SIP calls of the emulator."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from livekit.protocol import agent_dispatch as agent_dispatch_pb
from livekit.protocol import models as models_pb

from .scheduler import Timer
from .sipcodes import SIPFailure
from .twirp import TwirpError

# participant attribute names (livekit/protocol livekit/attrs.go)
ATTR_CALL_ID = "sip.callID"
ATTR_TRUNK_ID = "sip.trunkID"
ATTR_TRUNK_NUMBER = "sip.trunkPhoneNumber"
ATTR_PHONE_NUMBER = "sip.phoneNumber"
ATTR_HOSTNAME = "sip.hostname"
ATTR_CALL_STATUS = "sip.callStatus"

DEFAULT_EMPTY_TIMEOUT = 300
DEFAULT_DEPARTURE_TIMEOUT = 20


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Outcome:
    """How a dialled number behaves."""

    kind: str  # answer | busy | no_answer | reject | fail
    after_ms: int | None = None  # ringing time before the outcome
    talk_ms: int | None = None  # after answer: the callee hangs up after this long
    sip_code: int | None = None
    sip_status: str | None = None
    times: int | None = None  # None: persistent; N: the next N dials only

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.kind,
            "after_ms": self.after_ms,
            "talk_ms": self.talk_ms,
            "sip_code": self.sip_code,
            "sip_status": self.sip_status,
            "times": self.times,
        }


@dataclass
class Fault:
    code: str
    times: int
    msg: str
    meta: dict[str, str] = field(default_factory=dict)
    delay_ms: int = 0

    def error(self) -> TwirpError:
        return TwirpError(self.code, self.msg, self.meta)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "times": self.times, "msg": self.msg, "meta": self.meta, "delay_ms": self.delay_ms}


@dataclass
class Call:
    sip_call_id: str
    room_name: str
    identity: str
    participant_sid: str
    outcome: Outcome
    wait: bool
    record: dict[str, Any]
    request: Any  # the CreateSIPParticipantRequest
    ringing_timeout: float
    max_call_duration: float | None
    status: str = "dialing"  # dialing | ringing | active | ended
    done: threading.Event = field(default_factory=threading.Event)
    error: TwirpError | None = None
    timers: list[Timer] = field(default_factory=list)
    transfer_to: str | None = None
    transfer_response: Any = None
    inbound: bool = False  # placed by a caller through POST /_emulator/inbound, not by CreateSIPParticipant

    def cancel_timers(self) -> None:
        for t in self.timers:
            t.cancel()
        self.timers.clear()

    def finish(self, error: TwirpError | None) -> None:
        """Releases a CreateSIPParticipant request waiting for the outcome."""
        if not self.done.is_set():
            self.error = error
            self.done.set()

    def end(
        self,
        *,
        result: str,
        reason: int,
        failure: SIPFailure | None = None,
        error: TwirpError | None = None,
    ) -> None:
        """Writes how the call ended into its record; ``State.end_call`` also drops it from the live calls."""
        self.status = "ended"
        self.cancel_timers()
        rec = self.record
        rec["status"] = "ended"
        rec["ended_at_ms"] = now_ms()
        if rec.get("result") == "answered":
            rec["end"] = result
        else:
            rec["result"] = result
        rec["disconnect_reason"] = models_pb.DisconnectReason.Name(reason)  # type: ignore[arg-type]
        if failure is not None:
            rec["sip_status_code"] = failure.code
            rec["sip_status"] = failure.status
        if error is not None:
            rec["error"] = {"code": error.code, "msg": error.msg, "meta": dict(error.meta)}


@dataclass
class Participant:
    sid: str
    identity: str
    name: str
    metadata: str
    attributes: dict[str, str]
    kind: int
    joined_at_ms: int = field(default_factory=now_ms)
    version: int = 1
    state: int = models_pb.ParticipantInfo.State.ACTIVE
    disconnect_reason: int = models_pb.DisconnectReason.UNKNOWN_REASON
    track: models_pb.TrackInfo | None = None
    permission: models_pb.ParticipantPermission = field(
        default_factory=lambda: models_pb.ParticipantPermission(
            can_subscribe=True, can_publish=True, can_publish_data=True
        )
    )
    call: Call | None = None

    def set_attributes(self, attrs: dict[str, str]) -> None:
        if not attrs:
            return
        for k, v in attrs.items():
            if v == "":
                self.attributes.pop(k, None)
            else:
                self.attributes[k] = v
        self.version += 1

    def to_proto(self) -> models_pb.ParticipantInfo:
        info = models_pb.ParticipantInfo(
            sid=self.sid,
            identity=self.identity,
            name=self.name,
            metadata=self.metadata,
            state=self.state,  # type: ignore[arg-type]
            joined_at=self.joined_at_ms // 1000,
            joined_at_ms=self.joined_at_ms,
            version=self.version,
            is_publisher=self.track is not None,
            kind=self.kind,  # type: ignore[arg-type]
            disconnect_reason=self.disconnect_reason,  # type: ignore[arg-type]
        )
        info.permission.CopyFrom(self.permission)
        info.attributes.update(self.attributes)
        if self.track is not None and self.state != models_pb.ParticipantInfo.State.DISCONNECTED:
            info.tracks.append(self.track)
        return info

    def brief(self) -> models_pb.ParticipantInfo:
        """What track webhooks carry: sid and identity only."""
        return models_pb.ParticipantInfo(sid=self.sid, identity=self.identity)


@dataclass
class Room:
    sid: str
    name: str
    empty_timeout: int = DEFAULT_EMPTY_TIMEOUT
    departure_timeout: int = DEFAULT_DEPARTURE_TIMEOUT
    max_participants: int = 0
    metadata: str = ""
    created_at_ms: int = field(default_factory=now_ms)
    participants: dict[str, Participant] = field(default_factory=dict)
    dispatches: dict[str, agent_dispatch_pb.AgentDispatch] = field(default_factory=dict)
    finish_timer: Timer | None = None

    def to_proto(self) -> models_pb.Room:
        return models_pb.Room(
            sid=self.sid,
            name=self.name,
            empty_timeout=self.empty_timeout,
            departure_timeout=self.departure_timeout,
            max_participants=self.max_participants,
            creation_time=self.created_at_ms // 1000,
            creation_time_ms=self.created_at_ms,
            metadata=self.metadata,
            num_participants=len(self.participants),
            num_publishers=sum(1 for p in self.participants.values() if p.track is not None),
        )
