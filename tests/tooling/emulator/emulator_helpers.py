"""Helpers for the LiveKit emulator tests (driven only through ``livekit-api`` and plain HTTP)."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from livekit import api

from local.livekit_emulator import Emulator

API_KEY = "emu-test-key"
API_SECRET = "emu-test-secret-0123456789abcdef0123456789"
TRUNK_NUMBER = "+15550001111"

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def run[T](fn: Callable[[api.LiveKitAPI], Awaitable[T]], url: str, key: str = API_KEY, secret: str = API_SECRET) -> T:
    """Runs ``fn(lkapi)`` with a fresh official client."""

    async def main() -> T:
        async with api.LiveKitAPI(url, key, secret) as lk:
            return await fn(lk)

    return asyncio.run(main())


@dataclass
class Client:
    """Sync helpers around the official client, bound to one emulator."""

    emu: Emulator

    @property
    def url(self) -> str:
        assert self.emu.url is not None
        return self.emu.url

    def __call__[T](self, fn: Callable[[api.LiveKitAPI], Awaitable[T]]) -> T:
        return run(fn, self.url)

    def error(self, fn: Callable[[api.LiveKitAPI], Awaitable[Any]]) -> api.TwirpError:
        """Runs ``fn`` and returns the TwirpError it raised (fails if it did not raise)."""
        with pytest.raises(api.TwirpError) as info:
            self(fn)
        return info.value

    # ---- plain HTTP

    def http(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with _NO_PROXY.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def control(self, method: str, name: str, payload: dict[str, Any] | None = None) -> tuple[int, Any]:
        body = json.dumps(payload).encode() if payload is not None else None
        status, _, raw = self.http(method, "/_emulator/" + name, body, {"Content-Type": "application/json"})
        return status, json.loads(raw)

    def state(self) -> dict[str, Any]:
        status, st = self.control("GET", "state")
        assert status == 200
        return st

    def outcome(self, number: str, outcome: str, **kw: Any) -> None:
        status, body = self.control("POST", "outcomes", {"number": number, "outcome": outcome, **kw})
        assert status == 200, body

    # ---- common objects

    def outbound_trunk(self, numbers: list[str] | None = None, address: str = "sip.example.com") -> str:
        trunk = self(
            lambda lk: lk.sip.create_outbound_trunk(
                api.CreateSIPOutboundTrunkRequest(
                    trunk=api.SIPOutboundTrunkInfo(name="out", address=address, numbers=numbers or [TRUNK_NUMBER])
                )
            )
        )
        return trunk.sip_trunk_id

    def dial(self, trunk_id: str, to: str, room: str, **kw: Any) -> api.SIPParticipantInfo:
        return self(
            lambda lk: lk.sip.create_sip_participant(
                api.CreateSIPParticipantRequest(sip_trunk_id=trunk_id, sip_call_to=to, room_name=room, **kw)
            )
        )

    def participants(self, room: str) -> list[Any]:
        return list(self(lambda lk: lk.room.list_participants(api.ListParticipantsRequest(room=room))).participants)

    def call(self, sip_call_id: str) -> dict[str, Any]:
        calls = [c for c in self.state()["calls"] if c["sip_call_id"] == sip_call_id]
        assert len(calls) == 1
        return calls[0]

    def wait_call(
        self, sip_call_id: str, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            c = self.call(sip_call_id)
            if pred(c):
                return c
            if time.monotonic() > deadline:
                raise AssertionError(f"call never reached the expected state: {c}")
            time.sleep(0.01)

    def events(self, room: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.state()["events"] if room is None or e["room"] == room]

    def wait_events(self, room: str, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events(room)
            if len(evs) >= count:
                return evs
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} events for {room}, got {evs}")
            time.sleep(0.01)


def token(
    key: str = API_KEY,
    secret: str = API_SECRET,
    *,
    video: api.VideoGrants | None = None,
    sip: api.SIPGrants | None = None,
    ttl: datetime.timedelta | None = None,
) -> str:
    tok = api.AccessToken(key, secret)
    if video is not None:
        tok.with_grants(video)
    if sip is not None:
        tok.with_sip_grants(sip)
    if ttl is not None:
        tok.with_ttl(ttl)
    return tok.to_jwt()


# ---------------------------------------------------------------------------------- webhooks


@dataclass
class WebhookSink:
    """A tiny local HTTP server collecting webhook deliveries."""

    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return list(self.requests)

    def events(self, key: str = API_KEY, secret: str = API_SECRET) -> list[Any]:
        receiver = api.WebhookReceiver(api.TokenVerifier(key, secret))
        return [receiver.receive(body.decode("utf-8"), headers["Authorization"]) for headers, body in self.received()]

    def wait(self, count: int, timeout: float = 5.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.received()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} webhooks, got {len(self.received())}")
            time.sleep(0.01)
        return self.events()
