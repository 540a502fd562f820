"""A daily window of local time (start inclusive, end exclusive, on some days of the week) held in several time zones
at once: whether an instant is inside it in every zone, and the earliest instant from now that is. The rule of an
account's calling hours (services/calling_hours.py), in the callee's zones. No I/O.

"Inside" is read off the wall clock: an instant is inside in a zone when the zone's local date falls on an allowed
day and its local time is within [start, end). Around a change of offset (daylight saving time) that reading is what
a person there sees: a start that falls in the skipped hour opens the window when the clocks jump past it, and a
repeated hour is inside or not by what the clock shows each time.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # in datetime.weekday()'s order
END_OF_DAY = "24:00"
HORIZON = timedelta(days=8)  # a week, and a day for the zones a day apart: past it the window never opens for all
# Offsets are sampled this often to find their changes: no zone changes its offset twice within it.
_SAMPLE = timedelta(hours=1)


class Window(NamedTuple):
    start: time
    end: time | None  # None: the end of the day (24:00)
    days: frozenset[int]  # datetime.weekday() numbers

    @classmethod
    def of(cls, start: str, end: str, days: Iterable[str]) -> Window:
        """From the API's spelling: `HH:MM` times (the end may be `24:00`) and day names of DAYS."""
        return cls(
            time.fromisoformat(start),
            None if end == END_OF_DAY else time.fromisoformat(end),
            frozenset(DAYS.index(d) for d in days),
        )

    def holds(self, local: datetime) -> bool:
        """Whether a local reading of the clock is inside the window."""
        clock = local.time()
        return local.weekday() in self.days and self.start <= clock and (self.end is None or clock < self.end)


def inside_in(window: Window, zone: ZoneInfo, at: datetime) -> bool:
    return window.holds(at.astimezone(zone))


def inside(window: Window, zones: Sequence[ZoneInfo], at: datetime) -> bool:
    """Whether `at` is inside the window in every one of `zones`."""
    return all(inside_in(window, zone, at) for zone in zones)


def next_inside(
    window: Window, zones: Sequence[ZoneInfo], at: datetime, *, within: timedelta = HORIZON
) -> datetime | None:
    """The earliest instant from `at` (itself included) inside the window in every zone; None when
    there is none before `at + within` (zones far apart may never share the window: a window of a few hours in
    Guam and in American Samoa, 21 hours apart)."""
    at = at.astimezone(UTC)
    horizon = at + within
    entries = {zone: _entries(window, zone, at, horizon) for zone in zones}
    moment = at
    # Each round moves to the latest of the zones' next entries into the window: never past the answer, since the
    # answer is inside in every zone and so no earlier than any zone's next entry. It ends when all agree.
    while moment <= horizon:
        latest = moment
        for zone in zones:
            if inside_in(window, zone, moment):
                continue
            found = entries[zone]
            following = bisect.bisect_right(found, moment)
            if following == len(found):
                return None
            latest = max(latest, found[following])
        if latest == moment:
            return moment
        moment = latest
    return None


def _entries(window: Window, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """Every instant in (start, end] at which the zone's clock enters the window, sorted. The clock enters it only
    where it reads the start time on an allowed day, or where the offset changes (the clock jumps)."""
    found: set[datetime] = set()
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day.weekday() in window.days:
            found.update(_readings(day, window.start, zone))
    found.update(_offset_changes(zone, start, end))
    return sorted(u for u in found if start < u <= end and inside_in(window, zone, u))


def _readings(day: date, clock: time, zone: ZoneInfo) -> set[datetime]:
    """The instants at which the zone's clock reads `clock` on `day`: none in a skipped hour, two in a repeated one."""
    found = set()
    for fold in (0, 1):
        local = datetime.combine(day, clock, tzinfo=zone).replace(fold=fold)
        instant = local.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            found.add(instant)
    return found


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end] at which the zone's offset from UTC changes, each found to the second."""
    changes = []
    before, offset = start, start.astimezone(zone).utcoffset()
    while before < end:
        after = min(before + _SAMPLE, end)
        following = after.astimezone(zone).utcoffset()
        if following != offset:
            changes.append(_change_between(zone, before, after))
        before, offset = after, following
    return changes


def _change_between(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first second at which the offset is `after`'s, given that it is `before`'s at `before`."""
    old = before.astimezone(zone).utcoffset()
    low, high = int(before.timestamp()), int(after.timestamp()) + 1
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == old:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)
