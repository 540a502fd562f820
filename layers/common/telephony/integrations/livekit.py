"""LiveKit: the only module that talks to LiveKit's server API, and only when a function first needs it.

LiveKit's server API is Twirp: requests POSTed to `/twirp/livekit.<Service>/<Method>` with an
HS256 access token carrying the method's grants, errors as JSON `{code, msg, meta}`. We speak
Twirp's JSON form of LiveKit's protobuf messages (proto field names, enums by name, durations as
"30s"), which LiveKit's server reads and answers like protobuf, rather than shipping the
`livekit-protocol` and `protobuf` packages to build and read a few messages (ADR 0010). The tests hold every
request we build equal to the message `livekit-protocol` makes of it. The transport is urllib3 (which the Lambda
runtime ships with botocore), synchronous like the handlers, one pool per warm container, rather than the async
`livekit-api` SDK and its aiohttp (ADR 0007); the tests still drive the emulator with the SDK.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from telephony import snapstart
from telephony.errors import Conflict, InvalidInput, NotFound, UpstreamError, UpstreamUnavailable
from telephony.models.sip import DispatchRule, InboundTrunk, OutboundTrunk, Part

_TIMEOUT_SECONDS = 10.0
_CONNECT_SECONDS = 3.0
# A transfer waits for the far end to answer the REFER. The SDK allows 40 s, but the function stops at 29 s
# (and API Gateway at 30): past that the caller would get the gateway's error with the transfer not recorded.
_TRANSFER_SECONDS = 24.0
_TOKEN_TTL_SECONDS = 600
_WEBHOOK_LEEWAY_SECONDS = 60  # as the SDK's TokenVerifier
_USER_AGENT = "telephony-api"
_UNAVAILABLE = {"unavailable", "deadline_exceeded", "resource_exhausted", "canceled"}
_INPUT = {"invalid_argument", "malformed", "out_of_range"}
_CONFLICT = {"already_exists", "aborted", "failed_precondition"}


@dataclass(frozen=True)
class Credentials:
    url: str
    api_key: str
    api_secret: str


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


@dataclass(frozen=True)
class Upload:
    """Where an egress uploads its file: an S3 bucket, with a key pair or a role LiveKit assumes (with its external
    id). `endpoint` is empty for AWS's own S3."""

    bucket: str
    region: str
    endpoint: str = ""
    access_key: str = ""
    secret: str = ""
    assume_role_arn: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class EgressFile:
    filename: str
    duration_ns: int
    size: int
    location: str


@dataclass(frozen=True)
class Egress:
    """The parts of livekit.EgressInfo the API reads."""

    egress_id: str
    room_name: str
    status: str  # livekit.EgressStatus's name
    started_at: int  # unix nanoseconds; 0 when not yet
    ended_at: int
    error: str
    file: EgressFile | None

    @property
    def live(self) -> bool:
        return self.status in ("EGRESS_STARTING", "EGRESS_ACTIVE", "EGRESS_ENDING")


