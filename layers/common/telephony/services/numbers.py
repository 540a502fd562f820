"""The numbers a user owns."""

from __future__ import annotations

from types import ModuleType

from telephony.models.common import Page
from telephony.models.numbers import PhoneNumber
from telephony.models.principal import Principal
from telephony.repositories import numbers as numbers_repo


def list_own(
    *, principal: Principal, limit: int, next_token: str | None, repo: ModuleType = numbers_repo
) -> Page[PhoneNumber]:
    items, token = repo.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[PhoneNumber](items=[PhoneNumber.model_validate(i) for i in items], next_token=token)
