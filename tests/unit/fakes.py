"""Fakes for the services' unit tests: in-memory repositories that refuse what the real ones refuse, with the
same named errors; a LiveKit that records every call and can be told to fail; secrets in a dict.

A Store's parts the test does not give refuse to be used (a service that touches a repository its test did not
expect fails loudly). Each fake method names the method it mirrors; a fake that accepted what the real
repository refuses would make the tests that use it worthless, so each condition of the real write is here,
checked before anything is changed (a transaction writes all or nothing).
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from telephony.errors import (
    AgentNameTaken,
    AlreadyExists,
    ConcurrencyLimit,
    Conflict,
    DomainError,
    EventAlreadyApplied,
    KeyRevoked,
    LockLost,
    NotFound,
    NumberChanged,
    NumberLocked,
    NumberTaken,
    SettingsChanged,
    StatusChanged,
    TooManyKeys,
    TooManyNumbers,
    TooManyTransfers,
    TooManyWebhooks,
    TranscriptFull,
    Unauthenticated,
    UpstreamUnavailable,
)
from telephony.integrations import livekit as lk
from telephony.integrations import secrets
from telephony.models.account_settings import CallingHours, SettingsRecord
from telephony.models.budgets import Charge
from telephony.models.calls import (
    ENDED,
    CallChanges,
    CallRecord,
    CallStatus,
    Direction,
    SegmentRecord,
    StatCounters,
    TransferRecord,
    counter_prefix,
)
from telephony.models.dnc import DncList, DncRecord
from telephony.models.limits import AccountLimits
from telephony.models.numbers import ClaimRecord, NumberRecord
from telephony.models.principal import ApiKeyRecord, Principal, Role
from telephony.models.sip import ConfigLock, DispatchRule, InboundTrunk, OutboundTrunk, Part
from telephony.models.webhooks import DeliveryRecord, EventRecord, WebhookRecord
from telephony.repositories import keys
from telephony.repositories.calls import hour_of
from telephony.repositories.store import Store
from telephony.repositories.webhooks import UPDATABLE
from telephony.util import epoch, iso


class Unexpected:
    """A repository the test did not expect the service to use."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attribute: str) -> Any:
        raise AssertionError(
            f"the service used the {self.name} repository ({attribute}), which this test did not expect"
        )


def fake_store(**given: Any) -> Store:
    """A Store of the fakes given; the accounts (limits, live calls, counts of numbers) are those the given calls or
    numbers fake writes to, else fresh ones: every service reads its caller's limits. Do-not-call lists are empty
    ones unless given: every call placed reads them."""
    given.setdefault("dnc", FakeDnc())
    if "accounts" not in given:
        owners = [given[name].accounts for name in ("calls", "numbers") if hasattr(given.get(name), "accounts")]
        given["accounts"] = owners[0] if owners else FakeAccounts()
    return Store(**{name: given.get(name, Unexpected(name)) for name in Store._fields})


class Failing:
    """Failures a test plans: `fake.fail("save", LockLost("x"))` makes the next `save` raise that error before it
    changes anything (what a refused or unanswered request does); `after=True` makes it raise once the change is
    made (an answer lost on the way back); `skip=n` lets the next n calls through first."""

    def __init__(self) -> None:
        self._planned: dict[str, list[tuple[BaseException | None, bool]]] = defaultdict(list)

    def fail(self, method: str, error: BaseException, *, times: int = 1, after: bool = False, skip: int = 0) -> None:
        assert callable(getattr(self, method, None)), f"{type(self).__name__} has no method {method}"
        self._planned[method] += [(None, False)] * skip + [(error, after)] * times

    def _failing(self, method: str, *, after: bool = False) -> None:
        planned = self._planned.get(method)
        if planned and planned[0][1] == after:
            error = planned.pop(0)[0]
            if error is not None:
                raise error


# ---------------------------------------------------------------- rate limits


class FakeRateLimits:
    """The rate-limit windows the other fakes spend in: `refusal` and `spend` are the condition and the effect of
    the `rate_limits.spend` write (repositories/rate_limits.py) that the real repositories put in their
    transactions; `consume` mirrors RateLimitsRepository.consume. `full` names the budgets whose window is full
    (BudgetSpent); `revoked` holds the windows (budget, subject, window start) marked revoked."""

    def __init__(self, *, full: set[str] | None = None) -> None:
        self.full = full or set()
        self.counted: Counter[tuple[str, str, int]] = Counter()
        self.spent: list[Charge] = []
        self.revoked: set[tuple[str, str, int]] = set()

    def consume(self, charge: Charge) -> int:
        """RateLimitsRepository.consume: one hit on its own, the hits so far returned; KeyRevoked when the window
        is marked revoked, BudgetSpent when it is full."""
        key = (charge.budget.name, charge.subject, charge.window_start)
        if key in self.revoked:
            raise KeyRevoked("this API key has been revoked")
        refused = self.refusal(charge)
        if refused:
            raise refused
        self.spend(charge)
        return self.counted[key]

    def refusal(self, charge: Charge) -> DomainError | None:
        key = (charge.budget.name, charge.subject, charge.window_start)
        if charge.budget.name in self.full or self.counted[key] >= charge.limit:
            return charge.refused(epoch())
        return None

    def spend(self, charge: Charge) -> None:
        self.counted[(charge.budget.name, charge.subject, charge.window_start)] += 1
        self.spent.append(charge)

    def hits(self, charges: list[Charge]) -> list[int]:
        """RateLimitsRepository.hits."""
        return [self.counted[(c.budget.name, c.subject, c.window_start)] for c in charges]

    def budgets(self) -> list[str]:
        """The budgets spent, in order."""
        return [c.budget.name for c in self.spent]


# ---------------------------------------------------------------- accounts


