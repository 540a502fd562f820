"""Do-not-call lists: an account's own and the operator's global one, with the same shape."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from telephony.models.common import Body, Out, PageQuery, Record

MAX_BATCH = 1000

# Which list holds a number: the account's own, or the operator's
DncList = Literal["account", "global"]


class AddDncNumbers(Body):
    numbers: list[str] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="E.164 numbers (e.g. +14155550123), compared as the numbers they are however they are written. "
        "One that is not a valid number refuses the whole batch (400, `details` naming its index as `numbers[i]`)",
    )
    reason: str | None = Field(default=None, max_length=500, description="Why these numbers are listed")


class DncNumber(Out):
    phone_number: str = Field(description="E.164")
    reason: str | None = None
    created_at: str = Field(description="When it was listed")


class DncAdded(Out):
    added: int = Field(description="Numbers listed by this request")
    already_listed: int = Field(description="Numbers that were listed already; they keep their reason and time")
    numbers: list[str] = Field(description="Every number of the request as listed (E.164), in the order given, once")


class DncDeleted(Out):
    phone_number: str
    status: Literal["deleted"] = "deleted"


class DncQuery(PageQuery):
    pass


# ---------------------------------------------------------------- stored


class DncRecord(Record):
    """A number on a list; the list is the item's partition."""

    phone_number: str
    reason: str | None = None
    added_by: str = Field(description="The user who listed it")
    created_at: str

    def view(self) -> DncNumber:
        return DncNumber(phone_number=self.phone_number, reason=self.reason, created_at=self.created_at)
