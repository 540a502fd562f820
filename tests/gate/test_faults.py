"""Faults at every step: LiveKit (the emulator's `add_fault`) and AWS (botocore `before-call` hooks on the
product's own clients, answering as AWS does once its retries are spent). After each: a 502/503 in the
error shape, no orphan in LiveKit, no half-written item, and the next retry succeeds."""

from __future__ import annotations

import os
from typing import Any

import pytest

from telephony.repositories import dynamo
from tests.gate.conftest import (
    AGENT,
    ALLOWED,
    CALLEE,
    CONFIGURE,
    REGISTER,
    assert_consistent,
    aws_fault,
    call_in_progress,
    figure,
    livekit_calls,
    livekit_ids,
    number_items,
    own_number,
    pending_request,
    register,
    scan,
    wait_for,
)
from tests.support import assert_error

CODES = {503: "service_unavailable", 502: "bad_gateway"}
LIVEKIT_CODES = [("unavailable", 503), ("internal", 502)]
INJECTED: dict[str, int] = {}


def failed_cleanly(reply: Any, status: int | tuple[int, ...] = (502, 503)) -> None:
    wanted = status if isinstance(status, tuple) else (status,)
    assert reply.status in wanted, (reply.status, reply.body[:300])
    assert_error(reply, reply.status, CODES[reply.status])


def injected(step: str, n: int = 1) -> None:
    INJECTED[step] = INJECTED.get(step, 0) + n
    figure("faults.injected_per_step", dict(sorted(INJECTED.items())))


def configure(world: Any, token: str, pid: str, body: Any = None) -> Any:
    return world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=token, json_body=body or CONFIGURE)


def configuration(world: Any, token: str, pid: str) -> Any:
    return world.client.get(f"/outbound-calls/phone-numbers/{pid}/configuration", token=token).json()


CHANGED = {
    "sip_trunk": {**CONFIGURE["sip_trunk"], "name": "renamed", "address": "sip2.telnyx.com"},
    "dispatch_rule": {"rule_name": "other", "room_prefix": "other-", "agent_name": "other-agent"},
}


# ---------------------------------------------------------------- LiveKit


@pytest.mark.parametrize(("code", "status"), LIVEKIT_CODES)
def test_livekit_fault_at_every_configure_step(world, keys, relaxed_budgets, code, status):
    pid = own_number("usr_alice")
    for method in ("CreateSIPInboundTrunk", "CreateSIPOutboundTrunk", "CreateSIPDispatchRule"):
        world.livekit.add_fault(method, code, times=1)
        failed_cleanly(configure(world, keys.alice, pid), status)
        injected(f"configure/{method}")
        assert livekit_ids(world) == set()
        assert_consistent(world)
        assert configure(world, keys.alice, pid).status == 200
        assert_consistent(world)
        assert (
            world.client.delete(
                f"/outbound-calls/phone-numbers/{pid}/configuration?config_type=all", token=keys.alice
            ).status
            == 200
        )
    before = configure(world, keys.alice, pid).json()
    for method in ("UpdateSIPInboundTrunk", "UpdateSIPOutboundTrunk", "UpdateSIPDispatchRule"):
        world.livekit.add_fault(method, code, times=1)
        failed_cleanly(configure(world, keys.alice, pid, CHANGED), status)
        injected(f"reconfigure/{method}")
        assert configuration(world, keys.alice, pid) == before  # the previous configuration, restored
        assert_consistent(world)
    assert configure(world, keys.alice, pid, CHANGED).status == 200
    assert_consistent(world)
    for method in ("DeleteSIPDispatchRule", "DeleteSIPTrunk"):
        world.livekit.add_fault(method, code, times=1)
        failed_cleanly(
            world.client.delete(f"/outbound-calls/phone-numbers/{pid}/configuration?config_type=all", token=keys.alice),
            status,
        )
        injected(f"delete_configuration/{method}")
        assert_consistent(world)  # what is left in LiveKit is exactly what the table says
        retry = world.client.delete(
            f"/outbound-calls/phone-numbers/{pid}/configuration?config_type=all", token=keys.alice
        )
        assert retry.status == 200, retry.body
        assert livekit_ids(world) == set()
        assert_consistent(world)
        assert configure(world, keys.alice, pid).status == 200


