"""Calling hours as services hold them: the account's settings (read, defaults, changed field by field, saved over
the version read) and the refusal create-call asks for, with the clock set by `at`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from telephony.errors import InvalidInput, OutsideCallingHours, SettingsChanged
from telephony.models.account_settings import AccountSettings, UpdateAccountSettings
from telephony.models.calls import CreateCall
from telephony.models.sip import DispatchRule, LiveKitIds, Plan
from telephony.services import account_settings, calling_hours, calls
from tests.unit.fakes import (
    ALICE,
    BOB,
    FakeAccountSettings,
    FakeCalls,
    FakeLiveKit,
    FakeNumbers,
    FakeRateLimits,
    a_number,
    fake_store,
    hours_of,
)

TOLL_FREE = "+18005551234"  # every zone of the North American plan, Guam (UTC+10) to Pago Pago (UTC-11)
NEW_YORK = "+12125551234"
INTERNATIONAL_NETWORK = "+88216123456"  # valid, and in no time zone
RULE = DispatchRule(name="main", room_prefix="main", agent_name="receptionist")
WINTER_AFTERNOON = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)  # 10:00 in New York, 05:00 in Honolulu


def refuse(store: Any, e164: str, at: datetime | None) -> OutsideCallingHours | None:
    try:
        calling_hours.refuse_outside("usr_alice", e164, at=at, store=store)
    except OutsideCallingHours as refused:
        return refused
    return None


# ---------------------------------------------------------------- the refusal


def test_unenforced_hours_refuse_nothing_even_at_night():
    store = fake_store(account_settings=hours_of(enforce=False))
    assert refuse(store, TOLL_FREE, datetime(2026, 1, 15, 8, 0, tzinfo=UTC)) is None
    assert refuse(fake_store(account_settings=FakeAccountSettings()), INTERNATIONAL_NETWORK, WINTER_AFTERNOON) is None


def test_a_number_inside_the_window_in_one_zone_but_outside_in_another_is_refused():
    store = fake_store(account_settings=hours_of())
    # New York alone is inside at 10:00; the toll-free number may be in Honolulu (05:00) or Guam (01:00 tomorrow)
    assert refuse(store, NEW_YORK, WINTER_AFTERNOON) is None
    refused = refuse(store, TOLL_FREE, WINTER_AFTERNOON)
    assert refused is not None and refused.code == "outside_calling_hours"
    (detail,) = refused.details
    assert detail["field"] == "calling_hours" and detail["issue"] == "outside"
    assert detail["next_allowed_at"] == "2026-01-15T22:00:00.000Z"  # 08:00 in Guam, all others still open
    assert {"Pacific/Guam", "Pacific/Honolulu", "America/New_York"} <= set(detail["time_zones"])
    assert "2026-01-15T22:00:00.000Z" in refused.message


def test_at_the_next_allowed_time_the_same_call_passes():
    store = fake_store(account_settings=hours_of())
    assert refuse(store, TOLL_FREE, datetime(2026, 1, 15, 22, 0, tzinfo=UTC)) is None
    assert refuse(store, TOLL_FREE, datetime(2026, 1, 15, 21, 59, 59, tzinfo=UTC)) is not None


def test_the_next_allowed_time_follows_the_days_and_daylight_saving_time():
    store = fake_store(account_settings=hours_of(start="09:00", end="17:00", days=["mon"]))
    # Saturday 2026-03-07 in New York: the next Monday is after the clocks moved to EDT (UTC-4) on the 8th
    refused = refuse(store, NEW_YORK, datetime(2026, 3, 7, 15, 0, tzinfo=UTC))
    assert refused is not None and refused.details[0]["next_allowed_at"] == "2026-03-09T13:00:00.000Z"


def test_a_window_the_zones_never_share_says_so_instead_of_a_time():
    store = fake_store(account_settings=hours_of(start="08:00", end="09:00"))
    refused = refuse(store, TOLL_FREE, WINTER_AFTERNOON)
    assert refused is not None and refused.details[0]["next_allowed_at"] is None
    assert "no time in the next 8 days" in refused.message


def test_a_number_with_no_known_zone_is_refused_while_the_hours_are_enforced():
    store = fake_store(account_settings=hours_of(start="00:00", end="24:00"))  # open all day, every day
    refused = refuse(store, INTERNATIONAL_NETWORK, WINTER_AFTERNOON)
    assert refused is not None
    assert refused.details == [{"field": "phone_number", "issue": "time_zone_unknown"}]


def test_the_clock_defaults_to_now():
    # a window no zone set of a toll-free number can share refuses whatever the time; an all-day one refuses none
    assert refuse(fake_store(account_settings=hours_of(start="08:00", end="08:01")), TOLL_FREE, None) is not None
    assert refuse(fake_store(account_settings=hours_of(start="00:00", end="24:00")), TOLL_FREE, None) is None


# ---------------------------------------------------------------- create-call asks first


class World:
    """Alice's number that can call out, and what a create-call writes, spends and dials."""

    def __init__(self, settings: FakeAccountSettings) -> None:
        self.settings = settings
        self.rate_limits = FakeRateLimits()
        number = a_number(livekit=LiveKitIds(outbound="ST_out"), plan=Plan(rule=RULE))
        self.numbers = FakeNumbers(number, rate_limits=self.rate_limits)
        self.calls = FakeCalls(rate_limits=self.rate_limits)
        self.livekit = FakeLiveKit()

    def create(self) -> Any:
        store = fake_store(numbers=self.numbers, calls=self.calls, account_settings=self.settings)
        return calls.create(CreateCall(phone_number=TOLL_FREE), principal=ALICE, livekit=self.livekit, store=store)


