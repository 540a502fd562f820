"""Live-call concurrency under races (issue 32): an account's `max_concurrent_calls` holds exactly when many calls
are placed at once, and every way a call ends gives its place back: a hang-up, LiveKit's webhook, a failed dial,
and a call whose end webhook was lost, which the sweep of lost calls ends within its period."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from local.template import Stack
from tests.gate.conftest import call_status, figure, register, wait_for
from tests.support import assert_error

MAX = 5
CALLEES = [f"+1415555{3000 + i:04d}" for i in range(30)]


def live(world: Any, token: str) -> int:
    return int(world.client.get("/account/limits", token=token).json()["usage"]["live_calls"])


def place(world: Any, token: str, callee: str) -> Any:
    return world.client.post("/outbound-calls/create", token=token, json_body={"phone_number": callee})


def set_max(world: Any, keys: Any, value: int) -> None:
    reply = world.client.put(
        "/admin/accounts/usr_alice/limits", token=keys.admin, json_body={"max_concurrent_calls": value}
    )
    assert reply.status == 200 and reply.json()["limits"]["max_concurrent_calls"] == value, reply.body


def backdate(call_id: str, minutes: int) -> None:
    """The call as if it had been placed `minutes` ago (the sweep leaves a call alone while its creation may still
    be running)."""
    from telephony import aws
    from telephony.repositories import dynamo, keys
    from telephony.util import iso

    aws.dynamodb().update_item(
        TableName=dynamo.Table("calls_table").name,
        Key=dynamo.marshal(keys.call(call_id)),
        UpdateExpression="SET created_at = :at",
        ExpressionAttributeValues=dynamo.values(at=iso(datetime.now(UTC) - timedelta(minutes=minutes))),
    )


def test_thirty_calls_at_once_leave_exactly_the_accounts_maximum_live(world, keys):
    register(world, keys.alice)
    set_max(world, keys, MAX)
    for callee in CALLEES:
        world.livekit.set_outcome(callee, "answer", after_ms=100, talk_ms=600_000)
    with ThreadPoolExecutor(max_workers=30) as pool:
        replies = list(pool.map(lambda callee: place(world, keys.alice, callee), CALLEES))
    statuses = sorted(r.status for r in replies)
    figure("concurrency.thirty_at_once", {s: statuses.count(s) for s in set(statuses)})
    assert statuses == [201] * MAX + [429] * (30 - MAX)
    for refused in (r for r in replies if r.status == 429):
        assert_error(refused, 429, "concurrency_limit")
        assert refused.header("Retry-After")
    assert live(world, keys.alice) == MAX
    placed = {r.json()["call_id"] for r in replies if r.status == 201}
    dialled = {c["room_name"] for c in world.livekit.state()["calls"]}
    assert dialled == placed  # the refused calls never reached LiveKit
    stored = world.client.get("/outbound-calls?limit=100", token=keys.alice).json()["items"]
    assert {c["call_id"] for c in stored} == placed  # and were never written


def test_every_way_a_call_ends_gives_its_place_back(world, keys):
    register(world, keys.alice)
    set_max(world, keys, MAX)
    for callee in CALLEES:
        world.livekit.set_outcome(callee, "answer", after_ms=100, talk_ms=600_000)
    calls = [place(world, keys.alice, callee).json()["call_id"] for callee in CALLEES[:MAX]]
    for call_id in calls:
        call_status(world, keys.alice, call_id, "in_progress")
    assert_error(place(world, keys.alice, CALLEES[MAX]), 429, "concurrency_limit")
    hung_up, by_webhook, lost, *kept = calls

    # a hang-up
    assert world.client.post(f"/outbound-calls/{hung_up}/hangup", token=keys.alice).status == 200
    assert live(world, keys.alice) == MAX - 1
    # the callee hangs up: LiveKit's webhook ends it
    world.livekit.hangup(by_webhook)
    call_status(world, keys.alice, by_webhook, "completed")
    assert live(world, keys.alice) == MAX - 2
    # the end webhook is lost: the call stays live until the sweep finds its room gone
    url, world.livekit.webhook_url = world.livekit.webhook_url, None
    try:
        world.livekit.hangup(lost)
        wait_for(lambda: lost in _rooms(world), lambda present: not present, 20, "the lost call's room to close")
    finally:
        world.livekit.webhook_url = url
    assert live(world, keys.alice) == MAX - 2
    backdate(lost, minutes=2)
    swept = world.events.run_schedule("SweepLiveCallsFunction")
    assert swept["calls_ended"] == 1, swept
    ended = world.client.get(f"/outbound-calls/{lost}/details", token=keys.alice).json()
    assert ended["status"] == "completed" and ended["end_reason"] == "room_gone"
    assert live(world, keys.alice) == MAX - 3

    # a failed dial: its place is taken while it is dialled and given back when it fails
    world.livekit.set_outcome(CALLEES[MAX], "fail", after_ms=300)
    failing = place(world, keys.alice, CALLEES[MAX])
    assert failing.status == 201
    call_status(world, keys.alice, failing.json()["call_id"], "failed")
    assert live(world, keys.alice) == len(kept)

    # as many fit again as have ended, and not one more
    more = [place(world, keys.alice, callee) for callee in CALLEES[MAX + 1 : MAX + 5]]
    assert [r.status for r in more] == [201] * (MAX - len(kept)) + [429]
    assert live(world, keys.alice) == MAX


def test_the_sweep_runs_at_least_once_a_minute():
    """A lost end holds a place one sweep period at most (plus the minute a call is left alone while it may still
    be being placed): the template's schedule is that period."""
    (sweep,) = [e for e in Stack().event_sources() if e.function == "SweepLiveCallsFunction"]
    assert sweep.kind == "Schedule" and sweep.properties["Schedule"] == "rate(1 minute)"


