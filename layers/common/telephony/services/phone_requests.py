"""Phone-number requests: a user asks, an admin approves or rejects, the workflow assigns or expires."""

from __future__ import annotations

import functools
from collections.abc import Callable

from telephony.config import settings
from telephony.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    StatusChanged,
    TooManyNumbers,
    UpstreamUnavailable,
)
from telephony.integrations import workflow as workflow_api
from telephony.integrations.workflow import Workflow, WorkflowGone
from telephony.models.common import Page
from telephony.models.numbers import NumberRecord
from telephony.models.principal import Principal
from telephony.models.requests import (
    ApproveRequest,
    CreatePhoneNumberRequest,
    Decision,
    PhoneNumberRequest,
    RejectRequest,
    RequestFailure,
    RequestRecord,
    RequestStatus,
    Review,
)
from telephony.observability import count, logger
from telephony.phone import is_country_code, region_of, to_e164
from telephony.repositories.requests import ClaimChange
from telephony.repositories.store import Store, default_store
from telephony.services import events, limits, rate_limits
from telephony.util import epoch, new_id, now_iso

REJECTED_ERROR = "RequestRejected"
CLOSED_ERROR = "RequestClosed"


def create(
    body: CreatePhoneNumberRequest,
    *,
    principal: Principal,
    store: Store | None = None,
    workflow: Workflow | None = None,
) -> PhoneNumberRequest:
    db = store or default_store()
    e164 = to_e164(body.phone_number) if body.phone_number else None
    country = body.country.upper() if body.country else None
    if country and not is_country_code(country):
        raise InvalidInput(f"{body.country} is not an ISO 3166-1 alpha-2 country code", details=[{"field": "country"}])
    if e164 and country and region_of(e164) != country:
        raise InvalidInput(f"{e164} is not a number of {country}", details=[{"field": "phone_number"}])
    allowed = limits.of(principal.user_id, store=db).max_numbers
    if db.accounts.numbers(principal.user_id) >= allowed:  # told now; the assignment holds the limit exactly
        raise TooManyNumbers(f"you hold {allowed} phone numbers, your account's limit")
    moment = now_iso()
    record = RequestRecord(
        request_id=new_id("req"),
        status=RequestStatus.PENDING,
        user_id=principal.user_id,
        phone_number=e164,
        country=country or (region_of(e164) if e164 else None),
        area_code=body.area_code,
        number_type=body.number_type,
        provider=body.provider,
        purpose=body.purpose,
        created_at=moment,
        updated_at=moment,
    )
    # the refund below must reach the window this hit went into, even an hour later
    spent = rate_limits.charge(rate_limits.NUMBER_REQUESTS, principal.user_id, now=epoch(), store=db)
    db.requests.create(record, charge=spent)
    config = settings()
    try:
        (workflow or workflow_api.default()).start(
            config.require("review_state_machine_arn"),
            name=record.request_id,
            payload={"request_id": record.request_id, "review_timeout_seconds": config.review_timeout_seconds},
        )
    except UpstreamUnavailable:
        db.requests.delete(record, refund=spent)
        raise
    return record.view()


def _visible(request_id: str, principal: Principal, db: Store) -> RequestRecord:
    record = db.requests.get(request_id)
    if record is None or (record.user_id != principal.user_id and not principal.is_admin):
        raise NotFound("no such phone-number request")
    return record


def get(request_id: str, *, principal: Principal, store: Store | None = None) -> PhoneNumberRequest:
    return _visible(request_id, principal, store or default_store()).view()


def list_own(
    *, principal: Principal, limit: int, next_token: str | None, store: Store | None = None
) -> Page[PhoneNumberRequest]:
    items, token = (store or default_store()).requests.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[PhoneNumberRequest](items=[i.view() for i in items], next_token=token)


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this action needs an admin")


def review_queue(
    *, principal: Principal, status: RequestStatus, limit: int, next_token: str | None, store: Store | None = None
) -> Page[PhoneNumberRequest]:
    _require_admin(principal)
    items, token = (store or default_store()).requests.list_by_status(status, limit=limit, token=next_token)
    return Page[PhoneNumberRequest](items=[i.view() for i in items], next_token=token)


def _pending(request_id: str, db: Store) -> RequestRecord:
    record = db.requests.get(request_id)
    if record is None:
        raise NotFound("no such phone-number request")
    if record.status is not RequestStatus.PENDING:
        raise Conflict(f"the request is {record.status.value}, not pending")
    return record


