"""Fixtures for the LiveKit emulator tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from emulator_helpers import API_KEY, API_SECRET, Client, WebhookSink

from local.livekit_emulator import Emulator


@pytest.fixture(scope="session")
def _emulator_instance() -> Iterator[Emulator]:
    emu = Emulator(api_key=API_KEY, api_secret=API_SECRET)
    emu.start(host="127.0.0.1", port=0)
    yield emu
    emu.stop()


@pytest.fixture
def emulator(_emulator_instance: Emulator) -> Iterator[Emulator]:
    """The shared emulator, reset before each test."""
    _emulator_instance.webhook_url = None
    _emulator_instance.reset()
    yield _emulator_instance
    _emulator_instance.webhook_url = None


@pytest.fixture
def client(emulator: Emulator) -> Client:
    return Client(emulator)


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    """A tiny local HTTP server collecting webhook deliveries."""
    sink_ref: list[WebhookSink] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            sink = sink_ref[0]
            with sink.lock:
                sink.requests.append((dict(self.headers), body))
            self.send_response(sink.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    sink_ref.append(WebhookSink(url=f"http://127.0.0.1:{server.server_address[1]}/livekit/webhook"))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield sink_ref[0]
    server.shutdown()
    server.server_close()