class FakeAccounts:
    """Mirrors repositories.accounts: each account's limits (defaults for those not set), its live call and leg ids
    (the real one's markers, their number its count), its count of numbers. `occupy`, `release` and `count_number`
    are the condition and effect of the writes the real repositories make with (or, for `release`, after) the
    changes that count them."""

    def __init__(self, **limits: AccountLimits) -> None:
        self.set: dict[str, AccountLimits] = dict(limits)
        self.live_ids: dict[str, set[str]] = defaultdict(set)
        self.counted_numbers: Counter[str] = Counter()

    def limits(self, owner_id: str) -> AccountLimits:
        return self.set.get(owner_id, AccountLimits())

    def set_limits(self, owner_id: str, fields: dict[str, int]) -> AccountLimits:
        self.set[owner_id] = self.limits(owner_id).model_copy(update=fields)
        return self.set[owner_id]

    def live(self, owner_id: str) -> set[str]:
        """The ids counted live (the real repository's markers)."""
        return set(self.live_ids[owner_id])

    def live_count(self, owner_id: str) -> int:
        return len(self.live_ids[owner_id])

    def numbers(self, owner_id: str) -> int:
        return self.counted_numbers[owner_id]

    def with_live_calls(self) -> list[tuple[str, set[str]]]:
        return [(owner, set(ids)) for owner, ids in self.live_ids.items()]

    def release(self, owner_id: str, live_ids: Any) -> int:
        given = len(self.live_ids[owner_id] & set(live_ids))
        self.live_ids[owner_id] -= set(live_ids)
        return given

    def occupy_refusal(self, owner_id: str, *, max_live: int) -> DomainError | None:
        if len(self.live_ids[owner_id]) >= max_live:
            return ConcurrencyLimit(f"you have {max_live} calls live at once", limit=max_live)
        return None

    def occupy(self, owner_id: str, live_ids: Any) -> None:
        self.live_ids[owner_id] |= set(live_ids)

    def number_refusal(self, owner_id: str, *, max_numbers: int) -> DomainError | None:
        if self.counted_numbers[owner_id] >= max_numbers:
            return TooManyNumbers(f"you hold {max_numbers} phone numbers")
        return None


# ---------------------------------------------------------------- API keys


class FakeApiKeys(Failing):
    """Mirrors repositories.api_keys.ApiKeysRepository: keys by id, each owner's count of unrevoked keys in
    `active` (kept by create and revoke, as the real count item is), revocations marking the key's usage windows
    in the rate limits. Ids that cannot be ours are refused as keys.api_key refuses them (NotFound)."""

    def __init__(self, *records: ApiKeyRecord, rate_limits: FakeRateLimits | None = None) -> None:
        super().__init__()
        self.items: dict[str, ApiKeyRecord] = {r["key_id"]: ApiKeyRecord(**r) for r in records}
        self.active: Counter[str] = Counter(r["owner_id"] for r in records if "revoked_at" not in r)
        self.rate_limits = rate_limits or FakeRateLimits()

    def active_count(self, owner_id: str) -> int:
        """ApiKeysRepository.active_count."""
        return self.active[owner_id]

    def create(self, record: ApiKeyRecord, *, max_active: int) -> None:
        """ApiKeysRepository.create: the key (refused if its id exists) and its owner's count moved up, together;
        TooManyKeys when the owner holds `max_active` unrevoked keys."""
        self._failing("create")
        keys.api_key(record["key_id"])
        if record["key_id"] in self.items:
            raise Conflict("the resource was changed by another request")
        if self.active[record["owner_id"]] >= max_active:
            raise TooManyKeys(f"you hold {max_active} active API keys: revoke one first")
        self.items[record["key_id"]] = ApiKeyRecord(**record)
        self.active[record["owner_id"]] += 1

    def get(self, key_id: str) -> ApiKeyRecord | None:
        """ApiKeysRepository.get."""
        self._failing("get")
        keys.api_key(key_id)
        found = self.items.get(key_id)
        return ApiKeyRecord(**found) if found else None

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[ApiKeyRecord], str | None]:
        """ApiKeysRepository.list_by_owner: newest first (the index sorts by created_at, then id)."""
        self._failing("list_by_owner")
        mine = [r for r in self.items.values() if r["owner_id"] == owner_id]
        mine.sort(key=lambda r: (r["created_at"], r["key_id"]), reverse=True)
        return _page([ApiKeyRecord(**r) for r in mine], limit=limit, token=token)

    def revoke(self, record: ApiKeyRecord, *, revoked_at: str, usage_windows: list[tuple[str, int]]) -> None:
        """ApiKeysRepository.revoke: NotFound when the key is gone or already revoked; then the key marked, its
        owner's count moved down and its usage windows marked revoked, together."""
        self._failing("revoke")
        key_id = record["key_id"]
        stored = self.items.get(key_id)
        if stored is None or "revoked_at" in stored:
            raise NotFound("no such API key")
        self.items[key_id] = ApiKeyRecord(**stored, revoked_at=revoked_at)
        self.active[record["owner_id"]] -= 1
        for budget, start in usage_windows:
            self.rate_limits.revoked.add((budget, f"key:{key_id}", start))


# ---------------------------------------------------------------- numbers


def _page[T](items: list[T], *, limit: int, token: str | None) -> tuple[list[T], str | None]:
    """One page of a list already ordered newest first; the token is the position of the next item."""
    start = int(token or 0)
    end = start + limit
    return items[start:end], (str(end) if end < len(items) else None)


