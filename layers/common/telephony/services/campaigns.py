"""Campaigns: create them with their contacts, start, pause, resume and cancel them, read their progress; and the
engine's step (`tick`), which a Step Functions execution runs again and again while the campaign lasts
(docs/adr/0025-campaign-engine.md).

Each dial is an ordinary call placed by services/calls.py (its do-not-call and calling-hours checks, the account's
budget and live-call limit, webhooks, stats), with an id derived from the campaign, the contact and the attempt: a
step that dies after claiming an attempt and is run again places the same call, which exists already if it was
placed, so each attempt dials at most once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telephony import calling_window
from telephony.errors import (
    AlreadyExists,
    BudgetSpent,
    ConcurrencyLimit,
    Conflict,
    DoNotCall,
    InvalidInput,
    NotFound,
    OutsideCallingHours,
    RateLimited,
    UpstreamError,
)
from telephony.models.calls import CallRecord, CallStatus, CampaignDial, CreateCall
from telephony.models.campaigns import (
    AddContacts,
    Attempt,
    CallingWindow,
    CallSetup,
    Campaign,
    CampaignContact,
    CampaignCreated,
    CampaignRecord,
    CampaignStatus,
    Contact,
    ContactRecord,
    ContactsAdded,
    ContactStatus,
    CreateCampaign,
    InFlight,
    InvalidContact,
    SkipReason,
    TickInput,
    TickResult,
)
from telephony.models.common import Page
from telephony.models.principal import Principal, Role
from telephony.models.webhooks import EventType
from telephony.observability import count, logger
from telephony.phone import is_premium_rate, time_zones_of, to_e164
from telephony.repositories.campaigns import CampaignChanged, ContactChanged
from telephony.repositories.store import Store, default_store
from telephony.services import calls, events
from telephony.util import derived_id, epoch, iso, new_id, now_iso

# How long the engine waits between steps while calls are live or contacts are due: what bounds how late an ended
# call frees its place. Pause and cancel need no step: a claim is refused from the moment they are written.
STEP_SECONDS = 1
# The longest wait between two steps when nothing is due (a retry's delay, a closed window, a later start): a
# resume or a cancel starts a new execution at once, so this bounds only the cost of idle steps.
IDLE_SECONDS = 300
# Steps an execution runs before handing over to a new one (Standard workflows keep 25,000 history events; a
# step is about ten of them, its retries included).
STEPS_PER_EXECUTION = 500
# Steps an execution waits for the request that started it to put its run in charge, before it gives up.
ADOPTION_STEPS = 30
SKIPS_PER_STEP = 100  # contacts skipped in one step when a campaign is canceled or past its end

_DIALLABLE = (CampaignStatus.RUNNING,)
_ADDABLE = (CampaignStatus.DRAFT, CampaignStatus.PAUSED)
_ENDED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELED)


# ---------------------------------------------------------------- views


def view(campaign: CampaignRecord) -> Campaign:
    return Campaign(
        campaign_id=campaign.campaign_id,
        name=campaign.name,
        status=campaign.status,
        from_phone_number_id=campaign.from_phone_number_id,
        agent_name=campaign.setup.agent_name,
        max_concurrency=campaign.max_concurrency,
        schedule=campaign.schedule,
        calling_window=campaign.calling_window,
        retry=campaign.retry,
        counts=campaign.counts(),
        attempts=campaign.counters.get("attempts", 0),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        started_at=campaign.started_at,
        ended_at=campaign.ended_at,
    )


def _contact_view(contact: ContactRecord) -> CampaignContact:
    return CampaignContact(
        contact_id=contact.contact_id,
        phone_number=contact.phone_number,
        status=contact.status,
        skip_reason=contact.skip_reason,
        variables=contact.variables,
        metadata=contact.metadata,
        attempts=[Attempt(attempt=a.attempt, call_id=a.call_id, status=a.status, at=a.at) for a in contact.attempts],
        next_attempt_at=iso(datetime.fromtimestamp(contact.next_at, UTC))
        if contact.status is ContactStatus.PENDING and contact.next_at
        else None,
    )


def owned(campaign_id: str, principal: Principal, db: Store) -> CampaignRecord:
    campaign = db.campaigns.get(campaign_id)
    if campaign is None or campaign.owner_id != principal.user_id:
        raise NotFound("no such campaign")
    return campaign


# ---------------------------------------------------------------- contacts


class Prepared(NamedTuple):
    contacts: list[ContactRecord]
    invalid: list[InvalidContact]
    duplicates: int


def contact_id(batch: int, index: int) -> str:
    return f"{batch:04d}{index:05d}"


def prepare_contacts(campaign_id: str, batch: int, given: Sequence[Contact]) -> Prepared:
    """The contacts as stored: numbers in E.164, a number given twice kept once, an invalid one kept `skipped`
    (`invalid`) and reported by its place in the request."""
    seen: set[str] = set()
    contacts: list[ContactRecord] = []
    invalid: list[InvalidContact] = []
    duplicates = 0
    for index, contact in enumerate(given):
        status, reason = ContactStatus.PENDING, None
        try:
            number = to_e164(contact.phone_number)
            if is_premium_rate(number):
                raise InvalidInput("premium-rate numbers cannot be called")
        except InvalidInput:
            number, status, reason = contact.phone_number, ContactStatus.SKIPPED, SkipReason.INVALID
            invalid.append(
                InvalidContact(field=f"contacts[{index}].phone_number", phone_number=number, issue="invalid")
            )
        if number in seen:
            duplicates += 1
            continue
        seen.add(number)
        contacts.append(
            ContactRecord(
                campaign_id=campaign_id,
                contact_id=contact_id(batch, index),
                batch=batch,
                phone_number=number,
                variables=contact.variables,
                metadata=contact.metadata,
                status=status,
                skip_reason=reason,
            )
        )
    if len(invalid) == len(given):
        raise InvalidInput(
            "no contact has a valid phone number",
            details=[{"field": i.field, "issue": i.issue} for i in invalid[:100]],
        )
    return Prepared(contacts, invalid, duplicates)


def _counted(prepared: Prepared) -> dict[str, int]:
    valid = sum(1 for c in prepared.contacts if c.status is ContactStatus.PENDING)
    return {
        "total": len(prepared.contacts),
        "pending": valid,
        "skipped_invalid": len(prepared.contacts) - valid,
        "duplicates": prepared.duplicates,
    }


# ---------------------------------------------------------------- checks of a campaign's plan


def _zone(window: CallingWindow) -> ZoneInfo | None:
    if window.timezone == "callee":
        return None
    try:
        return ZoneInfo(window.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{window.timezone!r} is not a time zone: give an IANA name (America/New_York) or 'callee'",
            details=[{"field": "calling_window.timezone", "issue": "unknown"}],
        ) from None


def _window(window: CallingWindow) -> calling_window.Window:
    shape = calling_window.Window.of(window.start, window.end, window.days)
    if shape.end is not None and shape.end <= shape.start:
        raise InvalidInput(
            "the calling window must end after it starts (24:00 for midnight)",
            details=[{"field": "calling_window.end", "issue": "before_start"}],
        )
    return shape


def check_plan(body: CreateCampaign, *, at: datetime) -> None:
    """Refuse a window or a schedule in which nothing could ever be dialled."""
    schedule = body.schedule
    start = datetime.fromisoformat(schedule.start_at) if schedule and schedule.start_at else None
    end = datetime.fromisoformat(schedule.end_at) if schedule and schedule.end_at else None
    if end is not None and end <= at:
        raise InvalidInput("schedule.end_at has passed", details=[{"field": "schedule.end_at", "issue": "past"}])
    if start is not None and end is not None and end <= start:
        raise InvalidInput(
            "schedule.end_at must be after schedule.start_at", details=[{"field": "schedule.end_at", "issue": "order"}]
        )
    if body.calling_window is None:
        return
    window, zone = _window(body.calling_window), _zone(body.calling_window)
    if zone is None or end is None:
        return  # a window in the callee's zone opens for some callee; one without an end opens some day
    begin = max(start or at, at)
    opening = calling_window.next_inside(window, [zone], begin, within=end - begin)
    if opening is None or opening >= end:
        raise InvalidInput(
            "the calling window never opens between the schedule's start and end",
            details=[{"field": "calling_window", "issue": "never_open"}],
        )


def _caller_number(principal: Principal, number_id: str, db: Store) -> Any:
    number = db.numbers.get(number_id) if number_id.startswith("pn_") else None
    if number is None or number.owner_id != principal.user_id:
        raise InvalidInput(
            "from_phone_number_id is not one of your numbers",
            details=[{"field": "from_phone_number_id", "issue": "not_found"}],
        )
    if not number.livekit.outbound:
        raise InvalidInput(
            f"{number.phone_number} cannot place calls: configure a sip_trunk on it or register it with "
            "enable_outbound",
            details=[{"field": "from_phone_number_id", "issue": "cannot_call_out"}],
        )
    return number


# ---------------------------------------------------------------- the API


def create(body: CreateCampaign, *, principal: Principal, store: Store | None = None) -> CampaignCreated:
    db = store or default_store()
    at = datetime.now(UTC)
    check_plan(body, at=at)
    number = _caller_number(principal, body.from_phone_number_id, db)
    rule_agent = number.plan.rule.agent_name if number.plan.rule else None
    agent_name = body.agent_name or rule_agent
    if not agent_name:
        raise InvalidInput(
            "agent_name is required: the number has no dispatch rule naming an agent", details=[{"field": "agent_name"}]
        )
    if agent_name != rule_agent:
        db.numbers.claim_agent_name(agent_name, principal.user_id)
    campaign_id = new_id("cmp")
    prepared = prepare_contacts(campaign_id, 0, body.contacts)
    stamp = iso(at)
    setup = CallSetup.model_validate(
        {**body.model_dump(include=set(CallSetup.model_fields)), "agent_name": agent_name}, strict=False
    )
    campaign = CampaignRecord(
        campaign_id=campaign_id,
        owner_id=principal.user_id,
        name=body.name,
        status=CampaignStatus.DRAFT,
        from_phone_number_id=number.phone_number_id,
        setup=setup,
        schedule=body.schedule,
        calling_window=body.calling_window,
        retry=body.retry,
        max_concurrency=body.max_concurrency,
        counters=_counted(prepared),
        batches=[0],
        created_at=stamp,
        updated_at=stamp,
    )
    db.campaigns.create(campaign, prepared.contacts)
    count("CampaignsCreated")
    return CampaignCreated(**view(campaign).model_dump(), invalid_contacts=prepared.invalid)


def get(campaign_id: str, *, principal: Principal, store: Store | None = None) -> Campaign:
    return view(owned(campaign_id, principal, store or default_store()))


def list_campaigns(
    *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[Campaign]:
    items, token = (store or default_store()).campaigns.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[Campaign](items=[view(c) for c in items], next_token=token)


def list_contacts(
    campaign_id: str,
    *,
    principal: Principal,
    status: ContactStatus | None,
    limit: int,
    next_token: str | None,
    store: Store | None = None,
) -> Page[CampaignContact]:
    db = store or default_store()
    campaign = owned(campaign_id, principal, db)
    items, token = db.campaigns.contacts(campaign_id, status=status, limit=limit, token=next_token)
    committed = set(campaign.batches)
    return Page[CampaignContact](items=[_contact_view(c) for c in items if c.batch in committed], next_token=token)


def add_contacts(
    campaign_id: str, body: AddContacts, *, principal: Principal, store: Store | None = None
) -> ContactsAdded:
    db = store or default_store()
    campaign = owned(campaign_id, principal, db)
    if campaign.status not in _ADDABLE:
        raise Conflict(f"contacts can be added while the campaign is draft or paused; it is {campaign.status.value}")
    try:
        batch = db.campaigns.reserve_batch(campaign, len(body.contacts), expect=_ADDABLE)
    except CampaignChanged as changed:
        raise Conflict("contacts can be added while the campaign is draft or paused") from changed
    prepared = prepare_contacts(campaign_id, batch, body.contacts)
    try:
        db.campaigns.commit_batch(campaign, batch, prepared.contacts, _counted(prepared), expect=_ADDABLE)
    except CampaignChanged as changed:
        raise Conflict("the campaign was started or ended meanwhile, or is full; nothing was added") from changed
    fresh = db.campaigns.get(campaign_id) or campaign
    return ContactsAdded(
        campaign_id=campaign_id,
        added=len(prepared.contacts),
        duplicates=prepared.duplicates,
        invalid_contacts=prepared.invalid,
        counts=fresh.counts(),
    )


def _run() -> str:
    return secrets.token_hex(4)


def _engine(given: Any) -> Any:
    from telephony.integrations import campaign_engine

    return given or campaign_engine.default()


def _told(campaign: CampaignRecord, to: CampaignStatus, updates: dict[str, Any], type: EventType) -> list[Any]:
    after = campaign.model_copy(update={**updates, "status": to})
    return [events.event(campaign.owner_id, type, view(after).model_dump(mode="json"))]


def _change(
    campaign: CampaignRecord,
    to: CampaignStatus,
    *,
    expect: Sequence[CampaignStatus],
    told: EventType,
    sets: dict[str, Any],
    engine: Any,
    db: Store,
) -> Campaign:
    """A change of status the caller asked for; a new run of the engine started first when it needs one (see
    `tick`: an execution whose run is not yet in charge waits for it a moment, so the order cannot lose it)."""
    if campaign.status not in expect:
        raise Conflict(f"the campaign is {campaign.status.value}")
    run = None
    if to is not CampaignStatus.PAUSED:
        run = _run()
        _engine(engine).start(campaign.campaign_id, run)
    sets = {**sets, "updated_at": now_iso()}
    try:
        changed = db.campaigns.transition(
            campaign, to, expect=expect, sets=sets, run=run, events=_told(campaign, to, sets, told)
        )
    except CampaignChanged as refused:
        raise Conflict("the campaign changed meanwhile; read it and retry") from refused
    return view(changed)


def _begins(campaign: CampaignRecord) -> CampaignStatus:
    schedule = campaign.schedule
    if schedule and schedule.start_at and datetime.fromisoformat(schedule.start_at) > datetime.now(UTC):
        return CampaignStatus.SCHEDULED
    return CampaignStatus.RUNNING


def start(campaign_id: str, *, principal: Principal, engine: Any = None, store: Store | None = None) -> Campaign:
    db = store or default_store()
    campaign = owned(campaign_id, principal, db)
    if (
        campaign.schedule
        and campaign.schedule.end_at
        and datetime.fromisoformat(campaign.schedule.end_at) <= (datetime.now(UTC))
    ):
        raise InvalidInput("schedule.end_at has passed", details=[{"field": "schedule.end_at", "issue": "past"}])
    return _change(
        campaign,
        _begins(campaign),
        expect=(CampaignStatus.DRAFT,),
        told=EventType.CAMPAIGN_STARTED,
        sets={"started_at": now_iso()},
        engine=engine,
        db=db,
    )


def pause(campaign_id: str, *, principal: Principal, store: Store | None = None) -> Campaign:
    db = store or default_store()
    return _change(
        owned(campaign_id, principal, db),
        CampaignStatus.PAUSED,
        expect=(CampaignStatus.SCHEDULED, CampaignStatus.RUNNING),
        told=EventType.CAMPAIGN_PAUSED,
        sets={},
        engine=None,
        db=db,
    )


def resume(campaign_id: str, *, principal: Principal, engine: Any = None, store: Store | None = None) -> Campaign:
    db = store or default_store()
    campaign = owned(campaign_id, principal, db)
    return _change(
        campaign,
        _begins(campaign),
        expect=(CampaignStatus.PAUSED,),
        told=EventType.CAMPAIGN_RESUMED,
        sets={},
        engine=engine,
        db=db,
    )


def cancel(campaign_id: str, *, principal: Principal, engine: Any = None, store: Store | None = None) -> Campaign:
    """No new dial from now on; calls live now go on to their end, and the contacts not dialled are skipped
    (`canceled`) by the engine."""
    db = store or default_store()
    return _change(
        owned(campaign_id, principal, db),
        CampaignStatus.CANCELED,
        expect=(CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.RUNNING, CampaignStatus.PAUSED),
        told=EventType.CAMPAIGN_CANCELED,
        sets={"ended_at": now_iso()},
        engine=engine,
        db=db,
    )


# ---------------------------------------------------------------- the engine's step


def outcome_of(call: CallRecord) -> ContactStatus:
    """What an ended call makes of its contact's attempt."""
    if call.status is CallStatus.COMPLETED or call.answered_at:
        return ContactStatus.ANSWERED
    if call.status is CallStatus.BUSY:
        return ContactStatus.BUSY
    if call.status is CallStatus.NO_ANSWER:
        return ContactStatus.NO_ANSWER
    return ContactStatus.FAILED  # failed, or canceled before it was answered


