"""Phone-number requests through the real handlers and the real workflow, under moto."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support import assert_error

REQUESTS = "/telephony/phone-number-requests"


def wait_for_status(world: Any, token: str, request_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    body: dict[str, Any] = {}
    while time.time() < deadline:
        reply = world.client.get(f"{REQUESTS}/{request_id}", token=token)
        body = reply.json()
        if body.get("status") == status:
            return body
        time.sleep(0.05)
    raise AssertionError(f"request stayed {body.get('status')}, expected {status}: {history(world, request_id)}")


def history(world: Any, request_id: str) -> list[str]:
    """The workflow's events, to see where an execution stopped."""
    import boto3

    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = world.stack.environment()["REVIEW_STATE_MACHINE_ARN"]
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:{request_id}"
    events = sfn.get_execution_history(executionArn=arn)["events"]
    return [
        f"{e['type']} {e.get('taskFailedEventDetails') or e.get('executionFailedEventDetails') or ''}" for e in events
    ]


def create(world: Any, token: str, number: str = "+14155550123", **extra: Any) -> Any:
    return world.client.post(REQUESTS, token=token, json_body={"phone_number": number, "country": "US", **extra})


def test_approve_path_assigns_a_number_owned_by_the_requester(world, keys):
    # Given a user's request for a specific number
    created = create(world, keys.alice)
    assert created.status == 201, created.body
    request = created.json()
    assert request["status"] == "pending" and request["user_id"] == "usr_alice"

    # When an admin approves it
    approved = world.client.post(
        f"{REQUESTS.replace('/telephony', '/admin')}/{request['request_id']}/approve",
        token=keys.admin,
        json_body={"note": "ok"},
    )
    assert approved.status == 200, approved.body
    assert approved.json()["review"]["decided_by"] == "usr_admin"

    # Then the workflow assigns it, and the number is listed for the requester only
    assigned = wait_for_status(world, keys.alice, request["request_id"], "assigned")
    assert assigned["phone_number_id"].startswith("pn_")
    mine = world.client.get("/outbound-calls/phone-numbers", token=keys.alice).json()["items"]
    assert [(n["phone_number_id"], n["phone_number"]) for n in mine] == [(assigned["phone_number_id"], "+14155550123")]
    assert world.client.get("/outbound-calls/phone-numbers", token=keys.bob).json()["items"] == []


def test_admin_may_assign_a_number_to_a_country_only_request(world, keys):
    created = world.client.post(REQUESTS, token=keys.alice, json_body={"country": "GB", "number_type": "mobile"})
    assert created.status == 201, created.body
    rid = created.json()["request_id"]
    missing = world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={})
    assert_error(missing, 400, "invalid_request")
    ok = world.client.post(
        f"/admin/phone-number-requests/{rid}/approve",
        token=keys.admin,
        json_body={"phone_number": "+447911123456", "provider": "twilio"},
    )
    assert ok.status == 200, ok.body
    assigned = wait_for_status(world, keys.alice, rid, "assigned")
    assert assigned["phone_number"] == "+447911123456" and assigned["provider"] == "twilio"


def test_reject_path_frees_the_number(world, keys):
    rid = create(world, keys.alice).json()["request_id"]
    rejected = world.client.post(
        f"/admin/phone-number-requests/{rid}/reject", token=keys.admin, json_body={"reason": "not available"}
    )
    assert rejected.status == 200, rejected.body
    body = rejected.json()
    assert body["status"] == "rejected" and body["review"]["reason"] == "not available"
    # the number is free again: another user may ask for it
    assert create(world, keys.bob).status == 201


@pytest.mark.parametrize("parameters", [{"ReviewTimeoutSeconds": "1"}])
def test_timeout_path_expires_the_request(world, keys, parameters):
    rid = create(world, keys.alice).json()["request_id"]
    expired = wait_for_status(world, keys.alice, rid, "expired", timeout=15)
    assert expired["phone_number_id"] is None
    late = world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={})
    assert_error(late, 409, "conflict")
    assert create(world, keys.bob).status == 201  # the claim was released


def test_an_expiry_racing_an_approval_to_another_number_releases_the_number_it_holds(world, keys, monkeypatch):
    """The expiry read the request pending on A; an approval to B landed before its write: what it releases
    must be B, the number the request holds then (releasing A left B claimed by an expired request for good)."""
    from telephony.models.requests import RequestStatus
    from telephony.repositories.requests import RequestsRepository
    from telephony.services import phone_requests

    rid = create(world, keys.alice, "+14155550123").json()["request_id"]
    get = RequestsRepository.get

    def approved_meanwhile(self: Any, request_id: str) -> Any:
        record = get(self, request_id)
        monkeypatch.setattr(RequestsRepository, "get", get)
        approved = world.client.post(
            f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={"phone_number": "+14155550124"}
        )
        assert approved.status == 200, approved.body
        return record

    monkeypatch.setattr(RequestsRepository, "get", approved_meanwhile)
    phone_requests.close(rid, RequestStatus.EXPIRED)
    assert world.client.get(f"{REQUESTS}/{rid}", token=keys.alice).json()["status"] == "expired"
    assert create(world, keys.bob, "+14155550124").status == 201
    assert create(world, keys.bob, "+14155550123").status == 201


