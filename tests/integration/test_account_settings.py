"""Account settings and calling hours through the real handlers: GET and PUT /account/settings, and create-call
refused outside the hours before anything is written or dialled.

The product's clock is the real one here: a test that needs the time to be outside the window sets a window that
excludes now (an hour a day cannot be open in Guam and Pago Pago at once; days chosen around today's)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from telephony.calling_window import DAYS
from tests.support import assert_error

AGENT = str(uuid.UUID(int=32))
NUMBER = {
    "phone_number": "+14155550142",
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "metadata": {"agent_name": "hours-agent"},
}
TOLL_FREE = "+18005551234"  # a US toll-free number: any zone of the North American plan
LONDON = "+442071234567"  # Europe/London alone
DEFAULTS = {"start": "08:00", "end": "21:00", "days": list(DAYS), "enforce": False}


@pytest.fixture
def number(world, keys) -> dict[str, Any]:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=NUMBER)
    assert reply.status == 201, reply.body
    return reply.json()


def settings(world, token, body: Any = None) -> Any:
    if body is None:
        return world.client.get("/account/settings", token=token)
    return world.client.put("/account/settings", token=token, json_body=body)


def hours(world, token, **calling: Any) -> dict[str, Any]:
    reply = settings(world, token, {"calling_hours": calling})
    assert reply.status == 200, reply.body
    return reply.json()["calling_hours"]  # type: ignore[no-any-return]


def call(world, token, phone_number: str) -> Any:
    return world.client.post("/outbound-calls/create", token=token, json_body={"phone_number": phone_number})


# ---------------------------------------------------------------- settings


def test_an_account_starts_with_the_default_settings(world, keys):
    reply = settings(world, keys.alice)
    assert reply.status == 200 and reply.json() == {"calling_hours": DEFAULTS}


def test_a_put_changes_the_fields_it_names_and_answers_with_the_whole_settings(world, keys):
    assert hours(world, keys.alice, start="09:30", days=["fri", "mon"]) == {
        **DEFAULTS,
        "start": "09:30",
        "days": ["mon", "fri"],
    }
    assert hours(world, keys.alice, enforce=True) == {
        **DEFAULTS,
        "start": "09:30",
        "days": ["mon", "fri"],
        "enforce": True,
    }
    empty = settings(world, keys.alice, {})
    assert empty.status == 200 and empty.json()["calling_hours"]["start"] == "09:30"
    assert settings(world, keys.alice).json()["calling_hours"]["enforce"] is True
    # each account has its own
    assert settings(world, keys.bob).json() == {"calling_hours": DEFAULTS}


BAD = [
    ({"start": "8:00"}, "calling_hours.start"),
    ({"start": "24:00"}, "calling_hours.start"),
    ({"end": "21:60"}, "calling_hours.end"),
    ({"start": "21:00", "end": "08:00"}, "calling_hours.end"),
    ({"start": "09:00", "end": "09:00"}, "calling_hours.end"),
    ({"end": "07:00"}, "calling_hours.end"),  # not after the start in force, 08:00
    ({"days": ["mon", "someday"]}, "calling_hours.days.1"),
    ({"days": []}, "calling_hours.days"),
    ({"days": ["mon", "mon"]}, "calling_hours.days"),
    ({"enforce": "yes"}, "calling_hours.enforce"),
    ({"start": None}, "calling_hours"),
    ({"timezone": "UTC"}, "calling_hours.timezone"),
]


def test_bad_calling_hours_are_a_400_naming_the_field(world, keys):
    for calling, field in BAD:
        error = assert_error(settings(world, keys.alice, {"calling_hours": calling}), 400, "invalid_request")
        assert field in [d["field"] for d in error["details"]], (calling, error)
    assert settings(world, keys.alice).json() == {"calling_hours": DEFAULTS}  # nothing saved


def test_an_unknown_setting_is_a_400(world, keys):
    error = assert_error(settings(world, keys.alice, {"quiet_hours": {}}), 400, "invalid_request")
    assert error["details"][0]["field"] == "quiet_hours"


# ---------------------------------------------------------------- create-call


def test_a_call_outside_the_hours_is_a_409_and_nothing_is_written_or_dialled(world, keys, number):
    # An hour a day is never open in Guam and Pago Pago at once: outside now, whenever now is
    hours(world, keys.alice, start="08:00", end="09:00", enforce=True)
    error = assert_error(call(world, keys.alice, TOLL_FREE), 409, "outside_calling_hours")
    (detail,) = error["details"]
    assert detail["field"] == "calling_hours" and detail["issue"] == "outside"
    assert detail["next_allowed_at"] is None and "no time in the next 8 days" in error["message"]
    assert {"Pacific/Guam", "Pacific/Pago_Pago", "America/New_York"} <= set(detail["time_zones"])
    listed = world.client.get("/outbound-calls", token=keys.alice).json()
    assert listed["items"] == []
    assert world.client.get("/outbound-calls/stats", token=keys.alice).json()["total_calls"] == 0
    state = world.livekit.state()
    assert state["rooms"] == [] and state["dispatches"] == [] and state["calls"] == []


def test_the_refusal_names_the_next_allowed_time(world, keys, number):
    # Days that exclude London's today and tomorrow (and yesterday, for a test that runs across midnight)
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")).date()
    excluded = {DAYS[(today + timedelta(days=d)).weekday()] for d in (-1, 0, 1, 2)}
    allowed = [d for d in DAYS if d not in excluded]
    hours(world, keys.alice, start="10:00", end="16:00", days=allowed, enforce=True)
    error = assert_error(call(world, keys.alice, LONDON), 409, "outside_calling_hours")
    (detail,) = error["details"]
    assert detail["time_zones"] == ["Europe/London"]
    following = datetime.fromisoformat(detail["next_allowed_at"])
    local = following.astimezone(ZoneInfo("Europe/London"))
    # the first allowed day's opening, in London's local time
    first = next(
        today + timedelta(days=d) for d in range(1, 8) if DAYS[(today + timedelta(days=d)).weekday()] in allowed
    )
    assert (local.date(), local.hour, local.minute) == (first, 10, 0)
    assert detail["next_allowed_at"].endswith("Z")
    assert world.livekit.state()["calls"] == []


def test_a_call_inside_the_hours_in_every_zone_is_placed(world, keys, number):
    hours(world, keys.alice, start="00:00", end="24:00", enforce=True)
    placed = call(world, keys.alice, TOLL_FREE)
    assert placed.status == 201, placed.body
    assert [c["sip_call_to"] for c in world.livekit.state()["calls"]] == [TOLL_FREE]


def test_a_number_with_no_time_zone_is_refused_while_the_hours_are_enforced(world, keys, number):
    hours(world, keys.alice, start="00:00", end="24:00", enforce=True)
    error = assert_error(call(world, keys.alice, "+88216123456"), 409, "outside_calling_hours")
    assert error["details"] == [{"field": "phone_number", "issue": "time_zone_unknown"}]
    hours(world, keys.alice, enforce=False)
    assert call(world, keys.alice, TOLL_FREE).status == 201
