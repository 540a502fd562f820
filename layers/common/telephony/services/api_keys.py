"""A user's API keys: created and shown once, listed, revoked."""

from __future__ import annotations

from typing import Any

from telephony.errors import Forbidden, NotFound
from telephony.models.auth import ApiKeyCreated, ApiKeyInfo, CreateApiKey
from telephony.models.common import Page
from telephony.models.principal import Principal
from telephony.repositories import api_keys, dynamo
from telephony.services import auth, rate_limits
from telephony.util import new_id, now_iso


def _info(record: dict[str, Any]) -> ApiKeyInfo:
    return ApiKeyInfo.model_validate(record)


def create(body: CreateApiKey, *, principal: Principal) -> ApiKeyCreated:
    if body.role == "admin" and not principal.is_admin:
        raise Forbidden("only admins can create admin keys")
    key_id = new_id("ak")
    key, secret_hash = auth.new_api_key(key_id)
    record = {
        "key_id": key_id,
        "owner_id": principal.user_id,
        "name": body.name,
        "role": body.role,
        "prefix": key[:12],
        "secret_hash": secret_hash,
        "created_at": now_iso(),
    }
    api_keys.put(record)
    return ApiKeyCreated(**_info(record).model_dump(), api_key=key)


def list_keys(*, principal: Principal, limit: int, next_token: str | None) -> Page[ApiKeyInfo]:
    items, token = api_keys.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[ApiKeyInfo](items=[_info(i) for i in items], next_token=token)


def revoke(key_id: str, *, principal: Principal) -> ApiKeyInfo:
    record = api_keys.get(key_id)
    if record is None or record["owner_id"] != principal.user_id:
        raise NotFound("no such API key")
    if record.get("revoked_at"):
        return _info(record)
    revoked_at = now_iso()
    try:
        api_keys.revoke(
            key_id,
            owner_id=principal.user_id,
            revoked_at=revoked_at,
            usage_keys=rate_limits.revocation_markers(key_id),
        )
    except dynamo.TransactionCanceled:
        record = api_keys.get(key_id) or record
        return _info(record)
    return _info({**record, "revoked_at": revoked_at})
