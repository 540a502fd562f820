"""The local stack's own HTTP servers (the gateway, the LiveKit emulator) answer without Nagle's delay.

Both write an answer's head and body in two writes. With Nagle's algorithm on, the body of every answer on a
kept-alive connection waits for the client's delayed ACK of the head: ~40 ms an answer on Linux. The gateway
had it on, so every request through `make dev` took ~40 ms more than its work (GET /openapi.json: 44 ms, 2.3 ms
with it off). What is checked is the cause, on the server's side of a served connection, not a timing.
"""

from __future__ import annotations

import json
import socket
import urllib.request
from typing import Any

import pytest

from tests.conftest import World


def _nodelay_seen(monkeypatch: pytest.MonkeyPatch, server: Any, url: str, data: bytes | None = None) -> list[int]:
    """TCP_NODELAY of each connection `server` handled while `url` was asked for."""
    seen: list[int] = []
    handler_class = server.RequestHandlerClass
    original = handler_class.handle

    def handle(self: Any) -> None:
        seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        original(self)

    monkeypatch.setattr(handler_class, "handle", handle)
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:  # loopback only
        answer.read()
    return seen


def test_the_gateway_sends_its_answers_without_waiting_for_acks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    server = world.gateway.serve("127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/openapi.json"
        assert _nodelay_seen(monkeypatch, server, url) == [1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_livekit_emulator_sends_its_answers_without_waiting_for_acks(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = world.livekit._server
    url = f"{world.livekit.url}/_emulator/reset"
    assert _nodelay_seen(monkeypatch, server, url, data=json.dumps({}).encode()) == [1]