def _decide(
    record: RequestRecord,
    to: RequestStatus,
    *,
    claims: ClaimChange,
    review: Review,
    db: Store,
    phone_number: str | None = None,
    provider: str | None = None,
) -> RequestRecord:
    """The decision, written only if the request is still pending, with its claims and its events; returns it as
    written."""
    try:
        return db.requests.move(
            record,
            to,
            updated_at=now_iso(),
            claims=claims,
            review=review,
            phone_number=phone_number,
            provider=provider,
            events=lambda after: events.request_events(record, after),
        )
    except StatusChanged as changed:
        raise Conflict("the request is no longer pending") from changed


def _undo_decision(record: RequestRecord, decided: RequestRecord, claims: ClaimChange, db: Store) -> None:
    """Put a decision back when the workflow could not be told: nothing stays half-done."""
    forget = ["review"]
    for name in ("phone_number", "provider"):
        if getattr(record, name) is None:
            forget.append(name)
    db.requests.move(
        decided,
        RequestStatus.PENDING,
        updated_at=now_iso(),
        claims=claims.reversed(),
        phone_number=record.phone_number,
        provider=record.provider,
        forget=tuple(forget),
    )


def approve(
    request_id: str,
    body: ApproveRequest,
    *,
    principal: Principal,
    store: Store | None = None,
    workflow: Workflow | None = None,
) -> PhoneNumberRequest:
    _require_admin(principal)
    db, flow = store or default_store(), workflow or workflow_api.default()
    record = _pending(request_id, db)
    requested = record.phone_number
    number = to_e164(body.phone_number) if body.phone_number else requested
    if not number:
        raise InvalidInput(
            "phone_number is required: the request did not name a number", details=[{"field": "phone_number"}]
        )
    if number == requested:
        claims = ClaimChange()
    else:
        claims = ClaimChange(claim=(number,), release=(requested,) if requested else ())
    provider = body.provider or record.provider
    review = Review(decided_by=principal.user_id, decided_at=now_iso(), reason=body.note)
    decided = _decide(
        record, RequestStatus.APPROVED, claims=claims, review=review, db=db, phone_number=number, provider=provider
    )
    _resume(
        record,
        lambda token: flow.succeed(token, Decision(phone_number=number, provider=provider).model_dump()),
        undo=lambda: _undo_decision(record, decided, claims, db),
        db=db,
    )
    return decided.view()


def reject(
    request_id: str,
    body: RejectRequest,
    *,
    principal: Principal,
    store: Store | None = None,
    workflow: Workflow | None = None,
) -> PhoneNumberRequest:
    _require_admin(principal)
    db, flow = store or default_store(), workflow or workflow_api.default()
    record = _pending(request_id, db)
    claims = ClaimChange(release=(record.phone_number,) if record.phone_number else ())
    review = Review(decided_by=principal.user_id, decided_at=now_iso(), reason=body.reason)
    decided = _decide(record, RequestStatus.REJECTED, claims=claims, review=review, db=db)
    count("RequestsRejected")
    _resume(
        record,
        lambda token: flow.fail(token, error=REJECTED_ERROR, cause=body.reason),
        undo=lambda: _workflow_not_told(record),
        db=db,
        final=True,
    )
    return decided.view()


def _workflow_not_told(record: RequestRecord) -> None:
    """A rejection stands even when the workflow cannot be told now: its number is released and its owner told,
    and the waiting execution ends at its review's timeout, finding the request closed."""
    logger().warning("a rejection could not be handed to its workflow", extra={"request_id": record.request_id})


def _resume(
    record: RequestRecord,
    send: Callable[[str], None],
    *,
    undo: Callable[[], None],
    db: Store,
    final: bool = False,
) -> None:
    """Tell the waiting execution. When its token is not stored yet, AwaitReview sees the decision and tells it.
    The token read with the request serves (an execution's token never changes); without one, it is read again,
    consistently, as it may have been stored since. A `final` decision (a rejection: the number released, nothing
    left to do) stands even when no execution waits for it any more."""
    token = record.task_token
    if not token:
        fresh = db.requests.get(record.request_id)
        token = fresh.task_token if fresh else None
    if not token:
        return
    try:
        send(token)
    except WorkflowGone as gone:
        if final:
            logger().info("a final decision reached no workflow", extra={"request_id": record.request_id})
            return
        # Nothing waits for a decision any more (the review timed out, or the execution ended): the request is
        # closed here, or it would stay decided without a workflow, holding its number, for good.
        try:
            close(record.request_id, RequestStatus.EXPIRED, store=db)
        except DomainError:
            logger().exception("a request whose workflow is gone could not be closed")
        raise Conflict("the request expired before the decision arrived") from gone
    except UpstreamUnavailable:
        undo()
        if not final:
            raise


# ---------------------------------------------------------------- workflow tasks