def _end_of(campaign: CampaignRecord) -> int | None:
    schedule = campaign.schedule
    return int(datetime.fromisoformat(schedule.end_at).timestamp()) if schedule and schedule.end_at else None


def retry_at(campaign: CampaignRecord, entry: InFlight, outcome: ContactStatus, at: int) -> int | None:
    """When the contact is dialled again after this outcome, if it is."""
    policy = campaign.retry
    if policy is None or outcome.value not in policy.on or entry.attempt >= policy.max_attempts:
        return None
    if campaign.status is CampaignStatus.CANCELED:
        return None
    when = at + policy.delay_seconds
    end = _end_of(campaign)
    return None if end is not None and when >= end else when


def _principal(campaign: CampaignRecord) -> Principal:
    return Principal(user_id=campaign.owner_id, role=Role.USER, auth_type="api_key")


def _request(campaign: CampaignRecord, contact: ContactRecord) -> CreateCall:
    setup = campaign.setup
    return CreateCall.model_validate(
        {
            "phone_number": contact.phone_number,
            "from_phone_number_id": campaign.from_phone_number_id,
            "agent_name": setup.agent_name,
            "system_prompt": setup.system_prompt,
            "welcome_message": setup.welcome_message,
            "voice": setup.voice.model_dump() if setup.voice else None,
            "metadata": {**setup.metadata, **contact.metadata},
        },
        strict=False,
    )


