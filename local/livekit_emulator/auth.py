"""API-key authentication as livekit-server does it (pkg/service/auth.go).

Tokens are HS256 JWTs whose ``iss`` is the API key. The server's messages come from
golang-jwt v5, which livekit/protocol ``auth`` uses with a one-minute leeway and a
required ``exp`` claim. The middleware answers authentication failures with a plain-text
401; a request without any token goes through and fails later, in the handler's grant
check, with the Twirp error ``unauthenticated`` / ``permissions denied``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .twirp import TwirpError

LEEWAY_SECONDS = 60
BEARER_PREFIX = "Bearer "

ERR_MISSING_AUTHORIZATION = "invalid authorization header. Must start with " + BEARER_PREFIX
ERR_INVALID_TOKEN = "invalid authorization token"  # noqa: S105 - an error message  # nosec B105
ERR_INVALID_API_KEY = "invalid API key"
ERR_PERMISSION_DENIED = "permissions denied"

# Signing methods golang-jwt knows; an unknown "alg" fails parsing before the key lookup.
_KNOWN_ALGS = {
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
}


class AuthFailure(Exception):
    """The middleware's plain-text 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Grants:
    """The parts of livekit ``ClaimGrants`` the emulated services look at."""

    identity: str = ""
    video: dict[str, Any] | None = None
    sip: dict[str, Any] | None = None
    claims: dict[str, Any] = field(default_factory=dict)

    def _video(self, key: str) -> Any:
        return (self.video or {}).get(key)

    def ensure_sip_admin(self) -> None:
        if not self.sip or not self.sip.get("admin"):
            raise permission_denied()

    def ensure_sip_call(self) -> None:
        if not self.sip or not self.sip.get("call"):
            raise permission_denied()

    def ensure_room_admin(self, room: str) -> None:
        # EnsureAdminPermission: roomAdmin and the token's room must equal the request's room.
        if self.video is None or not self._video("roomAdmin") or (self._video("room") or "") != room:
            raise permission_denied()

    def ensure_room_create(self) -> None:
        if self.video is None or not self._video("roomCreate"):
            raise permission_denied()

    def ensure_room_list(self) -> None:
        if self.video is None or not self._video("roomList"):
            raise permission_denied()


NO_GRANTS = Grants()


def permission_denied() -> TwirpError:
    # twirpAuthError(ErrPermissionDenied)
    return TwirpError("unauthenticated", ERR_PERMISSION_DENIED)


def _b64url_decode(segment: str) -> bytes:
    # golang-jwt v5 decodes segments with base64.RawURLEncoding (no padding).
    if "=" in segment:
        raise ValueError("illegal base64 data")
    pad = "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(segment + pad)


def _b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _numeric(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"invalid type for claim {name}")
    return float(value)


def authenticate(
    authorization: str | None, query_token: str | None, secrets: dict[str, str], now: float | None = None
) -> Grants:
    """Returns the request's grants; raises AuthFailure for the middleware's 401 cases."""
    if authorization:
        if not authorization.startswith(BEARER_PREFIX):
            raise AuthFailure(ERR_MISSING_AUTHORIZATION)
        token = authorization[len(BEARER_PREFIX) :]
    else:
        token = query_token or ""
    if not token:
        return NO_GRANTS

    # auth.ParseAPIToken: parse without verifying.
    try:
        parts = token.split(".")
        if len(parts) != 3:
            raise ValueError("token contains an invalid number of segments")
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("not an object")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in _KNOWN_ALGS:
            raise ValueError("signing method (alg) is unavailable")
        exp = _numeric(claims, "exp")
        nbf = _numeric(claims, "nbf")
        _numeric(claims, "iat")
        api_key = claims.get("iss", "")
        if not isinstance(api_key, str):
            raise ValueError("invalid type for claim iss")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AuthFailure(ERR_INVALID_TOKEN) from None

    secret = secrets.get(api_key, "")
    if not secret:
        raise AuthFailure(ERR_INVALID_API_KEY)

    # APIKeyTokenVerifier.Verify: method, then signature, then claims.
    if alg != "HS256":
        raise AuthFailure(f"{ERR_INVALID_TOKEN}: token signature is invalid: signing method {alg} is invalid")
    expected = hmac.new(secret.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise AuthFailure(f"{ERR_INVALID_TOKEN}: token signature is invalid: signature is invalid")

    now = time.time() if now is None else now
    problems = []
    if exp is None:
        problems.append("token is missing required claim: exp claim is required")
    elif not now < exp + LEEWAY_SECONDS:
        problems.append("token is expired")
    if nbf is not None and now < nbf - LEEWAY_SECONDS:
        problems.append("token is not valid yet")
    if problems:
        raise AuthFailure(f"{ERR_INVALID_TOKEN}: token has invalid claims: {', '.join(problems)}")

    video = claims.get("video")
    sip = claims.get("sip")
    return Grants(
        identity=str(claims.get("sub") or claims.get("jti") or ""),
        video=video if isinstance(video, dict) else None,
        sip=sip if isinstance(sip, dict) else None,
        claims=claims,
    )


def sign_token(api_key: str, api_secret: str, extra: dict[str, Any], valid_for: float = 300.0) -> str:
    """An HS256 token as livekit/protocol ``auth.AccessToken.ToJWT`` builds it."""
    now = int(time.time())
    claims: dict[str, Any] = {"iss": api_key, "nbf": now, "iat": now, "exp": now + int(valid_for)}
    claims.update(extra)
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = (
        _b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = hmac.new(api_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64url_encode(sig)


def webhook_authorization(api_key: str, api_secret: str, body: bytes) -> str:
    """The ``Authorization`` header value of a webhook: a JWT whose sha256 claim is the body hash."""
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
    return sign_token(api_key, api_secret, {"sha256": digest}, valid_for=300.0)