class DialFailed(Exception):
    """The callee's side refused the call (busy, declined, unreachable)."""

    def __init__(self, code: str, message: str, sip_status_code: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.sip_status_code = sip_status_code


class LiveKitFailure(Exception):
    """LiveKit's own error answer (Twirp: `{"code", "msg", "meta"}` with an HTTP status)."""

    def __init__(self, code: str, message: str, status: int, metadata: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.status = status
        self.metadata = metadata or {}


_pool: Any = None
_pool_lock = threading.Lock()
_tokens: dict[tuple[Credentials, str], tuple[str, float]] = {}


def _http() -> Any:
    """One connection pool per warm container (thread-safe; the local stack serves requests in threads)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            import urllib3

            _pool = urllib3.PoolManager(num_pools=4, maxsize=8, retries=False, block=False)
        return _pool


def _token(credentials: Credentials, video: dict[str, Any], sip: dict[str, Any]) -> str:
    """A LiveKit access token (HS256, the server's claim names) with these grants, reused while it is young."""
    key = (credentials, json.dumps([video, sip], sort_keys=True))
    now = time.time()
    cached = _tokens.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    import jwt

    claims: dict[str, Any] = {"iss": credentials.api_key, "nbf": int(now) - 1, "exp": int(now) + _TOKEN_TTL_SECONDS}
    if video:
        claims["video"] = video
    if sip:
        claims["sip"] = sip
    token = jwt.encode(claims, credentials.api_secret, algorithm="HS256")
    if len(_tokens) > 256:  # one per room for room-scoped grants: keep the cache small
        _tokens.clear()
    _tokens[key] = (token, now + _TOKEN_TTL_SECONDS / 2)
    return token


def _failure(status: int, body: bytes) -> LiveKitFailure:
    """Twirp encodes errors as JSON whatever the content type; anything else is an unknown error."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    meta = data.get("meta")
    metadata = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return LiveKitFailure(str(data.get("code") or "unknown"), str(data.get("msg") or ""), status, metadata)


def _answer(data: bytes) -> dict[str, Any]:
    """A Twirp JSON answer: one object, every field under its proto name (Twirp's default)."""
    try:
        answer = json.loads(data)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise LiveKitFailure("internal", "LiveKit's answer is not a JSON object", 200)
    return answer


def _is_transport_failure(error: BaseException) -> bool:
    import urllib3

    return isinstance(error, urllib3.exceptions.HTTPError | TimeoutError | ConnectionError)


# What a caller is told for each of LiveKit's error codes: a short message of ours and the code. LiveKit's own
# text describes its internals (other tenants' resources among them) and goes to the log only.
_MESSAGES = {
    "invalid_argument": "LiveKit refused the request as invalid",
    "malformed": "LiveKit refused the request as invalid",
    "out_of_range": "LiveKit refused a value as out of range",
    "already_exists": "LiveKit already holds a conflicting resource (for example another trunk for these numbers)",
    "aborted": "LiveKit refused the request because of a conflicting change",
    "failed_precondition": "LiveKit refused the request in the resource's current state",
    "not_found": "LiveKit does not know this resource",
}


def _translate(error: BaseException) -> Exception:
    """LiveKit's answer in domain terms: down -> 503, refused input -> 400, conflict -> 409."""
    if isinstance(error, LiveKitFailure):
        code = error.code
        from telephony.observability import logger

        logger().warning("LiveKit refused a request", extra={"livekit_code": code, "livekit_message": error.message})
        details = [{"livekit_code": code}]
        message = _MESSAGES.get(code, "LiveKit failed")
        if code in _INPUT:
            return InvalidInput(message, details=details)
        if code in _CONFLICT:
            return Conflict(message, details=details)
        if code == "not_found":
            return NotFound(message, details=details)
        if code in _UNAVAILABLE or error.status == 503:
            return UpstreamUnavailable("LiveKit is unavailable; retry shortly", details=details)
        return UpstreamError(message, details=details)
    return UpstreamUnavailable("LiveKit is unreachable; retry shortly", details=[{"livekit_code": "unreachable"}])


class LiveKit:
    """Synchronous Twirp client for one LiveKit project: JSON over one pooled HTTP connection."""

    def __init__(self, credentials: Credentials, *, timeout: float = _TIMEOUT_SECONDS) -> None:
        self.credentials = credentials
        self.base_url = _http_url(credentials.url)
        self.timeout = timeout
        self.calls = 0  # requests made, for the benchmarks' round-trip counts

    def _run(self, call: _Call, *, timeout: float | None = None) -> dict[str, Any]:
        """POST one Twirp request; LiveKit's refusals and transport failures become domain errors."""
        import urllib3

        from telephony.observability import count

        self.calls += 1
        count("LiveKitRequests")
        headers = {
            "Authorization": "Bearer " + _token(self.credentials, call.video, call.sip),
            "Content-Type": "application/json",
            "User-Agent": _USER_AGENT,
        }
        seconds = timeout or self.timeout
        try:
            response = _http().request(
                "POST",
                f"{self.base_url}/twirp/livekit.{call.service}/{call.method}",
                body=json.dumps(call.request, separators=(",", ":")).encode(),
                headers=headers,
                timeout=urllib3.Timeout(connect=min(seconds, _CONNECT_SECONDS), read=seconds),
                redirect=False,
            )
            if response.status != 200:
                raise _failure(response.status, response.data)
            return _answer(response.data)
        except Exception as error:
            if isinstance(error, LiveKitFailure) or _is_transport_failure(error):
                count("LiveKitErrors")
                raise _translate(error) from error
            raise

    # ------------------------------------------------------------ trunks
    def create_inbound_trunk(self, spec: InboundTrunk, password: str) -> str:
        answer = self._run(_sip_admin("CreateSIPInboundTrunk", {"trunk": _inbound_info(spec, password)}))
        return str(_field(answer, "sip_trunk_id"))

    def replace_inbound_trunk(self, trunk_id: str, spec: InboundTrunk, password: str) -> None:
        request = {"sip_trunk_id": trunk_id, "replace": _inbound_info(spec, password)}
        self._run(_sip_admin("UpdateSIPInboundTrunk", request))

    def create_outbound_trunk(self, spec: OutboundTrunk, password: str) -> str:
        answer = self._run(_sip_admin("CreateSIPOutboundTrunk", {"trunk": _outbound_info(spec, password)}))
        return str(_field(answer, "sip_trunk_id"))

    def replace_outbound_trunk(self, trunk_id: str, spec: OutboundTrunk, password: str) -> None:
        request = {"sip_trunk_id": trunk_id, "replace": _outbound_info(spec, password)}
        self._run(_sip_admin("UpdateSIPOutboundTrunk", request))

    def delete_trunk(self, trunk_id: str) -> None:
        with contextlib.suppress(NotFound):  # already gone is what we wanted
            self._run(_sip_admin("DeleteSIPTrunk", {"sip_trunk_id": trunk_id}))

    # ------------------------------------------------------------ dispatch rules
    def create_dispatch_rule(self, spec: DispatchRule) -> str:
        answer = self._run(_sip_admin("CreateSIPDispatchRule", {"dispatch_rule": _rule_info(spec)}))
        return str(_field(answer, "sip_dispatch_rule_id"))

    def replace_dispatch_rule(self, rule_id: str, spec: DispatchRule) -> None:
        request = {"sip_dispatch_rule_id": rule_id, "replace": _rule_info(spec)}
        self._run(_sip_admin("UpdateSIPDispatchRule", request))

    def delete_dispatch_rule(self, rule_id: str) -> None:
        with contextlib.suppress(NotFound):
            self._run(_sip_admin("DeleteSIPDispatchRule", {"sip_dispatch_rule_id": rule_id}))

    def find(
        self, part: Part, metadata: str, *, numbers: list[str] | None = None, trunk_ids: list[str] | None = None
    ) -> list[str]:
        """The ids of the trunks or dispatch rules that carry this metadata, among those LiveKit lists for these
        numbers (trunks) or trunk ids (rules): every one without a filter."""
        method, id_field, request = {
            Part.INBOUND: ("ListSIPInboundTrunk", "sip_trunk_id", {"numbers": numbers}),
            Part.OUTBOUND: ("ListSIPOutboundTrunk", "sip_trunk_id", {"numbers": numbers}),
            Part.RULE: ("ListSIPDispatchRule", "sip_dispatch_rule_id", {"trunk_ids": trunk_ids}),
        }[part]
        items = self._run(_sip_admin(method, {k: v for k, v in request.items() if v})).get("items")
        if not isinstance(items, list):
            return []
        return [
            str(_field(item, id_field))
            for item in items
            if isinstance(item, dict) and _field(item, "metadata") == metadata and _field(item, id_field)
        ]

    # ------------------------------------------------------------ calls
    def create_dispatch(self, room: str, agent_name: str, metadata: str) -> str:
        request = {"agent_name": agent_name, "room": room, "metadata": metadata}
        video = {"roomAdmin": True, "room": room}
        return str(_field(self._run(_Call("AgentDispatchService", "CreateDispatch", request, video)), "id"))

    def dial(self, spec: Dial) -> dict[str, str]:
        call = _Call("SIP", "CreateSIPParticipant", dial_request(spec), sip={"call": True})
        try:
            info = self._run(call)
        except (InvalidInput, Conflict, NotFound, UpstreamError, UpstreamUnavailable) as error:
            sip_code = _sip_status(error.__cause__)
            if sip_code is not None:
                message = f"the call was refused with SIP status {sip_code}"
                raise DialFailed(getattr(error.__cause__, "code", ""), message, sip_code) from error
            raise
        return {
            "participant_id": str(_field(info, "participant_id")),
            "identity": str(_field(info, "participant_identity")),
            "sip_call_id": str(_field(info, "sip_call_id")),
        }

    def transfer(self, room: str, identity: str, transfer_to: str, *, play_dialtone: bool = False) -> None:
        request = {
            "room_name": room,
            "participant_identity": identity,
            "transfer_to": transfer_to,
            "play_dialtone": play_dialtone,
        }
        call = _Call("SIP", "TransferSIPParticipant", request, {"roomAdmin": True, "room": room}, {"call": True})
        self._run(call, timeout=_TRANSFER_SECONDS)  # the callee's side answers the REFER first

    def verify_webhook(self, body: str, authorization: str) -> WebhookEvent:
        """The event, if LiveKit signed this body (HS256 JWT from our key, with the body's sha256)."""
        import jwt

        from telephony.errors import Unauthenticated

        try:
            claims = jwt.decode(
                authorization,
                key=self.credentials.api_secret,
                issuer=self.credentials.api_key,
                algorithms=["HS256"],
                leeway=_WEBHOOK_LEEWAY_SECONDS,
                options={"require": ["exp", "iss"]},
            )
            signed = base64.b64decode(str(claims.get("sha256") or ""), validate=True)
            if not signed or not hmac.compare_digest(signed, hashlib.sha256(body.encode()).digest()):
                raise ValueError("the body's sha256 differs from the signed one")
            return WebhookEvent.parse(body)
        except (jwt.PyJWTError, ValueError) as error:
            raise Unauthenticated("invalid or missing webhook signature") from error

    # ------------------------------------------------------------ recordings
    def start_recording(self, room: str, filepath: str, upload: Upload) -> Egress:
        """An audio-only room-composite egress of `room` to one OGG file at `filepath` in the upload's bucket."""
        return _egress(
            self._run(
                _Call(
                    "Egress",
                    "StartRoomCompositeEgress",
                    recording_request(room, filepath, upload),
                    {"roomRecord": True},
                )
            )
        )

    def stop_egress(self, egress_id: str) -> Egress:
        return _egress(self._run(_Call("Egress", "StopEgress", {"egress_id": egress_id}, {"roomRecord": True})))

    def find_egress(self, egress_id: str) -> Egress | None:
        """The egress with this id, as LiveKit lists it (None when it knows none)."""
        answer = self._run(_Call("Egress", "ListEgress", {"egress_id": egress_id}, {"roomRecord": True}))
        items = [_egress(i) for i in answer.get("items") or [] if isinstance(i, dict)]
        return next((i for i in items if i.egress_id == egress_id), None)

    def delete_room(self, room: str) -> None:
        call = _Call("RoomService", "DeleteRoom", {"room": room}, {"roomCreate": True})
        with contextlib.suppress(NotFound):
            self._run(call)

    def existing_rooms(self, names: list[str]) -> set[str]:
        """Which of these rooms exist now."""
        answer = self._run(_Call("RoomService", "ListRooms", {"names": names}, {"roomList": True}))
        return {str(_field(room, "name")) for room in answer.get("rooms") or [] if isinstance(room, dict)}

    def participants(self, room: str) -> set[str]:
        """The identities of the room's participants now (none when the room is gone)."""
        call = _Call("RoomService", "ListParticipants", {"room": room}, {"roomAdmin": True, "room": room})
        try:
            answer = self._run(call)
        except NotFound:
            return set()
        return {str(_field(p, "identity")) for p in answer.get("participants") or [] if isinstance(p, dict)}


@dataclass
class _Call:
    """One Twirp method call (its request as LiveKit's protobuf JSON) and the grants its token needs."""

    service: str
    method: str
    request: dict[str, Any]
    video: dict[str, Any] = field(default_factory=dict)
    sip: dict[str, Any] = field(default_factory=dict)


def _sip_admin(method: str, request: dict[str, Any]) -> _Call:
    return _Call("SIP", method, request, sip={"admin": True})


def _http_url(url: str) -> str:
    """The HTTP(S) base of a LiveKit URL (`wss://x.livekit.cloud` -> `https://x.livekit.cloud`)."""
    if url.startswith("ws"):
        url = "http" + url[2:]
    return url.rstrip("/")


def _sip_status(error: BaseException | None) -> int | None:
    raw = (getattr(error, "metadata", None) or {}).get("sip_status_code")
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _field(message: dict[str, Any], name: str) -> Any:
    """A field of a protobuf JSON object by its proto name: Twirp answers with those names; LiveKit's
    webhooks (protojson's defaults) with lowerCamelCase ones. Absent: None."""
    if name in message:
        return message[name]
    head, *rest = name.split("_")
    return message.get(head + "".join(part[:1].upper() + part[1:] for part in rest))


def _seconds(value: int) -> str:
    return f"{int(value)}s"  # google.protobuf.Duration in JSON


def _inbound_info(spec: InboundTrunk, password: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": spec.name,
        "metadata": spec.metadata,
        "numbers": spec.numbers,
        "allowed_addresses": spec.allowed_addresses,
        "allowed_numbers": spec.allowed_numbers,
        "auth_username": spec.auth_username,
        "auth_password": password,
        "headers": spec.headers,
        "headers_to_attributes": spec.headers_to_attributes,
        "krisp_enabled": spec.krisp_enabled,
        "media_encryption": f"SIP_MEDIA_ENCRYPT_{spec.media_encryption}",
    }
    if spec.ringing_timeout_seconds:
        info["ringing_timeout"] = _seconds(spec.ringing_timeout_seconds)
    if spec.max_call_duration_seconds:
        info["max_call_duration"] = _seconds(spec.max_call_duration_seconds)
    return info


def _outbound_info(spec: OutboundTrunk, password: str) -> dict[str, Any]:
    return {
        "name": spec.name,
        "metadata": spec.metadata,
        "address": spec.address,
        "numbers": spec.numbers,
        "transport": f"SIP_TRANSPORT_{spec.transport}",
        "destination_country": spec.destination_country,
        "auth_username": spec.auth_username,
        "auth_password": password,
        "headers": spec.headers,
        "media_encryption": f"SIP_MEDIA_ENCRYPT_{spec.media_encryption}",
    }


def _rule_info(spec: DispatchRule) -> dict[str, Any]:
    return {
        "name": spec.name,
        "metadata": spec.metadata,
        "rule": {"dispatch_rule_individual": {"room_prefix": spec.room_prefix}},
        "trunk_ids": spec.trunk_ids,
        "numbers": spec.numbers,
        "inbound_numbers": spec.inbound_numbers,
        "hide_phone_number": spec.hide_phone_number,
        "krisp_enabled": spec.krisp_enabled,
        "room_config": {"agents": [{"agent_name": spec.agent_name, "metadata": spec.agent_metadata}]},
    }


def dial_request(spec: Dial) -> dict[str, Any]:
    """CreateSIPParticipantRequest: answered at once (the call's progress comes by webhook)."""
    return {
        "sip_trunk_id": spec.trunk_id,
        "sip_call_to": spec.to,
        "sip_number": spec.from_number,
        "room_name": spec.room,
        "participant_identity": spec.identity,
        "participant_name": spec.name,
        "participant_metadata": spec.metadata,
        "participant_attributes": spec.attributes,
        "dtmf": spec.dtmf,
        "headers": spec.headers,
        "krisp_enabled": spec.krisp_enabled,
        "hide_phone_number": spec.hide_phone_number,
        "play_dialtone": spec.play_dialtone,
        "wait_until_answered": False,
        "ringing_timeout": _seconds(spec.ringing_timeout_seconds),
        "max_call_duration": _seconds(spec.max_call_duration_seconds),
    }


def recording_request(room: str, filepath: str, upload: Upload) -> dict[str, Any]:
    """RoomCompositeEgressRequest: audio only, the agent and the callee on a channel each where LiveKit can, one OGG
    file without a manifest beside it."""
    s3: dict[str, Any] = {"bucket": upload.bucket, "region": upload.region}
    if upload.endpoint:
        s3.update(endpoint=upload.endpoint, force_path_style=True)
    if upload.access_key:
        s3.update(access_key=upload.access_key, secret=upload.secret)
    if upload.assume_role_arn:
        s3.update(assume_role_arn=upload.assume_role_arn, assume_role_external_id=upload.external_id)
    return {
        "room_name": room,
        "audio_only": True,
        "audio_mixing": "DUAL_CHANNEL_AGENT",
        "file_outputs": [{"file_type": "OGG", "filepath": filepath, "disable_manifest": True, "s3": s3}],
    }


_EGRESS_STATUSES = (
    "EGRESS_STARTING",
    "EGRESS_ACTIVE",
    "EGRESS_ENDING",
    "EGRESS_COMPLETE",
    "EGRESS_FAILED",
    "EGRESS_ABORTED",
    "EGRESS_LIMIT_REACHED",
)


def _int64(value: Any) -> int:
    """An int64 of protobuf JSON: a string, or a number."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise ValueError("not an int64") from None


def _egress(data: dict[str, Any]) -> Egress:
    """livekit.EgressInfo from Twirp's JSON (proto names) or a webhook's (lowerCamelCase). ValueError when it is
    not one."""
    status = _field(data, "status")
    if isinstance(status, int) and not isinstance(status, bool):
        status = _EGRESS_STATUSES[status] if 0 <= status < len(_EGRESS_STATUSES) else f"STATUS_{status}"
    elif status is None:
        status = _EGRESS_STATUSES[0]
    elif not isinstance(status, str):
        raise ValueError("status is neither a name nor a number")
    results = _field(data, "file_results")
    files = [r for r in results if isinstance(r, dict)] if isinstance(results, list) else []
    legacy = _object(data, "file")
    first = files[0] if files else legacy
    return Egress(
        egress_id=_string(data, "egress_id"),
        room_name=_string(data, "room_name"),
        status=status,
        started_at=_int64(_field(data, "started_at")),
        ended_at=_int64(_field(data, "ended_at")),
        error=_string(data, "error"),
        file=(
            EgressFile(
                filename=_string(first, "filename"),
                duration_ns=_int64(_field(first, "duration")),
                size=_int64(_field(first, "size")),
                location=_string(first, "location"),
            )
            if first
            else None
        ),
    )


# livekit.DisconnectReason by number (protojson writes the names; a number is accepted as well)
_DISCONNECT_REASONS = (
    "UNKNOWN_REASON",
    "CLIENT_INITIATED",
    "DUPLICATE_IDENTITY",
    "SERVER_SHUTDOWN",
    "PARTICIPANT_REMOVED",
    "ROOM_DELETED",
    "STATE_MISMATCH",
    "JOIN_FAILURE",
    "MIGRATION",
    "SIGNAL_CLOSE",
    "ROOM_CLOSED",
    "USER_UNAVAILABLE",
    "USER_REJECTED",
    "SIP_TRUNK_FAILURE",
    "CONNECTION_TIMEOUT",
    "MEDIA_FAILURE",
    "AGENT_ERROR",
)


@dataclass(frozen=True)
class Participant:
    identity: str
    attributes: dict[str, str]
    disconnect_reason: str  # livekit.DisconnectReason's name, UNKNOWN_REASON when absent
    kind: str = "STANDARD"  # livekit.ParticipantInfo.Kind's name: SIP, AGENT, ...
    metadata: str = ""


@dataclass(frozen=True)
class WebhookEvent:
    """The parts of livekit.WebhookEvent the API reads (protobuf JSON; unknown fields ignored)."""

    event: str
    id: str
    created_at: int
    room_name: str | None  # None: the event has no room
    participant: Participant | None
    egress: Egress | None = None  # the egress_* events'

    @classmethod
    def parse(cls, body: str) -> WebhookEvent:
        """Raises ValueError for anything that is not a WebhookEvent's JSON."""
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("a webhook event is a JSON object")
        room = _object(data, "room")
        participant = _object(data, "participant")
        egress = _object(data, "egress_info")
        return cls(
            event=_string(data, "event"),
            id=_string(data, "id"),
            created_at=int(_field(data, "created_at") or 0),  # int64: a string in protobuf JSON
            room_name=_string(room, "name") if room is not None else None,
            participant=(
                Participant(
                    identity=_string(participant, "identity"),
                    attributes={str(k): str(v) for k, v in (_object(participant, "attributes") or {}).items()},
                    disconnect_reason=_reason(_field(participant, "disconnect_reason")),
                    kind=_kind(_field(participant, "kind")),
                    metadata=_string(participant, "metadata"),
                )
                if participant is not None
                else None
            ),
            egress=_egress(egress) if egress is not None else None,
        )


def _object(message: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = _field(message, name)
    if value is not None and not isinstance(value, dict):
        raise ValueError(f"{name} is not an object")
    return value


def _string(message: dict[str, Any], name: str) -> str:
    value = _field(message, name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} is not a string")
    return value or ""


def _reason(value: Any) -> str:
    if value is None:
        return _DISCONNECT_REASONS[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return _DISCONNECT_REASONS[value] if 0 <= value < len(_DISCONNECT_REASONS) else f"REASON_{value}"
    if isinstance(value, str):
        return value
    raise ValueError("disconnect_reason is neither a name nor a number")


# livekit.ParticipantInfo.Kind by number (protojson writes the names; STANDARD, 0, is left out)
_KINDS = {0: "STANDARD", 1: "INGRESS", 2: "EGRESS", 3: "SIP", 4: "AGENT", 7: "CONNECTOR", 8: "BRIDGE"}


def _kind(value: Any) -> str:
    if value is None:
        return _KINDS[0]
    if isinstance(value, int) and not isinstance(value, bool):
        return _KINDS.get(value, f"KIND_{value}")
    if isinstance(value, str):
        return value
    raise ValueError("kind is neither a name nor a number")


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


@snapstart.after_restore
def _renew() -> None:
    """After a SnapStart restore: the pool's sockets belong to the snapshot, the tokens were signed at its time and
    the credentials were read from Secrets Manager then (they may have been rotated since)."""
    global _pool
    with _pool_lock:
        _pool = None
    _tokens.clear()
    reset_default()