def test_a_failing_undo_is_recorded_and_the_retry_repairs_it(world, keys, relaxed_budgets):
    """The dispatch rule fails, then deleting the outbound trunk (the undo) fails too: the table keeps
    the trunk that survived, so nothing is orphaned, and the next configure completes around it."""
    pid = own_number("usr_alice")
    world.livekit.add_fault("CreateSIPDispatchRule", "unavailable", times=1)
    world.livekit.add_fault("DeleteSIPTrunk", "unavailable", times=1)
    failed_cleanly(configure(world, keys.alice, pid), 503)
    injected("configure/CreateSIPDispatchRule+undo DeleteSIPTrunk")
    assert len(livekit_ids(world)) == 1
    assert_consistent(world)
    assert configuration(world, keys.alice, pid)["configuration_status"] == "partial"
    assert configure(world, keys.alice, pid).status == 200
    assert len(livekit_ids(world)) == 3
    assert_consistent(world)


@pytest.mark.parametrize(("code", "status"), LIVEKIT_CODES)
def test_livekit_fault_at_every_register_and_unregister_step(world, keys, relaxed_budgets, code, status):
    for method in ("CreateSIPInboundTrunk", "CreateSIPOutboundTrunk", "CreateSIPDispatchRule"):
        world.livekit.add_fault(method, code, times=1)
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=REGISTER)
        failed_cleanly(reply, status)
        injected(f"register/{method}")
        assert livekit_ids(world) == set() and number_items() == []
        assert not [s for s in _secrets() if "gate-pw" in s]
        registered = register(world, keys.alice)
        assert_consistent(world)
        path = f"/agents/{AGENT}/phone-numbers/{registered['phone_number_id']}"
        assert world.client.delete(path, token=keys.alice).status == 200
    for method in ("DeleteSIPDispatchRule", "DeleteSIPTrunk"):
        registered = register(world, keys.alice)
        path = f"/agents/{AGENT}/phone-numbers/{registered['phone_number_id']}"
        world.livekit.add_fault(method, code, times=1)
        failed_cleanly(world.client.delete(path, token=keys.alice), status)
        injected(f"unregister/{method}")
        assert_consistent(world)
        assert world.client.delete(path, token=keys.alice).status == 200
        assert livekit_ids(world) == set() and number_items() == []


def _secrets() -> list[str]:
    from telephony import aws

    client = aws.client("secretsmanager")
    names = [s["Name"] for s in client.list_secrets()["SecretList"]]
    return [client.get_secret_value(SecretId=n)["SecretString"] for n in names]


@pytest.mark.parametrize(
    ("method", "code", "status"),
    [
        ("CreateDispatch", "unavailable", 503),
        ("CreateDispatch", "internal", 502),
        ("CreateSIPParticipant", "unavailable", 503),
        ("CreateSIPParticipant", "internal", 502),
    ],
)
def test_livekit_fault_when_a_call_is_created(world, keys, relaxed_budgets, method, code, status):
    register(world, keys.alice)
    world.livekit.add_fault(method, code, times=1)
    reply = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE})
    failed_cleanly(reply, status)
    injected(f"create_call/{method}")
    state = world.livekit.state()
    assert state["rooms"] == [] and state["dispatches"] == [] and state["calls"] == []
    (failed,) = world.client.get("/outbound-calls", token=keys.alice).json()["items"]
    assert failed["status"] == "failed" and failed["end_reason"].startswith("livekit_error")
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["by_status"]["failed"] == 1 and stats["by_status"]["queued"] == 0
    assert (
        world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE}).status == 201
    )