class FakeNumbers(Failing):
    """Mirrors repositories.numbers.NumbersRepository: numbers by id, claims by E.164 number. A number given to
    the constructor holds the claim of its E.164 number. `writes` lists (method, phone_number_id) of every write
    that took effect, in order. `agent_names` holds each claimed agent name's owner."""

    def __init__(
        self,
        *numbers: NumberRecord,
        rate_limits: FakeRateLimits | None = None,
        accounts: FakeAccounts | None = None,
    ) -> None:
        super().__init__()
        self.items: dict[str, NumberRecord] = {}
        self.claimed: dict[str, ClaimRecord] = {}
        self.agent_names: dict[str, str] = {}
        self.rate_limits = rate_limits or FakeRateLimits()
        self.accounts = accounts or FakeAccounts()
        self.writes: list[tuple[str, str]] = []
        for number in numbers:
            self.items[number.phone_number_id] = number.model_copy(deep=True)
            self.claimed[number.phone_number] = _claim_of(number)

    def add_claim(self, claim: ClaimRecord) -> None:
        self.claimed[claim.e164] = claim.model_copy()

    def claim_agent_name(self, name: str, owner_id: str) -> None:
        """NumbersRepository.claim_agent_name: the name becomes `owner_id`'s unless another owner holds it
        (AgentNameTaken); claiming one's own name again changes nothing."""
        self._failing("claim_agent_name")
        holder = self.agent_names.setdefault(name, owner_id)
        if holder != owner_id:
            raise AgentNameTaken(name)

    def held(self, phone_number_id: str) -> bool:
        """Whether the number's provisioning lock is held."""
        return self.items[phone_number_id].config_lock is not None

    def get(self, phone_number_id: str) -> NumberRecord | None:
        """NumbersRepository.get."""
        self._failing("get")
        found = self.items.get(phone_number_id)
        return found.model_copy(deep=True) if found else None

    def claims(self, numbers: list[str]) -> dict[str, ClaimRecord]:
        """NumbersRepository.claims."""
        self._failing("claims")
        return {n: self.claimed[n].model_copy() for n in set(numbers) if n in self.claimed}

    def list_by_owner(self, owner_id: str, *, limit: int, token: str | None) -> tuple[list[NumberRecord], str | None]:
        """NumbersRepository.list_by_owner: newest first (the index sorts by created_at, then id)."""
        self._failing("list_by_owner")
        mine = [n for n in self.items.values() if n.owner_id == owner_id]
        mine.sort(key=lambda n: (n.created_at, n.phone_number_id), reverse=True)
        return _page([n.model_copy(deep=True) for n in mine], limit=limit, token=token)

    def list_by_agent(
        self, owner_id: str, agent_id: str, *, limit: int, token: str | None
    ) -> tuple[list[NumberRecord], str | None]:
        """NumbersRepository.list_by_agent: the owner's numbers registered to the agent, newest registration first."""
        self._failing("list_by_agent")
        theirs = [n for n in self.items.values() if n.owner_id == owner_id and n.agent_id == agent_id]
        theirs.sort(key=lambda n: (n.registered_at or n.updated_at, n.phone_number_id), reverse=True)
        return _page([n.model_copy(deep=True) for n in theirs], limit=limit, token=token)

    def create(self, number: NumberRecord, *, charge: Charge | None, max_numbers: int) -> None:
        """NumbersRepository.create: the claim, the number, its count among its owner's and the charge together;
        the first refused condition in that order names the error (NumberTaken, Conflict, TooManyNumbers,
        BudgetSpent)."""
        self._failing("create")
        if number.phone_number in self.claimed:
            raise NumberTaken(number.phone_number)
        if number.phone_number_id in self.items:
            raise Conflict(f"number {number.phone_number_id} exists already")
        refused = self.accounts.number_refusal(number.owner_id, max_numbers=max_numbers) or (
            self.rate_limits.refusal(charge) if charge else None
        )
        if refused:
            raise refused
        self.claimed[number.phone_number] = _claim_of(number)
        self.items[number.phone_number_id] = number.model_copy(deep=True)
        self.accounts.counted_numbers[number.owner_id] += 1
        if charge:
            self.rate_limits.spend(charge)
        self.writes.append(("create", number.phone_number_id))

    def lock(self, number: NumberRecord, *, token: str, now: int, ttl: int = 120, charge: Charge | None) -> None:
        """NumbersRepository.lock: NotFound when the number is gone or not `number`'s owner's, NumberLocked while
        another lock is unexpired, NumberChanged when the revision moved since `number` was read; then the
        charge (BudgetSpent). The revision does not move."""
        self._failing("lock")
        stored = self.items.get(number.phone_number_id)
        if stored is None or stored.owner_id != number.owner_id:
            raise NotFound("no such phone number")
        if stored.config_lock is not None and stored.config_lock.until >= now:
            raise NumberLocked("this number is being configured by another request; retry shortly")
        if stored.revision != number.revision:
            raise NumberChanged("this number was changed by another request; retry shortly")
        refused = self.rate_limits.refusal(charge) if charge else None
        if refused:
            raise refused
        self.items[number.phone_number_id] = stored.model_copy(
            update={"config_lock": ConfigLock(token=token, until=now + ttl)}
        )
        if charge:
            self.rate_limits.spend(charge)
        self.writes.append(("lock", number.phone_number_id))

    def _holder(self, phone_number_id: str, token: str) -> NumberRecord:
        stored = self.items.get(phone_number_id)
        if stored is None or stored.config_lock is None or stored.config_lock.token != token:
            raise LockLost("this number's configuration lock was lost; retry")
        return stored

    def save(self, number: NumberRecord, *, token: str) -> NumberRecord:
        """NumbersRepository.save: only while `token` holds the lock (LockLost); every field as given except the
        number's identity (id, owner, created_at); the lock released and the revision moved on."""
        self._failing("save")
        stored = self._holder(number.phone_number_id, token)
        saved = number.model_copy(
            deep=True,
            update={
                "owner_id": stored.owner_id,
                "created_at": stored.created_at,
                "config_lock": None,
                "revision": (stored.revision or 0) + 1,
            },
        )
        self.items[number.phone_number_id] = saved
        self.writes.append(("save", number.phone_number_id))
        return saved.model_copy(deep=True)

    def release(self, phone_number_id: str, *, token: str, updated_at: str) -> None:
        """NumbersRepository.release: the lock given back (LockLost if `token` does not hold it), the revision
        moved on."""
        self._failing("release")
        stored = self._holder(phone_number_id, token)
        self.items[phone_number_id] = stored.model_copy(
            update={"config_lock": None, "updated_at": updated_at, "revision": (stored.revision or 0) + 1}
        )
        self.writes.append(("release", phone_number_id))

    def delete(self, number: NumberRecord, *, token: str) -> None:
        """NumbersRepository.delete: the number (while `token` holds its lock, LockLost) and its claim (while it
        is this number's, Conflict) together."""
        self._failing("delete")
        self._holder(number.phone_number_id, token)
        claim = self.claimed.get(number.phone_number)
        if claim is None or claim.phone_number_id != number.phone_number_id:
            raise Conflict(f"the claim on {number.phone_number} is not this number's")
        del self.items[number.phone_number_id]
        del self.claimed[number.phone_number]
        self.accounts.counted_numbers[number.owner_id] -= 1
        self.writes.append(("delete", number.phone_number_id))


def _claim_of(number: NumberRecord) -> ClaimRecord:
    return ClaimRecord(
        e164=number.phone_number, holder="number", owner_id=number.owner_id, phone_number_id=number.phone_number_id
    )


# ---------------------------------------------------------------- calls


