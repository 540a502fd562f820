"""The local gateway (what `make dev` serves) under many clients at once, and under a client that never sends the
body it announced: every connection is answered, none is reset, and no request holds a worker for long."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.gate.conftest import figure

CLIENTS = 200


def _address(world: Any) -> tuple[str, int]:
    host, port = str(world.livekit.webhook_url).removeprefix("http://").split("/", 1)[0].split(":")
    assert host == "127.0.0.1"
    return host, int(port)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _exchange(address: tuple[str, int], request: bytes, start: threading.Barrier) -> int | str:
    """The status of the answer to `request`, sent on a connection opened together with every other client's;
    the error's name when there is no answer."""
    try:
        start.wait(timeout=60)
        with socket.create_connection(address, timeout=60) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        return _status(answer)
    except OSError as error:
        return type(error).__name__


def test_two_hundred_clients_at_once_are_all_answered(world):
    address = _address(world)
    start = threading.Barrier(CLIENTS)
    host = f"Host: {address[0]}:{address[1]}\r\nConnection: close\r\n"
    requests = [
        # the Swagger page (a function runs) and an authenticated route without credentials (the gateway's own 401)
        f"GET /docs HTTP/1.1\r\n{host}\r\n".encode()
        if i % 2 == 0
        else f"GET /outbound-calls/stats HTTP/1.1\r\n{host}\r\n".encode()
        for i in range(CLIENTS)
    ]
    with ThreadPoolExecutor(CLIENTS) as pool:
        outcomes = list(pool.map(lambda request: _exchange(address, request, start), requests))
    figure("gateway.concurrent_clients_answered", sum(isinstance(o, int) for o in outcomes))
    assert outcomes == [200 if i % 2 == 0 else 401 for i in range(CLIENTS)], sorted(set(map(str, outcomes)))


def test_a_body_that_never_comes_is_refused_within_seconds(world):
    """schemathesis sent `Content-Length: 1` and no body: the worker waited for the client's own timeout."""
    address = _address(world)
    request = f"GET /outbound-calls/phone-numbers HTTP/1.1\r\nHost: {address[0]}\r\nContent-Length: 1\r\n\r\n"
    began = time.monotonic()
    with socket.create_connection(address, timeout=30) as sock:
        sock.sendall(request.encode())
        answer = b""
        while chunk := sock.recv(4096):  # to the end: the gateway closes a connection it could not read
            answer += chunk
    waited = time.monotonic() - began
    assert _status(answer) == 400, answer[:200]
    assert waited < 15, f"answered after {waited:.1f} s"
    figure("gateway.unsent_body_refused_after_s", round(waited, 1))