@pytest.mark.parametrize(("code", "status"), LIVEKIT_CODES)
def test_livekit_fault_at_hangup_and_transfer(world, keys, relaxed_budgets, code, status):
    register(world, keys.alice)
    for path, body, method, mode in (
        ("hangup", None, "DeleteRoom", None),
        ("transfer", {"transfer_to": ALLOWED, "mode": "cold"}, "TransferSIPParticipant", "cold"),
        ("transfer", {"transfer_to": ALLOWED, "mode": "warm"}, "CreateSIPParticipant", "warm"),
    ):
        call_id = call_in_progress(world, keys.alice)
        world.livekit.add_fault(method, code, times=1)
        failed_cleanly(world.client.post(f"/outbound-calls/{call_id}/{path}", token=keys.alice, json_body=body), status)
        injected(f"{path}{'/' + mode if mode else ''}/{method}")
        details = world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice).json()
        # a warm leg is recorded (its calls budget spent) before it is dialled, and marked failed
        attempted = [{"mode": "warm", "status": "failed"}] if mode == "warm" else []
        assert details["status"] == "in_progress"
        assert [{"mode": t["mode"], "status": t["status"]} for t in details["transfers"]] == attempted
        retry = world.client.post(f"/outbound-calls/{call_id}/{path}", token=keys.alice, json_body=body)
        assert retry.status == 200, retry.body
        if path == "hangup":
            assert retry.json()["status"] == "completed"
        else:
            assert [t["mode"] for t in retry.json()["transfers"]] == [mode] * (len(attempted) + 1)
            world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice)


# ---------------------------------------------------------------- AWS: DynamoDB


THROTTLES = [
    ("ProvisionedThroughputExceededException", None),
    ("ThrottlingException", None),
    ("TransactionCanceledException", ["ThrottlingError", "None", "None", "None"]),
]


@pytest.mark.parametrize(("code", "reasons"), THROTTLES, ids=[t[0] for t in THROTTLES])
def test_dynamodb_throttled_on_every_write_transaction(world, keys, relaxed_budgets, code, reasons):
    pid = own_number("usr_alice")
    registered: dict[str, Any] = {}
    # the SDK retries a throttled request itself; a cancelled transaction is retried by the product (dynamo.py)
    times = dynamo.ATTEMPTS if code == "TransactionCanceledException" else 1

    def check(name: str, send: Any, after: Any, retry_status: int, table: str) -> None:
        counts = dict(world.livekit.state()["counts"])
        mine = os.environ[table]  # webhooks and workflow tasks write too, in other threads
        with aws_fault(
            "dynamodb", "TransactWriteItems", code, reasons=reasons, times=times, when=lambda p: mine in str(p)
        ) as failed:
            failed_cleanly(send(), 503)
        assert failed == [times], f"{name}: the fault did not fire as often as it was set to"
        injected(f"dynamodb TransactWriteItems/{name}", times)
        assert world.livekit.state()["counts"] == counts, f"{name}: LiveKit was called"
        after()
        assert_consistent(world)
        reply = send()
        assert reply.status == retry_status, (name, reply.status, reply.body)

    def number_request() -> Any:
        return world.client.post(
            "/telephony/phone-number-requests",
            token=keys.alice,
            json_body={"phone_number": "+14155550177", "country": "US"},
        )

    def no_request() -> None:
        assert world.client.get("/telephony/phone-number-requests", token=keys.alice).json()["items"] == []
        assert [i for i in scan("NUMBERS_TABLE") if i["pk"] == "E164#+14155550177"] == []

    check("create_phone_number_request", number_request, no_request, 201, "REQUESTS_TABLE")

    def reg() -> Any:
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=REGISTER)
        if reply.status == 201:
            registered.update(reply.json())
        return reply

    check("register", reg, lambda: None, 201, "NUMBERS_TABLE")
    check("configure", lambda: configure(world, keys.alice, pid), lambda: None, 200, "NUMBERS_TABLE")

    def create_call() -> Any:
        return world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE})

    check("create_call", create_call, lambda: None, 201, "CALLS_TABLE")
    assert len(world.client.get("/outbound-calls", token=keys.alice).json()["items"]) == 1

    rid = pending_request(world, keys.bob, "+14155550166", with_token=True)
    approve = f"/admin/phone-number-requests/{rid}/approve"

    def still_pending() -> None:
        assert world.client.get(f"/telephony/phone-number-requests/{rid}", token=keys.bob).json()["status"] == "pending"

    check(
        "approve",
        lambda: world.client.post(approve, token=keys.admin, json_body={}),
        still_pending,
        200,
        "REQUESTS_TABLE",
    )