class FakeCalls(Failing):
    """Mirrors repositories.calls.CallsRepository: calls by id, the applied-event markers, the segments by key,
    and each owner's counters (all time in `totals`, per hour of creation in `hours`)."""

    def __init__(
        self, *calls: CallRecord, rate_limits: FakeRateLimits | None = None, accounts: FakeAccounts | None = None
    ) -> None:
        super().__init__()
        self.accounts = accounts or FakeAccounts()
        self.items: dict[str, CallRecord] = {c.call_id: c.model_copy(deep=True) for c in calls}
        self.markers: set[tuple[str, str]] = set()
        self.stored_segments: dict[tuple[str, str, str], SegmentRecord] = {}
        self.totals: dict[str, Counter[str]] = defaultdict(Counter)
        self.hours: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
        self.rate_limits = rate_limits or FakeRateLimits()
        self.moves: list[tuple[str, CallStatus, CallStatus]] = []  # (call_id, from, to) of each move written
        self.post_times: dict[tuple[str, str], str] = {}  # (call_id, digest) -> the time of the first post
        self.events: list[EventRecord] = []  # the outbox: each event written with its change, in order
        self.rooms: dict[str, list[str]] = defaultdict(list)  # room name -> the inbound calls LiveKit put in it

    def _sequenced(self, call: CallRecord, events: Sequence[EventRecord]) -> dict[str, Any]:
        """The `_changed` condition of the real writes: with events, StatusChanged unless the stored call's event
        sequence is still `call`'s; the sequence that follows."""
        stored = self.items.get(call.call_id)
        if not events:
            return {}
        if stored is None:
            raise NotFound("no such call")
        if stored.event_sequence != call.event_sequence:
            raise StatusChanged(f"call {call.call_id} changed since it was read")
        return {"event_sequence": call.event_sequence + len(events)}

    def _count(self, call: CallRecord, adds: StatCounters) -> None:
        for name, value in adds.items():
            self.totals[call.owner_id][name] += value
            self.hours[(call.owner_id, hour_of(call.created_epoch))][name] += value

    def create(self, call: CallRecord, *, charge: Charge, max_live: int) -> None:
        """CallsRepository.create: the call (AlreadyExists if a call has its id), its counters, the charge and its
        place among the owner's live calls together (BudgetSpent, then ConcurrencyLimit)."""
        self._failing("create")
        if call.call_id in self.items:
            raise AlreadyExists(f"call {call.call_id} exists already")
        refused = self.rate_limits.refusal(charge) or self.accounts.occupy_refusal(call.owner_id, max_live=max_live)
        if refused:
            raise refused
        self.items[call.call_id] = call.model_copy(deep=True)
        self._count(call, {"total_calls": 1, f"status_{call.status.value}": 1})
        self.rate_limits.spend(charge)
        self.accounts.occupy(call.owner_id, [call.call_id])

    def move(
        self,
        call: CallRecord,
        to: CallStatus,
        changes: CallChanges,
        *,
        adds: StatCounters,
        event_id: str | None = None,
        events: Sequence[EventRecord] = (),
    ) -> CallRecord:
        """CallsRepository.move: StatusChanged when the stored call is not (or no longer) in `call`'s status or
        its events moved on, then EventAlreadyApplied when the event's marker exists; returns `call` with the
        change (as the real one)."""
        self._failing("move")
        stored = self.items.get(call.call_id)
        if stored is None or stored.status is not call.status:
            raise StatusChanged(f"the call is no longer {call.status.value}")
        sequence = self._sequenced(call, events)
        if event_id and (call.call_id, event_id) in self.markers:
            raise EventAlreadyApplied(f"event {event_id} was applied before")
        self.items[call.call_id] = stored.model_copy(update={"status": to, **changes, **sequence})
        self._count(call, adds)
        if to in ENDED:
            self.accounts.release(call.owner_id, call.live_ids)
        if event_id:
            self.markers.add((call.call_id, event_id))
        self.moves.append((call.call_id, call.status, to))
        self.events += events
        return call.model_copy(update={"status": to, **changes, **sequence})

    def create_inbound(self, call: CallRecord, *, events: Sequence[EventRecord]) -> None:
        """CallsRepository.create_inbound: the call (AlreadyExists if a call has its id), its room's pointer, its
        inbound counters and its events together; no charge, no live call."""
        self._failing("create_inbound")
        if call.call_id in self.items:
            raise AlreadyExists(f"call {call.call_id} exists already")
        self.items[call.call_id] = call.model_copy(deep=True)
        self.rooms[call.room_name].append(call.call_id)
        adds = {"inbound_total_calls": 1, f"inbound_status_{call.status.value}": 1}
        if call.answered_at:
            adds["inbound_answered_calls"] = 1
        self._count(call, adds)
        self.events += events

    def in_room(self, room_name: str) -> list[CallRecord]:
        """CallsRepository.in_room."""
        return [self.items[i].model_copy(deep=True) for i in self.rooms.get(room_name, []) if i in self.items]

    def list_filtered(
        self,
        owner_id: str,
        *,
        directions: Sequence[Direction],
        status: CallStatus | None,
        after: str | None,
        before: str | None,
        number_id: str | None,
        limit: int,
        token: str | None,
    ) -> tuple[list[CallRecord], str | None]:
        """CallsRepository.list_filtered: newest first, every filter applied (pages always full here)."""
        mine = [
            c
            for c in self.items.values()
            if c.owner_id == owner_id
            and c.direction in directions
            and (status is None or c.status is status)
            and (after is None or c.created_at >= after)
            and (before is None or c.created_at < before)
            and (number_id is None or c.number_id == number_id)
        ]
        mine.sort(key=lambda c: (c.created_at, c.call_id), reverse=True)
        return _page([c.model_copy(deep=True) for c in mine], limit=limit, token=token)

    def get(self, call_id: str) -> CallRecord | None:
        """CallsRepository.get."""
        self._failing("get")
        found = self.items.get(call_id)
        return found.model_copy(deep=True) if found else None

    def list_by_owner(
        self, owner_id: str, *, status: CallStatus | None, limit: int, token: str | None
    ) -> tuple[list[CallRecord], str | None]:
        """CallsRepository.list_by_owner: outbound calls only, newest first, in one status if given."""
        mine = [
            c
            for c in self.items.values()
            if c.owner_id == owner_id and c.direction is Direction.OUTBOUND and (status is None or c.status is status)
        ]
        mine.sort(key=lambda c: (c.created_at, c.call_id), reverse=True)
        return _page([c.model_copy(deep=True) for c in mine], limit=limit, token=token)

    def stats(self, owner_id: str, *, since_hour: int, counters: Any) -> tuple[StatCounters, StatCounters]:
        """CallsRepository.stats: the named counters, all time and summed over the hours from `since_hour` on
        (a counter never written is absent)."""
        names = set(counters)
        total = {k: v for k, v in self.totals[owner_id].items() if k in names}
        window: StatCounters = {}
        for (owner, hour), bucket in self.hours.items():
            if owner == owner_id and hour >= since_hour:
                for name, value in bucket.items():
                    if name in names:
                        window[name] = window.get(name, 0) + value
        return total, window

    def add_segments(self, segments: list[SegmentRecord]) -> None:
        """CallsRepository.add_segments: each segment put under its key (call, at, index): the same key rewrites."""
        self._failing("add_segments")
        for s in segments:
            self.stored_segments[(s.call_id, s.at, s.index)] = s.model_copy()

    def segments(self, call_id: str) -> list[SegmentRecord]:
        """CallsRepository.segments: in the order of their keys."""
        return [s for key, s in sorted(self.stored_segments.items()) if key[0] == call_id]

    def post_time(self, call_id: str, digest: str, *, now: str, expires_at: int) -> str:
        """CallsRepository.post_time: the time of the first post with this digest, `now` for the first."""
        self._failing("post_time")
        return self.post_times.setdefault((call_id, digest), now)

    def set_summary(self, call: CallRecord, summary: str, *, source: str, events: Sequence[EventRecord] = ()) -> bool:
        """CallsRepository.set_summary: only on `call`'s owner's call that has no summary yet (False otherwise);
        StatusChanged when its events moved on."""
        stored = self.items.get(call.call_id)
        if stored is None or stored.owner_id != call.owner_id:
            raise NotFound("no such call")
        if stored.summary is not None:
            return False
        sequence = self._sequenced(call, events)
        self.items[call.call_id] = stored.model_copy(update={"summary": summary, "summary_source": source, **sequence})
        self.events += events
        return True

    def note_summary(
        self, call: CallRecord, *, summary: str, chars: int, max_chars: int, events: Sequence[EventRecord]
    ) -> None:
        """CallsRepository.note_summary: note_events' conditions, then StatusChanged when its events moved on."""
        self._failing("note_summary")
        stored = self.items.get(call.call_id)
        if stored is None or stored.owner_id != call.owner_id:
            raise NotFound("no such call")
        if stored.transcript_chars > max_chars - chars:
            raise TranscriptFull(f"the call's transcript is full: at most {max_chars} characters of text")
        sequence = self._sequenced(call, events)
        self.items[call.call_id] = stored.model_copy(
            update={
                "summary": summary,
                "summary_source": "agent",
                "transcript_chars": stored.transcript_chars + chars,
                **sequence,
            }
        )
        self.events += events

    def note_events(
        self,
        call_id: str,
        owner_id: str,
        *,
        summary: str | None,
        chars: int,
        max_chars: int,
        direction: Direction | None = None,
    ) -> None:
        """CallsRepository.note_events: NotFound unless the call is `owner_id`'s (and of `direction`, if given),
        TranscriptFull when the text already counted leaves less than `chars` of room; then the summary (if given)
        and the size counted."""
        self._failing("note_events")
        stored = self.items.get(call_id)
        if stored is None or stored.owner_id != owner_id or (direction and stored.direction is not direction):
            raise NotFound("no such call")
        if stored.transcript_chars > max_chars - chars:
            raise TranscriptFull(f"the call's transcript is full: at most {max_chars} characters of text")
        update: dict[str, Any] = {"transcript_chars": stored.transcript_chars + chars}
        if summary is not None:
            update.update(summary=summary, summary_source="agent")
        self.items[call_id] = stored.model_copy(update=update)

    def add_leg(
        self,
        call: CallRecord,
        transfer: TransferRecord,
        *,
        max_transfers: int,
        charge: Charge,
        max_live: int,
        events: Sequence[EventRecord] = (),
    ) -> None:
        """CallsRepository.add_leg: the transfer appended, `transfer_legs` counted, the charge spent, the leg
        counted live and the events written together; StatusChanged unless the stored call is in progress (or when
        its events moved on), TooManyTransfers when it holds `max_transfers`, then BudgetSpent, ConcurrencyLimit."""
        self._failing("add_leg")
        stored = self.items.get(call.call_id)
        if stored is None or stored.status is not CallStatus.IN_PROGRESS:
            raise StatusChanged("the call is no longer in progress")
        if len(stored.transfers) >= max_transfers:
            raise TooManyTransfers(f"a call may be transferred {max_transfers} times at most")
        sequence = self._sequenced(call, events)
        refused = self.rate_limits.refusal(charge) or self.accounts.occupy_refusal(call.owner_id, max_live=max_live)
        if refused:
            raise refused
        self.items[call.call_id] = stored.model_copy(update={"transfers": [*stored.transfers, transfer], **sequence})
        self._count(call, {f"{counter_prefix(call.direction)}transfer_legs": 1})
        self.rate_limits.spend(charge)
        self.accounts.occupy(call.owner_id, [str(transfer.leg_identity)])
        self.events += events
        self._failing("add_leg", after=True)

    def set_leg_status(self, call_id: str, leg_identity: str, status: str, *, live: bool = True) -> None:
        """CallsRepository.set_leg_status: the transfer that dialled `leg_identity` (nothing when there is none),
        taken off its owner's live calls unless still `live`."""
        self._failing("set_leg_status")
        stored = self.items.get(call_id)
        if stored is None or not any(t.leg_identity == leg_identity for t in stored.transfers):
            return
        if not live:
            self.accounts.release(stored.owner_id, [leg_identity])
        transfers = [
            t.model_copy(update={"status": status}) if t.leg_identity == leg_identity else t for t in stored.transfers
        ]
        self.items[call_id] = stored.model_copy(update={"transfers": transfers})

    def append_transfer(
        self,
        call: CallRecord,
        transfer: TransferRecord,
        *,
        status: CallStatus,
        end_reason: str | None = None,
        events: Sequence[EventRecord] = (),
    ) -> CallRecord:
        """CallsRepository.append_transfer: only while the call is in `status` and its events are as read
        (StatusChanged; NotFound when it is gone)."""
        self._failing("append_transfer")
        stored = self.items.get(call.call_id)
        if stored is None:
            raise NotFound("no such call")
        if stored.status is not status:
            raise StatusChanged(f"the call is no longer {status.value}")
        update: dict[str, Any] = {"transfers": [*stored.transfers, transfer], **self._sequenced(call, events)}
        if end_reason is not None:
            update["end_reason"] = end_reason
        self.items[call.call_id] = stored.model_copy(update=update)
        self.events += events
        return self.items[call.call_id].model_copy(deep=True)


