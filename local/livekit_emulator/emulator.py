"""The emulator's Python API: start and stop it, and what the control API does (outcomes, faults, hang-up, state).

The Twirp services it serves are in services/, what they share in runtime.py.
"""

from __future__ import annotations

from typing import Any

from . import calls, inbound
from .control import OUTCOMES
from .model import Fault, Outcome
from .runtime import Runtime
from .server import EmulatorHTTPServer
from .snapshot import snapshot
from .state import State
from .twirp import TwirpError

DEFAULT_API_KEY = "devkey"
# >= 32 bytes, as PyJWT recommends for HS256 keys
DEFAULT_API_SECRET = "devsecret-devsecret-devsecret-devsecret"  # noqa: S105 - local dev default  # nosec B105


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
        self.runtime = Runtime(api_key, api_secret, webhook_url, departure_timeout, transfer_hangup_delay)
        self._defaults = (departure_timeout, transfer_hangup_delay)
        self._server: Any = None
        self._stopped = False
        self.url: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Emulator:
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
        rt = self.runtime
        with rt.lock:
            self._release_waiters(TwirpError("unavailable", "server is closed"))
        rt.scheduler.stop()
        rt.webhooks.stop()
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forgets everything: trunks, rules, rooms, calls, transfers, outcomes, faults, events."""
        rt = self.runtime
        with rt.lock:
            self._release_waiters(TwirpError("canceled", "emulator reset"))
            rt.scheduler.cancel_all()
            rt.webhooks.reset()
            rt.state = State()
            rt.departure_timeout, rt.transfer_hangup_delay = self._defaults

    def flush_webhooks(self, timeout: float = 5.0) -> bool:
        """Waits until every webhook queued so far was delivered (or dropped)."""
        return self.runtime.webhooks.flush(timeout)

    def _release_waiters(self, error: TwirpError) -> None:
        for call in self.runtime.state.calls.values():
            call.cancel_timers()
            call.finish(error)

    # ------------------------------------------------------------------ settings

    @property
    def webhook_url(self) -> str | None:
        return self.runtime.webhook_url

    @webhook_url.setter
    def webhook_url(self, url: str | None) -> None:
        self.runtime.webhook_url = url

    @property
    def departure_timeout(self) -> float:
        """Seconds an emptied room lingers before room_finished."""
        return self.runtime.departure_timeout

    @property
    def transfer_hangup_delay(self) -> float:
        """Seconds between a completed transfer and the SIP participant leaving."""
        return self.runtime.transfer_hangup_delay

    def configure(self, *, departure_timeout: float | None = None, transfer_hangup_delay: float | None = None) -> None:
        """Changes timing settings until the next reset (which restores the constructor's values)."""
        for name, value in (("departure_timeout", departure_timeout), ("transfer_hangup_delay", transfer_hangup_delay)):
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                raise ValueError(f"{name} must be a non-negative number")
        rt = self.runtime
        with rt.lock:
            if departure_timeout is not None:
                rt.departure_timeout = float(departure_timeout)
            if transfer_hangup_delay is not None:
                rt.transfer_hangup_delay = float(transfer_hangup_delay)

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
        with self.runtime.lock:
            return self.runtime.state.outcomes.add(
                number,
                outcome,
                after_ms=after_ms,
                talk_ms=talk_ms,
                sip_code=sip_code,
                sip_status=sip_status,
                times=times,
            )

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
        with self.runtime.lock:
            return self.runtime.state.faults.add(method, code, times=times, msg=msg, meta=meta, delay_ms=delay_ms)

    def hangup(self, room: str, identity: str | None = None) -> int:
        """The callee hangs up now. Returns how many calls were affected."""
        rt = self.runtime
        with rt.lock:
            r = rt.state.rooms.get(room)
            if r is None:
                return 0
            ringing_or_up = [
                p.call
                for p in list(r.participants.values())
                if p.call is not None and p.call.status != "ended" and (identity is None or p.identity == identity)
            ]
            for call in ringing_or_up:
                if call.inbound:
                    inbound.caller_hangs_up(rt, call)
                else:
                    calls.callee_hangup(rt, call)
            return len(ringing_or_up)

    def place_inbound(
        self,
        caller: str,
        called: str,
        *,
        source_ip: str = "",
        caller_host: str = "",
        pin: str = "",
        answer_after_ms: int | None = None,
        talk_ms: int | None = None,
    ) -> dict[str, Any]:
        """A caller dials ``called``: matched against the inbound trunks and dispatch rules, accepted into a room or
        rejected (see inbound.py)."""
        for name, value in (("answer_after_ms", answer_after_ms), ("talk_ms", talk_ms)):
            if value is not None and value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        if not caller or not called:
            raise ValueError("from and to are required")
        with self.runtime.lock:
            return inbound.place(
                self.runtime,
                caller=caller,
                called=called,
                source_ip=source_ip,
                caller_host=caller_host,
                pin=pin,
                answer_after_ms=answer_after_ms,
                talk_ms=talk_ms,
            )

    def state(self) -> dict[str, Any]:
        """Everything the emulator holds (``GET /_emulator/state``)."""
        with self.runtime.lock:
            return snapshot(self.runtime)


__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "OUTCOMES", "Emulator"]
