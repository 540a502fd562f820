"""`local.stack` (what `make dev` runs) with clocks on moto's server, for section 6 of the bench: how much of a
request through the gateway is moto's HTTP server serving the DynamoDB requests the handler makes, and how
much of that is moto's DynamoDB backend itself.

    python -m bench.timed_stack [local.stack's arguments]

Each request the gateway answers is recorded (its route, its wall time inside the gateway, and what moto spent
meanwhile); the records are written as JSON to `$LOCAL_STATE_DIR/timings.json` when the stack stops. The bench
sends one request at a time and switches the emulator's webhooks off, so what moto does during a request is
that request's. The clocks are `perf_counter` calls around three methods: microseconds beside milliseconds.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_spent = {"server": 0.0, "backend": 0.0, "requests": 0}
records: list[dict[str, Any]] = []


def _timed(method: Callable[..., Any], key: str, *, counts: bool = False) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent = time.perf_counter() - began
            with _lock:
                _spent[key] += spent
                if counts:
                    _spent["requests"] += 1

    return timed


def _recorded(handle: Callable[..., Any]) -> Callable[..., Any]:
    def recorded(self: Any, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        with _lock:
            before = dict(_spent)
        began = time.perf_counter()
        try:
            return handle(self, method, target, headers, body)
        finally:
            total = time.perf_counter() - began
            with _lock:
                after = dict(_spent)
            records.append(
                {
                    "method": method,
                    "path": target.split("?", 1)[0],
                    "total_ms": total * 1000,
                    "moto_server_ms": (after["server"] - before["server"]) * 1000,
                    "moto_backend_ms": (after["backend"] - before["backend"]) * 1000,
                    "moto_requests": after["requests"] - before["requests"],
                }
            )

    return recorded


def install() -> None:
    """Clocks on moto's HTTP server (one request, from its request line to its answer written), on moto's
    DynamoDB backend (one operation) and on the gateway (one request)."""
    from moto.dynamodb.responses import DynamoHandler
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    from local.gateway import Gateway

    MotoRequestHandler.handle_one_request = _timed(  # type: ignore[method-assign]
        MotoRequestHandler.handle_one_request, "server", counts=True
    )
    DynamoHandler.call_action = _timed(DynamoHandler.call_action, "backend")  # type: ignore[method-assign]
    Gateway.handle = _recorded(Gateway.handle)  # type: ignore[method-assign]


def write(path: Path) -> None:
    path.write_text(json.dumps(records))


def main() -> None:
    from local import stack

    install()
    atexit.register(write, Path(os.environ.get("LOCAL_STATE_DIR", ".local")) / "timings.json")
    stack.main()


if __name__ == "__main__":
    main()
