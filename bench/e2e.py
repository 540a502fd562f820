"""create-call end to end through the local stack (`local.stack`, what `make dev` runs, with clocks on
moto: bench/timed_stack.py), beside the bare `livekit-api` calls it makes (CreateDispatch +
CreateSIPParticipant) against the same emulator, measured in alternation. Everything listens on free
loopback ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.stats import median
from bench.world import AGENT_ID, SLOW_CALLEE, Failure, register_body
from local.template import Stack

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class E2EResult:
    create_ms: list[float] = field(default_factory=list)  # POST /outbound-calls/create through the gateway
    bare_ms: list[float] = field(default_factory=list)  # CreateDispatch + CreateSIPParticipant, livekit-api
    stats_ms: list[float] = field(default_factory=list)  # GET /outbound-calls/stats through the gateway
    moto_ms: list[float] = field(default_factory=list)  # one DynamoDB GetItem against the stack's moto server
    # For each measured create-call, what moto spent serving its DynamoDB requests (bench/timed_stack.py):
    create_moto_server_ms: list[float] = field(default_factory=list)  # moto's HTTP server, request line to answer
    create_moto_backend_ms: list[float] = field(default_factory=list)  # moto's DynamoDB backend, the operations
    create_moto_requests: list[int] = field(default_factory=list)
    startup_s: float = 0.0

    def ratio(self) -> float:
        return median(self.create_ms) / median(self.bare_ms)

    def without_moto_ms(self) -> list[float]:
        """Each create-call's time less what moto's server spent serving it: the gateway, the handler, botocore's
        client side and the two LiveKit calls."""
        return [total - moto for total, moto in zip(self.create_ms, self.create_moto_server_ms, strict=True)]


def moto_share(records: list[dict[str, Any]], result: E2EResult, *, method: str, path: str, rounds: int) -> None:
    """Put the stack's records of the last `rounds` requests to `method path` (the measured ones, the warm-up
    came first) into `result`; a stack that recorded fewer, or none, is a broken benchmark."""
    mine = [r for r in records if r["method"] == method and r["path"] == path][-rounds:] if rounds else []
    if len(mine) != rounds:
        raise Failure(f"the stack recorded {len(mine)} of the {rounds} measured {method} {path} requests")
    if not all(r["moto_requests"] for r in mine):  # every create-call reads and writes DynamoDB
        raise Failure(f"moto's clocks saw no DynamoDB request during a measured {method} {path}")
    result.create_moto_server_ms = [r["moto_server_ms"] for r in mine]
    result.create_moto_backend_ms = [r["moto_backend_ms"] for r in mine]
    result.create_moto_requests = [r["moto_requests"] for r in mine]


class LocalStack:
    """The local stack in its own process, as tests/e2e/conftest.py starts it, with clocks on moto."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-stack-")
        self.state = Path(self._tmp.name)
        self.ports = {"API_PORT": free_port(), "MOTO_PORT": free_port(), "LIVEKIT_PORT": free_port()}
        self.process: subprocess.Popen[bytes] | None = None
        self.records: list[dict[str, Any]] = []  # bench/timed_stack.py's, read when the stack has stopped

    def __enter__(self) -> LocalStack:
        env = {
            **os.environ,
            **{k: str(v) for k, v in self.ports.items()},
            "LOCAL_STATE_DIR": str(self.state),
            "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common'}",
        }
        for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
            env.pop(name, None)
        log_path = self.state / "stack.log"
        self._log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.timed_stack"], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        credentials = self.state / "dev-credentials.json"
        deadline = time.time() + 120
        while not credentials.exists() or "ready" not in log_path.read_text():
            if self.process.poll() is not None or time.time() > deadline:
                self.process.kill()
                raise RuntimeError("the local stack did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.2)
        self.credentials: dict[str, Any] = json.loads(credentials.read_text())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        timings = self.state / "timings.json"
        if timings.exists():
            self.records = json.loads(timings.read_text())
        self._log.close()
        self._tmp.cleanup()


class BareLiveKit:
    """The official client on its own event loop, kept open like the service's per-container client."""

    def __init__(self, url: str, key: str, secret: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = self.loop.run_until_complete(self._open(url, key, secret))

    @staticmethod
    async def _open(url: str, key: str, secret: str) -> Any:
        from livekit import api

        return api.LiveKitAPI(url, key, secret)

    def place(self, room: str, trunk_id: str, callee: str, from_number: str) -> None:
        """What create-call asks LiveKit for: dispatch the agent into the room, then dial the callee."""
        from livekit import api

        async def both() -> None:
            metadata = json.dumps({"call_id": room, "phone_number": callee, "from_number": from_number})
            await self.client.agent_dispatch.create_dispatch(
                api.CreateAgentDispatchRequest(agent_name="bench-agent", room=room, metadata=metadata)
            )
            request = api.CreateSIPParticipantRequest(
                sip_trunk_id=trunk_id,
                sip_call_to=callee,
                sip_number=from_number,
                room_name=room,
                participant_identity=f"sip-{room}",
                participant_name=callee,
                participant_attributes={"call_id": room},
                krisp_enabled=True,
                wait_until_answered=False,
            )
            request.ringing_timeout.FromSeconds(30)
            request.max_call_duration.FromSeconds(3600)
            await self.client.sip.create_sip_participant(request)

        self.loop.run_until_complete(both())

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def run(*, iterations: int, warmup: int, log: Callable[[str], None]) -> E2EResult:
    import boto3
    import httpx

    result = E2EResult()
    started = time.monotonic()
    with LocalStack() as stack:
        result.startup_s = time.monotonic() - started
        credentials = stack.credentials
        api_url, livekit = credentials["api_url"], credentials["livekit"]
        key = credentials["users"][0]["api_key"]
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=api_url, timeout=30) as http:
            outcome = {"number": SLOW_CALLEE, "outcome": "answer", "after_ms": 3_600_000}
            http.post(f"{livekit['url']}/_emulator/outcomes", json=outcome).raise_for_status()
            registered = http.post(
                f"/agents/{AGENT_ID}/phone-numbers", headers=headers, json=register_body("+14155550142")
            )
            if registered.status_code != 201:
                raise Failure(f"registering the outbound number: {registered.status_code} {registered.text[:300]}")
            number = registered.json()
            # Each measured call rings for an hour, so all of them are live at once: the admin lets the account
            # hold that many (its default is 10 live calls).
            admin = {"Authorization": f"Bearer {credentials['admin']['api_key']}"}
            user_id = credentials["users"][0]["user_id"]
            limits = {"max_concurrent_calls": iterations + warmup}
            raised = http.put(f"/admin/accounts/{user_id}/limits", headers=admin, json=limits)
            if raised.status_code != 200:
                raise Failure(f"raising the live-call limit: {raised.status_code} {raised.text[:300]}")
            # No webhooks while measuring: the stack would be busy applying them beside the next request.
            http.post(f"{livekit['url']}/_emulator/webhook", json={"url": None}).raise_for_status()
            bare = BareLiveKit(livekit["url"], livekit["api_key"], livekit["api_secret"])
            table = Stack().physical_name("CallsTable")
            dynamodb = boto3.session.Session().client(
                "dynamodb",
                endpoint_url=f"http://{HOST}:{stack.ports['MOTO_PORT']}",
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
            try:
                for i in range(iterations + warmup):
                    body = {"phone_number": SLOW_CALLEE, "system_prompt": "Be brief", "welcome_message": "Hi!"}
                    began = time.perf_counter()
                    reply = http.post("/outbound-calls/create", headers=headers, json=body)
                    create = time.perf_counter() - began
                    if reply.status_code != 201:
                        raise Failure(f"create-call through the gateway: {reply.status_code} {reply.text[:300]}")
                    began = time.perf_counter()
                    bare.place(f"call_bare{i:05d}", number["outbound_trunk_id"], SLOW_CALLEE, number["phone_number"])
                    pair = time.perf_counter() - began
                    began = time.perf_counter()
                    reply = http.get("/outbound-calls/stats", headers=headers)
                    stats = time.perf_counter() - began
                    if reply.status_code != 200:
                        raise Failure(f"stats through the gateway: {reply.status_code}")
                    began = time.perf_counter()
                    dynamodb.get_item(TableName=table, Key={"pk": {"S": "CALL#none"}, "sk": {"S": "ITEM"}})
                    moto = time.perf_counter() - began
                    if i >= warmup:
                        result.create_ms.append(create * 1000)
                        result.bare_ms.append(pair * 1000)
                        result.stats_ms.append(stats * 1000)
                        result.moto_ms.append(moto * 1000)
            finally:
                bare.close()
    moto_share(stack.records, result, method="POST", path="/outbound-calls/create", rounds=iterations)
    log(f"  end to end: {iterations} rounds done")
    return result