def await_review(
    request_id: str, task_token: str, *, store: Store | None = None, workflow: Workflow | None = None
) -> None:
    """Keep the token for the reviewers; if a decision already landed, hand it to the execution now."""
    db, flow = store or default_store(), workflow or workflow_api.default()
    try:
        db.requests.store_task_token(request_id, task_token, updated_at=now_iso())
        return
    except StatusChanged:
        record = db.requests.get(request_id)
    if record is None:
        raise NotFound(f"request {request_id} does not exist")
    if record.status is RequestStatus.APPROVED and record.phone_number:
        flow.succeed(task_token, Decision(phone_number=record.phone_number, provider=record.provider).model_dump())
    elif record.status is RequestStatus.REJECTED:
        flow.fail(
            task_token, error=REJECTED_ERROR, cause=(record.review.reason if record.review else None) or "rejected"
        )
    else:
        flow.fail(task_token, error=CLOSED_ERROR, cause=f"the request is {record.status.value}")


def phone_number_id_for(request_id: str) -> str:
    """Deterministic, so that a retried assignment finds its own work."""
    return "pn_" + request_id.removeprefix("req_")


def assign(request_id: str, decision: Decision, *, store: Store | None = None) -> dict[str, str]:
    db = store or default_store()
    record = db.requests.get(request_id)
    if record is None:
        raise NotFound(f"request {request_id} does not exist")
    if record.status is RequestStatus.ASSIGNED and record.phone_number_id:
        return {"phone_number_id": record.phone_number_id}
    if record.status is not RequestStatus.APPROVED:
        raise Conflict(f"request {request_id} is {record.status.value}, not approved")
    moment = now_iso()
    number = NumberRecord(
        phone_number_id=phone_number_id_for(request_id),
        phone_number=decision.phone_number,
        provider=decision.provider,
        assigned_provider=decision.provider,
        owner_id=record.user_id,
        request_id=request_id,
        created_at=moment,
        updated_at=moment,
    )
    approved = record.model_copy(update={"phone_number": decision.phone_number})
    assigned = approved.model_copy(
        update={"status": RequestStatus.ASSIGNED, "phone_number_id": number.phone_number_id, "updated_at": moment}
    )
    try:
        db.requests.assign(
            approved,
            number,
            updated_at=moment,
            max_numbers=limits.of(record.user_id, store=db).max_numbers,
            events=events.request_events(approved, assigned),
        )
    except Conflict:
        again = db.requests.get(request_id)
        if again and again.status is RequestStatus.ASSIGNED and again.phone_number_id:
            return {"phone_number_id": again.phone_number_id}  # a retry of an assignment that was made
        raise
    count("RequestsAssigned")
    return {"phone_number_id": number.phone_number_id}


_CLOSE_ATTEMPTS = 3


# The workflow's errors (the ASL's Error names) as a request's owner is told them; anything else is ours.
_FAILURES = {
    "TransientError": ("service_unavailable", "a service the review depends on was unavailable; request again"),
    "States.Timeout": ("service_unavailable", "a step of the review timed out; request again"),
    "Conflict": ("assignment_failed", "the number could not be assigned to you"),
    "TooManyNumbers": ("number_limit", "you hold as many phone numbers as your account allows"),
}
_INTERNAL_FAILURE = ("review_failed", "the request could not be completed; quote its request_id to support")


def record_failure(request_id: str, error: str, cause: str, *, store: Store | None = None) -> None:
    """The review workflow failed: the request is closed `failed` with a code and a short message; the error
    and its cause (a stack trace, for a Lambda task) go to the log only."""
    logger().error("the review workflow failed", extra={"request_id": request_id, "error": error, "cause": cause})
    code, message = _FAILURES.get(error, _INTERNAL_FAILURE)
    close(request_id, RequestStatus.FAILED, failure=RequestFailure(code=code, message=message), store=store)


def close(
    request_id: str, to_status: RequestStatus, *, failure: RequestFailure | None = None, store: Store | None = None
) -> None:
    """Expire, or record a failure on, a request that is still open; idempotent. The write is conditional on the
    status read, so that the claim released is the one the request holds: a decision landing in between (an
    approval may name another number) means reading it again."""
    db = store or default_store()
    for _ in range(_CLOSE_ATTEMPTS):
        record = db.requests.get(request_id)
        if record is None or not record.is_open:
            return
        claims = ClaimChange(release=(record.phone_number,) if record.phone_number else ())
        try:
            db.requests.move(
                record,
                to_status,
                updated_at=now_iso(),
                claims=claims,
                failure=failure,
                forget=("task_token",),
                events=functools.partial(events.request_events, record),
            )
        except StatusChanged:
            continue
        count("RequestsExpired" if to_status is RequestStatus.EXPIRED else "RequestsFailed")
        return
    raise Conflict(f"request {request_id} kept changing while it was being closed")
