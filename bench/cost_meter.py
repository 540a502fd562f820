"""Counts what the lives of bench/lives.py really used, as AWS bills it (bench/cost.py prices it).

While `attached` to a world, the meter sees:
- each API request the world's gateway (local/gateway.py, the template's routes and authorizer with its cache) serves:
  one API Gateway request, its answer's bytes (data out) and its access-log line;
- each Lambda invocation the world's runtime serves (local/runtime.py): its wall time, less the time spent starting an
  execution environment and the meter's own work, split into our own time and the waits on AWS (moto serving the
  request in this process, bracketed by `before-send` handlers placed first and last, as bench/probe.py does), on
  LiveKit (`LiveKit._run`) and on webhook endpoints (`webhook_http.post`); its log output (stdout, where the
  Powertools logger and EMF metrics write) by line;
- each AWS request made inside an invocation, by service and operation (botocore's `before-parameter-build` and
  `after-call` events): DynamoDB's read and write units from the items' real sizes, read from moto before and after
  the request by a client of the meter's own, which nothing counts; SQS's 64 KB chunks; the S3, Secrets Manager, KMS
  and free requests; an AWS request of a service with no price is kept in `unpriced` (the model is then incomplete);
- the one AWS request made outside any invocation that we pay for: LiveKit's egress putting the recording into our
  bucket (the emulator's upload thread).
Requests and invocations of the benchmark's own setup and waiting are outside the lives and not counted.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import re
import sys
import threading
import time
import types
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench.cost import (
    FREE,
    GB,
    Ledger,
    Step,
    Table,
    Tally,
    Usage,
    billed_ms,
    change_units,
    gb_seconds,
    item_kind,
    item_size,
    read_units,
)
from bench.template_info import LambdaSettings

XRAY_SAMPLED = 0.05  # X-Ray's default sampling rule beyond its reservoir of one request a second
S3_PUTS = {"PutObject", "CopyObject", "PostObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}
S3_LISTS = {"ListObjects", "ListObjectsV2", "ListBuckets", "ListObjectVersions", "ListMultipartUploads"}
SQS_CHUNK = 64 * 1024
API_CHUNK = 512 * 1024  # an HTTP API request is metered in 512 KB increments
# A `platform.start` and a `platform.report` record per invocation, as Lambda writes them with the JSON log format
# (system log level INFO) and active tracing: made here with each invocation's own values, for their length.
_TRACE = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=0"


def platform_records(function_version: str, billed: int, duration_ms: float, memory_mb: int) -> list[str]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    request_id = str(uuid.uuid4())
    tracing = {"spanId": "2a1f3c4d5e6f7a8b", "type": "X-Amzn-Trace-Id", "value": _TRACE}
    start = {"time": now, "type": "platform.start", "record": {"requestId": request_id, "version": function_version}}
    report = {
        "time": now,
        "type": "platform.report",
        "record": {
            "requestId": request_id,
            "metrics": {
                "durationMs": round(duration_ms, 3),
                "billedDurationMs": billed,
                "memorySizeMB": memory_mb,
                "maxMemoryUsedMB": 120,
            },
            "tracing": tracing,
            "status": "success",
        },
    }
    return [json.dumps(start, separators=(",", ":")), json.dumps(report, separators=(",", ":"))]


def _now() -> tuple[int, int]:
    """(wall, this thread's CPU) in ns: our own time is CPU time, which the process's other threads (the emulator,
    the gateway serving LiveKit's webhooks) cannot inflate, as they do wall time."""
    return time.perf_counter_ns(), time.thread_time_ns()


@dataclass
class _Invocation:
    step: str
    function: str
    # part -> [wall ns, CPU ns]: "all" the invocation; "init" starting an execution environment (a container of the
    # local runtime); "meter" the meter's own reads of moto; "aws", "livekit", "endpoint" the waits on moto serving a
    # request, on LiveKit, on a webhook endpoint
    spent: dict[str, list[int]] = field(default_factory=lambda: {})
    log: list[str] = field(default_factory=list)

    def add(self, part: str, started: tuple[int, int]) -> None:
        wall, cpu = _now()
        found = self.spent.setdefault(part, [0, 0])
        found[0] += wall - started[0]
        found[1] += cpu - started[1]

    def wall_ms(self, *parts: str) -> float:
        return sum(self.spent.get(p, [0, 0])[0] for p in parts) / 1e6

    def cpu_ms(self, *parts: str) -> float:
        return sum(self.spent.get(p, [0, 0])[1] for p in parts) / 1e6


class _Logs(io.TextIOBase):
    """stdout during the lives: what an invocation writes is its log (per thread), the rest goes where it went."""

    def __init__(self, meter: Meter, fallback: Any) -> None:
        self._meter = meter
        self._fallback = fallback

    def write(self, text: str) -> int:
        invocation = self._meter.current()
        if invocation is None:
            return int(self._fallback.write(text))
        invocation.log.append(text)
        return len(text)

    def flush(self) -> None:
        self._fallback.flush()


class Meter:
    """One per process (`meter()`): its botocore handlers are registered before the world's clients exist."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self.active = False
        self.ledger = Ledger()
        self.tables: dict[str, Table] = {}  # by physical name
        self.functions: dict[str, LambdaSettings] = {}  # by logical id
        self.recordings_bucket = ""
        self.access_log_format = ""
        self.metrics: set[str] = set()  # EMF metrics seen: namespace, name and dimensions
        self.unpriced: Counter[str] = Counter()  # service.operation of requests no price covers
        self.uploads: list[int] = []  # the recordings' sizes, as put into the bucket
        self.errors: list[str] = []  # the meter's own failures: the counts are then wrong
        self._raw: Any = None
        self._undo: list[Callable[[], None]] = []

    # ------------------------------------------------------------ installation
    def handlers(self) -> list[tuple[str, Callable[..., None], bool]]:
        """(event, handler, whether it goes before the others) of the botocore events the meter listens to."""
        return [
            ("before-send", self._guarded(self._send_started), True),
            ("before-send", self._guarded(self._send_answered), False),
            ("before-parameter-build", self._guarded(self._before), False),
            ("after-call", self._guarded(self._after), False),
        ]

    def install(self) -> None:
        """On every botocore session made from now on (botocore's built-in handlers, as bench/probe.py's)."""
        import moto.core.models  # noqa: F401 - its stubber must already be in BUILTIN_HANDLERS, between ours
        from botocore.handlers import BUILTIN_HANDLERS

        for event, handler, first in self.handlers():
            if first:
                BUILTIN_HANDLERS.insert(0, (event, handler))
            else:
                BUILTIN_HANDLERS.append((event, handler))

    def _guarded(self, handler: Callable[..., None]) -> Callable[..., None]:
        """A handler whose failure is the meter's, kept for the report, and never the request's."""

        def guarded(**kwargs: Any) -> None:
            try:
                handler(**kwargs)
            except Exception as error:  # the product's request goes on; the run fails at its end
                with self._lock:
                    self.errors.append(f"{kwargs.get('event_name')}: {type(error).__name__}: {error}")

        return guarded

    @contextlib.contextmanager
    def attached(self, world: Any) -> Iterator[Meter]:
        """Counting on while inside (and the world's runtime, gateway, LiveKit client, webhook client and stdout
        wrapped); everything put back on leaving."""
        import boto3

        from telephony import observability
        from telephony.integrations import livekit, webhook_http

        self._raw = boto3.session.Session(region_name="us-east-1").client("dynamodb")
        self._wrap(world.runtime, "run", self._run)
        self._wrap(world.runtime, "_take", self._take)
        self._wrap(world.gateway, "handle", self._handle)
        self._wrap(livekit.LiveKit, "_run", self._livekit)
        self._wrap(webhook_http, "post", self._post)
        logs = _Logs(self, sys.stdout)
        handler = observability.logger().registered_handler
        stream = handler.stream
        handler.setStream(logs)
        self._undo.append(lambda: handler.setStream(stream))
        try:
            with contextlib.redirect_stdout(logs):
                self.active = True
                yield self
        finally:
            self.active = False
            while self._undo:
                self._undo.pop()()
            self._raw = None

    def _wrap(self, owner: Any, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        if isinstance(owner, type | types.ModuleType):
            self._undo.append(lambda: setattr(owner, name, original))
        else:  # an instance: its own attribute hides the class's until deleted
            self._undo.append(lambda: delattr(owner, name))

    # ------------------------------------------------------------ steps
    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        """What this thread invokes or asks the gateway for inside belongs to `name`."""
        previous = getattr(self._local, "step", None)
        self._local.step = name
        try:
            yield
        finally:
            self._local.step = previous

    def current(self) -> _Invocation | None:
        if not self.active or getattr(self._local, "busy", False):
            return None
        found: _Invocation | None = getattr(self._local, "invocation", None)
        return found

    def _step(self, name: str) -> Step:
        return self.ledger.step(name)

    # ------------------------------------------------------------ the gateway, the runtime
    def _handle(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def handle(method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
            if not self.active:
                return original(method, target, headers, body)
            path = urlsplit(target).path
            named = getattr(self._local, "step", None)
            label = named or (_webhook_label(body) if path == "/livekit/webhook" else f"{method} {path}")
            started = time.perf_counter()
            with self.step(label):
                reply = original(method, target, headers, body)
            latency = (time.perf_counter() - started) * 1000
            status, answer_headers, answer = reply
            sent = len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + len(method) + len(target) + 12
            out = len(answer) + sum(len(k) + len(v) + 4 for k, v in answer_headers.items()) + 17
            line = self._access_log(method, path, status, len(answer), latency)
            with self._lock:
                step = self._step(label)
                step.usage.add("apigw.requests", max(1, math.ceil(sent / API_CHUNK)))
                step.usage.add("transfer.out", out / GB)
                step.usage.add("logs.ingested", len(line.encode()) / GB)
                step.counts["API requests"] += 1
                step.counts["bytes out"] += out
                step.counts["log bytes"] += len(line.encode())
                step.counts["log events"] += 1
            return reply

        return handle

    def _access_log(self, method: str, path: str, status: int, size: int, latency: float) -> str:
        """The API's access-log line for a request: the template's format with this request's values."""
        values = {
            "$context.requestId": "Ab1CdEfGhIjKlMn=",
            "$context.identity.sourceIp": "198.51.100.23",
            "$context.requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "$context.routeKey": f"{method} {path}",
            "$context.status": str(status),
            "$context.responseLength": str(size),
            "$context.responseLatency": str(round(latency)),
            "$context.integrationErrorMessage": "-",
            "$context.authorizer.error": "-",
        }
        line = self.access_log_format
        for name in sorted(values, key=len, reverse=True):
            line = line.replace(name, values[name])
        return line

    def _run(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def run(function: Any, event: Any, context: Any) -> Any:
            if not self.active:
                return original(function, event, context)
            invocation = _Invocation(getattr(self._local, "step", None) or "(no step)", function.logical_id)
            outer = getattr(self._local, "invocation", None)
            self._local.invocation = invocation
            started = _now()
            try:
                return original(function, event, context)
            finally:
                invocation.add("all", started)
                self._local.invocation = outer
                self._close(invocation)

        return run

    def _take(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def take(function: Any) -> Any:
            started = _now()
            try:
                return original(function)
            finally:
                invocation = self.current()
                if invocation is not None:
                    invocation.add("init", started)

        return take

    def _close(self, invocation: _Invocation) -> None:
        settings = self.functions[invocation.function]
        waits = ("aws", "livekit", "endpoint")
        wait_ms = invocation.wall_ms(*waits)
        own_ms = max(0.0, invocation.cpu_ms("all") - invocation.cpu_ms("init", "meter", *waits))
        billed = billed_ms(own_ms, wait_ms, settings.memory_mb)
        lines = [line for line in "".join(invocation.log).split("\n") if line.strip()]
        lines += platform_records("1", billed, own_ms + wait_ms, settings.memory_mb)
        metrics = [metric for line in lines for metric in _emf_metrics(line)]
        logged = sum(len(line.encode()) for line in lines)
        with self._lock:
            step = self._step(invocation.step)
            step.usage.add("lambda.requests", 1)
            step.usage.add(f"lambda.gb_seconds.{settings.architecture}", gb_seconds(billed, settings.memory_mb))
            step.usage.add("xray.traces", XRAY_SAMPLED)
            step.usage.add("logs.ingested", logged / GB)
            step.functions[invocation.function] += 1
            step.billed_ms.append((invocation.function, billed, settings.memory_mb))
            step.counts["invocations"] += 1
            step.counts["billed ms"] += billed
            step.counts["own ms"] += own_ms
            step.counts["wait ms"] += wait_ms
            # as measured, without the CPU share: for the comparison in the report
            step.counts["GB-s unscaled"] += gb_seconds(max(1, math.ceil(own_ms + wait_ms)), settings.memory_mb)
            step.counts["GB-s"] += gb_seconds(billed, settings.memory_mb)
            step.counts["GB per ms of wait"] += settings.memory_mb / 1024 / 1000
            step.counts["log events"] += len(lines)
            step.counts["log bytes"] += logged
            step.counts["environments started"] += 1 if invocation.wall_ms("init") > 1 else 0
            self.metrics.update(metrics)

    # ------------------------------------------------------------ LiveKit and webhook endpoints
    def _livekit(self, original: Callable[..., Any]) -> Callable[..., Any]:
        meter = self

        def _run(self: Any, call: Any, *, timeout: float | None = None) -> Any:
            invocation = meter.current()
            if invocation is None:
                return original(self, call, timeout=timeout)
            started = _now()
            try:
                return original(self, call, timeout=timeout)
            finally:
                invocation.add("livekit", started)
                with meter._lock:
                    meter._step(invocation.step).counts["LiveKit requests"] += 1

        return _run

    def _post(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def post(url: str, body: bytes, headers: Any, **kwargs: Any) -> Any:
            invocation = self.current()
            if invocation is None:
                return original(url, body, headers, **kwargs)
            started = _now()
            try:
                return original(url, body, headers, **kwargs)
            finally:
                invocation.add("endpoint", started)
                out = len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + len(url) + 40
                with self._lock:
                    step = self._step(invocation.step)
                    step.usage.add("transfer.out", out / GB)
                    step.counts["bytes out"] += out
                    step.counts["webhook POSTs"] += 1

        return post

    # ------------------------------------------------------------ botocore
    def _send_started(self, **_: Any) -> None:
        invocation = self.current()
        if invocation is not None:
            self._local.sent = _now()

    def _send_answered(self, **_: Any) -> None:
        invocation = self.current()
        if invocation is not None:
            invocation.add("aws", getattr(self._local, "sent", None) or _now())

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], event_name: str, **_: Any) -> None:
        service = event_name.split(".")[1]
        invocation = self.current()
        if invocation is None:
            if self._is_upload(service, model.name, params):
                context["cost_upload"] = _body_size(params.get("Body"))
            return
        started = _now()
        context["cost_params"] = params
        try:
            if service == "dynamodb":
                context["cost_before"] = self._read_before(model.name, params)
        finally:
            invocation.add("meter", started)

    def _is_upload(self, service: str, operation: str, params: dict[str, Any]) -> bool:
        """LiveKit's egress putting a recording into our bucket (not from an invocation: the emulator's thread)."""
        return (
            self.active
            and not getattr(self._local, "busy", False)
            and service == "s3"
            and operation in S3_PUTS
            and params.get("Bucket") == self.recordings_bucket
        )

    def _after(self, model: Any, context: dict[str, Any], event_name: str, parsed: Any = None, **kw: Any) -> None:
        _, service, operation = event_name.split(".", 2)
        if "cost_upload" in context:
            with self._lock:
                step = self._step("LiveKit egress: the recording put into our bucket")
                step.usage.add("s3.put_requests", 1)
                step.counts["S3 PUT requests"] += 1
                self.uploads.append(int(context["cost_upload"]))
            return
        invocation = self.current()
        if invocation is None or "cost_params" not in context:
            return
        started = _now()
        failed = int((kw.get("http_response") and kw["http_response"].status_code) or 200) >= 300
        try:
            usage, counts = Usage(), Tally()
            if service == "dynamodb":
                self._dynamodb(operation, context["cost_params"], context.get("cost_before"), parsed, usage, counts)
            else:
                self._other(service, operation, context["cost_params"], failed, usage, counts)
            with self._lock:
                step = self._step(invocation.step)
                step.usage.merge(usage)
                step.counts.add(counts)
        finally:
            invocation.add("meter", started)

    def _other(
        self, service: str, operation: str, params: dict[str, Any], failed: bool, usage: Usage, counts: Tally
    ) -> None:
        if service in FREE or f"{service}.{operation}" in FREE:
            counts[f"{service} requests (not charged)"] += 1
        elif service == "sqs":
            if operation in ("SendMessage", "SendMessageBatch"):
                entries = params.get("Entries") or [params]
                size = sum(len(str(e.get("MessageBody", "")).encode()) + _attributes_size(e) for e in entries)
                chunks = max(1, math.ceil(size / SQS_CHUNK))
            else:
                chunks = 1
            usage.add("sqs.requests", chunks)
            counts["SQS requests"] += chunks
        elif service == "s3":
            if operation in S3_PUTS or operation in S3_LISTS:
                usage.add("s3.put_requests", 1)
                counts["S3 PUT requests"] += 1
            else:
                usage.add("s3.get_requests", 1)
                counts["S3 GET requests"] += 1
        elif service == "secrets-manager":
            usage.add("secrets.api_calls", 1)
            counts["Secrets Manager calls"] += 1
            if operation == "CreateSecret" and not failed:
                counts["secrets created"] += 1
        elif service == "kms":
            usage.add("kms.requests", 1)
            counts["KMS requests"] += 1
        else:
            with self._lock:
                self.unpriced[f"{service}.{operation}"] += 1

    # ------------------------------------------------------------ DynamoDB
    def _table(self, name: str) -> Table:
        return self.tables[name]

    @contextlib.contextmanager
    def _own(self) -> Iterator[None]:
        """The meter's reads of moto: not counted, not timed, and not any function's (local/iam.py)."""
        from local import iam

        self._local.busy = True
        try:
            with iam.acting_as(""):
                yield
        finally:
            self._local.busy = False

    def _get(self, table: Table, key: dict[str, Any]) -> dict[str, Any] | None:
        with self._own():
            found: dict[str, Any] | None = self._raw.get_item(TableName=table.name, Key=key, ConsistentRead=True).get(
                "Item"
            )
        return found

    def _write_targets(self, operation: str, params: dict[str, Any]) -> list[tuple[Table, dict[str, Any], bool]]:
        """(table, key, transactional) of each item a write names."""
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            table = self._table(params["TableName"])
            key = table.key_of(params["Item"]) if operation == "PutItem" else params["Key"]
            return [(table, key, False)]
        if operation == "TransactWriteItems":
            found = []
            for element in params.get("TransactItems") or []:
                ((kind, body),) = element.items()
                table = self._table(body["TableName"])
                found.append((table, table.key_of(body["Item"]) if kind == "Put" else body["Key"], True))
            return found
        if operation == "BatchWriteItem":
            found = []
            for name, requests in (params.get("RequestItems") or {}).items():
                table = self._table(name)
                for request in requests:
                    if "PutRequest" in request:
                        found.append((table, table.key_of(request["PutRequest"]["Item"]), False))
                    else:
                        found.append((table, request["DeleteRequest"]["Key"], False))
            return found
        return []

    def _read_before(self, operation: str, params: dict[str, Any]) -> list[tuple[Table, dict[str, Any], bool, Any]]:
        return [(t, key, tx, self._get(t, key)) for t, key, tx in self._write_targets(operation, params)]

    def _dynamodb(
        self,
        operation: str,
        params: dict[str, Any],
        before: list[tuple[Table, dict[str, Any], bool, Any]] | None,
        parsed: Any,
        usage: Usage,
        counts: Tally,
    ) -> None:
        counts["DynamoDB requests"] += 1
        if before:
            for table, key, transactional, old in before:
                new = self._get(table, key)
                written, indexed = change_units(table, old, new, transactional=transactional)
                usage.add("dynamodb.wru", written + indexed)
                counts["WRU"] += written
                counts["WRU (indexes)"] += indexed
                kind = item_kind(table, key)
                with self._lock:
                    self.ledger.written[(table.name, json.dumps(key, sort_keys=True, default=str))] = key
                    self.ledger.units_by_kind[kind] += written + indexed
                    if transactional:
                        self.ledger.transactional_by_kind[kind] += written + indexed
            return
        reads = self._read_units(operation, params, parsed)
        usage.add("dynamodb.rru", reads)
        counts["RRU"] += reads

    def _read_units(self, operation: str, params: dict[str, Any], parsed: Any) -> float:
        if operation == "GetItem":
            table = self._table(params["TableName"])
            return read_units(item_size(self._get(table, params["Key"])), consistent=bool(params.get("ConsistentRead")))
        if operation == "BatchGetItem":
            units = 0.0
            for name, request in (params.get("RequestItems") or {}).items():
                table = self._table(name)
                for key in request.get("Keys") or []:
                    units += read_units(
                        item_size(self._get(table, key)), consistent=bool(request.get("ConsistentRead"))
                    )
            return units
        if operation == "TransactGetItems":
            units = 0.0
            for element in params.get("TransactItems") or []:
                get = element["Get"]
                units += read_units(
                    item_size(self._get(self._table(get["TableName"]), get["Key"])), consistent=True, transactional=True
                )
            return units
        if operation in ("Query", "Scan"):
            size = sum(item_size(item) for item in self._evaluated(operation, params, parsed))
            consistent = bool(params.get("ConsistentRead")) and not params.get("IndexName")
            return read_units(size, consistent=consistent)
        return 0.0

    def _evaluated(self, operation: str, params: dict[str, Any], parsed: Any) -> list[dict[str, Any]]:
        """The items a Query or Scan read (what it is charged for): those answered, unless a filter or a projection
        changed the answer; then the same request again without them, by the meter's own client."""
        if not any(params.get(k) for k in ("FilterExpression", "ProjectionExpression", "Select", "AttributesToGet")):
            return list((parsed or {}).get("Items") or [])
        bare = {
            k: v
            for k, v in params.items()
            if k not in ("FilterExpression", "ProjectionExpression", "Select", "AttributesToGet")
        }
        used = set(re.findall(r"[#:][A-Za-z0-9_]+", str(bare.get("KeyConditionExpression") or "")))
        for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            if name in bare:
                bare[name] = {k: v for k, v in bare[name].items() if k in used}
        for name in ("ExpressionAttributeNames", "ExpressionAttributeValues"):
            if name in bare and not bare[name]:
                del bare[name]
        with self._own():
            answer = (self._raw.query if operation == "Query" else self._raw.scan)(**bare)
        return list(answer.get("Items") or [])

    def stored(self) -> dict[str, list[dict[str, Any]]]:
        """The items the ledger's lives wrote that are still there, by table's logical id."""
        found: dict[str, list[dict[str, Any]]] = {}
        for (name, _), key in self.ledger.written.items():
            table = self._table(name)
            item = self._get(table, key)
            if item is not None:
                found.setdefault(table.logical_id, []).append(item)
        return found


def _body_size(body: Any) -> int:
    if body is None:
        return 0
    if isinstance(body, bytes | bytearray | str):
        return len(body)
    if isinstance(body, io.BytesIO):
        return len(body.getbuffer())
    position = body.tell()  # a file: its size from where it is read
    end = body.seek(0, io.SEEK_END)
    body.seek(position)
    return int(end - position)


def _attributes_size(entry: dict[str, Any]) -> int:
    size = 0
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        size += len(str(value.get("StringValue", "")).encode()) + len(value.get("BinaryValue") or b"")
    return size


def _webhook_label(body: bytes) -> str:
    try:
        event = json.loads(body).get("event") or "?"
    except (ValueError, AttributeError):
        event = "?"
    return f"LiveKit webhook: {event}"


def _emf_metrics(line: str) -> list[str]:
    """The metrics an EMF line publishes (namespace, name, dimension values), each a custom metric of CloudWatch."""
    if '"_aws"' not in line:
        return []
    try:
        document = json.loads(line)
    except ValueError:
        return []
    found = []
    for directive in (document.get("_aws") or {}).get("CloudWatchMetrics") or []:
        for dimensions in directive.get("Dimensions") or [[]]:
            values = ",".join(f"{d}={document.get(d)}" for d in dimensions)
            for metric in directive.get("Metrics") or []:
                found.append(f"{directive.get('Namespace')}/{metric.get('Name')} [{values}]")
    return found


_meter: Meter | None = None


def meter() -> Meter:
    """The process's meter, its botocore handlers registered on first use (before the world makes its clients)."""
    global _meter
    if _meter is None:
        _meter = Meter()
        _meter.install()
    return _meter