def _numbers_save(params: dict[str, Any]) -> bool:
    """The conditional write that records a configuration (and releases the provisioning lock)."""
    return params.get("TableName") == os.environ["NUMBERS_TABLE"] and "config_lock" in str(
        params.get("ExpressionAttributeNames")
    )


@pytest.mark.parametrize(
    ("code", "status"), [("ProvisionedThroughputExceededException", 503), ("ConditionalCheckFailedException", 409)]
)
def test_dynamodb_failing_when_a_configuration_is_recorded_leaves_no_orphan(world, keys, relaxed_budgets, code, status):
    """LiveKit is done, then the write that records it fails (throttled, or the lock was lost): the
    LiveKit side must be undone, and the retry must not wait for the lock to expire."""
    pid = own_number("usr_alice")
    with aws_fault("dynamodb", "UpdateItem", code, when=_numbers_save) as failed:
        reply = configure(world, keys.alice, pid)
    assert failed == [1]
    injected("dynamodb UpdateItem/configure: record the configuration")
    assert reply.status == status, reply.body
    assert_consistent(world)
    assert livekit_ids(world) == set()
    assert configure(world, keys.alice, pid).status == 200
    assert_consistent(world)

    before = configuration(world, keys.alice, pid)
    with aws_fault("dynamodb", "UpdateItem", code, when=_numbers_save):
        assert configure(world, keys.alice, pid, CHANGED).status == status
    injected("dynamodb UpdateItem/reconfigure: record the configuration")
    assert configuration(world, keys.alice, pid) == before
    assert_consistent(world)
    assert configure(world, keys.alice, pid, CHANGED).status == 200

    with aws_fault("dynamodb", "UpdateItem", code, when=_numbers_save):
        reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=REGISTER)
    injected("dynamodb UpdateItem/register: record the registration")
    assert reply.status == status, reply.body
    assert_consistent(world)
    assert [n["phone_number"] for n in number_items()] == ["+14155550123"]
    register(world, keys.alice)
    assert_consistent(world)


def test_dynamodb_failing_after_livekit_removal_lets_the_retry_finish(world, keys, relaxed_budgets):
    pid = own_number("usr_alice")
    assert configure(world, keys.alice, pid).status == 200
    path = f"/outbound-calls/phone-numbers/{pid}/configuration?config_type=all"
    with aws_fault("dynamodb", "UpdateItem", "ProvisionedThroughputExceededException", when=_numbers_save):
        failed_cleanly(world.client.delete(path, token=keys.alice), 503)
    injected("dynamodb UpdateItem/delete_configuration: record the removal")
    assert [i for i in number_items() if i.get("config_lock")] == []
    retry = world.client.delete(path, token=keys.alice)
    assert retry.status == 200, retry.body
    assert_consistent(world)

    registered = register(world, keys.alice)
    unregister = f"/agents/{AGENT}/phone-numbers/{registered['phone_number_id']}"
    with aws_fault("dynamodb", "TransactWriteItems", "ProvisionedThroughputExceededException"):
        failed_cleanly(world.client.delete(unregister, token=keys.alice), 503)
    injected("dynamodb TransactWriteItems/unregister: remove the number")
    assert [i for i in number_items() if i.get("config_lock")] == []
    retry = world.client.delete(unregister, token=keys.alice)
    assert retry.status == 200, retry.body
    assert livekit_ids(world) == set() and [n["phone_number"] for n in number_items()] == ["+14155550123"]


