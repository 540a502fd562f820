"""Authentication: API keys (random, stored hashed) and user JWTs (RS256 from the configured OIDC issuer)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import datetime
from functools import lru_cache
from typing import Any

from telephony.config import settings
from telephony.errors import Unauthenticated, UpstreamUnavailable
from telephony.models.principal import Principal, Role
from telephony.repositories.api_keys import ApiKeysRepository

KEY_PREFIX = "tpk_"
_ID_LENGTH = 26  # the body of an `ak_` id from util.new_id


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key(key_id: str) -> tuple[str, str]:
    """The key to show once, and the hash to store."""
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{key_id.removeprefix('ak_')}_{secret}", hash_secret(secret)


def _parse_api_key(token: str) -> tuple[str, str]:
    body = token[len(KEY_PREFIX) :]
    if len(body) < _ID_LENGTH + 2 or body[_ID_LENGTH] != "_":
        raise Unauthenticated("malformed API key")
    return f"ak_{body[:_ID_LENGTH]}", body[_ID_LENGTH + 1 :]


def authenticate(authorization: str | None, *, keys: ApiKeysRepository | None = None) -> Principal:
    """The caller behind an Authorization header; Unauthenticated for anything else."""
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("Authorization must be 'Bearer <API key or JWT>'")
    if token.startswith(KEY_PREFIX):
        return _from_api_key(token, keys or _keys())
    return _from_jwt(token)


@lru_cache(maxsize=1)
def _keys() -> ApiKeysRepository:
    return ApiKeysRepository()


def _from_api_key(token: str, keys: ApiKeysRepository) -> Principal:
    key_id, secret = _parse_api_key(token)
    record = keys.get(key_id)
    if record is None or not hmac.compare_digest(record["secret_hash"], hash_secret(secret)):
        raise Unauthenticated("invalid API key")
    if record.get("revoked_at"):
        raise Unauthenticated("this API key has been revoked")
    expires = int(parse_moment(record["expires_at"]).timestamp()) if "expires_at" in record else None
    if expires is not None and expires <= time.time():
        raise Unauthenticated("this API key has expired")
    # an expiring key's authorization must not be served from API Gateway's cache beyond its end
    return Principal(
        user_id=record["owner_id"], role=Role(record["role"]), auth_type="api_key", key_id=key_id, expires_at=expires
    )


def parse_moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


@lru_cache(maxsize=1)
def _jwks_client(url: str) -> Any:
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=5)


def _role_from_claims(claims: dict[str, Any], claim: str) -> Role:
    """The role from the one configured claim (Cognito's groups unless told otherwise): a list of groups or a
    single value. Generic claims (`role`, `groups`...) are not looked at: with many issuers a user, or another
    application, can set them."""
    value = claims.get(claim)
    held = [v for v in value if isinstance(v, str)] if isinstance(value, list) else [value]
    for role in (Role.ADMIN, Role.AGENT):
        if role.value in held:
            return role
    return Role.USER


def _from_jwt(token: str) -> Principal:
    import jwt

    config = settings()
    if not config.jwt_issuer:
        raise Unauthenticated("invalid API key or token")
    if not config.jwt_audience:  # the template refuses it; without it any token of the issuer would pass
        from telephony.observability import logger

        logger().error("JWT_ISSUER is set without JWT_AUDIENCE: user tokens are refused")
        raise Unauthenticated("invalid API key or token")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise Unauthenticated("token algorithm not accepted")
        signing_key = _jwks_client(config.jwks_url).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            signing_key.key,
            algorithms=["RS256"],
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            leeway=30,
        )
    except jwt.PyJWKClientConnectionError as exc:
        # not the token's fault: a refusal would be cached by API Gateway with the header for the cache's TTL
        raise UpstreamUnavailable("could not verify the token: the issuer's keys are unreachable") from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"invalid token: {exc}") from exc
    return Principal(
        user_id=str(claims["sub"]),
        role=_role_from_claims(claims, config.jwt_roles_claim),
        auth_type="jwt",
        expires_at=int(claims["exp"]),
    )
