"""The campaign engine's step (`tick`), which a Step Functions execution runs again and again while a run of a
campaign lasts (docs/adr/0025-campaign-engine.md).

Each dial is an ordinary call placed by services/calls.py (its do-not-call and calling-hours checks, the account's
budget and live-call limit, webhooks, stats), with an id derived from the campaign, the contact and the attempt: a
step that dies after claiming an attempt and is run again places the same call, which exists already if it was
placed, so each attempt dials at most once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

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
    CampaignRecord,
    CampaignStatus,
    ContactRecord,
    ContactStatus,
    InFlight,
    SkipReason,
    TickInput,
    TickResult,
)
from telephony.models.principal import Principal, Role
from telephony.models.webhooks import EventType
from telephony.observability import count, logger
from telephony.phone import time_zones_of
from telephony.repositories.campaigns import CampaignChanged, ContactChanged
from telephony.repositories.store import Store, default_store
from telephony.services import calls
from telephony.services.campaigns import fixed_zone, told, window_shape
from telephony.util import derived_id, epoch, now_iso

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

_ENDED = (CampaignStatus.COMPLETED, CampaignStatus.CANCELED)


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
    """The create-call request of a contact's call: the campaign's setup, the contact's metadata over its own."""
    setup = campaign.setup
    fields = {
        "phone_number": contact.phone_number,
        "from_phone_number_id": campaign.from_phone_number_id,
        "agent_name": setup.agent_name,
        "system_prompt": setup.system_prompt,
        "welcome_message": setup.welcome_message,
        "voice": setup.voice.model_dump() if setup.voice else None,
        "metadata": {**setup.metadata, **contact.metadata},
        "record": setup.record,
    }
    # `record` is create-call's choice of recording where create-call offers it; None leaves the number's setting
    given = {k: v for k, v in fields.items() if k in CreateCall.model_fields and (k != "record" or v is not None)}
    return CreateCall.model_validate(given, strict=False)


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
    return window_shape(campaign.calling_window), fixed_zone(campaign.calling_window)


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
        if contact.batch not in committed:
            # written by a request that added contacts and died before counting them in: a batch is counted in only
            # while the campaign is draft or paused, so once it runs, these can never be
            db.campaigns.discard(contact)
            continue
        if contact.status is not ContactStatus.PENDING:
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
        else:
            db.campaigns.discard(contact)  # see dial_due


def _finish(campaign: CampaignRecord, db: Store) -> None:
    sets = {"ended_at": now_iso(), "updated_at": now_iso()}
    try:
        db.campaigns.transition(
            campaign,
            CampaignStatus.COMPLETED,
            expect=(CampaignStatus.RUNNING,),
            sets=sets,
            events=told(campaign, CampaignStatus.COMPLETED, sets, EventType.CAMPAIGN_COMPLETED),
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
