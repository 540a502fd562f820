"""The reliability gate (docs/RELIABILITY.md): helpers shared by its access, race, fault, secret and
hostile-input tests. They reuse the `world` and `keys` fixtures of tests/conftest.py: the template
deployed into moto in-process, the real handlers behind the local gateway, the LiveKit emulator."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests import seeding
from tests.support import Reply

AGENT = str(uuid.UUID(int=0x5EED))
OWN_E164 = "+14155550142"  # alice's registered number: outbound enabled, transfers allowed
CALLEE = "+14155550199"
ALLOWED = "+15105550100"
REGISTER = {
    "phone_number": OWN_E164,
    "provider": "twilio",
    "enable_outbound": True,
    "outbound_address": "example.pstn.twilio.com",
    "auth_username": "lk-user",
    "auth_password": "gate-pw-0000",
    "transfer_config": {"allowed_destinations": [f"tel:{ALLOWED}"], "warm_transfer_enabled": True},
    "metadata": {"agent_name": "gate-agent"},
}
CONFIGURE = {
    "sip_trunk": {
        "name": "main",
        "address": "sip.telnyx.com",
        "numbers": ["+14155550123"],
        "auth_username": "u1",
        "auth_password": "gate-pw-1111",
    },
    "dispatch_rule": {"rule_name": "support", "room_prefix": "support-", "agent_name": "support-agent"},
}


# ---------------------------------------------------------------- seeding


def own_number(user_id: str, e164: str = "+14155550123") -> str:
    """A number owned by `user_id`, as the review workflow leaves it (assigned, unconfigured)."""
    return seeding.own_number(user_id, e164, id_prefix="pn_gate")


def register(world: Any, token: str, **change: Any) -> dict[str, Any]:
    reply = world.client.post(f"/agents/{AGENT}/phone-numbers", token=token, json_body={**REGISTER, **change})
    assert reply.status == 201, reply.body
    return reply.json()  # type: ignore[no-any-return]


def place_call(world: Any, token: str, callee: str = CALLEE, *, answer_ms: int = 30, **body: Any) -> str:
    world.livekit.set_outcome(callee, "answer", after_ms=answer_ms)
    reply = world.client.post("/outbound-calls/create", token=token, json_body={"phone_number": callee, **body})
    assert reply.status == 201, reply.body
    return str(reply.json()["call_id"])


def call_status(world: Any, token: str, call_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
    return wait_for(
        lambda: world.client.get(f"/outbound-calls/{call_id}/details", token=token).json(),
        lambda body: body.get("status") == status,
        timeout,
        f"call {call_id} to become {status}",
    )


def recording_status(world: Any, token: str, call_id: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
    """The call's recording once it is `status`."""
    details = wait_for(
        lambda: world.client.get(f"/outbound-calls/{call_id}/details", token=token).json(),
        lambda body: (body.get("recording") or {}).get("status") == status,
        timeout,
        f"the recording of call {call_id} to become {status}",
    )
    return details["recording"]  # type: ignore[no-any-return]


def call_in_progress(world: Any, token: str, callee: str = CALLEE) -> str:
    call_id = place_call(world, token, callee)
    call_status(world, token, call_id, "in_progress")
    return call_id


def inbound_call_in_progress(world: Any, token: str, caller: str = "+13125550188") -> str:
    """A call to alice's registered number, answered by its agent (the emulator places it as a caller would)."""
    placed = world.livekit.place_inbound(caller, OWN_E164, answer_after_ms=30)
    assert placed["result"] == "accepted", placed
    found = wait_for(
        lambda: world.client.get("/calls?direction=inbound&status=in_progress", token=token).json()["items"],
        lambda items: any(c["room_name"] == placed["room"] for c in items),
        10.0,
        "the inbound call to be in progress",
    )
    return str(next(c["call_id"] for c in found if c["room_name"] == placed["room"]))


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str) -> Any:
    deadline = time.time() + timeout
    value = read()
    while not done(value):
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last: {value}")
        time.sleep(0.05)
        value = read()
    return value


def pending_request(world: Any, token: str, e164: str = "+14155550177", *, with_token: bool = False) -> str:
    reply = world.client.post(
        "/telephony/phone-number-requests", token=token, json_body={"phone_number": e164, "country": "US"}
    )
    assert reply.status == 201, reply.body
    rid = str(reply.json()["request_id"])
    if with_token:  # the workflow's AwaitReview step has stored its task token: decisions resume it
        from telephony.repositories.store import default_store

        wait_for(lambda: default_store().requests.get(rid), lambda r: bool(r and r.task_token), 10, "token")
    return rid