@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_a_decision_for_a_workflow_that_is_gone_closes_the_request(world, keys, monkeypatch, decision):
    """The execution no longer waits (its review timed out, it hit Step Functions' limit, it was stopped): the
    decision is a 409, and the request must not stay decided without a workflow, holding its number."""
    from telephony.integrations import workflow
    from telephony.repositories.store import default_store

    rid = create(world, keys.alice).json()["request_id"]
    deadline = time.time() + 10
    while not getattr(default_store().requests.get(rid), "task_token", None):
        assert time.time() < deadline, "AwaitReview never stored its token"
        time.sleep(0.05)

    def gone(*args: Any, **kwargs: Any) -> None:
        raise workflow.WorkflowGone("TaskTimedOut")

    monkeypatch.setattr(workflow.Workflow, "succeed" if decision == "approve" else "fail", gone)
    body = {"reason": "no"} if decision == "reject" else {}
    reply = world.client.post(f"/admin/phone-number-requests/{rid}/{decision}", token=keys.admin, json_body=body)
    if decision == "approve":  # an approval needs the workflow to assign the number: the request expired
        assert_error(reply, 409, "conflict")
        assert world.client.get(f"{REQUESTS}/{rid}", token=keys.alice).json()["status"] == "expired"
    else:  # a rejection needs nothing more: it stands
        assert reply.status == 200, reply.body
        assert world.client.get(f"{REQUESTS}/{rid}", token=keys.alice).json()["status"] == "rejected"
    assert create(world, keys.bob).status == 201  # its number is free


def test_duplicate_request_and_owned_number_are_conflicts(world, keys):
    rid = create(world, keys.alice).json()["request_id"]
    assert_error(create(world, keys.bob), 409, "conflict")
    world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={})
    wait_for_status(world, keys.alice, rid, "assigned")
    assert_error(create(world, keys.bob), 409, "conflict")  # owned now


def test_double_approval_is_a_conflict(world, keys):
    rid = create(world, keys.alice).json()["request_id"]
    first = world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={})
    second = world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={})
    assert first.status == 200
    assert_error(second, 409, "conflict")


def test_users_cannot_use_admin_routes(world, keys):
    rid = create(world, keys.alice).json()["request_id"]
    for path, body in (
        (f"/admin/phone-number-requests/{rid}/approve", {}),
        (f"/admin/phone-number-requests/{rid}/reject", {"reason": "x"}),
    ):
        assert_error(world.client.post(path, token=keys.alice, json_body=body), 403, "forbidden")
    assert_error(world.client.get("/admin/phone-number-requests", token=keys.alice), 403, "forbidden")
    queue = world.client.get("/admin/phone-number-requests?status=pending", token=keys.admin)
    assert [r["request_id"] for r in queue.json()["items"]] == [rid]


def test_another_users_request_is_not_found(world, keys):
    rid = create(world, keys.alice).json()["request_id"]
    assert_error(world.client.get(f"{REQUESTS}/{rid}", token=keys.bob), 404, "not_found")
    assert world.client.get(f"{REQUESTS}/{rid}", token=keys.admin).status == 200
    assert [r["request_id"] for r in world.client.get(REQUESTS, token=keys.alice).json()["items"]] == [rid]
    assert world.client.get(REQUESTS, token=keys.bob).json()["items"] == []


def test_sixth_request_within_the_hour_is_limited(world, keys):
    for i in range(5):
        assert create(world, keys.alice, f"+1415555010{i}").status == 201
    sixth = create(world, keys.alice, "+14155550109")
    assert_error(sixth, 429, "rate_limited")
    retry_after = int(sixth.header("Retry-After"))
    assert 0 < retry_after <= 3600
    assert sixth.header("RateLimit-Policy") == '"number_requests";q=5;w=3600'
    assert sixth.header("RateLimit") == f'"number_requests";r=0;t={retry_after}'
    # the refused request left nothing behind: the number is still free for someone else
    assert create(world, keys.bob, "+14155550109").status == 201


@pytest.mark.parametrize(
    "body",
    [
        {"phone_number": "5551234", "country": "US"},
        {"phone_number": "+1415555012", "country": "US"},
        {"country": "XX"},
        {"country": "USA"},
        {},
        {"phone_number": "+14155550123", "status": "approved"},
        {"phone_number": "+14155550123", "user_id": "usr_bob"},
        {"phone_number": "+447911123456", "country": "US"},
    ],
)
def test_bad_input_is_400(world, keys, body):
    assert_error(world.client.post(REQUESTS, token=keys.alice, json_body=body), 400, "invalid_request")


def test_every_response_carries_the_rate_limit_header(world, keys):
    reply = world.client.get(REQUESTS, token=keys.alice)
    assert reply.status == 200
    assert reply.header("RateLimit-Policy") == '"api";q=1000;w=3600'
    assert reply.header("RateLimit").startswith('"api";r=')
