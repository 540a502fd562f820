"""Schedule expressions as EventBridge reads them: `rate(...)`, `cron(...)` and, for EventBridge Scheduler,
`at(...)`. Each becomes a `Schedule` that says when it fires next after a given moment.

What EventBridge refuses is refused here, so a template that works locally deploys: a rate of `1 minutes` or
`5 minute`, a cron with both a day of the month and a day of the week, a field out of its range.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name}  # JAN=1 ... (upper-cased below)
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
# The years EventBridge's cron accepts, and so how far ahead a next firing is looked for.
_FIRST_YEAR, _LAST_YEAR = 1970, 2199


class Schedule:
    """When a schedule fires: `next_after(moment)` is its first firing strictly after `moment` (None: never)."""

    expression: str

    def next_after(self, moment: datetime) -> datetime | None:
        raise NotImplementedError


@dataclass
class Rate(Schedule):
    expression: str
    every: timedelta
    started: datetime  # a rate schedule counts its periods from when it was created

    def next_after(self, moment: datetime) -> datetime:
        periods = int((moment - self.started) / self.every) + 1 if moment >= self.started else 1
        return self.started + periods * self.every


@dataclass
class At(Schedule):
    expression: str
    when: datetime

    def next_after(self, moment: datetime) -> datetime | None:
        return self.when if self.when > moment else None


@dataclass
class Cron(Schedule):
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_matches: Callable[[int, int, int], bool]  # (year, month, day) -> fires that day
    zone: ZoneInfo | None

    def next_after(self, moment: datetime) -> datetime | None:
        local = moment.astimezone(self.zone or UTC).replace(tzinfo=None)
        start = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        while day.year <= _LAST_YEAR:
            if day.year in self.years and day.month in self.months and self.day_matches(day.year, day.month, day.day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        candidate = datetime(day.year, day.month, day.day, hour, minute)
                        if candidate >= start:
                            return _aware(candidate, self.zone)
            day += timedelta(days=1)
        return None


def _aware(naive: datetime, zone: ZoneInfo | None) -> datetime:
    return naive.replace(tzinfo=zone or UTC).astimezone(UTC)


def parse(expression: str, *, started: datetime, timezone: str | None = None) -> Schedule:
    """A schedule from its expression; `started` is when a rate schedule was created, `timezone` the IANA zone a
    cron or at expression is read in (EventBridge Scheduler's ScheduleExpressionTimezone; UTC otherwise)."""
    zone = ZoneInfo(timezone) if timezone else None
    text = expression.strip()
    if found := re.fullmatch(r"rate\((\d+) (\w+)\)", text):
        value, unit = int(found.group(1)), found.group(2)
        if value < 1 or unit not in _UNITS or (unit.endswith("s") != (value != 1)):
            raise ValueError(f"{expression!r}: a rate is a positive whole number and minute(s), hour(s) or day(s)")
        return Rate(text, timedelta(seconds=value * _UNITS[unit]), started)
    if found := re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", text):
        return At(text, _aware(datetime.fromisoformat(found.group(1)), zone))
    if found := re.fullmatch(r"cron\(([^)]*)\)", text):
        return _cron(text, found.group(1).split(), zone)
    raise ValueError(f"{expression!r} is not a rate(...), cron(...) or at(...) expression")


def _cron(expression: str, fields: list[str], zone: ZoneInfo | None) -> Cron:
    if len(fields) != 6:
        raise ValueError(f"{expression!r}: cron takes six fields (minutes hours day-of-month month day-of-week year)")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"{expression!r}: one of day-of-month and day-of-week must be '?', and only one")
    return Cron(
        expression,
        _values(minute, 0, 59, {}),
        _values(hour, 0, 23, {}),
        _values(month, 1, 12, {k.upper(): v for k, v in _MONTHS.items()}),
        _values(year, _FIRST_YEAR, _LAST_YEAR, {}),
        _month_days(dom, expression) if dow == "?" else _week_days(dow, expression),
        zone,
    )


def _values(field: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    """A field of `,`-separated parts, each `*`, `v`, `a-b`, or either with `/step`."""
    found: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first, last = (_value(v, names) for v in base.split("-", 1))
        else:
            first = _value(base, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high) or step < 1 or first > last:
            raise ValueError(f"cron field {field!r} is outside {low}-{high}")
        found.update(range(first, last + 1, step))
    return frozenset(found)


def _value(text: str, names: dict[str, int]) -> int:
    key = text.upper()
    if key in names:
        return names[key]
    if not text.isdigit():
        raise ValueError(f"cron value {text!r} is not a number or a known name")
    return int(text)


def _month_days(field: str, expression: str) -> Callable[[int, int, int], bool]:
    """Day of the month: values, `L` (the last day), `nW` (the weekday nearest the nth, within the month)."""
    if field == "L":
        return lambda y, m, d: d == calendar.monthrange(y, m)[1]
    if found := re.fullmatch(r"(\d{1,2})W", field):
        wanted = int(found.group(1))
        if not 1 <= wanted <= 31:
            raise ValueError(f"{expression!r}: {field!r} is outside 1-31")
        return lambda y, m, d: d == _nearest_weekday(y, m, wanted)
    days = _values(field, 1, 31, {})
    return lambda y, m, d: d in days


def _nearest_weekday(year: int, month: int, day: int) -> int:
    last = calendar.monthrange(year, month)[1]
    day = min(day, last)
    weekday = calendar.weekday(year, month, day)  # Monday = 0
    if weekday == 5:  # Saturday: the Friday before, unless that is in the month before
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, unless that is in the month after
        return day + 1 if day < last else day - 2
    return day


def _week_days(field: str, expression: str) -> Callable[[int, int, int], bool]:
    """Day of the week, 1-7 = SUN-SAT: values, `L` (Saturday), `nL` (the month's last such day), `n#k` (its kth)."""

    def cron_day(y: int, m: int, d: int) -> int:
        return (calendar.weekday(y, m, d) + 1) % 7 + 1  # Monday = 0 -> 2, Sunday = 6 -> 1

    def one_day(text: str) -> int:
        day = _value(text, _DAYS)
        if not 1 <= day <= 7:
            raise ValueError(f"{expression!r}: {field!r} is outside 1-7")
        return day

    if field == "L":
        return lambda y, m, d: cron_day(y, m, d) == 7
    if found := re.fullmatch(r"(\w+)L", field):
        last = one_day(found.group(1))
        return lambda y, m, d: cron_day(y, m, d) == last and d + 7 > calendar.monthrange(y, m)[1]
    if found := re.fullmatch(r"(\w+)#([1-5])", field):
        nth_day, nth = one_day(found.group(1)), int(found.group(2))
        return lambda y, m, d: cron_day(y, m, d) == nth_day and (d - 1) // 7 + 1 == nth
    days = _values(field, 1, 7, _DAYS)
    return lambda y, m, d: cron_day(y, m, d) in days
