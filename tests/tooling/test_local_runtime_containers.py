"""The local runtime runs each function as Lambda does: one event at a time per container, a new container when all
are busy. Two requests to one function in flight together are served by two containers, each with its own resolver
and its own event."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from telephony.errors import NotFound
from tests.support import assert_error


def test_concurrent_invocations_of_a_function_never_share_a_resolver(world, keys, monkeypatch):
    from telephony.services import calls

    # Given a service that holds every request inside the handler until both are there
    both_inside = threading.Barrier(2, timeout=20)

    def details(call_id: str, **_: Any) -> Any:
        both_inside.wait()
        raise NotFound(f"no call {call_id}")

    monkeypatch.setattr(calls, "details", details)

    # When two requests to the same function are in flight together
    def get(call_id: str) -> Any:
        return world.client.get(f"/outbound-calls/{call_id}/details", token=keys.alice)

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(get, ["call_first", "call_second"])

    # Then each was answered about its own request, by a container of its own
    assert assert_error(first, 404)["message"] == "no call call_first"
    assert assert_error(second, 404)["message"] == "no call call_second"
    assert first.json()["error"]["request_id"] != second.json()["error"]["request_id"]
    assert world.runtime.loaded["GetCallDetailsFunction"] == 2

    # and an idle container serves the next request, rather than a new one
    monkeypatch.setattr(calls, "details", lambda call_id, **_: (_ for _ in ()).throw(NotFound("gone")))
    assert_error(get("call_third"), 404)
    assert world.runtime.loaded["GetCallDetailsFunction"] == 2
