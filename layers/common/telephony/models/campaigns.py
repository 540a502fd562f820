"""Campaigns (batch outbound calling): the bodies, answers and stored records of section 13 of the design."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, get_args

from pydantic import Field, field_validator

from telephony.models.account_settings import Day, EndTime, StartTime
from telephony.models.calls import Voice
from telephony.models.common import Body, JsonObject, Moment, Out, PageQuery, Record

MAX_CONTACTS_PER_REQUEST = 10_000
MAX_CONTACTS = 100_000
MAX_BATCHES = 1_000  # requests that add contacts to one campaign (its creation included)


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELED = "canceled"


class ContactStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    SKIPPED = "skipped"


class SkipReason(StrEnum):
    DO_NOT_CALL = "do_not_call"
    INVALID = "invalid"
    WINDOW_CLOSED = "window_closed"
    CANCELED = "canceled"


Retryable = Literal["busy", "no_answer", "failed"]
# The outcomes a contact ends in; `pending` and `in_progress` are on the way there.
OUTCOMES = (ContactStatus.ANSWERED, ContactStatus.BUSY, ContactStatus.NO_ANSWER, ContactStatus.FAILED)


# ---------------------------------------------------------------- bodies


class Contact(Body):
    phone_number: str = Field(max_length=32, description="The callee, E.164; an invalid one is skipped (`invalid`)")
    variables: dict[str, str] = Field(
        default_factory=dict,
        max_length=50,
        description="Passed to the agent in its dispatch metadata (`variables`), e.g. the callee's name",
    )
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("variables")
    @classmethod
    def _short(cls, value: dict[str, str]) -> dict[str, str]:
        if any(not k or len(k) > 64 or len(v) > 1000 for k, v in value.items()):
            raise ValueError("names are 1 to 64 characters, values at most 1,000")
        return value


class CampaignSchedule(Body):
    start_at: Moment | None = Field(default=None, description="Not before this time (ISO 8601 with offset)")
    end_at: Moment | None = Field(
        default=None, description="Nothing is dialled from this time on; contacts not yet done are skipped"
    )


class CallingWindow(Body):
    start: StartTime = Field(default="09:00", description="Local time the window opens, HH:MM")
    end: EndTime = Field(default="20:00", description="Local time it closes (exclusive), HH:MM after `start`")
    days: list[Day] = Field(default_factory=lambda: list(get_args(Day)), min_length=1, max_length=7)
    timezone: str = Field(
        default="callee",
        max_length=64,
        description="`callee`: each contact's local time (every zone its number may be in); or an IANA zone name",
    )


class RetryPolicy(Body):
    on: list[Retryable] = Field(default_factory=lambda: list(get_args(Retryable)), min_length=1, max_length=3)
    max_attempts: int = Field(default=2, ge=1, le=5, description="Dials of one contact at most, the first included")
    delay_seconds: int = Field(default=300, ge=60, le=86400, description="Between an attempt's end and the next")


class CallSetup(Body):
    """What each of the campaign's calls is placed with (create-call's fields)."""

    agent_name: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    system_prompt: str | None = Field(default=None, max_length=20000)
    welcome_message: str | None = Field(default=None, max_length=2000)
    voice: Voice | None = None
    metadata: JsonObject = Field(default_factory=dict)
    record: bool | None = Field(
        default=None, description="Record the calls (create-call's `record`); absent: as the calling number says"
    )


class CreateCampaign(CallSetup):
    name: str = Field(min_length=1, max_length=200)
    from_phone_number_id: str = Field(max_length=64, description="Your number the calls are placed from")
    contacts: list[Contact] = Field(min_length=1, max_length=MAX_CONTACTS_PER_REQUEST)
    schedule: CampaignSchedule | None = None
    calling_window: CallingWindow | None = None
    max_concurrency: int = Field(default=5, ge=1, le=100, description="Calls of this campaign live at once, at most")
    retry: RetryPolicy | None = None


class AddContacts(Body):
    contacts: list[Contact] = Field(min_length=1, max_length=MAX_CONTACTS_PER_REQUEST)


class ContactsQuery(PageQuery):
    status: ContactStatus | None = Field(default=None, description="Only contacts in this status")


# ---------------------------------------------------------------- answers


class SkippedCounts(Out):
    do_not_call: int = 0
    invalid: int = 0
    window_closed: int = 0
    canceled: int = 0


class CampaignCounts(Out):
    total: int = 0
    pending: int = Field(default=0, description="Not dialled yet, or waiting for a retry")
    in_progress: int = 0
    answered: int = 0
    busy: int = 0
    no_answer: int = 0
    failed: int = 0
    skipped: SkippedCounts = Field(default_factory=SkippedCounts)
    duplicates: int = Field(default=0, description="Contacts dropped as a number already given in the same request")


class Campaign(Out):
    campaign_id: str
    name: str
    status: CampaignStatus
    from_phone_number_id: str
    agent_name: str | None = None
    max_concurrency: int
    schedule: CampaignSchedule | None = None
    calling_window: CallingWindow | None = None
    retry: RetryPolicy | None = None
    counts: CampaignCounts
    attempts: int = Field(description="Calls placed so far, retries included")
    created_at: str
    updated_at: str
    started_at: str | None = None
    ended_at: str | None = None


class InvalidContact(Out):
    field: str
    phone_number: str
    issue: str


class CampaignCreated(Campaign):
    invalid_contacts: list[InvalidContact] = Field(
        default_factory=list, description="Contacts skipped as `invalid`, by their place in the request"
    )


class ContactsAdded(Out):
    campaign_id: str
    added: int
    duplicates: int
    invalid_contacts: list[InvalidContact] = Field(default_factory=list)
    counts: CampaignCounts


class Attempt(Out):
    attempt: int
    call_id: str
    status: str = Field(description="The call's status when the contact last heard of it")
    at: str


class CampaignContact(Out):
    contact_id: str
    phone_number: str
    status: ContactStatus
    skip_reason: SkipReason | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    attempts: list[Attempt] = Field(default_factory=list)
    next_attempt_at: str | None = None


# ---------------------------------------------------------------- stored


class InFlight(Record):
    """A contact's attempt while it is dialled: claimed, then its call placed (the call id is known from the
    claim on: it is derived from the campaign, the contact and the attempt)."""

    contact_id: str
    attempt: int
    call_id: str
    claimed_at: int


class CampaignRecord(Record):
    campaign_id: str
    owner_id: str
    name: str
    status: CampaignStatus
    from_phone_number_id: str
    setup: CallSetup
    schedule: CampaignSchedule | None = None
    calling_window: CallingWindow | None = None
    retry: RetryPolicy | None = None
    max_concurrency: int
    counters: dict[str, int] = Field(default_factory=dict)
    in_flight: dict[str, InFlight] = Field(default_factory=dict)
    batches: list[int] = Field(default_factory=list)  # the committed batches of contacts
    next_batch: int = 0
    run: str = ""  # the engine run in charge, new at each start, resume and cancel: an execution of another stops
    created_at: str
    updated_at: str
    started_at: str | None = None
    ended_at: str | None = None

    def counts(self) -> CampaignCounts:
        c = self.counters
        return CampaignCounts(
            total=c.get("total", 0),
            pending=c.get("pending", 0),
            in_progress=c.get("in_progress", 0),
            answered=c.get("answered", 0),
            busy=c.get("busy", 0),
            no_answer=c.get("no_answer", 0),
            failed=c.get("failed", 0),
            skipped=SkippedCounts(**{r.value: c.get(f"skipped_{r.value}", 0) for r in SkipReason}),
            duplicates=c.get("duplicates", 0),
        )


class AttemptRecord(Record):
    attempt: int
    call_id: str
    status: str
    at: str


class ContactRecord(Record):
    campaign_id: str
    contact_id: str
    batch: int
    phone_number: str
    variables: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: ContactStatus
    skip_reason: SkipReason | None = None
    attempts: list[AttemptRecord] = Field(default_factory=list)
    next_at: int = 0  # epoch seconds: not dialled before


class TickInput(Body):
    model_config = Body.model_config | {"strict": False}

    campaign_id: str
    run: str
    generation: int = 0
    ticks: int = 0


class TickResult(Out):
    campaign_id: str
    run: str
    generation: int
    ticks: int
    action: Literal["wait", "continue", "done"]
    wait_seconds: int = 1
    next_execution: str | None = None