@pytest.mark.parametrize(
    ("operation", "table"), [("GetItem", "CallsTable"), ("Query", "CallsTable"), ("UpdateItem", "RateLimitsTable")]
)
def test_dynamodb_throttled_on_reads_and_the_api_budget(world, keys, relaxed_budgets, operation, table):
    """The fault is on the request's own table: the stack's background functions (the outbox's dispatcher querying
    the webhooks) must not take it instead."""
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)

    def ours(params: dict[str, Any]) -> bool:
        return str(params.get("TableName", "")).endswith(f"-{table}")

    with aws_fault("dynamodb", operation, "ProvisionedThroughputExceededException", times=1, when=ours):
        reply = world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice)
        if operation == "Query":  # details read no index: list the calls instead
            reply = world.client.get("/outbound-calls", token=keys.alice)
    injected(f"dynamodb {operation}/read")
    failed_cleanly(reply, 503)
    assert world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice).status == 200


# ---------------------------------------------------------------- AWS: DynamoDB conflicts
# DynamoDB cancels a transaction that meets another request on one of its items (reason TransactionConflict:
# one user's concurrent calls all count on that user's counters) and refuses a single write to an item inside a
# running transaction (TransactionConflictException); the SDK retries neither. moto serialises everything and
# never answers either, so the gate injects them.


def _creates_a_call(params: dict[str, Any]) -> bool:
    return params.get("TransactItems") is not None and "total_calls" in str(params)


def test_transaction_conflicts_are_retried_and_a_lasting_one_is_a_clean_503(world, keys, relaxed_budgets):
    register(world, keys.alice)
    world.livekit.set_outcome(CALLEE, "answer", after_ms=5000)  # no webhook writes while the faults are on

    def create() -> Any:
        return world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE})

    def total() -> int:
        return int(world.client.get("/outbound-calls/stats", token=keys.alice).json()["total_calls"])

    conflict = ["None", "TransactionConflict", "None", "None"]
    retries = dynamo.ATTEMPTS - 1
    with aws_fault(
        "dynamodb",
        "TransactWriteItems",
        "TransactionCanceledException",
        reasons=conflict,
        times=retries,
        when=_creates_a_call,
    ) as failed:
        reply = create()
    assert failed == [retries]
    injected("dynamodb TransactWriteItems/create_call: conflicts, then through", retries)
    assert reply.status == 201, reply.body
    assert total() == 1

    dialled = livekit_calls(world)
    with aws_fault(
        "dynamodb",
        "TransactWriteItems",
        "TransactionCanceledException",
        reasons=conflict,
        times=dynamo.ATTEMPTS,
        when=_creates_a_call,
    ) as failed:
        failed_cleanly(create(), 503)
    assert failed == [dynamo.ATTEMPTS]
    injected("dynamodb TransactWriteItems/create_call: conflicts every time", dynamo.ATTEMPTS)
    assert total() == 1 and livekit_calls(world) == dialled
    assert create().status == 201
    assert total() == 2


def _writes_a_summary(params: dict[str, Any]) -> bool:
    """The transaction that sets a call's summary with the events it makes."""
    updates = [item["Update"] for item in params.get("TransactItems", []) if "Update" in item]
    return any("summary" in str(u.get("ExpressionAttributeNames", "")) + u["UpdateExpression"] for u in updates)