class Place(NamedTuple):
    """What placing an attempt's call came to: `placed` (or it ends as its call does), or settled at once."""

    placed: bool
    stop: bool = False  # the account has no room for another call now: dial no more in this step


def _place(campaign: CampaignRecord, contact: ContactRecord, entry: InFlight, *, at: int, db: Store) -> Place:
    """Place the attempt's call (again, after a step that died: the call's id makes that the same call)."""
    dial = CampaignDial(campaign_id=campaign.campaign_id, call_id=entry.call_id, variables=contact.variables)
    try:
        calls.create(_request(campaign, contact), principal=_principal(campaign), campaign=dial, store=db)
    except DoNotCall:
        _settle(db, campaign, entry, ContactStatus.SKIPPED, None, skip=SkipReason.DO_NOT_CALL, undo=True)
        return Place(False)
    except OutsideCallingHours as outside:
        following = next((d.get("next_allowed_at") for d in outside.details if d.get("next_allowed_at")), None)
        when = int(datetime.fromisoformat(following).timestamp()) if following else at + IDLE_SECONDS
        _settle(db, campaign, entry, ContactStatus.PENDING, None, next_at=when, undo=True)
        return Place(False)
    except (ConcurrencyLimit, BudgetSpent, RateLimited) as full:
        wait = getattr(full, "retry_after", None) or STEP_SECONDS
        _settle(db, campaign, entry, ContactStatus.PENDING, None, next_at=at + min(int(wait), 60), undo=True)
        return Place(False, stop=True)
    except UpstreamError:
        return Place(True)  # recorded `failed`: settled as its call when the next step reads it
    except (InvalidInput, NotFound, Conflict) as refused:
        if isinstance(refused, AlreadyExists):
            return Place(True)
        # the number or the agent name no longer allows the call: nothing was placed, and retrying will not help
        logger().warning("campaign call refused", extra={"campaign_id": campaign.campaign_id, "code": refused.code})
        _settle(db, campaign, entry, ContactStatus.FAILED, "not_placed", undo=False)
        return Place(False)
    count("CampaignDials")
    return Place(True)


