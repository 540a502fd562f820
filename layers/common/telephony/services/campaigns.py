"""Campaigns: create them with their contacts, start, pause, resume and cancel them, read their progress. What
dials them is services/campaign_engine.py (docs/adr/0025-campaign-engine.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telephony import calling_window
from telephony.errors import (
    Conflict,
    InvalidInput,
    NotFound,
)
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
    InvalidContact,
    SkipReason,
)
from telephony.models.common import Page
from telephony.models.principal import Principal
from telephony.models.webhooks import EventType
from telephony.observability import count
from telephony.phone import is_premium_rate, to_e164
from telephony.repositories.campaigns import CampaignChanged
from telephony.repositories.store import Store, default_store
from telephony.services import events
from telephony.util import iso, new_id, now_iso

_ADDABLE = (CampaignStatus.DRAFT, CampaignStatus.PAUSED)


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


def fixed_zone(window: CallingWindow) -> ZoneInfo | None:
    if window.timezone == "callee":
        return None
    try:
        return ZoneInfo(window.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{window.timezone!r} is not a time zone: give an IANA name (America/New_York) or 'callee'",
            details=[{"field": "calling_window.timezone", "issue": "unknown"}],
        ) from None


def window_shape(window: CallingWindow) -> calling_window.Window:
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
    window, zone = window_shape(body.calling_window), fixed_zone(body.calling_window)
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


def told(campaign: CampaignRecord, to: CampaignStatus, updates: dict[str, Any], type: EventType) -> list[Any]:
    after = campaign.model_copy(update={**updates, "status": to})
    return [events.event(campaign.owner_id, type, view(after).model_dump(mode="json"))]


def _change(
    campaign: CampaignRecord,
    to: CampaignStatus,
    *,
    expect: Sequence[CampaignStatus],
    event: EventType,
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
            campaign, to, expect=expect, sets=sets, run=run, events=told(campaign, to, sets, event)
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
        event=EventType.CAMPAIGN_STARTED,
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
        event=EventType.CAMPAIGN_PAUSED,
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
        event=EventType.CAMPAIGN_RESUMED,
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
        event=EventType.CAMPAIGN_CANCELED,
        sets={"ended_at": now_iso()},
        engine=engine,
        db=db,
    )