def test_create_call_outside_the_hours_writes_spends_and_dials_nothing():
    # Given hours no moment satisfies in Guam and Pago Pago at once, whatever the time now
    refused = World(hours_of(start="08:00", end="08:01"))
    with pytest.raises(OutsideCallingHours):
        refused.create()
    assert refused.settings.reads == 1
    assert refused.calls.items == {} and refused.rate_limits.spent == [] and refused.livekit.calls == []
    # and the same call with the hours not enforced is placed: the refusal above is the hours' alone
    placed = World(hours_of(start="08:00", end="08:01", enforce=False))
    placed.create()
    assert len(placed.calls.items) == 1 and placed.rate_limits.budgets() == ["calls"]
    assert "dial" in placed.livekit.methods()


# ---------------------------------------------------------------- the settings


def _update(store: Any, principal: Any = ALICE, **calling: Any) -> AccountSettings:
    body = UpdateAccountSettings.model_validate({"calling_hours": calling} if calling else {})
    return account_settings.update(body, principal=principal, store=store)


def test_an_account_that_never_saved_settings_has_the_defaults():
    got = account_settings.get(principal=ALICE, store=fake_store(account_settings=FakeAccountSettings()))
    assert got.model_dump() == {
        "calling_hours": {
            "start": "08:00",
            "end": "21:00",
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "enforce": False,
        }
    }


def test_a_change_keeps_the_fields_it_does_not_name_inside_calling_hours_too():
    repo = FakeAccountSettings()
    store = fake_store(account_settings=repo)
    _update(store, start="09:00", days=["sat", "mon"])
    changed = _update(store, enforce=True)
    assert changed.calling_hours.model_dump() == {
        "start": "09:00",
        "end": "21:00",
        "days": ["mon", "sat"],
        "enforce": True,
    }
    assert repo.items["usr_alice"].version == 2
    assert account_settings.get(principal=ALICE, store=store) == changed
    assert account_settings.get(principal=BOB, store=store) == AccountSettings()  # each account its own


def test_an_end_not_after_the_start_is_refused_against_what_is_saved():
    repo = FakeAccountSettings()
    store = fake_store(account_settings=repo)
    _update(store, start="10:00")
    with pytest.raises(InvalidInput) as refused:
        _update(store, end="10:00")
    assert refused.value.details == [{"field": "calling_hours.end", "issue": "not_after_start"}]
    with pytest.raises(InvalidInput):
        _update(store, start="22:00")  # after the saved end, 21:00
    assert repo.items["usr_alice"].version == 1
    assert _update(store, start="22:00", end="24:00").calling_hours.end == "24:00"


def test_a_change_saved_meanwhile_by_another_request_is_kept_and_this_one_made_on_top():
    class Racing(FakeAccountSettings):
        def save(self, settings: Any) -> None:
            if not self.items:  # another request saves first, between this one's read and its write
                super().save(
                    settings.model_copy(
                        update={"calling_hours": settings.calling_hours.model_copy(update={"days": ["mon"]})}
                    )
                )
            super().save(settings)

    repo = Racing()
    changed = _update(fake_store(account_settings=repo), enforce=True)
    assert changed.calling_hours.days == ["mon"] and changed.calling_hours.enforce is True
    assert repo.items["usr_alice"].version == 2


def test_settings_that_keep_changing_are_a_conflict():
    repo = FakeAccountSettings()
    repo.fail("save", SettingsChanged("moved"), times=10)
    with pytest.raises(SettingsChanged):
        _update(fake_store(account_settings=repo), enforce=True)
    assert repo.items == {}
