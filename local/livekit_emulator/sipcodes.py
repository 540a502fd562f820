"""How LiveKit turns a failed outbound INVITE into an API error and a participant exit.

Facts carried over from livekit/protocol (``livekit/sip.go``: SIP status -> gRPC code,
``TwirpErrorMeta``), livekit/sip (``pkg/sip/errors.go`` classifyInviteError,
``pkg/sip/outbound.go`` Invite, ``pkg/sip/participant.go`` CallStatus) and livekit-server
(``pkg/rtc/types`` leave-reason mapping).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from google.protobuf import any_pb2
from livekit.protocol import sip as sip_pb

from .twirp import GRPC_CODE, TwirpError

# Reason phrases (RFC 3261 and friends) used when an outcome does not give its own.
REASON_PHRASES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

# livekit/protocol sipCodeToGRPCCode, expressed with Twirp code names.
_SIP_TO_TWIRP: dict[int, str] = {
    300: "invalid_argument",
    301: "not_found",
    302: "not_found",
    305: "invalid_argument",
    380: "invalid_argument",
    400: "invalid_argument",
    401: "permission_denied",
    402: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_argument",
    406: "invalid_argument",
    407: "unauthenticated",
    408: "deadline_exceeded",
    409: "failed_precondition",
    410: "not_found",
    411: "invalid_argument",
    412: "failed_precondition",
    413: "invalid_argument",
    414: "invalid_argument",
    415: "invalid_argument",
    416: "out_of_range",
    417: "invalid_argument",
    420: "invalid_argument",
    421: "invalid_argument",
    422: "invalid_argument",
    423: "invalid_argument",
    424: "invalid_argument",
    425: "invalid_argument",
    428: "unauthenticated",
    429: "invalid_argument",
    430: "invalid_argument",
    433: "permission_denied",
    436: "unauthenticated",
    437: "unauthenticated",
    438: "unauthenticated",
    439: "invalid_argument",
    440: "resource_exhausted",
    469: "invalid_argument",
    470: "permission_denied",
    480: "resource_exhausted",
    481: "not_found",
    482: "failed_precondition",
    483: "failed_precondition",
    484: "invalid_argument",
    485: "invalid_argument",
    486: "resource_exhausted",
    487: "aborted",
    488: "invalid_argument",
    489: "invalid_argument",
    491: "aborted",
    493: "invalid_argument",
    494: "unauthenticated",
    500: "failed_precondition",
    501: "failed_precondition",
    502: "failed_precondition",
    503: "failed_precondition",
    504: "deadline_exceeded",
    505: "invalid_argument",
    513: "invalid_argument",
    600: "resource_exhausted",
    603: "permission_denied",
    604: "not_found",
    606: "invalid_argument",
    607: "permission_denied",
    608: "permission_denied",
}

# livekit/sip sipOutbound.Invite: these responses are reported as "INVITE failed: ...",
# every other final non-2xx one as "unexpected status from INVITE response: ...".
_INVITE_FAILED_CODES = {400, 404, 480, 486, 488}

# Participant disconnect reasons as they reach webhooks. livekit/sip leaves the room with
# CallStatus.DisconnectReason(); livekit-server keeps USER_UNAVAILABLE / USER_REJECTED and
# turns anything else a client sends (UNKNOWN_REASON for a dropped call) into CLIENT_INITIATED.
REJECTED = "USER_REJECTED"
UNAVAILABLE = "USER_UNAVAILABLE"
DROPPED = "CLIENT_INITIATED"

# The error a dial gets when ringing_timeout expires (or the dial is aborted while ringing).
RINGING_TIMEOUT_CODE = "canceled"
RINGING_TIMEOUT_MSG = "sip request timed out"


def twirp_code_for(code: int) -> str:
    if code in _SIP_TO_TWIRP:
        return _SIP_TO_TWIRP[code]
    if code < 200:
        return "unknown"
    if code < 500:
        return "invalid_argument"
    if code < 600:
        return "failed_precondition"
    return "invalid_argument"


def reason_phrase(code: int) -> str:
    return REASON_PHRASES.get(code, "")


def participant_disconnect_reason(code: int, status: str) -> str:
    """The participant's disconnect_reason after a failed INVITE (classifyInviteError)."""
    if code in (404, 408, 480):
        return UNAVAILABLE
    if 400 <= code < 500 or 600 <= code < 700:
        return REJECTED
    if 500 <= code < 600:
        body = status.lower()
        if "cps limit exceeded" in body or "concurrent call limit exceeded" in body:
            return REJECTED
        return DROPPED
    return DROPPED


@dataclass(frozen=True)
class SIPFailure:
    code: int
    status: str

    @property
    def twirp_code(self) -> str:
        return twirp_code_for(self.code)

    @property
    def message(self) -> str:
        status_text = self.status
        if status_text:
            inner = f"sip status: {self.code}: {status_text}"
        else:
            inner = f"sip status: {self.code} ({_short_name(self.code)})"
        prefix = "INVITE failed" if self.code in _INVITE_FAILED_CODES else "unexpected status from INVITE response"
        return f"{prefix}: {inner}"

    @property
    def disconnect_reason(self) -> str:
        return participant_disconnect_reason(self.code, self.status)

    def meta(self) -> dict[str, str]:
        status_text = self.status or _enum_name(self.code)
        return {
            "sip_status_code": str(self.code),
            "sip_status": status_text,
            "error_details": self._error_details(),
        }

    def _error_details(self) -> str:
        """base64 of a google.rpc.Status carrying the livekit.SIPStatus detail (xtwirp)."""
        detail = any_pb2.Any()
        detail.Pack(sip_pb.SIPStatus(code=self.code, status=self.status))  # type: ignore[arg-type]
        payload = (
            _field_varint(1, GRPC_CODE[self.twirp_code])
            + _field_bytes(2, self.message.encode("utf-8"))
            + _field_bytes(3, detail.SerializeToString())
        )
        return base64.b64encode(payload).decode("ascii")

    def error(self) -> TwirpError:
        return TwirpError(self.twirp_code, self.message, self.meta())


def _enum_name(code: int) -> str:
    try:
        return sip_pb.SIPStatusCode.Name(code)  # type: ignore[arg-type]
    except ValueError:
        return str(code)


def _short_name(code: int) -> str:
    name = _enum_name(code)
    return name.removeprefix("SIP_STATUS_")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(value)) + value