def _rooms(world: Any) -> set[str]:
    return {r["name"] for r in world.livekit.state()["rooms"]}


def test_a_lost_call_is_swept_once_its_creation_cannot_be_running(world, keys):
    """A call placed moments ago may still be reaching LiveKit: the sweep leaves it alone until it is older than
    any request can run, then ends it."""
    register(world, keys.alice)
    world.livekit.set_outcome(CALLEES[0], "answer", after_ms=100, talk_ms=600_000)
    call_id = place(world, keys.alice, CALLEES[0]).json()["call_id"]
    call_status(world, keys.alice, call_id, "in_progress")
    url, world.livekit.webhook_url = world.livekit.webhook_url, None
    try:
        world.livekit.hangup(call_id)
        wait_for(lambda: call_id in _rooms(world), lambda present: not present, 20, "the room to close")
    finally:
        world.livekit.webhook_url = url
    assert world.events.run_schedule("SweepLiveCallsFunction")["calls_ended"] == 0  # too young yet
    backdate(call_id, minutes=1)
    assert world.events.run_schedule("SweepLiveCallsFunction")["calls_ended"] == 1
    assert live(world, keys.alice) == 0


def test_a_place_given_back_twice_counts_once_and_one_never_given_back_is_swept(world, keys):
    """A call's place is given back in a transaction of its own after its end: giving it back again (a second
    writer, the sweep) changes nothing, and a place whose giving back was lost (the function died after the end)
    is found by the sweep beside its ended call and given back."""
    from telephony.repositories import accounts, dynamo

    register(world, keys.alice)
    set_max(world, keys, MAX)
    world.livekit.set_outcome(CALLEES[0], "answer", after_ms=100, talk_ms=600_000)
    world.livekit.set_outcome(CALLEES[1], "answer", after_ms=100, talk_ms=600_000)
    ended, kept = (place(world, keys.alice, c).json()["call_id"] for c in CALLEES[:2])
    call_status(world, keys.alice, kept, "in_progress")
    assert world.client.post(f"/outbound-calls/{ended}/hangup", token=keys.alice).status == 200
    assert live(world, keys.alice) == 1
    assert accounts.give_back("usr_alice", [ended]) == 0  # given back already
    assert accounts.give_back("usr_bob", [kept]) == 0  # another account's place is not bob's to give
    assert live(world, keys.alice) == 1

    # the ended call's place counted again, as if its end had never given it back
    dynamo.transact(accounts.occupy("usr_alice", [ended], max_live=MAX))
    assert live(world, keys.alice) == 2
    swept = world.events.run_schedule("SweepLiveCallsFunction")
    assert swept["ids_repaired"] == 1 and swept["calls_ended"] == 0, swept
    assert live(world, keys.alice) == 1
