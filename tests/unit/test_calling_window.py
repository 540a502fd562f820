"""The calling-hours rule (telephony/calling_window.py) with real zones: inside in every zone or not at all, the
local day and the local clock, changes of offset, and the next instant inside, checked against a minute-by-minute
walk."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from telephony.calling_window import DAYS, HORIZON, Window, inside, next_inside
from telephony.models.account_settings import Day
from telephony.phone import time_zones_of

TOLL_FREE = "+18005551234"
US_HOURS = Window.of("08:00", "21:00", DAYS)


def zones(*names: str) -> list[ZoneInfo]:
    return [ZoneInfo(n) for n in names]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.fixture(scope="module")
def toll_free() -> list[ZoneInfo]:
    """The zones phonenumbers gives a US toll-free number: the whole North American plan, 21 hours wide."""
    names = time_zones_of(TOLL_FREE)
    assert names is not None and len(names) == 42
    assert {"America/New_York", "America/St_Johns", "Pacific/Honolulu", "Pacific/Guam", "Pacific/Pago_Pago"} <= set(
        names
    )
    return zones(*names)


def test_the_apis_day_names_are_the_rules():
    assert get_args(Day) == DAYS


def test_single_zone_numbers_have_their_one_zone_and_unknown_ones_none():
    assert time_zones_of("+12125551234") == ("America/New_York",)
    assert time_zones_of("+97714412345") == ("Asia/Katmandu",)
    assert time_zones_of("+88216123456") is None  # an international network: no zone at all


# ---------------------------------------------------------------- inside: every zone, or refused


def test_inside_in_new_york_but_not_in_honolulu_is_outside(toll_free):
    at = utc(2026, 1, 15, 15, 0)  # 10:00 in New York, 05:00 in Honolulu
    assert inside(US_HOURS, zones("America/New_York"), at)
    assert not inside(US_HOURS, zones("Pacific/Honolulu"), at)
    assert not inside(US_HOURS, toll_free, at)


def test_a_toll_free_number_is_inside_only_while_every_zone_from_guam_to_newfoundland_is(toll_free):
    # 22:30 UTC: 08:30 tomorrow in Guam, 11:30 in Pago Pago, 19:00 in St. John's (UTC-3:30): all inside
    assert inside(US_HOURS, toll_free, utc(2026, 1, 15, 22, 30))
    # 00:30 UTC: 21:00 in St. John's, the window's (exclusive) end
    assert inside(US_HOURS, toll_free, utc(2026, 1, 16, 0, 29, 59))
    assert not inside(US_HOURS, toll_free, utc(2026, 1, 16, 0, 30))
    # 21:59 UTC: 07:59 in Guam
    assert not inside(US_HOURS, toll_free, utc(2026, 1, 15, 21, 59))


def test_the_start_is_inside_and_the_end_is_not():
    new_york = zones("America/New_York")
    assert inside(US_HOURS, new_york, utc(2026, 1, 15, 13, 0))  # 08:00
    assert not inside(US_HOURS, new_york, utc(2026, 1, 15, 12, 59, 59))
    assert not inside(US_HOURS, new_york, utc(2026, 1, 16, 2, 0))  # 21:00
    assert inside(US_HOURS, new_york, utc(2026, 1, 16, 1, 59, 59))


def test_the_day_is_the_callees_local_day():
    mondays = Window.of("08:00", "21:00", ["mon"])
    sunday_evening_in_utc = utc(2026, 1, 18, 23, 0)  # Monday 09:00 in Guam, Sunday 18:00 in New York
    assert inside(mondays, zones("Pacific/Guam"), sunday_evening_in_utc)
    assert not inside(mondays, zones("America/New_York"), sunday_evening_in_utc)


def test_a_window_to_24_00_holds_until_midnight():
    late = Window.of("20:00", "24:00", DAYS)
    assert inside(late, zones("Europe/London"), utc(2026, 1, 15, 23, 59, 59))
    assert not inside(late, zones("Europe/London"), utc(2026, 1, 16, 0, 0))
    whole_day = Window.of("00:00", "24:00", DAYS)
    rng = random.Random(32)
    for _ in range(200):
        at = utc(2026, 1, 1) + timedelta(seconds=rng.randrange(366 * 86400))
        assert inside(whole_day, zones("Pacific/Kiritimati", "Pacific/Niue", "Asia/Kathmandu"), at)


# ---------------------------------------------------------------- the next instant inside


def test_the_next_allowed_time_of_a_toll_free_number_is_when_guam_opens(toll_free):
    # 15:00 UTC: the last of the zones to open is Guam, at 08:00 (22:00 UTC), while St. John's is still open
    assert next_inside(US_HOURS, toll_free, utc(2026, 1, 15, 15, 0)) == utc(2026, 1, 15, 22, 0)


def test_in_summer_st_johns_closes_an_hour_earlier_in_utc(toll_free):
    # Newfoundland's daylight time (UTC-2:30) closes at 21:00, 23:30 UTC: from 23:45 the next opening is Guam's
    assert inside(US_HOURS, toll_free, utc(2026, 7, 15, 23, 29))
    assert not inside(US_HOURS, toll_free, utc(2026, 7, 15, 23, 30))
    assert next_inside(US_HOURS, toll_free, utc(2026, 7, 15, 23, 45)) == utc(2026, 7, 16, 22, 0)


def test_an_instant_inside_is_its_own_next():
    at = utc(2026, 1, 15, 15, 0, 0, 250_000)
    assert next_inside(US_HOURS, zones("America/New_York"), at) == at


def test_half_and_three_quarter_hour_offsets():
    nine_to_five = Window.of("09:00", "17:00", DAYS)
    kathmandu, kolkata = zones("Asia/Kathmandu"), zones("Asia/Kolkata")  # +05:45, +05:30
    assert next_inside(nine_to_five, kathmandu, utc(2026, 1, 15, 3, 14)) == utc(2026, 1, 15, 3, 15)
    assert next_inside(nine_to_five, kolkata, utc(2026, 1, 15, 3, 14)) == utc(2026, 1, 15, 3, 30)
    both = kathmandu + kolkata + zones("Australia/Eucla")  # +08:45
    # opens when Kolkata does (03:30 UTC) and closes when Eucla does (17:00 there, 08:15 UTC)
    assert next_inside(nine_to_five, both, utc(2026, 1, 15, 0, 0)) == utc(2026, 1, 15, 3, 30)
    assert not inside(nine_to_five, both, utc(2026, 1, 15, 8, 15))


def test_zones_that_never_share_the_window_have_no_next_time_within_the_horizon(toll_free):
    # Guam and Pago Pago are 21 hours apart: an hour a day is never open in both
    one_hour = Window.of("08:00", "09:00", DAYS)
    assert next_inside(one_hour, toll_free, utc(2026, 1, 15, 12, 0)) is None
    # nor a Monday in both: Monday in Guam is over before Monday in Pago Pago starts
    mondays = Window.of("08:00", "21:00", ["mon"])
    assert next_inside(mondays, zones("Pacific/Guam", "Pacific/Pago_Pago"), utc(2026, 1, 15, 12, 0)) is None


def test_a_window_a_week_away_is_found_within_the_horizon():
    sundays = Window.of("10:00", "11:00", ["sun"])
    after_sunday = utc(2026, 1, 18, 16, 0)  # Sunday 11:00 in New York: just closed
    found = next_inside(sundays, zones("America/New_York"), after_sunday)
    assert found == utc(2026, 1, 25, 15, 0) and found - after_sunday < HORIZON


# ---------------------------------------------------------------- changes of offset


def test_the_start_of_a_day_with_daylight_saving_time_starting_is_its_local_time():
    new_york = zones("America/New_York")
    # 2026-03-08 02:00 EST becomes 03:00 EDT: 08:00 that day is 12:00 UTC (not 13:00, its EST reading)
    assert next_inside(US_HOURS, new_york, utc(2026, 3, 8, 5, 0)) == utc(2026, 3, 8, 12, 0)
    assert not inside(US_HOURS, new_york, utc(2026, 3, 8, 11, 59, 59))
    # and on the day it ends (2026-11-01, back to EST), 08:00 is 13:00 UTC
    assert next_inside(US_HOURS, new_york, utc(2026, 11, 1, 5, 0)) == utc(2026, 11, 1, 13, 0)


def test_a_start_in_the_skipped_hour_opens_when_the_clocks_jump_past_it():
    sunday_night = Window.of("02:30", "04:00", ["sun"])
    new_york = zones("America/New_York")
    # 02:30 never happens on 2026-03-08: at 07:00 UTC the clocks go from 01:59:59 EST to 03:00 EDT
    assert not inside(sunday_night, new_york, utc(2026, 3, 8, 6, 59, 59))
    assert next_inside(sunday_night, new_york, utc(2026, 3, 8, 6, 0)) == utc(2026, 3, 8, 7, 0)


def test_a_repeated_hour_is_inside_each_time_the_clock_shows_it():
    small_hours = Window.of("01:00", "01:30", ["sun"])
    new_york = zones("America/New_York")
    # 2026-11-01: 01:00-01:30 EDT (05:00-05:30 UTC), then at 06:00 UTC the clocks go back to 01:00 EST
    assert inside(small_hours, new_york, utc(2026, 11, 1, 5, 10))
    assert not inside(small_hours, new_york, utc(2026, 11, 1, 5, 45))
    assert next_inside(small_hours, new_york, utc(2026, 11, 1, 5, 45)) == utc(2026, 11, 1, 6, 0)
    assert inside(small_hours, new_york, utc(2026, 11, 1, 6, 29, 59))
    assert not inside(small_hours, new_york, utc(2026, 11, 1, 6, 30))
    # a start inside the repeated hour is read twice: 01:15 EDT (05:15 UTC), then 01:15 EST (06:15 UTC)
    mid_hour = Window.of("01:15", "01:45", ["sun"])
    assert next_inside(mid_hour, new_york, utc(2026, 11, 1, 5, 0)) == utc(2026, 11, 1, 5, 15)
    assert next_inside(mid_hour, new_york, utc(2026, 11, 1, 5, 50)) == utc(2026, 11, 1, 6, 15)


def test_lord_howes_half_hour_daylight_saving_jump():
    # Lord Howe Island moves from +10:30 to +11:00 at 02:00 on 2026-10-04 (15:30 UTC the day before)
    early = Window.of("02:15", "03:00", ["sun"])
    lord_howe = zones("Australia/Lord_Howe")
    assert next_inside(early, lord_howe, utc(2026, 10, 3, 15, 0)) == utc(2026, 10, 3, 15, 30)


# ---------------------------------------------------------------- against a walk, minute by minute


def _walk(window: Window, zone_list: list[ZoneInfo], at: datetime) -> datetime | None:
    if inside(window, zone_list, at):
        return at
    moment = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while moment <= at + HORIZON:
        if inside(window, zone_list, moment):
            return moment
        moment += timedelta(minutes=1)
    return None


ZONE_SETS = [
    ("America/New_York", "America/Los_Angeles"),
    ("Europe/London", "Australia/Sydney"),
    ("America/St_Johns", "Pacific/Honolulu", "Asia/Kathmandu"),
    ("Australia/Lord_Howe", "Pacific/Chatham"),
    ("America/Santiago", "Europe/Moscow"),
]


@pytest.mark.parametrize("seed", range(12))
def test_the_next_time_is_what_a_walk_minute_by_minute_finds(seed):
    rng = random.Random(seed)
    start = f"{rng.randrange(0, 20):02d}:{rng.choice([0, 15, 30, 45]):02d}"
    end_hour = rng.randrange(int(start[:2]) + 1, 25)
    end = "24:00" if end_hour == 24 else f"{end_hour:02d}:{rng.choice([0, 30]):02d}"
    window = Window.of(start, end, rng.sample(DAYS, rng.randrange(1, 8)))
    zone_list = zones(*rng.choice(ZONE_SETS))
    # around the year's changes of offset in the north and the south
    at = rng.choice([utc(2026, 3, 7), utc(2026, 3, 28), utc(2026, 4, 4), utc(2026, 10, 24), utc(2026, 9, 26)])
    at += timedelta(seconds=rng.randrange(3 * 86400))
    assert next_inside(window, zone_list, at) == _walk(window, zone_list, at), (window, zone_list, at)
