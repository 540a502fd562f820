"""Do-not-call lists: each account keeps its own, admins keep the operator's global one (`global_list=True`), both
with the same operations; and the check every dial makes against both.

Numbers are stored and compared in E.164, however they were written."""

from __future__ import annotations

from urllib.parse import unquote

from telephony.errors import DoNotCall, Forbidden, InvalidInput, NotFound
from telephony.models.common import Page
from telephony.models.dnc import AddDncNumbers, DncAdded, DncDeleted, DncNumber, DncRecord
from telephony.models.principal import Principal
from telephony.phone import to_e164
from telephony.repositories.store import Store, default_store
from telephony.util import now_iso


def _owner(principal: Principal, global_list: bool) -> str | None:
    """Whose list a request works on: the caller's own, or the operator's (None), which only admins may touch."""
    if not global_list:
        return principal.user_id
    if not principal.is_admin:
        raise Forbidden("this action needs an admin")
    return None


def _not_listed() -> NotFound:
    return NotFound("no such number on the do-not-call list")


def _numbers(given: list[str]) -> list[str]:
    """The numbers in E.164, in the order given, each once. InvalidInput naming every one that is not a valid
    number (`numbers[i]`), before anything is read or written."""
    found: list[str] = []
    problems: list[dict[str, object]] = []
    for i, text in enumerate(given):
        try:
            found.append(to_e164(text, field=f"numbers[{i}]"))
        except InvalidInput as refused:
            problems += refused.details
    if problems:
        raise InvalidInput(
            f"{len(problems)} of the numbers are not valid phone numbers in E.164 format (+ and the country code); "
            "nothing was listed",
            details=problems,
        )
    return list(dict.fromkeys(found))


def _from_path(raw: str) -> str:
    """A number as a path gives it: `+14155550123`, or `%2B14155550123` (API Gateway hands over the path decoded;
    a client may have encoded the + once more). NotFound, before any read, when it is not a valid number."""
    try:
        return to_e164(unquote(raw))
    except InvalidInput:
        raise _not_listed() from None


def add(
    body: AddDncNumbers, *, principal: Principal, global_list: bool = False, store: Store | None = None
) -> DncAdded:
    """List these numbers. Those listed already keep their reason and time; every number is written, so that once
    this answers, all of them are listed (a number taken off meanwhile by another request is listed again).

    Up to 1,000 numbers do not fit in one transaction, so they are written in batches: a failure part-way answers
    503 with the batches before it written, and sending the same request again lists the rest (writing a number
    twice is harmless), answering the first ones as `already_listed`."""
    owner = _owner(principal, global_list)
    numbers = _numbers(body.numbers)
    db = store or default_store()
    listed = db.dnc.found(owner, numbers)
    moment = now_iso()
    entries = [
        listed.get(n) or DncRecord(phone_number=n, reason=body.reason, added_by=principal.user_id, created_at=moment)
        for n in numbers
    ]
    db.dnc.put(owner, entries)
    return DncAdded(added=len(numbers) - len(listed), already_listed=len(listed), numbers=numbers)


def list_numbers(
    *, principal: Principal, limit: int, next_token: str | None, global_list: bool = False, store: Store | None = None
) -> Page[DncNumber]:
    """A page of the list, by number."""
    owner = _owner(principal, global_list)
    entries, token = (store or default_store()).dnc.page(owner, limit=limit, token=next_token)
    return Page[DncNumber](items=[e.view() for e in entries], next_token=token)


def get(phone_number: str, *, principal: Principal, global_list: bool = False, store: Store | None = None) -> DncNumber:
    owner = _owner(principal, global_list)
    e164 = _from_path(phone_number)
    entry = (store or default_store()).dnc.get(owner, e164)
    if entry is None:
        raise _not_listed()
    return entry.view()


def delete(
    phone_number: str, *, principal: Principal, global_list: bool = False, store: Store | None = None
) -> DncDeleted:
    owner = _owner(principal, global_list)
    e164 = _from_path(phone_number)
    (store or default_store()).dnc.delete(owner, e164)
    return DncDeleted(phone_number=e164)


def refuse_listed(owner_id: str, e164: str, *, store: Store | None = None) -> None:
    """DoNotCall when the number (E.164) is on the account's do-not-call list or on the operator's, both read in one
    request. Create-call asks before anything is spent, written or dialled; a campaign asks at each dial."""
    lists = (store or default_store()).dnc.holding(owner_id, e164)
    if lists:
        raise DoNotCall(e164, lists)