def _settle(
    db: Store,
    campaign: CampaignRecord,
    entry: InFlight,
    to: ContactStatus,
    call_status: str | None,
    *,
    next_at: int = 0,
    skip: SkipReason | None = None,
    undo: bool = False,
) -> None:
    try:
        db.campaigns.settle(
            campaign, entry, to=to, call_status=call_status, next_at=next_at, skip_reason=skip, undo=undo
        )
    except (CampaignChanged, ContactChanged):
        return  # another step settled it first


def settle_ended(campaign: CampaignRecord, *, at: int, db: Store) -> None:
    """Free the places of the attempts whose calls ended, each contact to its outcome or to its retry; place the
    calls of attempts claimed by a step that died before it placed them."""
    entries = list(campaign.in_flight.values())
    if not entries:
        return
    found = db.calls.get_many([e.call_id for e in entries])
    for entry in entries:
        call = found.get(entry.call_id)
        if call is None:
            contact = db.campaigns.contact(campaign.campaign_id, entry.contact_id)
            if contact is not None and contact.status is ContactStatus.IN_PROGRESS:
                _place(campaign, contact, entry, at=at, db=db)
            continue
        if not call.ended:
            continue
        outcome = outcome_of(call)
        again = retry_at(campaign, entry, outcome, at)
        to = ContactStatus.PENDING if again is not None else outcome
        _settle(db, campaign, entry, to, call.status.value, next_at=again or 0)


