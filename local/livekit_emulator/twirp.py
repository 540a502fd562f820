"""Twirp error model, as livekit-server (twirp v8 + protocol ``xtwirp``) writes it."""

from __future__ import annotations

import json
from typing import Any

# twirp v8 ServerHTTPStatusFromErrorCode
HTTP_STATUS: dict[str, int] = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}

# gRPC status code numbers, used for the ``error_details`` metadata (google.rpc.Status.code).
GRPC_CODE: dict[str, int] = {
    "canceled": 1,
    "unknown": 2,
    "invalid_argument": 3,
    "deadline_exceeded": 4,
    "not_found": 5,
    "already_exists": 6,
    "permission_denied": 7,
    "resource_exhausted": 8,
    "failed_precondition": 9,
    "aborted": 10,
    "out_of_range": 11,
    "unimplemented": 12,
    "internal": 13,
    "unavailable": 14,
    "dataloss": 15,
    "unauthenticated": 16,
}


class TwirpError(Exception):
    """An error a Twirp handler returns; rendered as ``{"code","msg","meta"?}``."""

    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        if code not in HTTP_STATUS:
            raise ValueError(f"unknown twirp error code {code!r}")
        self.code = code
        self.msg = msg
        self.meta: dict[str, str] = dict(meta or {})

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def body(self) -> bytes:
        return encode_error_body(self.code, self.msg, self.meta)


def go_json(obj: Any) -> bytes:
    """JSON the way Go's encoding/json writes it: compact, with <, > and & escaped."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    text = (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
    return text.encode("utf-8")


def encode_error_body(code: str, msg: str, meta: dict[str, str] | None = None) -> bytes:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if meta:
        body["meta"] = dict(sorted(meta.items()))
    return go_json(body)


def go_quote(s: str) -> str:
    """Approximation of Go's ``%q`` for a string (enough for ids, names and numbers)."""
    return json.dumps(s, ensure_ascii=False)


def go_quote_list(items: list[str]) -> str:
    """Go's ``%q`` for a []string: ``["a" "b"]``."""
    return "[" + " ".join(go_quote(s) for s in items) + "]"


def bad_route(msg: str, method: str, path: str) -> TwirpError:
    return TwirpError("bad_route", msg, {"twirp_invalid_route": f"{method} {path}"})


# The named errors of livekit-server (pkg/service/errors.go) the emulated methods return.
def sip_trunk_not_found() -> TwirpError:
    return TwirpError("not_found", "requested sip trunk does not exist")


def sip_dispatch_rule_not_found() -> TwirpError:
    return TwirpError("not_found", "requested sip dispatch rule does not exist")


def room_not_found() -> TwirpError:
    return TwirpError("not_found", "requested room does not exist")


def participant_not_found() -> TwirpError:
    return TwirpError("not_found", "participant does not exist")
