"""A user's API keys: created and shown once, listed, revoked."""

from __future__ import annotations

from telephony.errors import Forbidden, NotFound
from telephony.models.auth import ApiKeyCreated, ApiKeyInfo, CreateApiKey
from telephony.models.common import Page
from telephony.models.principal import ApiKeyRecord, Principal
from telephony.repositories.store import Store, default_store
from telephony.services import auth, rate_limits
from telephony.util import new_id, now_iso


def _info(record: ApiKeyRecord) -> ApiKeyInfo:
    return ApiKeyInfo.model_validate(record)


def create(body: CreateApiKey, *, principal: Principal, store: Store | None = None) -> ApiKeyCreated:
    db = store or default_store()
    if body.role == "admin" and not principal.is_admin:
        raise Forbidden("only admins can create admin keys")
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
    db.api_keys.put(record)
    return ApiKeyCreated(**_info(record).model_dump(), api_key=key)


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
    if "revoked_at" in record:
        return _info(record)
    revoked_at = now_iso()
    try:
        db.api_keys.revoke(
            key_id,
            owner_id=principal.user_id,
            revoked_at=revoked_at,
            usage_windows=rate_limits.revocation_windows(key_id),
        )
    except NotFound:  # revoked by a concurrent request meanwhile: answer the key as it now is
        return _info(db.api_keys.get(key_id) or record)
    return _info({**record, "revoked_at": revoked_at})
