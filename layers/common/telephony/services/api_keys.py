"""API keys: created and shown once, listed, revoked by their owner; listed and revoked by admins."""

from __future__ import annotations

from datetime import timedelta

from telephony.config import settings
from telephony.errors import Forbidden, InvalidInput, NotFound, TooManyKeys
from telephony.models.auth import ApiKeyCreated, ApiKeyInfo, CreateApiKey
from telephony.models.common import Page
from telephony.models.principal import ApiKeyRecord, Principal
from telephony.repositories.store import Store, default_store
from telephony.services import auth, limits, rate_limits
from telephony.util import iso, new_id, now, now_iso

_MAX_LIFETIME = timedelta(days=366)


def _info(record: ApiKeyRecord) -> ApiKeyInfo:
    return ApiKeyInfo.model_validate(record)


def _expiry(body: CreateApiKey) -> str | None:
    """When the key stops working: as asked, within a year; an admin key within `admin_key_max_hours`."""
    moment = now()
    limit = timedelta(hours=settings().admin_key_max_hours) if body.role == "admin" else _MAX_LIFETIME
    if body.expires_at is None:
        return iso(moment + limit) if body.role == "admin" else None
    if not moment < auth.parse_moment(body.expires_at) <= moment + limit:
        hours = int(limit.total_seconds() // 3600)
        raise InvalidInput(
            f"expires_at must be in the future and at most {hours} hours ahead for a {body.role} key",
            details=[{"field": "expires_at"}],
        )
    return body.expires_at


def create(body: CreateApiKey, *, principal: Principal, store: Store | None = None) -> ApiKeyCreated:
    db = store or default_store()
    if body.role == "admin" and not principal.is_admin:
        raise Forbidden("only admins can create admin keys")
    if body.role == "admin" and principal.auth_type != "jwt":
        # an admin key vouches for the role now: the role must come from the identity provider, not from a key
        # that may have outlived it
        raise Forbidden("admin keys are created with an admin's sign-in token, not with an API key")
    key_id = new_id("ak")
    key, secret_hash = auth.new_api_key(key_id)
    record = ApiKeyRecord(
        key_id=key_id,
        owner_id=principal.user_id,
        name=body.name,
        role=body.role,
        prefix=key[:12],
        secret_hash=secret_hash,
        created_at=now_iso(),
    )
    expires_at = _expiry(body)
    if expires_at:
        record["expires_at"] = expires_at
    limit = limits.of(principal.user_id, store=db).max_api_keys
    try:
        db.api_keys.create(record, max_active=limit)
    except TooManyKeys:
        if not _revoke_expired(principal.user_id, db):
            raise
        db.api_keys.create(record, max_active=limit)
    return ApiKeyCreated(**_info(record).model_dump(), api_key=key)


def _revoke_expired(owner_id: str, db: Store) -> int:
    """Expired keys stop working but stay counted until revoked: revoke them; how many there were."""
    revoked, token, moment = 0, None, now_iso()
    while True:
        items, token = db.api_keys.list_by_owner(owner_id, limit=100, token=token)
        for record in items:
            if "revoked_at" not in record and "expires_at" in record and record["expires_at"] <= moment:
                try:
                    db.api_keys.revoke(record, revoked_at=moment, usage_windows=[])
                    revoked += 1
                except NotFound:
                    continue  # revoked meanwhile
        if not token:
            return revoked


def list_keys(
    *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[ApiKeyInfo]:
    items, token = (store or default_store()).api_keys.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[ApiKeyInfo](items=[_info(i) for i in items], next_token=token)


def revoke(key_id: str, *, principal: Principal, store: Store | None = None) -> ApiKeyInfo:
    db = store or default_store()
    record = db.api_keys.get(key_id)
    if record is None or record["owner_id"] != principal.user_id:
        raise NotFound("no such API key")
    return _revoked(record, db)


def _revoked(record: ApiKeyRecord, db: Store) -> ApiKeyInfo:
    if "revoked_at" in record:
        return _info(record)
    revoked_at = now_iso()
    try:
        db.api_keys.revoke(
            record, revoked_at=revoked_at, usage_windows=rate_limits.revocation_windows(record["key_id"])
        )
    except NotFound:  # revoked by a concurrent request meanwhile: answer the key as it now is
        return _info(db.api_keys.get(record["key_id"]) or record)
    return _info({**record, "revoked_at": revoked_at})


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this action needs an admin")


def list_for_user(
    user_id: str, *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[ApiKeyInfo]:
    """Admin: any user's keys."""
    _require_admin(principal)
    items, token = (store or default_store()).api_keys.list_by_owner(user_id, limit=limit, token=next_token)
    return Page[ApiKeyInfo](items=[_info(i) for i in items], next_token=token)


def revoke_any(key_id: str, *, principal: Principal, store: Store | None = None) -> ApiKeyInfo:
    """Admin: revoke any user's key."""
    _require_admin(principal)
    db = store or default_store()
    record = db.api_keys.get(key_id)
    if record is None:
        raise NotFound("no such API key")
    return _revoked(record, db)
