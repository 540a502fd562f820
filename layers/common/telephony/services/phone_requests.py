"""Phone-number requests: a user asks, an admin approves or rejects, the workflow assigns or expires."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from telephony.config import settings
from telephony.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, UpstreamUnavailable
from telephony.integrations import workflow as workflow_api
from telephony.models.common import Page
from telephony.models.principal import Principal
from telephony.models.requests import (
    OPEN_STATUSES,
    ApproveRequest,
    CreatePhoneNumberRequest,
    Decision,
    PhoneNumberRequest,
    RejectRequest,
    RequestStatus,
)
from telephony.observability import count, logger
from telephony.phone import is_country_code, region_of, to_e164
from telephony.repositories import dynamo
from telephony.repositories import numbers as numbers_repo
from telephony.repositories import requests as requests_repo
from telephony.services import rate_limits
from telephony.util import epoch, new_id, now_iso

REJECTED_ERROR = "RequestRejected"
CLOSED_ERROR = "RequestClosed"


def _model(record: dict[str, Any]) -> PhoneNumberRequest:
    return PhoneNumberRequest.model_validate(record)


def _claimed_elsewhere(e164: str) -> Conflict:
    return Conflict(
        f"{e164} already has an open request or an owner",
        details=[{"field": "phone_number", "issue": "already_requested"}],
    )


def create(
    body: CreatePhoneNumberRequest,
    *,
    principal: Principal,
    repo: ModuleType = requests_repo,
    workflow: ModuleType = workflow_api,
) -> PhoneNumberRequest:
    e164 = to_e164(body.phone_number) if body.phone_number else None
    country = body.country.upper() if body.country else None
    if country and not is_country_code(country):
        raise InvalidInput(f"{body.country} is not an ISO 3166-1 alpha-2 country code", details=[{"field": "country"}])
    if e164 and country and region_of(e164) != country:
        raise InvalidInput(f"{e164} is not a number of {country}", details=[{"field": "phone_number"}])
    moment = now_iso()
    record = {
        "request_id": new_id("req"),
        "status": RequestStatus.PENDING.value,
        "user_id": principal.user_id,
        "phone_number": e164,
        "country": country or (region_of(e164) if e164 else None),
        "area_code": body.area_code,
        "number_type": body.number_type,
        "provider": body.provider,
        "purpose": body.purpose,
        "created_at": moment,
        "updated_at": moment,
    }
    extra = [repo.claim_put(e164, request_id=record["request_id"], owner_id=principal.user_id)] if e164 else []
    spent_at = epoch()  # the refund below must reach the window this hit went into, even an hour later
    extra.append(rate_limits.hit(rate_limits.NUMBER_REQUESTS, principal.user_id, now=spent_at))
    try:
        repo.create(record, extra=extra)
    except dynamo.TransactionCanceled as canceled:
        if e164 and canceled.failed(1):
            raise _claimed_elsewhere(e164) from canceled
        if canceled.failed(len(extra)):
            raise rate_limits.limited(rate_limits.NUMBER_REQUESTS) from canceled
        raise
    config = settings()
    try:
        workflow.start(
            config.require("review_state_machine_arn"),
            name=record["request_id"],
            payload={
                "request_id": record["request_id"],
                "review_timeout_seconds": config.review_timeout_seconds,
            },
        )
    except UpstreamUnavailable:
        undo = [repo.claim_release(e164, request_id=record["request_id"])] if e164 else []
        undo.append(rate_limits.refund(rate_limits.NUMBER_REQUESTS, principal.user_id, now=spent_at))
        repo.delete(record["request_id"], extra=undo)
        raise
    return _model(record)


def _visible(request_id: str, principal: Principal, repo: ModuleType) -> dict[str, Any]:
    record = repo.get(request_id)
    if record is None or (record["user_id"] != principal.user_id and not principal.is_admin):
        raise NotFound("no such phone-number request")
    return record


def get(request_id: str, *, principal: Principal, repo: ModuleType = requests_repo) -> PhoneNumberRequest:
    return _model(_visible(request_id, principal, repo))


def list_own(
    *, principal: Principal, limit: int, next_token: str | None, repo: ModuleType = requests_repo
) -> Page[PhoneNumberRequest]:
    items, token = repo.list_by_owner(principal.user_id, limit=limit, token=next_token)
    return Page[PhoneNumberRequest](items=[_model(i) for i in items], next_token=token)


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("this action needs an admin")


def review_queue(
    *,
    principal: Principal,
    status: RequestStatus,
    limit: int,
    next_token: str | None,
    repo: ModuleType = requests_repo,
) -> Page[PhoneNumberRequest]:
    _require_admin(principal)
    items, token = repo.list_by_status(status.value, limit=limit, token=next_token)
    return Page[PhoneNumberRequest](items=[_model(i) for i in items], next_token=token)


def _pending(request_id: str, repo: ModuleType) -> dict[str, Any]:
    record = repo.get(request_id)
    if record is None:
        raise NotFound("no such phone-number request")
    if record["status"] != RequestStatus.PENDING.value:
        raise Conflict(f"the request is {record['status']}, not pending")
    return record


def _decide(
    record: dict[str, Any],
    to_status: RequestStatus,
    fields: dict[str, Any],
    claims: list[dict[str, Any]],
    repo: ModuleType,
) -> dict[str, Any]:
    """The decision, written only if the request is still pending; returns the request as written."""
    updated_at = now_iso()
    step = repo.transition(
        record["request_id"],
        created_at=record["created_at"],
        from_statuses=(RequestStatus.PENDING,),
        to_status=to_status,
        updated_at=updated_at,
        fields=fields,
    )
    try:
        dynamo.transact([step, *claims])
    except dynamo.TransactionCanceled as canceled:
        if canceled.failed(0):
            raise Conflict("the request is no longer pending") from canceled
        raise _claimed_elsewhere(fields.get("phone_number", "the number")) from canceled
    return {**record, **fields, "status": to_status.value, "updated_at": updated_at}


def _undo_decision(
    record: dict[str, Any], to_status: RequestStatus, claims: list[dict[str, Any]], repo: ModuleType
) -> None:
    """Put a decision back when the workflow could not be told: nothing stays half-done."""
    step = repo.transition(
        record["request_id"],
        created_at=record["created_at"],
        from_statuses=(to_status,),
        to_status=RequestStatus.PENDING,
        updated_at=now_iso(),
        fields={"phone_number": record.get("phone_number"), "provider": record.get("provider")},
        remove=("review",),
    )
    dynamo.transact([step, *claims])


def approve(
    request_id: str,
    body: ApproveRequest,
    *,
    principal: Principal,
    repo: ModuleType = requests_repo,
    workflow: ModuleType = workflow_api,
) -> PhoneNumberRequest:
    _require_admin(principal)
    record = _pending(request_id, repo)
    requested = record.get("phone_number")
    number = to_e164(body.phone_number) if body.phone_number else requested
    if not number:
        raise InvalidInput(
            "phone_number is required: the request did not name a number", details=[{"field": "phone_number"}]
        )
    claims, undo_claims = [], []
    if number != requested:
        claims.append(repo.claim_put(number, request_id=request_id, owner_id=record["user_id"]))
        undo_claims.append(repo.claim_release(number, request_id=request_id))
        if requested:
            claims.append(repo.claim_release(requested, request_id=request_id))
            undo_claims.append(repo.claim_put(requested, request_id=request_id, owner_id=record["user_id"]))
    provider = body.provider or record.get("provider")
    review = {"decided_by": principal.user_id, "decided_at": now_iso(), "reason": body.note}
    decided = _decide(
        record,
        RequestStatus.APPROVED,
        {"phone_number": number, "provider": provider, "review": review},
        claims,
        repo,
    )
    _resume(
        record,
        lambda token: workflow.succeed(token, Decision(phone_number=number, provider=provider).model_dump()),
        undo=lambda: _undo_decision(record, RequestStatus.APPROVED, undo_claims, repo),
        repo=repo,
        workflow=workflow,
    )
    return _model(decided)


def reject(
    request_id: str,
    body: RejectRequest,
    *,
    principal: Principal,
    repo: ModuleType = requests_repo,
    workflow: ModuleType = workflow_api,
) -> PhoneNumberRequest:
    _require_admin(principal)
    record = _pending(request_id, repo)
    claims, undo_claims = [], []
    if record.get("phone_number"):
        claims.append(repo.claim_release(record["phone_number"], request_id=request_id))
        undo_claims.append(repo.claim_put(record["phone_number"], request_id=request_id, owner_id=record["user_id"]))
    review = {"decided_by": principal.user_id, "decided_at": now_iso(), "reason": body.reason}
    decided = _decide(record, RequestStatus.REJECTED, {"review": review}, claims, repo)
    count("RequestsRejected")
    _resume(
        record,
        lambda token: workflow.fail(token, error=REJECTED_ERROR, cause=body.reason),
        undo=lambda: _undo_decision(record, RequestStatus.REJECTED, undo_claims, repo),
        repo=repo,
        workflow=workflow,
        final=True,
    )
    return _model(decided)


def _resume(
    record: dict[str, Any], send: Any, *, undo: Any, repo: ModuleType, workflow: ModuleType, final: bool = False
) -> None:
    """Tell the waiting execution. When its token is not stored yet, AwaitReview sees the decision and tells it.
    The token read with the request serves (an execution's token never changes); without one, it is read again,
    consistently, as it may have been stored since. A `final` decision (a rejection: the number released, nothing
    left to do) stands even when no execution waits for it any more."""
    token = record.get("task_token")
    if not token:
        fresh = repo.get(record["request_id"])
        token = fresh.get("task_token") if fresh else None
    if not token:
        return
    try:
        send(token)
    except workflow.WorkflowGone as gone:
        if final:
            logger().info("a final decision reached no workflow", extra={"request_id": record["request_id"]})
            return
        # Nothing waits for a decision any more (the review timed out, or the execution ended): the request is
        # closed here, or it would stay decided without a workflow, holding its number, for good.
        try:
            close(record["request_id"], RequestStatus.EXPIRED, repo=repo)
        except DomainError:
            logger().exception("a request whose workflow is gone could not be closed")
        raise Conflict("the request expired before the decision arrived") from gone
    except UpstreamUnavailable:
        undo()
        raise


# ---------------------------------------------------------------- workflow tasks


def await_review(
    request_id: str, task_token: str, *, repo: ModuleType = requests_repo, workflow: ModuleType = workflow_api
) -> None:
    """Keep the token for the reviewers; if a decision already landed, hand it to the execution now."""
    try:
        repo.store_task_token(request_id, task_token, updated_at=now_iso())
        return
    except dynamo.ConditionFailed as failed:
        record = failed.item
    if record is None:
        raise NotFound(f"request {request_id} does not exist")
    status = record["status"]
    if status == RequestStatus.APPROVED.value:
        workflow.succeed(
            task_token,
            Decision(phone_number=record["phone_number"], provider=record.get("provider")).model_dump(),
        )
    elif status == RequestStatus.REJECTED.value:
        workflow.fail(task_token, error=REJECTED_ERROR, cause=(record.get("review") or {}).get("reason") or "rejected")
    else:
        workflow.fail(task_token, error=CLOSED_ERROR, cause=f"the request is {status}")


def phone_number_id_for(request_id: str) -> str:
    """Deterministic, so that a retried assignment finds its own work."""
    return "pn_" + request_id.removeprefix("req_")


def assign(request_id: str, decision: Decision, *, repo: ModuleType = requests_repo) -> dict[str, str]:
    record = repo.get(request_id)
    if record is None:
        raise NotFound(f"request {request_id} does not exist")
    pid = phone_number_id_for(request_id)
    if record["status"] == RequestStatus.ASSIGNED.value:
        return {"phone_number_id": record["phone_number_id"]}
    if record["status"] != RequestStatus.APPROVED.value:
        raise Conflict(f"request {request_id} is {record['status']}, not approved")
    moment = now_iso()
    number = {
        "phone_number_id": pid,
        "phone_number": decision.phone_number,
        "provider": decision.provider,
        "owner_id": record["user_id"],
        "request_id": request_id,
        "status": "active",
        "configuration_status": "unconfigured",
        "created_at": moment,
        "updated_at": moment,
    }
    step = repo.transition(
        request_id,
        created_at=record["created_at"],
        from_statuses=(RequestStatus.APPROVED,),
        to_status=RequestStatus.ASSIGNED,
        updated_at=moment,
        fields={"phone_number_id": pid},
        remove=("task_token",),
    )
    claim = numbers_repo.claim_for_number(
        decision.phone_number, request_id=request_id, phone_number_id=pid, owner_id=record["user_id"]
    )
    try:
        dynamo.transact([numbers_repo.put_new(number), claim, step])
    except dynamo.TransactionCanceled:
        again = repo.get(request_id)
        if again and again["status"] == RequestStatus.ASSIGNED.value:
            return {"phone_number_id": again["phone_number_id"]}
        raise
    count("RequestsAssigned")
    return {"phone_number_id": pid}


def close(
    request_id: str, to_status: RequestStatus, *, failure: str | None = None, repo: ModuleType = requests_repo
) -> None:
    """Expire, or record a failure on, a request that is still open; idempotent. The write is conditional on the
    status read, so that the claim released is the one the request holds: a decision landing in between (an
    approval may name another number) means reading it again."""
    fields = {"failure": failure[:1000]} if failure else {}
    for _ in range(3):
        record = repo.get(request_id)
        if record is None or record["status"] not in {s.value for s in OPEN_STATUSES}:
            return
        step = repo.transition(
            request_id,
            created_at=record["created_at"],
            from_statuses=(RequestStatus(record["status"]),),
            to_status=to_status,
            updated_at=now_iso(),
            fields=fields,
            remove=("task_token",),
        )
        number = record.get("phone_number")
        claims = [repo.claim_release(number, request_id=request_id)] if number else []
        try:
            dynamo.transact([step, *claims])
        except dynamo.TransactionCanceled as canceled:
            if not canceled.failed(0):
                raise  # the claim is not this request's: not a race this can settle
            continue
        count("RequestsExpired" if to_status is RequestStatus.EXPIRED else "RequestsFailed")
        return
    raise Conflict(f"request {request_id} kept changing while it was being closed")
