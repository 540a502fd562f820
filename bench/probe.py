"""Time spent waiting on AWS and on LiveKit during one handler call, and the requests made.

AWS: two `before-send` handlers are placed around moto's stubber in botocore's BUILTIN_HANDLERS
(first and last), so the bracket is exactly moto doing the service's work (what the network and
DynamoDB would take); botocore's own serialising, signing and parsing stay in the handler's time,
as they would on Lambda. `after-call` records how many items a Query or Scan read.
LiveKit: `LiveKit._run` is wrapped (the request and the wait on the SDK's event loop thread), and
its `calls` counter is read as well.

Only requests made on the thread that is being measured count; the emulator's and the gateway's
threads are ignored.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


@dataclass
class Snapshot:
    aws_ns: int = 0  # moto doing the service's work (what the network and AWS would take)
    client_ns: int = 0  # botocore around it: serialising, signing, parsing (part of the handler's own time)
    livekit_ns: int = 0
    ops: Counter[str] = field(default_factory=Counter)  # "dynamodb.GetItem" -> n
    livekit_calls: int = 0
    livekit_counter: int = 0  # the integration's own LiveKit.calls, for cross-checking
    items_read: int = 0  # ScannedCount of Query/Scan, items of GetItem

    def dynamodb(self) -> int:
        return sum(n for op, n in self.ops.items() if op.startswith("dynamodb."))

    def dynamodb_reads(self) -> int:
        return sum(n for op, n in self.ops.items() if op.startswith("dynamodb.") and op.split(".", 1)[1] in READS)

    def dynamodb_writes(self) -> int:
        return self.dynamodb() - self.dynamodb_reads()

    def other_aws(self) -> int:
        return sum(n for op, n in self.ops.items() if not op.startswith("dynamodb."))

    def count(self, op: str) -> int:
        return sum(n for name, n in self.ops.items() if name.split(".", 1)[1] == op)


class Probe:
    """Installed once per process, before the first AWS client is created."""

    def __init__(self) -> None:
        self._thread: int | None = None
        self._started = 0
        self._livekit_before = 0
        self.current = Snapshot()
        self._installed = False
        self.profiler: Any = None  # a cProfile.Profile to pause while moto works (own-time profiles)

    # ------------------------------------------------------------ installation
    def install(self) -> Probe:
        if self._installed:
            return self
        import moto.core.models  # noqa: F401 - its stubber must already be in BUILTIN_HANDLERS
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.insert(0, ("before-send", self._before_send))
        BUILTIN_HANDLERS.append(("before-send", self._after_send))
        BUILTIN_HANDLERS.append(("after-call", self._after_call))
        self._wrap_botocore()
        self._wrap_livekit()
        self._installed = True
        return self

    def _wrap_botocore(self) -> None:
        from botocore.client import BaseClient

        original = BaseClient._make_api_call  # type: ignore[attr-defined]
        probe = self

        def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
            if not probe._measuring():
                return original(self, operation_name, api_params)
            started, before = time.perf_counter_ns(), probe.current.aws_ns
            try:
                return original(self, operation_name, api_params)
            finally:
                probe.current.client_ns += time.perf_counter_ns() - started - (probe.current.aws_ns - before)

        BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]

    def _wrap_livekit(self) -> None:
        from telephony.integrations.livekit import LiveKit

        original = LiveKit._run
        if getattr(original, "__bench_probe__", False):
            return
        probe = self

        def _run(self: Any, call: Any, *, timeout: float | None = None) -> Any:
            if not probe._measuring():
                return original(self, call, timeout=timeout)
            if probe.profiler is not None:
                probe.profiler.disable()
            started = time.perf_counter_ns()
            try:
                return original(self, call, timeout=timeout)
            finally:
                probe.current.livekit_ns += time.perf_counter_ns() - started
                probe.current.livekit_calls += 1
                if probe.profiler is not None:
                    probe.profiler.enable()

        _run.__bench_probe__ = True  # type: ignore[attr-defined]
        LiveKit._run = _run  # type: ignore[method-assign]

    # ------------------------------------------------------------ measuring
    def _measuring(self) -> bool:
        return self._thread == threading.get_ident()

    def start(self) -> None:
        self.current = Snapshot()
        self._livekit_before = _livekit_counter()
        self._thread = threading.get_ident()

    def stop(self) -> Snapshot:
        self._thread = None
        self.current.livekit_counter = _livekit_counter() - self._livekit_before
        return self.current

    def _before_send(self, **kwargs: Any) -> None:
        if self._measuring():
            if self.profiler is not None:
                self.profiler.disable()
            self._started = time.perf_counter_ns()

    def _after_send(self, event_name: str = "", **kwargs: Any) -> None:
        if self._measuring():
            self.current.aws_ns += time.perf_counter_ns() - self._started
            if self.profiler is not None:
                self.profiler.enable()
            _, service, operation = event_name.split(".", 2)
            self.current.ops[f"{service}.{operation}"] += 1

    def _after_call(self, event_name: str = "", parsed: Any = None, **kwargs: Any) -> None:
        if not self._measuring() or not isinstance(parsed, dict):
            return
        operation = event_name.rsplit(".", 1)[-1]
        if operation in ("Query", "Scan"):
            self.current.items_read += int(parsed.get("ScannedCount", parsed.get("Count", 0)) or 0)
        elif operation == "GetItem" and parsed.get("Item"):
            self.current.items_read += 1


def _livekit_counter() -> int:
    from telephony.integrations import livekit

    default = livekit._default
    return default.calls if default is not None else 0
