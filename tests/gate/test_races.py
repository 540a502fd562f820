"""Real concurrency: requests released together from threads against the in-process gateway, which
serves them like separate Lambda invocations (local/patches.py). Uniqueness, budgets, state changes
and provisioning must hold with no read-then-write window."""

from __future__ import annotations

import pytest

from tests.gate.conftest import (
    AGENT,
    CALLEE,
    CONFIGURE,
    REGISTER,
    assert_consistent,
    at_once,
    call_in_progress,
    figure,
    livekit_ids,
    number_items,
    own_number,
    pending_request,
    register,
    scan,
    statuses,
    wait_for,
)

N = 20


def claims() -> dict[str, dict]:
    return {i["e164"]: i for i in scan("NUMBERS_TABLE") if i["pk"].startswith("E164#")}


def test_twenty_identical_number_requests_one_wins(world, keys):
    e164 = "+14155550177"
    tokens = [world.issuer.mint(f"usr_race_{i}") for i in range(N)]
    body = {"phone_number": e164, "country": "US"}
    replies = at_once(
        N, lambda i: world.client.post("/telephony/phone-number-requests", token=tokens[i], json_body=body)
    )
    figure("races.identical_number_requests", statuses(replies))
    assert statuses(replies) == {201: 1, 409: N - 1}
    (winner,) = [r.json() for r in replies if r.status == 201]
    requests = [i for i in scan("REQUESTS_TABLE") if i.get("phone_number") == e164 and i["sk"] == "ITEM"]
    assert [r["request_id"] for r in requests] == [winner["request_id"]]
    assert claims()[e164]["owner_id"] == winner["user_id"]


def test_twenty_requests_over_the_five_an_hour_budget_exactly_five_pass(world, keys):
    numbers = [f"+1415555{1000 + i:04d}" for i in range(N)]
    replies = at_once(
        N,
        lambda i: world.client.post(
            "/telephony/phone-number-requests",
            token=keys.alice,
            json_body={"phone_number": numbers[i], "country": "US"},
        ),
    )
    figure("races.requests_over_budget", statuses(replies))
    assert statuses(replies) == {201: 5, 429: N - 5}
    accepted = {r.json()["phone_number"] for r in replies if r.status == 201}
    assert all(r.header("Retry-After") for r in replies if r.status == 429)
    # a refused request left nothing behind: no request item, no claim on its number
    listed = world.client.get("/telephony/phone-number-requests", token=keys.alice).json()["items"]
    assert {r["phone_number"] for r in listed} == accepted
    assert {n for n in claims() if n in numbers} == accepted


def test_double_approval_at_once_one_wins(world, keys):
    rid = pending_request(world, keys.alice, with_token=True)
    path = f"/admin/phone-number-requests/{rid}/approve"
    replies = at_once(2, lambda i: world.client.post(path, token=(keys.admin, keys.admin_jwt)[i], json_body={}))
    figure("races.double_approval", statuses(replies))
    assert statuses(replies) == {200: 1, 409: 1}
    assigned = wait_for(
        lambda: world.client.get(f"/telephony/phone-number-requests/{rid}", token=keys.alice).json(),
        lambda r: r["status"] == "assigned",
        10,
        "the assignment",
    )
    assert [n["phone_number_id"] for n in number_items()] == [assigned["phone_number_id"]]


def test_approve_and_reject_at_once_one_decision_holds(world, keys):
    rid = pending_request(world, keys.alice, with_token=True)
    base = f"/admin/phone-number-requests/{rid}"
    replies = at_once(
        2,
        lambda i: world.client.post(
            f"{base}/approve" if i == 0 else f"{base}/reject",
            token=keys.admin,
            json_body={} if i == 0 else {"reason": "x"},
        ),
    )
    figure("races.approve_vs_reject", statuses(replies))
    assert statuses(replies) == {200: 1, 409: 1}
    won = "assigned" if replies[0].status == 200 else "rejected"
    final = wait_for(
        lambda: world.client.get(f"/telephony/phone-number-requests/{rid}", token=keys.alice).json(),
        lambda r: r["status"] in ("assigned", "rejected", "failed"),
        10,
        "the decision to land",
    )
    assert final["status"] == won
    assert len(number_items()) == (1 if won == "assigned" else 0)


def test_twenty_creates_with_one_idempotency_key_place_one_call(world, keys, relaxed_budgets):
    register(world, keys.alice)
    world.livekit.set_outcome(CALLEE, "answer", after_ms=5000)
    headers = {"idempotency-key": "race-1"}
    body = {"phone_number": CALLEE}
    replies = at_once(
        N, lambda i: world.client.post("/outbound-calls/create", token=keys.alice, headers=headers, json_body=body)
    )
    figure("races.idempotent_creates", statuses(replies))
    assert set(statuses(replies)) <= {201, 409}, statuses(replies)
    call_ids = {r.json()["call_id"] for r in replies if r.status == 201}
    assert len(call_ids) == 1
    state = world.livekit.state()
    assert len(state["calls"]) == 1 and len(state["dispatches"]) == 1
    participants = [p for room in state["rooms"] for p in room["participants"]]
    assert len(participants) == 1
    # once done, the key replays the one response
    again = world.client.post("/outbound-calls/create", token=keys.alice, headers=headers, json_body=body)
    assert again.status == 201 and again.json()["call_id"] in call_ids
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["total_calls"] == 1


