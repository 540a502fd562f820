"""The account's calling hours, held against the callee's local time: a call is placed only when that time is inside
the window in every time zone the number may be in. Create-call asks before it writes or dials anything; a
campaign asks at each dial."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telephony import calling_window
from telephony.errors import OutsideCallingHours
from telephony.phone import time_zones_of
from telephony.repositories.store import Store
from telephony.services import account_settings
from telephony.util import iso, now


def refuse_outside(owner_id: str, e164: str, *, at: datetime | None = None, store: Store | None = None) -> None:
    """Raise OutsideCallingHours unless the account leaves its calling hours unenforced or `at` (now by default)
    is inside them in each of the number's zones. A number whose zones are unknown is refused while they are
    enforced: its local time cannot be shown to be inside them. One read: the account's settings."""
    hours = account_settings.read(owner_id, store).calling_hours
    if not hours.enforce:
        return
    moment = at or now()
    zones = _zones(e164)
    if zones is None:
        raise OutsideCallingHours(
            f"the local time of {e164} is unknown (its number gives no time zone), so it cannot be shown to be "
            "inside your calling hours, which are enforced",
            details=[{"field": "phone_number", "issue": "time_zone_unknown"}],
        )
    window = hours.window()
    if calling_window.inside(window, zones, moment):
        return
    following = calling_window.next_inside(window, zones, moment)
    names = [zone.key for zone in zones]
    when = (
        f"; the next allowed time is {iso(following)}"
        if following
        else (f"; no time in the next {calling_window.HORIZON.days} days is inside them in all of its time zones")
    )
    raise OutsideCallingHours(
        f"{e164} is outside your calling hours ({hours.start}-{hours.end} local time, {', '.join(hours.days)}) in "
        f"at least one of its time zones{when}",
        details=[
            {
                "field": "calling_hours",
                "issue": "outside",
                "next_allowed_at": iso(following) if following else None,
                "time_zones": names,
            }
        ],
    )


def _zones(e164: str) -> list[ZoneInfo] | None:
    names = time_zones_of(e164)
    if names is None:
        return None
    try:
        return [ZoneInfo(name) for name in names]
    except ZoneInfoNotFoundError:  # a zone the database does not know: as unknown as no zone at all
        return None
