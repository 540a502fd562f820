"""Phone-number requests and their review."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from telephony.models.common import Body, Out, PageQuery, Record


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    ASSIGNED = "assigned"
    EXPIRED = "expired"
    FAILED = "failed"


OPEN_STATUSES = (RequestStatus.PENDING, RequestStatus.APPROVED)


class CreatePhoneNumberRequest(Body):
    phone_number: str | None = Field(default=None, min_length=1, max_length=32, description="A specific number, E.164")
    country: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        description="ISO 3166-1 alpha-2; required unless phone_number is",
    )
    area_code: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$")
    number_type: Literal["local", "toll_free", "mobile"] | None = None
    provider: str | None = Field(default=None, max_length=32)
    purpose: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _country_or_number(self) -> CreatePhoneNumberRequest:
        if not self.phone_number and not self.country:
            raise ValueError("give a country, a phone_number, or both")
        return self


class ApproveRequest(Body):
    phone_number: str | None = Field(default=None, max_length=32, description="The number to assign, E.164")
    provider: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=500)


class RejectRequest(Body):
    reason: str = Field(min_length=1, max_length=500)


class Review(Out):
    decided_by: str
    decided_at: str
    reason: str | None = None


class RequestFailure(Out):
    """Why a request could not be completed, as its owner may see it: a stable code and a short message (what
    went wrong inside is in the logs, under the request id)."""

    code: str = Field(description="assignment_failed, review_failed or service_unavailable")
    message: str


class PhoneNumberRequest(Out):
    request_id: str
    status: RequestStatus
    phone_number: str | None = None
    country: str | None = None
    area_code: str | None = None
    number_type: str | None = None
    provider: str | None = None
    purpose: str | None = None
    user_id: str
    phone_number_id: str | None = None
    review: Review | None = None
    failure: RequestFailure | None = None
    created_at: str
    updated_at: str


class RequestRecord(Record):
    """A phone-number request as stored, with the review workflow's task token while it waits."""

    request_id: str
    status: RequestStatus
    user_id: str
    phone_number: str | None = None
    country: str | None = None
    area_code: str | None = None
    number_type: str | None = None
    provider: str | None = None
    purpose: str | None = None
    phone_number_id: str | None = None
    review: Review | None = None
    failure: RequestFailure | None = None
    task_token: str | None = None
    created_at: str
    updated_at: str

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def view(self) -> PhoneNumberRequest:
        return PhoneNumberRequest.model_validate(self.model_dump(exclude={"task_token"}))


class Decision(Body):
    """What the approve endpoint sends the workflow."""

    phone_number: str
    provider: str | None = None


class ReviewTaskInput(Body):
    request_id: str
    task_token: str


class AssignTaskInput(Body):
    model_config = Body.model_config | {"extra": "ignore"}
    request_id: str
    decision: Decision


class RequestTaskInput(Body):
    model_config = Body.model_config | {"extra": "ignore"}
    request_id: str
    error: dict[str, str] | None = None


class ReviewQueueQuery(PageQuery):
    status: RequestStatus = Field(default=RequestStatus.PENDING, description="Requests in this status")