def test_twenty_creates_with_distinct_keys_place_twenty_calls(world, keys, relaxed_budgets):
    register(world, keys.alice)
    world.livekit.set_outcome(CALLEE, "answer", after_ms=5000)
    replies = at_once(
        N,
        lambda i: world.client.post(
            "/outbound-calls/create",
            token=keys.alice,
            headers={"idempotency-key": f"distinct-{i}"},
            json_body={"phone_number": CALLEE},
        ),
    )
    figure("races.distinct_creates", statuses(replies))
    assert statuses(replies) == {201: N}
    assert len({r.json()["call_id"] for r in replies}) == N
    assert len(world.livekit.state()["calls"]) == N
    assert world.client.get("/outbound-calls/stats", token=keys.alice).json()["total_calls"] == N


def test_concurrent_configures_of_one_number_leave_one_configuration(world, keys, relaxed_budgets):
    pid = own_number("usr_alice")

    def configure(i: int):
        body = {**CONFIGURE, "dispatch_rule": {**CONFIGURE["dispatch_rule"], "rule_name": f"rule-{i}"}}
        return world.client.post(f"/outbound-calls/phone-numbers/{pid}/configure", token=keys.alice, json_body=body)

    replies = at_once(N, configure)
    figure("races.concurrent_configures", statuses(replies))
    assert set(statuses(replies)) <= {200, 409}, statuses(replies)
    assert statuses(replies).get(200, 0) >= 1
    state = world.livekit.state()
    assert (len(state["inbound_trunks"]), len(state["outbound_trunks"]), len(state["dispatch_rules"])) == (1, 1, 1)
    assert_consistent(world)
    stored = world.client.get(f"/outbound-calls/phone-numbers/{pid}/configuration", token=keys.alice).json()
    assert stored["dispatch_rule"]["rule_name"] == state["dispatch_rules"][0]["name"]
    assert stored["dispatch_rule"]["rule_name"] in {
        r.json()["dispatch_rule"]["rule_name"] for r in replies if r.status == 200
    }


def test_configure_and_delete_at_once_stay_consistent(world, keys, relaxed_budgets):
    pid = own_number("usr_alice")
    base = f"/outbound-calls/phone-numbers/{pid}"

    def work(i: int):
        if i % 2:
            return world.client.delete(f"{base}/configuration?config_type=all", token=keys.alice)
        return world.client.post(f"{base}/configure", token=keys.alice, json_body=CONFIGURE)

    replies = at_once(N, work)
    figure("races.configure_vs_delete", statuses(replies))
    assert set(statuses(replies)) <= {200, 409}, statuses(replies)
    assert_consistent(world)


def test_twenty_registrations_of_one_number_one_wins(world, keys, relaxed_budgets):
    tokens = [world.issuer.mint(f"usr_reg_{i}") for i in range(N)]
    replies = at_once(
        N, lambda i: world.client.post(f"/agents/{AGENT}/phone-numbers", token=tokens[i], json_body=REGISTER)
    )
    figure("races.identical_registrations", statuses(replies))
    assert statuses(replies) == {201: 1, 409: N - 1}
    assert len(number_items()) == 1
    assert len(livekit_ids(world)) == 3  # inbound, outbound, rule: the winner's only
    assert_consistent(world)


def test_twenty_hangups_of_one_call_end_it_once(world, keys, relaxed_budgets):
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)
    replies = at_once(N, lambda i: world.client.post(f"/outbound-calls/{call_id}/hangup", token=keys.alice))
    figure("races.concurrent_hangups", statuses(replies))
    assert set(statuses(replies)) <= {200, 409}, statuses(replies)
    assert all(r.json()["status"] == "completed" for r in replies if r.status == 200)
    world.livekit.flush_webhooks(5)
    stats = world.client.get("/outbound-calls/stats", token=keys.alice).json()
    assert stats["total_calls"] == 1 and stats["by_status"]["completed"] == 1 and stats["answered_calls"] == 1
    assert sum(stats["by_status"].values()) == 1


def test_twenty_revocations_of_one_key_revoke_it(world, keys):
    made = world.client.post("/api-keys", token=keys.alice_jwt, json_body={"name": "race"}).json()
    replies = at_once(N, lambda i: world.client.delete(f"/api-keys/{made['key_id']}", token=keys.alice_jwt))
    figure("races.concurrent_revocations", statuses(replies))
    assert statuses(replies) == {200: N}
    assert len({r.json()["revoked_at"] for r in replies}) == 1
    assert world.client.get("/api-keys", token=made["api_key"]).status == 401


@pytest.mark.parametrize("n", [N])
def test_twenty_event_posts_keep_every_segment(world, keys, relaxed_budgets, n):
    register(world, keys.alice)
    call_id = call_in_progress(world, keys.alice)
    replies = at_once(
        n,
        lambda i: world.client.post(
            f"/outbound-calls/{call_id}/events",
            token=keys.agent,
            json_body={"transcript": [{"role": "agent", "text": f"segment {i}"}]},
        ),
    )
    assert statuses(replies) == {200: n}
    details = world.client.get(f"/outbound-calls/{call_id}/details?include_transcript=true", token=keys.alice).json()
    assert sorted(s["text"] for s in details["transcript"]) == sorted(f"segment {i}" for i in range(n))