# ---------------------------------------------------------------- LiveKit

Trunk = InboundTrunk | OutboundTrunk


class FakeLiveKit(Failing):
    """Stands in for integrations.livekit.LiveKit, method for method: trunks and rules held by id (LiveKit's own
    filters in `find`, NotFound for a replace of what it does not hold, deletes of what is gone accepted as the
    real client does); rooms, dispatches, dials and transfers recorded. `calls` lists every call made, failed ones
    too, as (method, arguments). Tell it to fail with `fail(method, error)` (`after=True`: the answer is lost
    once LiveKit did the work)."""

    def __init__(self, *, webhook_token: str = "signed") -> None:
        super().__init__()
        self.webhook_token = webhook_token
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.trunks: dict[str, tuple[Part, Trunk, str]] = {}  # id -> (part, spec, password)
        self.rules: dict[str, DispatchRule] = {}
        self.dispatches: list[tuple[str, str, str]] = []
        self.dials: list[lk.Dial] = []
        self.transfers: list[tuple[str, str, str, bool]] = []
        self.deleted_rooms: list[str] = []
        self.rooms: dict[str, set[str]] = {}  # the rooms that exist, with their participants' identities
        self._ids = itertools.count(1)

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]

    def _enter(self, method: str, *args: Any) -> None:
        self.calls.append((method, args))
        self._failing(method)

    def _leave(self, method: str) -> None:
        self._failing(method, after=True)

    def _new(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids)}"

    # trunks
    def _create_trunk(self, method: str, part: Part, spec: Trunk, password: str) -> str:
        self._enter(method, spec, password)
        trunk_id = self._new("ST")
        self.trunks[trunk_id] = (part, spec, password)
        self._leave(method)
        return trunk_id

    def _replace_trunk(self, method: str, part: Part, trunk_id: str, spec: Trunk, password: str) -> None:
        self._enter(method, trunk_id, spec, password)
        if trunk_id not in self.trunks or self.trunks[trunk_id][0] is not part:
            raise NotFound("LiveKit: trunk not found")
        self.trunks[trunk_id] = (part, spec, password)
        self._leave(method)

    def create_inbound_trunk(self, spec: InboundTrunk, password: str = "") -> str:
        return self._create_trunk("create_inbound_trunk", Part.INBOUND, spec, password)

    def replace_inbound_trunk(self, trunk_id: str, spec: InboundTrunk, password: str = "") -> None:
        self._replace_trunk("replace_inbound_trunk", Part.INBOUND, trunk_id, spec, password)

    def create_outbound_trunk(self, spec: OutboundTrunk, password: str = "") -> str:
        return self._create_trunk("create_outbound_trunk", Part.OUTBOUND, spec, password)

    def replace_outbound_trunk(self, trunk_id: str, spec: OutboundTrunk, password: str = "") -> None:
        self._replace_trunk("replace_outbound_trunk", Part.OUTBOUND, trunk_id, spec, password)

    def delete_trunk(self, trunk_id: str) -> None:
        self._enter("delete_trunk", trunk_id)
        self.trunks.pop(trunk_id, None)
        self._leave("delete_trunk")

    # dispatch rules
    def create_dispatch_rule(self, spec: DispatchRule) -> str:
        self._enter("create_dispatch_rule", spec)
        rule_id = self._new("SDR")
        self.rules[rule_id] = spec
        self._leave("create_dispatch_rule")
        return rule_id

    def replace_dispatch_rule(self, rule_id: str, spec: DispatchRule) -> None:
        self._enter("replace_dispatch_rule", rule_id, spec)
        if rule_id not in self.rules:
            raise NotFound("LiveKit: dispatch rule not found")
        self.rules[rule_id] = spec
        self._leave("replace_dispatch_rule")

    def delete_dispatch_rule(self, rule_id: str) -> None:
        self._enter("delete_dispatch_rule", rule_id)
        self.rules.pop(rule_id, None)
        self._leave("delete_dispatch_rule")

    def find(
        self, part: Part, metadata: str, *, numbers: list[str] | None = None, trunk_ids: list[str] | None = None
    ) -> list[str]:
        """LiveKit's list filters: an item matches a filter it shares a value with, or whose own list is empty."""
        self._enter("find", part, metadata, numbers, trunk_ids)
        if part is Part.RULE:
            held = [(i, r.metadata, r.trunk_ids) for i, r in self.rules.items()]
            wanted = trunk_ids
        else:
            held = [(i, t.metadata, t.numbers) for i, (p, t, _) in self.trunks.items() if p is part]
            wanted = numbers
        found = [
            i
            for i, meta, values in sorted(held)
            if meta == metadata and (not wanted or not values or set(values) & set(wanted))
        ]
        self._leave("find")
        return found

    # calls
    def create_dispatch(self, room: str, agent_name: str, metadata: str) -> str:
        self._enter("create_dispatch", room, agent_name, metadata)
        self.dispatches.append((room, agent_name, metadata))
        self._leave("create_dispatch")
        return self._new("AD")

    def dial(self, spec: lk.Dial) -> dict[str, str]:
        self._enter("dial", spec)
        self.dials.append(spec)
        self.rooms.setdefault(spec.room, set()).add(spec.identity)
        self._leave("dial")
        return {"participant_id": self._new("PA"), "identity": spec.identity, "sip_call_id": self._new("SCL")}

    def transfer(self, room: str, identity: str, transfer_to: str, *, play_dialtone: bool = False) -> None:
        self._enter("transfer", room, identity, transfer_to, play_dialtone)
        self.transfers.append((room, identity, transfer_to, play_dialtone))
        self._leave("transfer")

    def delete_room(self, room: str) -> None:
        self._enter("delete_room", room)
        self.deleted_rooms.append(room)
        self.rooms.pop(room, None)
        self._leave("delete_room")

    def existing_rooms(self, names: list[str]) -> set[str]:
        self._enter("existing_rooms", names)
        found = {name for name in names if name in self.rooms}
        self._leave("existing_rooms")
        return found

    def participants(self, room: str) -> set[str]:
        self._enter("participants", room)
        present = set(self.rooms.get(room, set()))
        self._leave("participants")
        return present

    def verify_webhook(self, body: str, authorization: str) -> lk.WebhookEvent:
        """The event, if `authorization` is the token this fake was given (Unauthenticated otherwise)."""
        self._enter("verify_webhook", body, authorization)
        if authorization != self.webhook_token:
            raise Unauthenticated("invalid or missing webhook signature")
        return lk.WebhookEvent.parse(body)


