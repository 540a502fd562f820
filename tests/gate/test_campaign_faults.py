"""The campaign engine's step dies at each of its writes (a Lambda that crashes, or times out, just after a write
landed); Step Functions runs the step again. The campaign still completes, every contact is counted once, and no
attempt is dialled twice."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.gate.conftest import figure, register

# Where the step dies, each recognised by the request it has just made
KILL_POINTS: dict[str, tuple[str, Callable[[str], bool]]] = {
    # the attempt claimed, its call not placed: the next run of the step places it
    "after_claim": ("TransactWriteItems", lambda body: ":entry" in body and "in_flight" in body),
    # the call placed, nothing else done in this step
    "after_dial_read": ("BatchGetItem", lambda body: "CALL#" in body),
    # an attempt settled, the rest of the step not done
    "after_settle": ("TransactWriteItems", lambda body: "REMOVE #inflight.#k" in body),
    # a contact skipped (do-not-call), the rest not done
    "after_skip": ("TransactWriteItems", lambda body: '":reason"' in body and "do_not_call" in body),
}


class Killed(Exception):
    """The function dies here."""


@contextlib.contextmanager
def dies_after(operation: str, matches: Callable[[str], bool], *, times: int) -> Iterator[list[int]]:
    """The next `times` requests of `operation` that `matches` are applied, then the function making them dies
    before it reads the answer."""
    from telephony import aws

    client = aws.client("dynamodb")
    event = f"after-call.dynamodb.{operation}"
    killed = [0]
    lock = threading.Lock()

    def kill(http_response: Any = None, parsed: Any = None, model: Any = None, **kwargs: Any) -> None:
        sent = kwargs.get("context", {}).get("campaign_fault_body", "")
        if not matches(sent):
            return
        with lock:
            if killed[0] >= times:
                return
            killed[0] += 1
        raise Killed(f"killed after {operation}")

    def remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b""
        context["campaign_fault_body"] = body.decode() if isinstance(body, bytes) else str(body)

    client.meta.events.register(f"before-call.dynamodb.{operation}", remember, unique_id=f"cf-b-{operation}")
    client.meta.events.register(event, kill, unique_id=f"cf-a-{operation}")
    try:
        yield killed
    finally:
        client.meta.events.unregister(event, unique_id=f"cf-a-{operation}")
        client.meta.events.unregister(f"before-call.dynamodb.{operation}", unique_id=f"cf-b-{operation}")


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_a_step_that_dies_after_any_write_resumes_without_a_second_dial(world, keys, relaxed_budgets, point):
    number = register(world, keys.alice)
    world.livekit.set_outcome("*", "answer", after_ms=5, talk_ms=30)
    callees = [f"+1415555{2000 + i:04d}" for i in range(24)]
    listed = callees[:3]
    assert world.client.post("/dnc", token=keys.alice, json_body={"numbers": listed}).status == 200
    body = {
        "name": f"faults {point}",
        "from_phone_number_id": number["phone_number_id"],
        "contacts": [{"phone_number": n} for n in callees],
        "max_concurrency": 4,
    }
    cid = world.client.post("/campaigns", token=keys.alice, json_body=body).json()["campaign_id"]
    operation, matches = KILL_POINTS[point]

    with dies_after(operation, matches, times=3) as killed:
        assert world.client.post(f"/campaigns/{cid}/start", token=keys.alice).status == 200
        deadline = time.time() + 180
        campaign: dict[str, Any] = {}
        while time.time() < deadline:
            campaign = world.client.get(f"/campaigns/{cid}", token=keys.alice).json()
            if campaign["status"] == "completed":
                break
            time.sleep(0.2)

    figure(f"campaign_faults.{point}.killed", killed[0])
    assert killed[0] > 0, "the fault never fired: the test would prove nothing"
    assert campaign["status"] == "completed", campaign
    counts = campaign["counts"]
    assert counts["answered"] == 21 and counts["skipped"]["do_not_call"] == 3, counts
    assert counts["pending"] == counts["in_progress"] == 0 and campaign["attempts"] == 21
    dialled = [c["participant_attributes"]["call_id"] for c in world.livekit.state()["calls"]]
    assert len(dialled) == len(set(dialled)) == 21, "an attempt was dialled twice"
    to = [c["sip_call_to"] for c in world.livekit.state()["calls"]]
    assert sorted(to) == sorted(callees[3:])
