"""Calls, outbound and inbound: the bodies, answers and stored records of the calls API."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal, NamedTuple, TypedDict

from pydantic import Field, ValidationInfo, field_validator

from telephony.models.common import Body, JsonObject, Moment, Out, PageQuery, Query, Record


class CallStatus(StrEnum):
    QUEUED = "queued"
    DIALING = "dialing"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    CANCELED = "canceled"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


def counter_prefix(direction: Direction) -> str:
    """Outbound calls' stat counters keep the names they always had (so the seed's stats read them unchanged and
    count no inbound call); inbound calls' counters carry this prefix."""
    return "inbound_" if direction is Direction.INBOUND else ""


OPEN = (CallStatus.QUEUED, CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS)
ENDED = (CallStatus.COMPLETED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED)
RANK = {s: i for i, s in enumerate(OPEN)} | {s: len(OPEN) for s in ENDED}


class RecordingStatus(StrEnum):
    RECORDING = "recording"
    READY = "ready"
    FAILED = "failed"
    DELETED = "deleted"


# A recording only moves forward: recording -> ready | failed -> deleted (a failed start goes straight to failed)
RECORDING_RANK = {
    RecordingStatus.RECORDING: 1,
    RecordingStatus.READY: 2,
    RecordingStatus.FAILED: 2,
    RecordingStatus.DELETED: 3,
}


class Voice(Body):
    provider: str | None = Field(default=None, max_length=64)
    voice_id: str | None = Field(default=None, max_length=128)
    speed: float | None = Field(default=None, ge=0.25, le=4.0)
    language: str | None = Field(default=None, max_length=16)


