"""LiveKit: the only module that imports the LiveKit SDK, and only when a function first talks to it.

The SDK is async (aiohttp) and its client must be created inside a running loop and used only
from that loop. Lambdas are synchronous, so one event loop runs in a background thread per warm
container, holding one client (and its connection pool) for the container's life; calls are
submitted to it and waited for with a timeout.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from telephony.errors import Conflict, InvalidInput, NotFound, UpstreamError, UpstreamUnavailable

T = TypeVar("T")

_TIMEOUT_SECONDS = 10.0
_UNAVAILABLE = {"unavailable", "deadline_exceeded", "resource_exhausted", "canceled"}
_INPUT = {"invalid_argument", "malformed", "out_of_range"}
_CONFLICT = {"already_exists", "aborted", "failed_precondition"}


@dataclass(frozen=True)
class Credentials:
    url: str
    api_key: str
    api_secret: str


@dataclass
class InboundTrunk:
    name: str
    numbers: list[str]
    allowed_addresses: list[str] = field(default_factory=list)
    allowed_numbers: list[str] = field(default_factory=list)
    auth_username: str = ""
    auth_password: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    headers_to_attributes: dict[str, str] = field(default_factory=dict)
    krisp_enabled: bool = False
    ringing_timeout_seconds: int = 0
    max_call_duration_seconds: int = 0
    media_encryption: str = "ALLOW"
    metadata: str = ""


@dataclass
class OutboundTrunk:
    name: str
    address: str
    numbers: list[str]
    transport: str = "AUTO"
    destination_country: str = ""
    auth_username: str = ""
    auth_password: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    media_encryption: str = "ALLOW"
    metadata: str = ""


@dataclass
class DispatchRule:
    name: str
    room_prefix: str
    agent_name: str
    trunk_ids: list[str] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)
    inbound_numbers: list[str] = field(default_factory=list)
    hide_phone_number: bool = False
    krisp_enabled: bool = False
    agent_metadata: str = ""
    metadata: str = ""


@dataclass
class Dial:
    """An outbound call: CreateSIPParticipant."""

    trunk_id: str
    to: str
    room: str
    identity: str
    from_number: str = ""
    name: str = ""
    metadata: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    dtmf: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    ringing_timeout_seconds: int = 30
    max_call_duration_seconds: int = 3600
    krisp_enabled: bool = False
    hide_phone_number: bool = False
    play_dialtone: bool = False


class DialFailed(Exception):
    """The callee's side refused the call (busy, declined, unreachable)."""

    def __init__(self, code: str, message: str, sip_status_code: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.sip_status_code = sip_status_code


class _Loop:
    """One event loop in a daemon thread, for the life of the process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="livekit-loop", daemon=True).start()

    def run(self, coroutine: Awaitable[T], timeout: float) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise


_loop: _Loop | None = None
_loop_lock = threading.Lock()
_clients: dict[Credentials, Any] = {}


def _the_loop() -> _Loop:
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = _Loop()
            atexit.register(_close_clients)
        return _loop


def _close_clients() -> None:
    """Close the HTTP sessions when the process ends (locally; Lambda just freezes the container)."""
    if _loop is None:
        return
    for client in list(_clients.values()):
        with contextlib.suppress(Exception):  # best effort at exit
            _loop.run(client.aclose(), 2)
    _clients.clear()


async def _client(credentials: Credentials) -> Any:
    client = _clients.get(credentials)
    if client is None:
        import aiohttp
        from livekit import api

        client = api.LiveKitAPI(
            credentials.url,
            credentials.api_key,
            credentials.api_secret,
            timeout=aiohttp.ClientTimeout(total=_TIMEOUT_SECONDS),
        )
        _clients[credentials] = client
    return client


def _is_livekit_failure(error: BaseException) -> bool:
    """A Twirp error or a transport failure; anything else is a bug of ours and stays as it is."""
    import aiohttp
    from livekit.api import TwirpError

    return isinstance(error, TwirpError | aiohttp.ClientError | TimeoutError | ConnectionError)


def _translate(error: BaseException) -> Exception:
    """LiveKit's answer in domain terms: down -> 503, refused input -> 400, conflict -> 409."""
    from livekit.api import TwirpError

    if isinstance(error, TwirpError):
        code, message = error.code, error.message or error.code
        if code in _INPUT:
            return InvalidInput(f"LiveKit refused the request: {message}", details=[{"livekit_code": code}])
        if code in _CONFLICT:
            return Conflict(f"LiveKit: {message}", details=[{"livekit_code": code}])
        if code == "not_found":
            return NotFound(f"LiveKit: {message}", details=[{"livekit_code": code}])
        if code in _UNAVAILABLE or error.status == 503:
            return UpstreamUnavailable("LiveKit is unavailable; retry shortly", details=[{"livekit_code": code}])
        return UpstreamError(f"LiveKit failed: {message}", details=[{"livekit_code": code}])
    return UpstreamUnavailable("LiveKit is unreachable; retry shortly", details=[{"livekit_code": "unreachable"}])


class LiveKit:
    """Synchronous facade over the async SDK for one LiveKit project."""

    def __init__(self, credentials: Credentials, *, timeout: float = _TIMEOUT_SECONDS) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self.calls = 0  # requests made, for the benchmarks' round-trip counts

    def _run(self, work: Callable[[Any], Awaitable[T]], *, timeout: float | None = None) -> T:
        async def call() -> T:
            return await work(await _client(self.credentials))

        from telephony.observability import count

        self.calls += 1
        count("LiveKitRequests")
        try:
            return _the_loop().run(call(), timeout or self.timeout + 2)
        except Exception as error:
            if _is_livekit_failure(error):
                count("LiveKitErrors")
                raise _translate(error) from error
            raise

    # ------------------------------------------------------------ trunks
    def create_inbound_trunk(self, spec: InboundTrunk) -> str:
        from livekit import api

        request = api.CreateSIPInboundTrunkRequest(trunk=_inbound_info(spec))
        return self._run(lambda lk: lk.sip.create_inbound_trunk(request)).sip_trunk_id  # type: ignore[no-any-return]

    def replace_inbound_trunk(self, trunk_id: str, spec: InboundTrunk) -> None:
        info = _inbound_info(spec)
        self._run(lambda lk: lk.sip.update_inbound_trunk(trunk_id, info))

    def create_outbound_trunk(self, spec: OutboundTrunk) -> str:
        from livekit import api

        request = api.CreateSIPOutboundTrunkRequest(trunk=_outbound_info(spec))
        return self._run(lambda lk: lk.sip.create_outbound_trunk(request)).sip_trunk_id  # type: ignore[no-any-return]

    def replace_outbound_trunk(self, trunk_id: str, spec: OutboundTrunk) -> None:
        info = _outbound_info(spec)
        self._run(lambda lk: lk.sip.update_outbound_trunk(trunk_id, info))

    def delete_trunk(self, trunk_id: str) -> None:
        from livekit import api

        with contextlib.suppress(NotFound):  # already gone is what we wanted
            self._run(lambda lk: lk.sip.delete_trunk(api.DeleteSIPTrunkRequest(sip_trunk_id=trunk_id)))

    # ------------------------------------------------------------ dispatch rules
    def create_dispatch_rule(self, spec: DispatchRule) -> str:
        from livekit import api

        request = api.CreateSIPDispatchRuleRequest(dispatch_rule=_rule_info(spec))
        return self._run(lambda lk: lk.sip.create_dispatch_rule(request)).sip_dispatch_rule_id  # type: ignore[no-any-return]

    def replace_dispatch_rule(self, rule_id: str, spec: DispatchRule) -> None:
        info = _rule_info(spec)
        self._run(lambda lk: lk.sip.update_dispatch_rule(rule_id, info))

    def delete_dispatch_rule(self, rule_id: str) -> None:
        from livekit import api

        request = api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)
        with contextlib.suppress(NotFound):
            self._run(lambda lk: lk.sip.delete_dispatch_rule(request))

    # ------------------------------------------------------------ calls
    def create_dispatch(self, room: str, agent_name: str, metadata: str) -> str:
        from livekit import api

        request = api.CreateAgentDispatchRequest(agent_name=agent_name, room=room, metadata=metadata)
        return self._run(lambda lk: lk.agent_dispatch.create_dispatch(request)).id  # type: ignore[no-any-return]

    def dial(self, spec: Dial) -> dict[str, str]:
        from livekit import api

        request = api.CreateSIPParticipantRequest(
            sip_trunk_id=spec.trunk_id,
            sip_call_to=spec.to,
            sip_number=spec.from_number,
            room_name=spec.room,
            participant_identity=spec.identity,
            participant_name=spec.name,
            participant_metadata=spec.metadata,
            participant_attributes=spec.attributes,
            dtmf=spec.dtmf,
            headers=spec.headers,
            krisp_enabled=spec.krisp_enabled,
            hide_phone_number=spec.hide_phone_number,
            play_dialtone=spec.play_dialtone,
            wait_until_answered=False,
        )
        request.ringing_timeout.FromSeconds(spec.ringing_timeout_seconds)
        request.max_call_duration.FromSeconds(spec.max_call_duration_seconds)
        try:
            info = self._run(lambda lk: lk.sip.create_sip_participant(request))
        except (InvalidInput, Conflict, NotFound, UpstreamError, UpstreamUnavailable) as error:
            sip_code = _sip_status(error.__cause__)
            if sip_code is not None:
                raise DialFailed(getattr(error.__cause__, "code", ""), error.message, sip_code) from error
            raise
        return {
            "participant_id": info.participant_id,
            "identity": info.participant_identity,
            "sip_call_id": info.sip_call_id,
        }

    def transfer(self, room: str, identity: str, transfer_to: str, *, play_dialtone: bool = False) -> None:
        from livekit import api

        request = api.TransferSIPParticipantRequest(
            room_name=room, participant_identity=identity, transfer_to=transfer_to, play_dialtone=play_dialtone
        )
        self._run(lambda lk: lk.sip.transfer_sip_participant(request, timeout=40), timeout=45)

    def verify_webhook(self, body: str, authorization: str) -> Any:
        """The event, if LiveKit signed this body (JWT with the body's sha256); Unauthenticated otherwise."""
        from livekit import api

        from telephony.errors import Unauthenticated

        receiver = api.WebhookReceiver(api.TokenVerifier(self.credentials.api_key, self.credentials.api_secret))
        try:
            return receiver.receive(body, authorization)
        except Exception as error:  # the SDK raises jwt, json and ValueError alike for a bad webhook
            raise Unauthenticated("invalid or missing webhook signature") from error

    def delete_room(self, room: str) -> None:
        from livekit import api

        with contextlib.suppress(NotFound):
            self._run(lambda lk: lk.room.delete_room(api.DeleteRoomRequest(room=room)))


