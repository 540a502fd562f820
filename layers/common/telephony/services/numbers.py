"""The numbers a user owns."""

from __future__ import annotations

from telephony.models.common import Page
from telephony.models.numbers import PhoneNumber
from telephony.models.principal import Principal
from telephony.repositories.store import Store, default_store


def list_own(
    *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[PhoneNumber]:
    items, token = (store or default_store()).numbers.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[PhoneNumber](items=[PhoneNumber.model_validate(i.model_dump()) for i in items], next_token=token)
