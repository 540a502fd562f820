"""Everything the emulator stores, replaced as a whole on reset. Read and written under ``Runtime.lock``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from livekit.protocol import egress as egress_pb
from livekit.protocol import sip as sip_pb

from .control import Faults, Outcomes
from .model import Call, Room
from .sipcodes import SIPFailure
from .twirp import TwirpError

MAX_EVENT_LOG = 10_000
MAX_CALL_LOG = 10_000


@dataclass
class State:
    inbound_trunks: dict[str, sip_pb.SIPInboundTrunkInfo] = field(default_factory=dict)
    outbound_trunks: dict[str, sip_pb.SIPOutboundTrunkInfo] = field(default_factory=dict)
    dispatch_rules: dict[str, sip_pb.SIPDispatchRuleInfo] = field(default_factory=dict)
    # rooms by name; a room holds its participants and agent dispatches
    rooms: dict[str, Room] = field(default_factory=dict)
    # SIP calls not ended yet, by sip_call_id
    calls: dict[str, Call] = field(default_factory=dict)
    # every call placed, oldest first (the last MAX_CALL_LOG)
    call_log: list[Call] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    # every egress started, by egress id (recorder.py)
    egresses: dict[str, egress_pb.EgressInfo] = field(default_factory=dict)
    outcomes: Outcomes = field(default_factory=Outcomes)
    faults: Faults = field(default_factory=Faults)
    # every routed call of a Twirp method, failed ones included
    counts: dict[str, int] = field(default_factory=dict)
    # a summary of every webhook event, whether or not it was sent (the last MAX_EVENT_LOG)
    events: list[dict[str, Any]] = field(default_factory=list)
    # every inbound call placed through the control API, accepted or rejected (the last MAX_CALL_LOG)
    inbound: list[dict[str, Any]] = field(default_factory=list)
    # SIP participants in a room now, and the most there ever were at once, by the trunk that placed or took them
    sip_live: dict[str, int] = field(default_factory=dict)
    sip_peaks: dict[str, int] = field(default_factory=dict)

    def sip_joined(self, trunk_id: str) -> None:
        self.sip_live[trunk_id] = self.sip_live.get(trunk_id, 0) + 1
        self.sip_peaks[trunk_id] = max(self.sip_peaks.get(trunk_id, 0), self.sip_live[trunk_id])

    def sip_left(self, trunk_id: str) -> None:
        self.sip_live[trunk_id] = self.sip_live.get(trunk_id, 1) - 1

    def add_call(self, call: Call) -> None:
        self.calls[call.sip_call_id] = call
        self.call_log.append(call)
        if len(self.call_log) > MAX_CALL_LOG:
            del self.call_log[: len(self.call_log) - MAX_CALL_LOG]

    def is_live(self, call: Call) -> bool:
        """Whether ``call`` is still this state's and not ended (a timer of a reset state finds it is not)."""
        return self.calls.get(call.sip_call_id) is call and call.status != "ended"

    def end_call(
        self,
        call: Call,
        *,
        result: str,
        reason: int,
        failure: SIPFailure | None = None,
        error: TwirpError | None = None,
    ) -> None:
        self.calls.pop(call.sip_call_id, None)
        call.end(result=result, reason=reason, failure=failure, error=error)

    def log_event(self, summary: dict[str, Any]) -> None:
        self.events.append(summary)
        if len(self.events) > MAX_EVENT_LOG:
            del self.events[: len(self.events) - MAX_EVENT_LOG]

    def log_inbound(self, attempt: dict[str, Any]) -> None:
        self.inbound.append(attempt)
        if len(self.inbound) > MAX_CALL_LOG:
            del self.inbound[: len(self.inbound) - MAX_CALL_LOG]
