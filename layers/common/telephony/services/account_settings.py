"""An account's settings: read (the defaults until first saved) and changed field by field."""

from __future__ import annotations

from telephony.calling_window import END_OF_DAY
from telephony.errors import InvalidInput, SettingsChanged
from telephony.models.account_settings import (
    AccountSettings,
    CallingHours,
    SettingsRecord,
    UpdateAccountSettings,
)
from telephony.models.principal import Principal
from telephony.repositories.dynamo import ATTEMPTS
from telephony.repositories.store import Store, default_store
from telephony.util import now_iso


def read(owner_id: str, store: Store | None = None) -> AccountSettings:
    """The account's settings as saved, or the defaults when it never saved any."""
    record = (store or default_store()).account_settings.get(owner_id)
    return record.view() if record else AccountSettings()


def get(*, principal: Principal, store: Store | None = None) -> AccountSettings:
    return read(principal.user_id, store)


def update(body: UpdateAccountSettings, *, principal: Principal, store: Store | None = None) -> AccountSettings:
    """Change the fields the body names, keeping the others (inside `calling_hours` too). The change is made to the
    settings as read and saved only if nobody saved them meanwhile; otherwise it is made again on what they saved."""
    db = store or default_store()
    for _ in range(ATTEMPTS):
        saved = db.account_settings.get(principal.user_id)
        current = saved.view() if saved else AccountSettings()
        changed = SettingsRecord(
            owner_id=principal.user_id,
            calling_hours=_changed_hours(current.calling_hours, body),
            version=saved.version + 1 if saved else 1,
            updated_at=now_iso(),
        )
        try:
            db.account_settings.save(changed)
        except SettingsChanged:
            continue
        return changed.view()
    raise SettingsChanged("the settings are being changed by other requests; send the change again")


def _changed_hours(current: CallingHours, body: UpdateAccountSettings) -> CallingHours:
    change = body.calling_hours.given() if body.calling_hours else {}
    hours = current.model_copy(update=change)
    if hours.end != END_OF_DAY and hours.end <= hours.start:
        raise InvalidInput(
            f"calling_hours.end ({hours.end}) must come after calling_hours.start ({hours.start})",
            details=[{"field": "calling_hours.end", "issue": "not_after_start"}],
        )
    return hours