class CreateCall(Body):
    phone_number: str = Field(max_length=32, description="The callee, E.164 (e.g. +14155550123)")
    from_phone_number_id: str | None = Field(
        default=None,
        max_length=64,
        description="The number to call from. Absent: your most recently created number that can place calls, "
        "found through an index that may not show a number registered a moment ago; name it here to use it at once",
    )
    agent_name: str | None = Field(default=None, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    system_prompt: str | None = Field(default=None, max_length=20000)
    welcome_message: str | None = Field(default=None, max_length=2000)
    voice: Voice | None = None
    metadata: JsonObject = Field(default_factory=dict)
    ringing_timeout_seconds: int | None = Field(default=None, ge=1, le=300)
    max_call_duration_seconds: int | None = Field(default=None, ge=60, le=86400)
    record: bool | None = Field(
        default=None,
        description="Record the call once the callee answers (an OGG file of its audio). Absent: the calling "
        "number's agent_features.recording_enabled",
    )


class CampaignDial(NamedTuple):
    """A campaign's attempt that a call places: its id (derived from the attempt), and what the agent is told."""

    campaign_id: str
    call_id: str
    variables: dict[str, str]


class CallCreated(Out):
    call_id: str
    status: CallStatus
    room_name: str
    phone_number: str
    from_number: str
    created_at: str


class Transfer(Body):
    transfer_to: str = Field(max_length=256, description="E.164 number or tel:/sip: URI")
    play_dialtone: bool = False
    mode: Literal["cold", "warm"] = "cold"


class TranscriptSegment(Body):
    role: Literal["agent", "user"]
    text: str = Field(min_length=1, max_length=10000)
    at: Moment | None = Field(
        default=None,
        max_length=40,
        description="ISO 8601 time of the segment, with its offset (stored in UTC); the time it is received if "
        "absent. Segments are returned in this order; giving it makes a repeated post of the same segments "
        "(a retry) store them once.",
    )


class CallEvents(Body):
    transcript: list[TranscriptSegment] | None = Field(default=None, max_length=200)
    summary: str | None = Field(default=None, max_length=20000)


class TransferRecord(Out):
    transfer_to: str
    mode: str
    at: str
    status: str
    leg_identity: str | None = Field(default=None, description="The participant a warm transfer dialled")


class Recording(Out):
    """A call's recording: LiveKit's egress of the call's room, uploaded as an OGG file."""

    status: RecordingStatus
    egress_id: str | None = None
    duration_seconds: float | None = None
    size_bytes: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = Field(
        default=None, description="Why the recording failed (a short reason, never LiveKit's text)"
    )


class CallFacts(Out):
    """A call as its owner sees it, but its transcript."""

    call_id: str
    direction: Direction = Field(
        default=Direction.OUTBOUND, description="`outbound`: placed by the API; `inbound`: reached one of your numbers"
    )
    status: CallStatus
    phone_number: str = Field(
        description="The number called: the callee of an outbound call, your number for an inbound one"
    )
    from_number: str = Field(
        description="The number calling: yours for an outbound call, the caller for an inbound one (`hidden` when "
        "your number hides callers' numbers, `unknown` when the carrier withheld it)"
    )
    phone_number_id: str | None = Field(default=None, description="Your number the call was placed from or reached")
    from_phone_number_id: str | None = None
    room_name: str
    agent_name: str | None = None
    created_at: str
    answered_at: str | None = None
    ended_at: str | None = None
    duration_seconds: int | None = None
    end_reason: str | None = None
    sip_status_code: int | None = None
    transfers: list[TransferRecord] = Field(default_factory=list)
    summary: str | None = None
    campaign_id: str | None = Field(default=None, description="The campaign that placed the call, if one did")
    record: bool = Field(default=False, description="Whether the call is recorded once answered")
    recording: Recording | None = None


class CallDetails(CallFacts):
    transcript: list[dict[str, Any]] | None = None


class EventsAccepted(Out):
    call_id: str
    transcript_segments_added: int
    summary_set: bool


class CallStats(Out):
    total_calls: int
    by_status: dict[str, int]
    answered_calls: int
    answer_rate: float
    total_duration_seconds: int
    average_duration_seconds: float
    transfer_legs: int = Field(default=0, description="Legs dialled by warm transfers (each spends the calls budget)")
    last_24h: dict[str, Any]


class CallsQuery(PageQuery):
    status: CallStatus | None = Field(default=None, description="Only calls in this status")


MAX_RANGE_DAYS = 366
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class AllCallsQuery(CallsQuery):
    direction: Direction | None = Field(default=None, description="Only calls in this direction")
    phone_number_id: str | None = Field(
        default=None,
        max_length=67,
        pattern=r"^pn_[A-Za-z0-9_-]{1,64}$",
        description="Only calls of this number of yours",
    )
    created_after: datetime | None = Field(
        default=None, description="Only calls created at or after this time (ISO 8601 with its offset)"
    )
    created_before: datetime | None = Field(
        default=None, description="Only calls created before this time (ISO 8601 with its offset)"
    )

    @field_validator("created_after", "created_before", mode="before")
    @classmethod
    def _iso_8601(cls, value: object) -> object:
        # pydantic would also take a number of seconds since 1970 ("0.5"): the document promises a date-time string
        if isinstance(value, (int, float)) or (isinstance(value, str) and not _ISO_DATE_TIME.match(value)):
            raise ValueError("must be an ISO 8601 date-time, e.g. 2026-01-31T09:00:00Z")
        return value

    @field_validator("created_after", "created_before")
    @classmethod
    def _with_offset(cls, moment: datetime | None) -> datetime | None:
        if moment is not None and moment.tzinfo is None:
            raise ValueError("must give its offset from UTC (Z or +hh:mm)")
        return moment

    @field_validator("created_before")
    @classmethod
    def _a_sound_range(cls, before: datetime | None, info: ValidationInfo) -> datetime | None:
        after = info.data.get("created_after")
        if before is None or after is None:
            return before
        if before <= after:
            raise ValueError("must be later than created_after")
        if before - after > timedelta(days=MAX_RANGE_DAYS):
            raise ValueError(f"the range from created_after may span {MAX_RANGE_DAYS} days at most")
        return before


class StatsQuery(Query):
    direction: Direction | None = Field(default=None, description="Only calls in this direction; both if absent")


class DetailsQuery(Query):
    include_transcript: bool = Field(default=False, description="Add the transcript segments")
    include_summary: bool = Field(default=False, description="Add the summary")


# ---------------------------------------------------------------- stored


class RecordingRecord(Record):
    """A call's recording as stored: `Recording`, and where its file is."""

    status: RecordingStatus
    egress_id: str | None = None
    duration_seconds: float | None = None
    size_bytes: int | None = None
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    object_key: str | None = None  # the file's key in the recordings bucket


class CallRecord(Record):
    """A call as stored: who placed it, from and to which numbers, how far it got, and how it ended."""

    call_id: str
    owner_id: str
    direction: Direction = Direction.OUTBOUND  # calls stored before there were inbound ones are outbound
    status: CallStatus
    phone_number: str
    from_number: str
    phone_number_id: str | None = None  # an inbound call's number (an outbound call's is from_phone_number_id)
    from_phone_number_id: str | None = None
    room_name: str
    agent_name: str | None = None
    participant_identity: str
    created_at: str
    created_epoch: int
    dialing_at: str | None = None
    ringing_at: str | None = None
    answered_at: str | None = None
    ended_at: str | None = None
    duration_seconds: int | None = None
    end_reason: str | None = None
    sip_status_code: int | None = None
    transfers: list[TransferRecord] = Field(default_factory=list)
    summary: str | None = None
    summary_source: str | None = None
    transcript_chars: int = 0
    campaign_id: str | None = None
    record: bool = False
    recording: RecordingRecord | None = None
    event_sequence: int = 0  # the sequence of the call's last event; each change that emits events moves it on

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def number_id(self) -> str | None:
        """The caller's own number the call went through, whichever its direction."""
        return self.phone_number_id or self.from_phone_number_id

    @property
    def live_ids(self) -> list[str]:
        """What the call holds among its owner's live calls: its own id and the identity of each leg it dialled."""
        return [self.call_id, *(t.leg_identity for t in self.transfers if t.leg_identity)]


LEG_PREFIX = "transfer-"


def leg_identity(call_id: str, suffix: str) -> str:
    """The participant identity of a leg a warm transfer of the call dials."""
    return f"{LEG_PREFIX}{call_id}-{suffix}"


def call_of_leg(identity: str) -> str | None:
    """The call a leg's identity belongs to (None for an identity that is no leg's)."""
    if not identity.startswith(LEG_PREFIX):
        return None
    call_id, _, suffix = identity[len(LEG_PREFIX) :].rpartition("-")
    return call_id if call_id and suffix else None


class CallChanges(TypedDict, total=False):
    """The fields a status change may set on a call."""

    ringing_at: str
    answered_at: str
    ended_at: str
    duration_seconds: int
    end_reason: str
    sip_status_code: int


class SegmentRecord(Record):
    """One transcript segment, keyed by its time, its place in the post and its content."""

    call_id: str
    role: Literal["agent", "user"]
    text: str
    at: str
    index: str


# A user's call counters (all time, or summed over hours) by name: total_calls, answered_calls,
# total_duration_seconds, timed_calls, and status_<status> for each CallStatus.
StatCounters = dict[str, int]