def _window_of(campaign: CampaignRecord) -> tuple[calling_window.Window, ZoneInfo | None] | None:
    if campaign.calling_window is None:
        return None
    return _window(campaign.calling_window), _zone(campaign.calling_window)


def _opens(campaign: CampaignRecord, contact: ContactRecord, at: datetime) -> datetime | None:
    """When the contact may be dialled from `at` on: `at` itself when its window is open, else the window's next
    opening (None: not before the campaign's end, or never in the days ahead)."""
    plan = _window_of(campaign)
    if plan is None:
        return at
    window, zone = plan
    if zone is not None:
        zones = [zone]
    else:
        names = time_zones_of(contact.phone_number)
        if not names:
            return None  # its local time is unknown: it cannot be shown to be inside the window
        zones = [ZoneInfo(n) for n in names]
    following = calling_window.next_inside(window, zones, at)
    end = _end_of(campaign)
    if following is None or (end is not None and following.timestamp() >= end):
        return None
    return following


def dial_due(campaign: CampaignRecord, *, at: int, db: Store) -> None:
    """Claim and place the due contacts while the campaign has room for more live calls."""
    room = campaign.max_concurrency - len(campaign.in_flight)
    if room <= 0:
        return
    committed = set(campaign.batches)
    moment = datetime.fromtimestamp(at, UTC)
    for contact in db.campaigns.due(campaign.campaign_id, now=at, limit=room + 10):
        if room <= 0:
            return
        if contact.batch not in committed or contact.status is not ContactStatus.PENDING:
            continue
        opens = _opens(campaign, contact, moment)
        if opens is None:
            _skip(db, campaign, contact, SkipReason.WINDOW_CLOSED)
            continue
        if opens > moment:
            db.campaigns.postpone(contact, int(opens.timestamp()))
            continue
        if db.dnc.holding(campaign.owner_id, contact.phone_number):
            _skip(db, campaign, contact, SkipReason.DO_NOT_CALL)
            continue
        attempt = len(contact.attempts) + 1
        entry = InFlight(
            contact_id=contact.contact_id,
            attempt=attempt,
            call_id=derived_id("call", campaign.campaign_id, contact.contact_id, str(attempt)),
            claimed_at=at,
        )
        try:
            db.campaigns.claim(campaign, contact, entry, at=now_iso())
        except CampaignChanged:
            return  # paused, canceled, another run in charge, or full: the next step reads it again
        except ContactChanged:
            continue
        room -= 1
        if _place(campaign, contact, entry, at=at, db=db).stop:
            return


