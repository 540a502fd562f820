"""A number on a do-not-call list (the caller's own or the operator's) never reaches LiveKit: create-call answers 403
`do_not_call` before it spends the calls budget, writes a call or asks LiveKit anything, and the emulator's state
shows no dial, room, dispatch or participant for the number. Taken off the list, the same request places the call:
the refusal was the list's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gate.conftest import CALLEE, figure, register, scan
from tests.support import assert_error


def _calls_charged() -> list[dict[str, Any]]:
    return [i for i in scan("RATE_LIMITS_TABLE") if i["pk"].startswith("RL#calls#")]


def _reaching(world: Any, e164: str) -> dict[str, list[Any]]:
    """Everything of the emulator's state that names the number."""
    state = world.livekit.state()
    return {
        "dials": [c for c in state["calls"] if c["sip_call_to"] == e164],
        "participants": [p for r in state["rooms"] for p in r["participants"] if e164 in (p["name"], p["identity"])],
        "dispatches": [d for d in state["dispatches"] if e164 in str(d.get("metadata", ""))],
    }


@pytest.mark.parametrize("where", ["own", "global"])
def test_a_listed_callee_never_reaches_livekit_and_nothing_is_spent_or_written(world, keys, where):
    # Given alice can place calls, and the callee is on her list or the operator's, written another way
    register(world, keys.alice)
    lister, path = (keys.alice, "/dnc") if where == "own" else (keys.admin, "/admin/dnc")
    made = world.client.post(path, token=lister, json_body={"numbers": ["+1 (415) 555-0199"]})
    assert made.status == 200 and made.json()["numbers"] == [CALLEE], made.body
    world.livekit.set_outcome(CALLEE, "answer", after_ms=30)
    counts = dict(world.livekit.state()["counts"])
    calls_before = scan("CALLS_TABLE")

    # When she calls it, with and without an Idempotency-Key
    for key in (None, "dnc-gate-1"):
        headers = {"idempotency-key": key} if key else {}
        reply = world.client.post(
            "/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE}, headers=headers
        )

        # Then it is refused, naming the list, and nothing reached LiveKit, the calls budget or the calls table
        error = assert_error(reply, 403, "do_not_call")
        assert error["details"] == [
            {"field": "phone_number", "issue": "do_not_call", "lists": ["account" if where == "own" else "global"]}
        ]
    assert world.livekit.state()["counts"] == counts, "LiveKit was asked something for a listed number"
    assert _reaching(world, CALLEE) == {"dials": [], "participants": [], "dispatches": []}
    assert world.livekit.state()["rooms"] == []
    assert _calls_charged() == []
    assert scan("CALLS_TABLE") == calls_before
    assert world.client.get("/outbound-calls", token=keys.alice).json()["items"] == []
    figure(f"dnc.refused_before_livekit.{where}", 2)

    # And once it is off the list, the same request (its Idempotency-Key too) places the call
    prefix = path.removesuffix("/dnc")
    assert world.client.delete(f"{prefix}/dnc/%2B14155550199", token=lister).status == 200
    placed = world.client.post(
        "/outbound-calls/create",
        token=keys.alice,
        json_body={"phone_number": CALLEE},
        headers={"idempotency-key": "dnc-gate-1"},
    )
    assert placed.status == 201, placed.body
    assert len(_reaching(world, CALLEE)["dials"]) == 1
    assert len(_calls_charged()) == 1


def test_another_accounts_list_does_not_stop_a_call(world, keys):
    register(world, keys.alice)
    assert world.client.post("/dnc", token=keys.bob, json_body={"numbers": [CALLEE]}).status == 200
    world.livekit.set_outcome(CALLEE, "answer", after_ms=30)

    placed = world.client.post("/outbound-calls/create", token=keys.alice, json_body={"phone_number": CALLEE})

    assert placed.status == 201, placed.body
    assert len(_reaching(world, CALLEE)["dials"]) == 1