# ---------------------------------------------------------------- what exists


def scan(table_env: str) -> list[dict[str, Any]]:
    """Every item of a table (by its environment variable), unmarshalled."""
    import os

    from telephony import aws
    from telephony.repositories import dynamo

    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": os.environ[table_env]}
    while True:
        page = aws.dynamodb().scan(**kwargs)
        items += [dynamo.unmarshal(i) for i in page.get("Items", [])]
        if not page.get("LastEvaluatedKey"):
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def number_items() -> list[dict[str, Any]]:
    return [i for i in scan("NUMBERS_TABLE") if i["pk"].startswith("NUMBER#")]


def livekit_ids(world: Any) -> set[str]:
    state = world.livekit.state()
    return {t["sipTrunkId"] for t in state["inbound_trunks"] + state["outbound_trunks"]} | {
        r["sipDispatchRuleId"] for r in state["dispatch_rules"]
    }


def recorded_ids() -> set[str]:
    ids: set[str] = set()
    for item in number_items():
        ids |= set((item.get("livekit") or {}).values())
    return ids


def assert_consistent(world: Any) -> None:
    """No orphan in LiveKit, no dangling id in the table, no provisioning lock left behind."""
    assert livekit_ids(world) == recorded_ids(), (livekit_ids(world), recorded_ids())
    assert [i["phone_number_id"] for i in number_items() if i.get("config_lock")] == []


def livekit_calls(world: Any) -> int:
    """Requests the API made to LiveKit so far, any method."""
    return sum(world.livekit.state()["counts"].values())


# ---------------------------------------------------------------- concurrency


def at_once(n: int, work: Callable[[int], Reply]) -> list[Reply]:
    """`n` requests released together from `n` threads, as `n` Lambda invocations would arrive."""
    start = threading.Barrier(n)

    def run(i: int) -> Reply:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def statuses(replies: list[Reply]) -> dict[int, int]:
    counted: dict[int, int] = {}
    for reply in replies:
        counted[reply.status] = counted.get(reply.status, 0) + 1
    return dict(sorted(counted.items()))


# ---------------------------------------------------------------- AWS faults


class _Http:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code
        self.headers: dict[str, str] = {}
        self.content = b""


@contextlib.contextmanager
def aws_fault(
    service: str,
    operation: str,
    code: str,
    *,
    times: int = 1,
    status: int = 400,
    reasons: list[str] | None = None,
    when: Callable[[dict[str, Any]], bool] = lambda params: True,
) -> Iterator[list[int]]:
    """The next `times` calls of `operation` (those whose API parameters satisfy `when`) on the product's
    cached `service` client fail with `code`, as AWS answers after its own retries (a
    TransactionCanceledException carries `reasons`). Yields [calls failed so far]."""
    from telephony import aws

    client = aws.client(service)
    event = f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}"
    failed = [0]
    lock = threading.Lock()

    def fail(params: dict[str, Any], **_: Any) -> Any:
        body = params.get("body") or b"{}"
        if not when(json.loads(body)):
            return None
        with lock:
            if failed[0] >= times:
                return None
            failed[0] += 1
        parsed: dict[str, Any] = {
            "Error": {"Code": code, "Message": f"injected {code}"},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "gate"},
        }
        if reasons is not None:
            parsed["CancellationReasons"] = [{"Code": r, "Message": r} for r in reasons]
        return _Http(status), parsed

    client.meta.events.register(event, fail, unique_id=f"gate-{event}")
    try:
        yield failed
    finally:
        client.meta.events.unregister(event, unique_id=f"gate-{event}")


@pytest.fixture
def relaxed_budgets(world: Any) -> None:
    """Limits wide enough for a test that makes many requests and calls; the limits are tested on their own."""
    for user_id in ("usr_alice", "usr_bob", "usr_admin"):
        seeding.set_limits(
            user_id,
            api_requests_per_hour=100_000,
            api_requests_per_hour_per_user=100_000,
            configurations_per_hour=10_000,
            calls_per_hour=10_000,
            max_concurrent_calls=1_000,
        )


# ---------------------------------------------------------------- figures for docs/RELIABILITY.md

FIGURES: dict[str, Any] = {}


def figure(name: str, value: Any) -> None:
    """A number the gate saw (statuses of a race, faults injected, inputs refused), shown after the run."""
    FIGURES[name] = value


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability gate figures")
    for name in sorted(FIGURES):
        terminalreporter.write_line(f"{name}: {FIGURES[name]}")


# the local stack of the e2e level (`python -m local.stack` on free ports), for the fuzzing test
from tests.e2e.conftest import local_stack  # noqa: E402, F401