def _skip(db: Store, campaign: CampaignRecord, contact: ContactRecord, reason: SkipReason) -> None:
    try:
        db.campaigns.skip(campaign, contact, reason)
    except ContactChanged:
        return


def skip_pending(campaign: CampaignRecord, reason: SkipReason, *, db: Store) -> None:
    """Skip a share of the contacts not yet dialled (the next steps skip the rest)."""
    for contact in db.campaigns.due(campaign.campaign_id, now=10**12 - 2, limit=SKIPS_PER_STEP):
        if contact.batch in campaign.batches:
            _skip(db, campaign, contact, reason)


def _finish(campaign: CampaignRecord, db: Store) -> None:
    sets = {"ended_at": now_iso(), "updated_at": now_iso()}
    try:
        db.campaigns.transition(
            campaign,
            CampaignStatus.COMPLETED,
            expect=(CampaignStatus.RUNNING,),
            sets=sets,
            events=_told(campaign, CampaignStatus.COMPLETED, sets, EventType.CAMPAIGN_COMPLETED),
        )
    except CampaignChanged:
        return
    count("CampaignsCompleted")


def _next_wait(campaign: CampaignRecord, at: int, db: Store) -> int:
    if campaign.in_flight:
        return STEP_SECONDS
    following = db.campaigns.next_pending(campaign.campaign_id)
    if following is None:
        return STEP_SECONDS
    return max(STEP_SECONDS, min(following.next_at - at, IDLE_SECONDS))


