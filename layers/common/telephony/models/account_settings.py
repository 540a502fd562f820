"""An account's settings: for now its calling hours, the window of the callee's local time in which calls may be
placed (telephony/calling_window.py holds the rule)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, Field, field_validator, model_validator

from telephony.calling_window import DAYS, END_OF_DAY, Window
from telephony.models.common import Body, Out, Record

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # calling_window.DAYS, in its order
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
# What the API document says of them; the validators below say it again with a message a person can read.
_START_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
_END_PATTERN = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


def _clock(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError("must be a time of day as HH:MM, from 00:00 to 23:59")
    return value


def _end(value: str) -> str:
    if value != END_OF_DAY and not _CLOCK.fullmatch(value):
        raise ValueError("must be a time of day as HH:MM, from 00:01 to 24:00 (the end of the day)")
    return value


def _days(days: list[Day] | None) -> list[Day] | None:
    """Each day once, in the week's order."""
    if days is None:
        return None
    if len(set(days)) != len(days):
        raise ValueError("a day is named twice")
    return sorted(days, key=DAYS.index)


StartTime = Annotated[str, AfterValidator(_clock), Field(json_schema_extra={"pattern": _START_PATTERN})]
EndTime = Annotated[str, AfterValidator(_end), Field(json_schema_extra={"pattern": _END_PATTERN})]


class CallingHours(Out):
    start: str = Field(
        default="08:00", pattern=_START_PATTERN, description="Local time the window opens (inclusive), HH:MM"
    )
    end: str = Field(
        default="21:00",
        pattern=_END_PATTERN,
        description="Local time the window closes (exclusive), HH:MM after `start`; `24:00` for midnight",
    )
    days: list[Day] = Field(
        default_factory=lambda: list(get_args(Day)), description="The local days of the week calls may be placed on"
    )
    enforce: bool = Field(
        default=False,
        description="When true, a call is placed only if the callee's local time is inside the window in every time "
        "zone its number may be in (409 `outside_calling_hours` otherwise)",
    )

    def window(self) -> Window:
        return Window.of(self.start, self.end, self.days)


class AccountSettings(Out):
    calling_hours: CallingHours = Field(default_factory=CallingHours)


def _not_nullable(schema: dict[str, Any]) -> None:
    """The API document offers no null for a change's fields (see _Change)."""
    for field in schema.get("properties", {}).values():
        options = [option for option in field.pop("anyOf", []) if option.get("type") != "null"]
        if len(options) == 1:
            field.update(options[0])
        elif options:
            field["anyOf"] = options


class _Change(Body):
    """A change of some fields: a field left out keeps its value; one sent as null is refused rather than taken
    for either."""

    model_config = Body.model_config | {"json_schema_extra": _not_nullable}

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = [name for name, value in data.items() if value is None]
            if nulls:
                raise ValueError(f"{', '.join(nulls)} must not be null: leave a field out to keep its value")
        return data


class CallingHoursChange(_Change):
    """Only the fields given change; `end` must still come after `start` once the change is made."""

    start: StartTime | None = Field(default=None, examples=["09:00"])
    end: EndTime | None = Field(default=None, examples=["20:00"])
    days: list[Day] | None = Field(default=None, min_length=1, max_length=len(DAYS))
    enforce: bool | None = None

    _checked_days = field_validator("days")(_days)

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class UpdateAccountSettings(_Change):
    """Only the settings given change; the answer is the whole of them."""

    calling_hours: CallingHoursChange | None = None


# ---------------------------------------------------------------- stored


class SettingsRecord(Record):
    owner_id: str
    calling_hours: CallingHours
    version: int = Field(description="Grows with each save: a save is conditional on the version it read")
    updated_at: str

    def view(self) -> AccountSettings:
        return AccountSettings(calling_hours=self.calling_hours)
