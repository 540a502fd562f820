"""What the control API programs: how a dialled number behaves and which methods fail next."""

from __future__ import annotations

from typing import Any

from .model import Fault, Outcome
from .sipcodes import reason_phrase
from .twirp import HTTP_STATUS
from .validation import normalize_number

OUTCOMES = ("answer", "busy", "no_answer", "reject", "fail")
# the default SIP final response of each failure outcome
OUTCOME_SIP = {"busy": (486, "Busy Here"), "reject": (603, "Decline"), "fail": (503, "Service Unavailable")}


def final_response(outcome: Outcome) -> tuple[int, str]:
    """The SIP code and reason phrase a failure outcome answers the INVITE with."""
    code, status = OUTCOME_SIP[outcome.kind]
    if outcome.sip_code is not None:
        code = outcome.sip_code
        status = outcome.sip_status if outcome.sip_status is not None else reason_phrase(code)
    elif outcome.sip_status is not None:
        status = outcome.sip_status
    return code, status


class Outcomes:
    """Dial outcomes by callee number (``"*"``: any number without its own)."""

    def __init__(self) -> None:
        self._by_number: dict[str, list[Outcome]] = {}

    def add(
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
        """Without ``times`` it replaces the number's setting; with it, it applies to the next N dials only."""
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
        entries = self._by_number.setdefault(number, [])
        if times is None:
            entries[:] = [e for e in entries if e.times is not None]
            entries.append(spec)
        else:
            # one-shot outcomes are consumed in the order they were added, before the persistent one
            pos = next((i for i, e in enumerate(entries) if e.times is None), len(entries))
            entries.insert(pos, spec)
        return spec

    def resolve(self, number: str) -> Outcome:
        """The outcome of dialling ``number`` now: exact match, then LiveKit-normalised match, then ``"*"``."""
        normalized = normalize_number(number)
        keys = [number] + [k for k in self._by_number if k != number and normalize_number(k) == normalized]
        keys.append("*")
        for key in keys:
            entries = self._by_number.get(key)
            if not entries:
                continue
            spec = entries[0]
            if spec.times is not None:
                spec.times -= 1
                if spec.times <= 0:
                    entries.pop(0)
                    if not entries:
                        del self._by_number[key]
            return Outcome(spec.kind, spec.after_ms, spec.talk_ms, spec.sip_code, spec.sip_status, None)
        return Outcome("answer")

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {n: [o.as_dict() for o in lst] for n, lst in self._by_number.items()}


class Faults:
    """Injected Twirp errors by method name, consumed in the order they were added."""

    def __init__(self) -> None:
        self._by_method: dict[str, list[Fault]] = {}

    def add(
        self,
        method: str,
        code: str,
        *,
        times: int = 1,
        msg: str | None = None,
        meta: dict[str, str] | None = None,
        delay_ms: int = 0,
    ) -> Fault:
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown twirp code {code!r}")
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ValueError("times must be a positive integer")
        if not method:
            raise ValueError("method is required")
        fault = Fault(code, times, msg if msg is not None else f"injected {code} fault", dict(meta or {}), delay_ms)
        self._by_method.setdefault(method, []).append(fault)
        return fault

    def take(self, method: str) -> Fault | None:
        """The fault the next call of ``method`` fails with, if any (each counts down its ``times``)."""
        faults = self._by_method.get(method)
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        if not faults:
            del self._by_method[method]
        return Fault(fault.code, 0, fault.msg, dict(fault.meta), fault.delay_ms)

    def as_dict(self) -> dict[str, list[dict[str, Any]]]:
        return {m: [f.as_dict() for f in lst] for m, lst in self._by_method.items()}