def tick(task: TickInput, *, store: Store | None = None) -> TickResult:
    """One step of a campaign's run: settle the calls that ended, then, by the campaign's status, dial what is due,
    skip what will not be dialled, or finish. Says how long to wait before the next step, or that the run is over.
    Every write is conditional on what it read, so a step run twice (a retry after a crash) changes nothing twice."""
    db = store or default_store()
    at = epoch()
    result = TickResult(
        campaign_id=task.campaign_id, run=task.run, generation=task.generation, ticks=task.ticks + 1, action="wait"
    )
    campaign = db.campaigns.get(task.campaign_id)
    if campaign is None:
        return result.model_copy(update={"action": "done"})
    if campaign.run != task.run:
        # the request that started this run may not have put it in charge yet; past a moment, another run is
        adopting = task.ticks < ADOPTION_STEPS and campaign.status not in _ENDED
        return result.model_copy(update={"action": "wait" if adopting else "done"})
    settle_ended(campaign, at=at, db=db)
    campaign = db.campaigns.get(task.campaign_id) or campaign
    end = _end_of(campaign)
    if campaign.status is CampaignStatus.SCHEDULED:
        start_at = campaign.schedule.start_at if campaign.schedule else None
        begins = datetime.fromisoformat(start_at).timestamp() if start_at else at
        if begins > at:
            return result.model_copy(update={"wait_seconds": min(int(begins - at) + 1, IDLE_SECONDS)})
        try:
            campaign = db.campaigns.transition(
                campaign, CampaignStatus.RUNNING, expect=(CampaignStatus.SCHEDULED,), sets={"updated_at": now_iso()}
            )
        except CampaignChanged:
            return result
    if campaign.status is CampaignStatus.RUNNING:
        if end is not None and at >= end:
            skip_pending(campaign, SkipReason.WINDOW_CLOSED, db=db)
        else:
            dial_due(campaign, at=at, db=db)
    elif campaign.status is CampaignStatus.CANCELED:
        skip_pending(campaign, SkipReason.CANCELED, db=db)
    campaign = db.campaigns.get(task.campaign_id) or campaign
    idle = not campaign.in_flight and campaign.counters.get("pending", 0) == 0
    if campaign.status is CampaignStatus.RUNNING and idle:
        _finish(campaign, db)
        return result.model_copy(update={"action": "done"})
    settled = not campaign.in_flight and (campaign.status is not CampaignStatus.CANCELED or idle)
    if campaign.status in (*_ENDED, CampaignStatus.PAUSED) and settled:
        return result.model_copy(update={"action": "done"})
    if result.ticks >= STEPS_PER_EXECUTION:
        from telephony.integrations.campaign_engine import execution_name

        following = task.generation + 1
        return result.model_copy(
            update={
                "action": "continue",
                "generation": following,
                "ticks": 0,
                "next_execution": execution_name(campaign.campaign_id, campaign.run, following),
            }
        )
    return result.model_copy(update={"wait_seconds": _next_wait(campaign, at, db)})