def test_a_summary_cancelled_by_contention_is_retried_and_a_lasting_one_is_a_503(world, keys, relaxed_budgets):
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)
    path = f"/outbound-calls/{call_id}/events"

    def post(text: str) -> Any:
        return world.client.post(
            path, token=keys.alice, json_body={"transcript": [{"role": "agent", "text": text}], "summary": text}
        )

    def details() -> dict[str, Any]:
        query = "include_transcript=true&include_summary=true"
        return world.client.get(f"/outbound-calls/{call_id}/details?{query}", token=keys.alice).json()

    retries = dynamo.ATTEMPTS - 1
    with aws_fault(
        "dynamodb",
        "TransactWriteItems",
        "TransactionCanceledException",
        reasons=["TransactionConflict"],
        times=retries,
        when=_writes_a_summary,
    ) as failed:
        reply = post("first")
    assert failed == [retries]
    injected("dynamodb TransactWriteItems/call summary: conflicts, then through", retries)
    assert reply.status == 200, reply.body
    assert details()["summary"] == "first"

    with aws_fault(
        "dynamodb",
        "TransactWriteItems",
        "TransactionCanceledException",
        reasons=["TransactionConflict"],
        times=dynamo.ATTEMPTS,
        when=_writes_a_summary,
    ) as failed:
        failed_cleanly(post("second"), 503)
    assert failed == [dynamo.ATTEMPTS]
    injected("dynamodb TransactWriteItems/call summary: conflicts every time", dynamo.ATTEMPTS)
    assert details()["summary"] == "first"
    assert [s["text"] for s in details()["transcript"]] == ["first"]
    assert post("second").status == 200


def _counts_a_transcript(params: dict[str, Any]) -> bool:
    return "transcript_chars" in params.get("UpdateExpression", "")


def test_a_write_refused_for_a_running_transaction_is_retried_and_a_lasting_one_is_a_503(world, keys, relaxed_budgets):
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)

    def post(text: str) -> Any:
        body = {"transcript": [{"role": "agent", "text": text}]}
        return world.client.post(f"/outbound-calls/{call_id}/events", token=keys.alice, json_body=body)

    def transcript() -> list[str]:
        details = f"/outbound-calls/{call_id}/details?include_transcript=true"
        return [s["text"] for s in world.client.get(details, token=keys.alice).json()["transcript"]]

    retries = dynamo.ATTEMPTS - 1
    with aws_fault(
        "dynamodb", "UpdateItem", "TransactionConflictException", times=retries, when=_counts_a_transcript
    ) as failed:
        assert post("first").status == 200
    assert failed == [retries]
    injected("dynamodb UpdateItem/transcript count: conflicts, then through", retries)
    assert transcript() == ["first"]

    with aws_fault(
        "dynamodb", "UpdateItem", "TransactionConflictException", times=dynamo.ATTEMPTS, when=_counts_a_transcript
    ) as failed:
        failed_cleanly(post("second"), 503)
    assert failed == [dynamo.ATTEMPTS]
    injected("dynamodb UpdateItem/transcript count: conflicts every time", dynamo.ATTEMPTS)
    assert transcript() == ["first"]
    assert post("second").status == 200


# ---------------------------------------------------------------- AWS: Step Functions


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailable", "InternalFailure"])
def test_step_functions_errors(world, keys, code):
    body = {"phone_number": "+14155550177", "country": "US"}
    with aws_fault("stepfunctions", "StartExecution", code, status=500 if code != "ThrottlingException" else 400):
        failed_cleanly(world.client.post("/telephony/phone-number-requests", token=keys.alice, json_body=body), 503)
    injected("sfn StartExecution/create_phone_number_request")
    assert world.client.get("/telephony/phone-number-requests", token=keys.alice).json()["items"] == []
    assert [i for i in scan("NUMBERS_TABLE") if i["pk"].startswith("E164#")] == []
    rid = world.client.post("/telephony/phone-number-requests", token=keys.alice, json_body=body).json()["request_id"]
    wait_for(lambda: _token(rid), bool, 10, "the task token")

    with aws_fault("stepfunctions", "SendTaskSuccess", code):
        failed_cleanly(
            world.client.post(f"/admin/phone-number-requests/{rid}/approve", token=keys.admin, json_body={}), 503
        )
    injected("sfn SendTaskSuccess/approve")
    request = world.client.get(f"/telephony/phone-number-requests/{rid}", token=keys.alice).json()
    assert request["status"] == "pending" and request["review"] is None
    # a rejection stands when the workflow cannot be told: the number is released and its owner told; the waiting
    # execution ends at its review's timeout, finding the request closed
    with aws_fault("stepfunctions", "SendTaskFailure", code):
        rejected = world.client.post(
            f"/admin/phone-number-requests/{rid}/reject", token=keys.admin, json_body={"reason": "x"}
        )
    assert rejected.status == 200 and rejected.json()["status"] == "rejected", rejected.body
    injected("sfn SendTaskFailure/reject")
    assert world.client.get(f"/telephony/phone-number-requests/{rid}", token=keys.alice).json()["status"] == "rejected"
    assert [i for i in scan("NUMBERS_TABLE") if i["pk"].startswith("E164#")] == []
    again = world.client.post("/telephony/phone-number-requests", token=keys.alice, json_body=body).json()["request_id"]
    wait_for(lambda: _token(again), bool, 10, "the task token")
    assert (
        world.client.post(f"/admin/phone-number-requests/{again}/approve", token=keys.admin, json_body={}).status == 200
    )
    wait_for(
        lambda: world.client.get(f"/telephony/phone-number-requests/{again}", token=keys.alice).json()["status"],
        lambda s: s == "assigned",
        10,
        "the assignment",
    )