# ---------------------------------------------------------------- secrets


class FakeSecrets(Failing):
    """Stands in for telephony.integrations.secrets (read_json, write_json, delete), installed with pytest's
    monkeypatch: secrets by ARN in `values`. A read of a missing secret fails as the real one does."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []

    def install(self, monkeypatch: Any) -> FakeSecrets:
        monkeypatch.setattr(secrets, "read_json", self.read_json)
        monkeypatch.setattr(secrets, "write_json", self.write_json)
        monkeypatch.setattr(secrets, "delete", self.delete)
        return self

    @staticmethod
    def arn(name: str) -> str:
        return f"arn:aws:secretsmanager:us-east-1:000000000000:secret:{name}"

    def read_json(self, secret_id: str) -> dict[str, Any]:
        self._failing("read_json")
        if secret_id not in self.values:
            raise UpstreamUnavailable("the secret store is unavailable; retry shortly")
        return dict(self.values[secret_id])

    def write_json(self, name: str, value: dict[str, Any]) -> str:
        self._failing("write_json")
        self.values[self.arn(name)] = dict(value)
        return self.arn(name)

    def delete(self, secret_id: str) -> None:
        self._failing("delete")
        self.values.pop(secret_id, None)
        self.deleted.append(secret_id)


# ---------------------------------------------------------------- records to start from

ALICE = Principal(user_id="usr_alice", role=Role.USER, auth_type="api_key", key_id="ak_alice")
BOB = Principal(user_id="usr_bob", role=Role.USER, auth_type="api_key", key_id="ak_bob")
CREATED = "2026-01-01T10:00:00.000Z"
CREATED_EPOCH = 1767261600


def after(seconds: int) -> str:
    """The time `seconds` after CREATED, written as the services store times."""
    return iso(datetime.fromtimestamp(CREATED_EPOCH + seconds, UTC))


def a_number(**fields: Any) -> NumberRecord:
    """Alice's number +14155550100, unconfigured, unless `fields` say otherwise."""
    base: dict[str, Any] = {
        "phone_number_id": "pn_1",
        "phone_number": "+14155550100",
        "owner_id": ALICE.user_id,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    return NumberRecord.model_validate({**base, **fields})


def a_call(**fields: Any) -> CallRecord:
    """Alice's call from pn_1 to +14155550123, dialing, unless `fields` say otherwise."""
    base: dict[str, Any] = {
        "call_id": "call_1",
        "owner_id": ALICE.user_id,
        "status": "dialing",
        "phone_number": "+14155550123",
        "from_number": "+14155550100",
        "from_phone_number_id": "pn_1",
        "room_name": "call_1",
        "participant_identity": "sip-call_1",
        "created_at": CREATED,
        "created_epoch": CREATED_EPOCH,
        "dialing_at": CREATED,
    }
    return CallRecord.model_validate({**base, **fields})


# ---------------------------------------------------------------- webhooks


class FakeEvents(Failing):
    """Mirrors repositories.events.EventsRepository: the outbox by event id."""

    def __init__(self, *events: EventRecord) -> None:
        super().__init__()
        self.items: dict[str, EventRecord] = {e.event_id: e for e in events}

    def add(self, event: EventRecord) -> None:
        self._failing("add")
        if event.event_id in self.items:
            raise Conflict(f"event {event.event_id} exists already")
        self.items[event.event_id] = event

    def get(self, event_id: str) -> EventRecord | None:
        return self.items.get(event_id)


class FakeWebhooks(Failing):
    """Mirrors repositories.webhooks.WebhooksRepository: webhooks by (owner, id) with each owner's count, and the
    deliveries by (webhook, id)."""

    def __init__(self, *webhooks: WebhookRecord) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], WebhookRecord] = {(w.owner_id, w.webhook_id): w for w in webhooks}
        self.deliveries: dict[tuple[str, str], DeliveryRecord] = {}

    def create(self, webhook: WebhookRecord, *, max_webhooks: int) -> None:
        """WebhooksRepository.create: AlreadyExists, then TooManyWebhooks when the owner holds `max_webhooks`."""
        self._failing("create")
        if (webhook.owner_id, webhook.webhook_id) in self.items:
            raise AlreadyExists(f"webhook {webhook.webhook_id} exists already")
        if sum(1 for owner, _ in self.items if owner == webhook.owner_id) >= max_webhooks:
            raise TooManyWebhooks(f"you hold {max_webhooks} webhooks: delete one first")
        self.items[(webhook.owner_id, webhook.webhook_id)] = webhook.model_copy(deep=True)

    def get(self, owner_id: str, webhook_id: str) -> WebhookRecord | None:
        found = self.items.get((owner_id, webhook_id))
        return found.model_copy(deep=True) if found else None

    def list_by_owner(self, owner_id: str) -> list[WebhookRecord]:
        mine = [w.model_copy(deep=True) for (owner, _), w in self.items.items() if owner == owner_id]
        return sorted(mine, key=lambda w: w.created_at)

    def _stored(self, webhook: WebhookRecord) -> WebhookRecord:
        stored = self.items.get((webhook.owner_id, webhook.webhook_id))
        if stored is None:
            raise NotFound("no such webhook")
        return stored

    def update(self, webhook: WebhookRecord, fields: dict[str, Any]) -> WebhookRecord:
        """WebhooksRepository.update: only UPDATABLE fields (None removes one); NotFound when it is gone."""
        self._failing("update")
        assert set(fields) <= set(UPDATABLE), f"fields the real update does not set: {set(fields) - set(UPDATABLE)}"
        stored = self._stored(webhook).model_copy(update=fields)
        self.items[(webhook.owner_id, webhook.webhook_id)] = stored
        return stored.model_copy(deep=True)

    def rotate(self, webhook: WebhookRecord, *, secret: str, previous_expires_at: str, updated_at: str) -> None:
        stored = self._stored(webhook)
        self.items[(webhook.owner_id, webhook.webhook_id)] = stored.model_copy(
            update={
                "secret": secret,
                "previous_secret": webhook.secret,
                "previous_secret_expires_at": previous_expires_at,
                "updated_at": updated_at,
            }
        )

    def failing(self, webhook: WebhookRecord, *, since: str) -> None:
        """WebhooksRepository.failing: `failing_since` kept when set (a gone webhook fails as a condition)."""
        stored = self._stored(webhook)
        if stored.failing_since is None:
            self.items[(webhook.owner_id, webhook.webhook_id)] = stored.model_copy(update={"failing_since": since})

    def succeeding(self, webhook: WebhookRecord) -> None:
        if webhook.failing_since is not None:
            stored = self._stored(webhook)
            self.items[(webhook.owner_id, webhook.webhook_id)] = stored.model_copy(update={"failing_since": None})

    def delete(self, webhook: WebhookRecord) -> None:
        self._failing("delete")
        self._stored(webhook)
        del self.items[(webhook.owner_id, webhook.webhook_id)]

    def add_delivery(self, delivery: DeliveryRecord) -> bool:
        """WebhooksRepository.add_delivery: False when a delivery has its id."""
        self._failing("add_delivery")
        key = (delivery.webhook_id, delivery.delivery_id)
        if key in self.deliveries:
            return False
        self.deliveries[key] = delivery.model_copy(deep=True)
        return True

    def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        found = self.deliveries.get((webhook_id, delivery_id))
        return found.model_copy(deep=True) if found else None

    def settle(self, delivery: DeliveryRecord, *, follow: DeliveryRecord | None = None) -> None:
        """WebhooksRepository.settle: Conflict unless the stored attempt is pending; the next attempt with it."""
        self._failing("settle")
        stored = self.deliveries.get((delivery.webhook_id, delivery.delivery_id))
        if stored is None or stored.status != "pending":
            raise Conflict(f"delivery {delivery.delivery_id} was settled already")
        if follow is not None and (follow.webhook_id, follow.delivery_id) in self.deliveries:
            raise AlreadyExists(f"delivery {follow.delivery_id} exists already")
        self.deliveries[(delivery.webhook_id, delivery.delivery_id)] = delivery.model_copy(deep=True)
        if follow is not None:
            self.deliveries[(follow.webhook_id, follow.delivery_id)] = follow.model_copy(deep=True)
        self._failing("settle", after=True)

    def list_deliveries(
        self, webhook_id: str, *, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        mine = [d for (w, _), d in self.deliveries.items() if w == webhook_id]
        mine.sort(key=lambda d: d.delivery_id, reverse=True)
        return _page([d.model_copy(deep=True) for d in mine], limit=limit, token=token)


class FakeKms(Failing):
    """Stands in for integrations.kms.Secrets: a ciphertext names its context, and decrypts only under it."""

    def encrypt(self, plaintext: str, *, context: str) -> str:
        self._failing("encrypt")
        return f"sealed:{context}:{plaintext[::-1]}"

    def decrypt(self, ciphertext: str, *, context: str) -> str:
        self._failing("decrypt")
        _, sealed_for, reversed_text = ciphertext.split(":", 2)
        if sealed_for != context:
            raise UpstreamUnavailable("InvalidCiphertextException: the context does not match")
        return reversed_text[::-1]


# ---------------------------------------------------------------- do-not-call lists


class FakeDnc(Failing):
    """Mirrors repositories.dnc.DncRepository: entries by (list owner, number), the operator's list under None.
    `fail_put_after(n)` makes the next put stop with UpstreamUnavailable once its first n entries are written, as
    the real one stops when DynamoDB keeps refusing one of its requests of 25 (those before it stay written)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str | None, str], DncRecord] = {}
        self.puts: list[list[str]] = []  # the numbers of each put, in order
        self.checked: list[tuple[str, str]] = []  # (owner, number) of each `holding` read
        self._stop_after: int | None = None

    def fail_put_after(self, written: int) -> None:
        self._stop_after = written

    def found(self, owner_id: str | None, numbers: Sequence[str]) -> dict[str, DncRecord]:
        self._failing("found")
        return {n: self.items[(owner_id, n)].model_copy() for n in numbers if (owner_id, n) in self.items}

    def put(self, owner_id: str | None, entries: Sequence[DncRecord]) -> None:
        """DncRepository.put: each entry written whole; a number twice in one put is DynamoDB's ValidationException
        (a 500), which the service must never cause."""
        self._failing("put")
        numbers = [e.phone_number for e in entries]
        assert len(set(numbers)) == len(numbers), f"a number twice in one batch: {numbers}"
        self.puts.append(numbers)
        stop, self._stop_after = self._stop_after, None
        for i, entry in enumerate(entries):
            if stop is not None and i >= stop:
                raise UpstreamUnavailable("the database is busy; retry shortly")
            self.items[(owner_id, entry.phone_number)] = entry.model_copy()

    def get(self, owner_id: str | None, e164: str) -> DncRecord | None:
        found = self.items.get((owner_id, e164))
        return found.model_copy() if found else None

    def page(self, owner_id: str | None, *, limit: int, token: str | None) -> tuple[list[DncRecord], str | None]:
        mine = sorted((e for (owner, _), e in self.items.items() if owner == owner_id), key=lambda e: e.phone_number)
        return _page([e.model_copy() for e in mine], limit=limit, token=token)

    def delete(self, owner_id: str | None, e164: str) -> None:
        """DncRepository.delete: NotFound when the list does not hold the number."""
        self._failing("delete")
        if (owner_id, e164) not in self.items:
            raise NotFound("no such number on the do-not-call list")
        del self.items[(owner_id, e164)]

    def holding(self, owner_id: str, e164: str) -> list[DncList]:
        self._failing("holding")
        self.checked.append((owner_id, e164))
        held: list[DncList] = []
        if (owner_id, e164) in self.items:
            held.append("account")
        if (None, e164) in self.items:
            held.append("global")
        return held


def listed(owner_id: str | None, *numbers: str, reason: str | None = None) -> list[DncRecord]:
    """Entries of `numbers` as a user listed them at CREATED."""
    return [
        DncRecord(phone_number=n, reason=reason, added_by=owner_id or "usr_admin", created_at=CREATED) for n in numbers
    ]


# ---------------------------------------------------------------- account settings


class FakeAccountSettings(Failing):
    """Mirrors repositories.account_settings.AccountSettingsRepository: one record per owner, saved only over the
    version before it (none for version 1), SettingsChanged otherwise. `reads` counts the gets."""

    def __init__(self, *records: SettingsRecord) -> None:
        super().__init__()
        self.items: dict[str, SettingsRecord] = {r.owner_id: r for r in records}
        self.reads = 0

    def get(self, owner_id: str) -> SettingsRecord | None:
        self._failing("get")
        self.reads += 1
        found = self.items.get(owner_id)
        return found.model_copy(deep=True) if found else None

    def save(self, settings: SettingsRecord) -> None:
        self._failing("save")
        stored = self.items.get(settings.owner_id)
        if (stored.version if stored else 0) != settings.version - 1:
            raise SettingsChanged("the settings were changed by another request; send the change again")
        self.items[settings.owner_id] = settings.model_copy(deep=True)
        self._failing("save", after=True)


def hours_of(owner_id: str = "usr_alice", **fields: Any) -> FakeAccountSettings:
    """A fake holding the owner's calling hours with these fields (the others default), enforced unless told."""
    hours = CallingHours(**{"enforce": True, **fields})
    return FakeAccountSettings(SettingsRecord(owner_id=owner_id, calling_hours=hours, version=1, updated_at="then"))
