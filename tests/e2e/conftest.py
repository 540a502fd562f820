"""The e2e level: the local stack (`python -m local.stack`, what `make dev` runs) started once per
session on free loopback ports, and plain HTTP against it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    state = tmp_path_factory.mktemp("local-stack")
    ports = {"API_PORT": free_port(), "MOTO_PORT": free_port(), "LIVEKIT_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "LOCAL_STATE_DIR": str(state),
        "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common'}",
    }
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    log = (state / "stack.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "local.stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    credentials = state / "dev-credentials.json"
    deadline = time.time() + 90
    while not credentials.exists() or "ready" not in (state / "stack.log").read_text():
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            raise RuntimeError("the local stack did not start:\n" + (state / "stack.log").read_text()[-3000:])
        time.sleep(0.2)
    try:
        yield json.loads(credentials.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def http(local_stack: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_stack["api_url"], timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