def _sip_status(error: BaseException | None) -> int | None:
    raw = (getattr(error, "metadata", None) or {}).get("sip_status_code")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _inbound_info(spec: InboundTrunk) -> Any:
    from livekit import api

    info = api.SIPInboundTrunkInfo(
        name=spec.name,
        metadata=spec.metadata,
        numbers=spec.numbers,
        allowed_addresses=spec.allowed_addresses,
        allowed_numbers=spec.allowed_numbers,
        auth_username=spec.auth_username,
        auth_password=spec.auth_password,
        headers=spec.headers,
        headers_to_attributes=spec.headers_to_attributes,
        krisp_enabled=spec.krisp_enabled,
        media_encryption=f"SIP_MEDIA_ENCRYPT_{spec.media_encryption}",
    )
    if spec.ringing_timeout_seconds:
        info.ringing_timeout.FromSeconds(spec.ringing_timeout_seconds)
    if spec.max_call_duration_seconds:
        info.max_call_duration.FromSeconds(spec.max_call_duration_seconds)
    return info


def _outbound_info(spec: OutboundTrunk) -> Any:
    from livekit import api

    return api.SIPOutboundTrunkInfo(
        name=spec.name,
        metadata=spec.metadata,
        address=spec.address,
        numbers=spec.numbers,
        transport=f"SIP_TRANSPORT_{spec.transport}",
        destination_country=spec.destination_country,
        auth_username=spec.auth_username,
        auth_password=spec.auth_password,
        headers=spec.headers,
        media_encryption=f"SIP_MEDIA_ENCRYPT_{spec.media_encryption}",
    )


def _rule_info(spec: DispatchRule) -> Any:
    from livekit import api

    return api.SIPDispatchRuleInfo(
        name=spec.name,
        metadata=spec.metadata,
        rule=api.SIPDispatchRule(dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=spec.room_prefix)),
        trunk_ids=spec.trunk_ids,
        numbers=spec.numbers,
        inbound_numbers=spec.inbound_numbers,
        hide_phone_number=spec.hide_phone_number,
        krisp_enabled=spec.krisp_enabled,
        room_config=api.RoomConfiguration(
            agents=[api.RoomAgentDispatch(agent_name=spec.agent_name, metadata=spec.agent_metadata)]
        ),
    )


_default: LiveKit | None = None


def default() -> LiveKit:
    """The project's LiveKit, with credentials from Secrets Manager; created on first use."""
    global _default
    if _default is None:
        from telephony.config import settings
        from telephony.integrations import secrets

        config = settings()
        stored = secrets.read_json(config.require("livekit_credentials_secret_arn"))
        _default = LiveKit(Credentials(config.require("livekit_url"), stored["api_key"], stored["api_secret"]))
    return _default


def reset_default() -> None:
    global _default
    _default = None