def _token(rid: str) -> str | None:
    from telephony.repositories.store import default_store

    found = default_store().requests.get(rid)
    return found.task_token if found else None


# ---------------------------------------------------------------- AWS: Secrets Manager


@pytest.mark.parametrize("code", ["InternalServiceError", "ThrottlingException"])
def test_secrets_manager_errors(world, keys, relaxed_budgets, code):
    pid = own_number("usr_alice")
    with aws_fault("secretsmanager", "CreateSecret", code):
        failed_cleanly(configure(world, keys.alice, pid), 503)
    injected("secretsmanager CreateSecret/configure")
    assert livekit_ids(world) == set()
    assert_consistent(world)
    assert configure(world, keys.alice, pid).status == 200

    before = configuration(world, keys.alice, pid)
    with aws_fault("secretsmanager", "GetSecretValue", code):  # the stored SIP password, to restore on failure
        failed_cleanly(configure(world, keys.alice, pid, CHANGED), 503)
    injected("secretsmanager GetSecretValue/reconfigure")
    assert configuration(world, keys.alice, pid) == before
    assert_consistent(world)

    with aws_fault("secretsmanager", "DeleteSecret", code):  # the superseded secret
        reply = configure(world, keys.alice, pid, CHANGED)
    injected("secretsmanager DeleteSecret/reconfigure")
    assert reply.status in (200, 503), reply.body
    assert_consistent(world)
    assert configure(world, keys.alice, pid).status == 200

    with aws_fault("secretsmanager", "CreateSecret", code):
        failed_cleanly(world.client.post(f"/agents/{AGENT}/phone-numbers", token=keys.alice, json_body=REGISTER), 503)
    injected("secretsmanager CreateSecret/register")
    assert [n["phone_number"] for n in number_items()] == ["+14155550123"]
    assert_consistent(world)
    registered = register(world, keys.alice)

    with aws_fault("secretsmanager", "DeleteSecret", code):
        reply = world.client.delete(f"/agents/{AGENT}/phone-numbers/{registered['phone_number_id']}", token=keys.alice)
    injected("secretsmanager DeleteSecret/unregister")
    assert reply.status in (200, 503), reply.body
    assert [i for i in number_items() if i.get("config_lock")] == []
    assert_consistent(world)


def test_livekit_credentials_unreadable(world, keys):
    """The first LiveKit call of a container reads LiveKit's credentials from Secrets Manager."""
    from telephony.integrations import livekit

    livekit.reset_default()
    pid = own_number("usr_alice")
    with aws_fault("secretsmanager", "GetSecretValue", "InternalServiceError"):
        failed_cleanly(configure(world, keys.alice, pid), 503)
    injected("secretsmanager GetSecretValue/LiveKit credentials")
    assert_consistent(world)
    assert configure(world, keys.alice, pid).status == 200
