"""What a call's whole life and a number's life cost on AWS, at list prices, counted from a real run (DESIGN section 8).

bench/lives.py drives the lives through the real handlers in the bench's world (bench/world.py); bench/cost_meter.py
counts, while they run, every billable unit that really happened: each API Gateway request, each Lambda invocation
with its duration, each DynamoDB request's read and write units from the items' real sizes, and every other AWS
request. This module holds the price table, the arithmetic that turns units into dollars, DynamoDB's rules for
units, and section 7 of bench/RESULTS.md.

The prices are AWS's public us-east-1 list prices as known on PRICES_AS_KNOWN_ON, recalled, not fetched (the bench
runs without internet): no free tier, the first tier of each tiered price.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------- prices

PRICES_AS_KNOWN_ON = "2025-06-01"
GB = 2**30  # AWS's GB in billing (Lambda's memory is MB / 1,024 GB)


@dataclass(frozen=True)
class Price:
    service: str
    item: str
    unit: str
    per: float  # the list price is for this many units
    dollars: float

    def cost(self, units: float) -> float:
        return units * self.dollars / self.per

    @property
    def text(self) -> str:
        per = f"{self.per:,.0f} " if self.per != 1 else ""
        return f"${self.dollars:g} per {per}{self.unit}{'s' if self.per != 1 else ''}"


PRICES: dict[str, Price] = {
    "apigw.requests": Price("API Gateway", "HTTP API requests (first 300 million a month)", "request", 1e6, 1.00),
    "lambda.requests": Price("Lambda", "requests", "request", 1e6, 0.20),
    "lambda.gb_seconds.arm64": Price(
        "Lambda", "duration, Arm (first 7.5 billion GB-s a month)", "GB-second", 1, 0.0000133334
    ),
    "lambda.gb_seconds.x86_64": Price(
        "Lambda", "duration, x86 (first 6 billion GB-s a month)", "GB-second", 1, 0.0000166667
    ),
    "dynamodb.wru": Price("DynamoDB", "on-demand write request units", "write request unit", 1e6, 0.625),
    "dynamodb.rru": Price("DynamoDB", "on-demand read request units", "read request unit", 1e6, 0.125),
    "dynamodb.storage": Price("DynamoDB", "storage, Standard table class", "GB-month", 1, 0.25),
    "dynamodb.pitr": Price("DynamoDB", "continuous backups (point-in-time recovery)", "GB-month", 1, 0.20),
    "sfn.transitions": Price("Step Functions", "Standard workflow state transitions", "state transition", 1e3, 0.025),
    "sqs.requests": Price(
        "SQS", "standard queue requests (each 64 KB chunk of a payload is one)", "request", 1e6, 0.40
    ),
    "s3.put_requests": Price("S3", "PUT, COPY, POST, LIST requests (S3 Standard)", "request", 1e3, 0.005),
    "s3.get_requests": Price("S3", "GET, SELECT and all other requests (S3 Standard)", "request", 1e3, 0.0004),
    "s3.storage": Price("S3", "S3 Standard storage (first 50 TB a month)", "GB-month", 1, 0.023),
    "secrets.api_calls": Price("Secrets Manager", "API calls", "API call", 1e4, 0.05),
    "secrets.secrets": Price("Secrets Manager", "secrets stored", "secret-month", 1, 0.40),
    "kms.requests": Price("KMS", "symmetric key requests", "request", 1e4, 0.03),
    "kms.keys": Price("KMS", "customer managed keys", "key-month", 1, 1.00),
    "logs.ingested": Price(
        "CloudWatch Logs", "data ingested (Standard class; Lambda's logs, first 10 TB)", "GB", 1, 0.50
    ),
    "cloudwatch.metrics": Price("CloudWatch", "custom metrics (first 10,000)", "metric-month", 1, 0.30),
    "cloudwatch.alarms": Price("CloudWatch", "standard-resolution alarms", "alarm-month", 1, 0.10),
    "cloudwatch.dashboards": Price("CloudWatch", "dashboards", "dashboard-month", 1, 3.00),
    "xray.traces": Price("X-Ray", "traces recorded", "trace", 1e6, 5.00),
    "transfer.out": Price("Data transfer", "out to the internet (first 10 TB a month)", "GB", 1, 0.09),
}
# AWS requests that cost nothing themselves: Step Functions' API (a Standard workflow is billed by its transitions),
# STS, and S3's DELETE.
FREE = {"sfn", "sts", "s3.DeleteObject"}
UNIT_NAMES = {key: price.unit for key, price in PRICES.items()}


class Usage(dict[str, float]):
    """Billable units by price key (PRICES)."""

    def add(self, key: str, units: float) -> None:
        if key not in PRICES:
            raise KeyError(f"no price for {key!r}")
        self[key] = self.get(key, 0.0) + units

    def merge(self, other: Mapping[str, float]) -> None:
        for key, units in other.items():
            self.add(key, units)


def dollars(usage: Mapping[str, float]) -> dict[str, float]:
    """Each price key's cost."""
    unknown = sorted(set(usage) - set(PRICES))
    if unknown:
        raise KeyError(f"no price for {unknown}")
    return {key: PRICES[key].cost(units) for key, units in usage.items()}


def by_service(usage: Mapping[str, float]) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, cost in dollars(usage).items():
        service = PRICES[key].service
        found[service] = found.get(service, 0.0) + cost
    return found


def total(usage: Mapping[str, float]) -> float:
    return sum(dollars(usage).values())


def per_thousand(usage: Mapping[str, float], lives: int) -> float:
    """Dollars per 1,000 lives, from the units of `lives` lives."""
    return total(usage) * 1000 / lives


# ---------------------------------------------------------------- Lambda

VCPU_MB = 1769  # Lambda gives a function one vCPU at 1,769 MB, and CPU in proportion to memory below it


def cpu_share(memory_mb: int) -> float:
    """The vCPUs a size gets, at most one for our single-threaded code."""
    return min(1.0, memory_mb / VCPU_MB)


def billed_ms(own_ms: float, wait_ms: float, memory_mb: int) -> int:
    """An invocation's billed duration: our own time at the size's CPU share (measured on one core here, taken as
    one vCPU's worth), plus the waits on other services, rounded up to the next millisecond (at least 1)."""
    return max(1, math.ceil(round(own_ms / cpu_share(memory_mb) + wait_ms, 6)))


def gb_seconds(billed: int, memory_mb: int) -> float:
    return memory_mb / 1024 * billed / 1000


# ---------------------------------------------------------------- DynamoDB's units


def attribute_size(value: Mapping[str, Any]) -> int:
    """An attribute value's size (DynamoDB JSON) as DynamoDB counts it, without its name: strings and binaries by
    their bytes, a number 1 byte per two significant digits plus 1, a boolean or null 1, a list or map 3 bytes plus
    each element's size and 1 byte each (a map's element with its name), a set the sum of its members."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "B":
        return len(inner) if isinstance(inner, bytes | bytearray) else len(_b64decode(inner))
    if kind == "N":
        mantissa = str(inner).lstrip("+-").lower().split("e")[0]
        digits = mantissa.replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: member}) for member in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(member) for member in inner)
    if kind == "M":
        return 3 + sum(1 + len(name.encode()) + attribute_size(member) for name, member in inner.items())
    raise ValueError(f"not a DynamoDB attribute value: {kind}")


def _b64decode(text: Any) -> bytes:
    import base64

    return base64.b64decode(text)


def item_size(item: Mapping[str, Any] | None) -> int:
    """The sum of its attributes' names and values (0 for no item)."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in (item or {}).items())


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """Read request units of one item (GetItem, each item of a batch) or of one Query's or Scan's items summed:
    4 KB each, rounded up, at least one; half for an eventually consistent read, twice for a transactional one."""
    units = max(1, math.ceil(size / 4096))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


def write_units(old_size: int, new_size: int, *, transactional: bool = False) -> int:
    """Write request units of one item: 1 KB each of the larger of the item before and after, rounded up, at least
    one (a delete counts the item deleted, a failed condition the item as it stays); twice in a transaction."""
    units = max(1, math.ceil(max(old_size, new_size) / 1024))
    return 2 * units if transactional else units


@dataclass(frozen=True)
class Index:
    """A global secondary index: where an item is, it has an entry of the projected attributes."""

    name: str
    keys: tuple[str, ...]  # its partition key, and sort key if it has one
    projection: str = "ALL"  # ALL | KEYS_ONLY | INCLUDE
    included: tuple[str, ...] = ()

    def entry(self, item: Mapping[str, Any] | None, table_keys: Iterable[str]) -> dict[str, Any] | None:
        """The index's copy of `item` (None when the item lacks one of the index's keys: a sparse index)."""
        if item is None or any(key not in item for key in self.keys):
            return None
        if self.projection == "ALL":
            return dict(item)
        kept = set(self.keys) | set(table_keys) | (set(self.included) if self.projection == "INCLUDE" else set())
        return {name: value for name, value in item.items() if name in kept}


def index_write_units(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, index: Index, table_keys: Iterable[str]
) -> int:
    """What a change of one item writes to one global secondary index (never doubled by a transaction: DynamoDB
    updates indexes after the table): nothing when the entry is absent before and after or unchanged; a put when the
    item enters, a delete when it leaves, both when the index's key changes, else one write of the entry."""
    keys = tuple(table_keys)
    before, after = index.entry(old, keys), index.entry(new, keys)
    if before == after:
        return 0
    if before is None:
        return write_units(0, item_size(after))
    if after is None:
        return write_units(item_size(before), 0)
    if any(before[key] != after[key] for key in index.keys):
        return write_units(item_size(before), 0) + write_units(0, item_size(after))
    return write_units(item_size(before), item_size(after))


@dataclass(frozen=True)
class Table:
    name: str  # physical
    logical_id: str
    keys: tuple[str, ...]
    indexes: tuple[Index, ...] = ()
    on_demand: bool = True
    backups: bool = False  # point-in-time recovery

    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self.keys}

    def index(self, name: str) -> Index:
        return next(i for i in self.indexes if i.name == name)


def change_units(
    table: Table, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, *, transactional: bool
) -> tuple[int, int]:
    """(table's write units, its indexes' write units) of one item's change."""
    written = write_units(item_size(old), item_size(new), transactional=transactional)
    return written, sum(index_write_units(old, new, index, table.keys) for index in table.indexes)


_KEY_WORD = re.compile(r"[A-Z][A-Z_]*")


def item_kind(table: Table, key: Mapping[str, Any]) -> str:
    """What kind of item a key names: the table's logical id and its key's shape, the upper-case words of its
    `#`-separated segments kept and every other segment (an id, a date, a number) shown as `*`:
    `OWNER#usr_1#STATS` is `OWNER#*#STATS`."""
    shapes = []
    for name in table.keys:
        value = key.get(name) or {}
        text = str(value.get("S", value.get("N", "?")))
        shapes.append("#".join(part if _KEY_WORD.fullmatch(part) else "*" for part in text.split("#")))
    return f"{table.logical_id} {' / '.join(shapes)}"


def stored_bytes(table: Table, item: Mapping[str, Any]) -> int:
    """What an item adds to the table's billed storage: its size plus 100 bytes, and as much again in each index
    holding an entry of it."""
    size = item_size(item) + 100
    for index in table.indexes:
        entry = index.entry(item, table.keys)
        if entry is not None:
            size += item_size(entry) + 100
    return size


# ---------------------------------------------------------------- what a run counted


class Tally(dict[str, float]):
    """Counts by name, 0 for a name not counted yet."""

    def __missing__(self, key: str) -> float:
        return 0.0

    def add(self, other: Mapping[str, float]) -> None:
        for key, value in other.items():
            self[key] += value


@dataclass
class Step:
    """The units one step of a life used, and what a reader needs to check them."""

    name: str
    usage: Usage = field(default_factory=Usage)
    counts: Tally = field(default_factory=Tally)  # requests, invocations, units by kind...
    functions: Counter[str] = field(default_factory=Counter)  # the functions invoked
    billed_ms: list[tuple[str, int, int]] = field(default_factory=list)  # (function, billed ms, memory MB)


@dataclass
class Ledger:
    """The steps of `lives` lives of one kind (a call, a number), in the order they first happened."""

    lives: int = 0
    steps: dict[str, Step] = field(default_factory=dict)
    written: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (table, key) -> key
    # write units (table and indexes) by kind of item (`item_kind`), and those written inside transactions
    units_by_kind: Counter[str] = field(default_factory=Counter)
    transactional_by_kind: Counter[str] = field(default_factory=Counter)

    def kinds_by_units(self) -> list[tuple[str, int]]:
        """(kind of item, write units) of the items written, the most written first."""
        return sorted(self.units_by_kind.items(), key=lambda kv: (-kv[1], kv[0]))

    def step(self, name: str) -> Step:
        if name not in self.steps:
            self.steps[name] = Step(name)
        return self.steps[name]

    def usage(self) -> Usage:
        merged = Usage()
        for step in self.steps.values():
            merged.merge(step.usage)
        return merged

    def count(self, key: str) -> float:
        return sum(step.counts[key] for step in self.steps.values())


def happy_path(definition: Mapping[str, Any]) -> list[str]:
    """The states a workflow enters when every task succeeds (each entered state is one Standard transition)."""
    states, name, path = definition["States"], definition["StartAt"], []
    while True:
        path.append(name)
        state = states[name]
        if state.get("End") or state["Type"] in ("Succeed", "Fail"):
            return path
        if "Next" not in state or len(path) > len(states):
            raise ValueError(f"no single path through {name} ({state['Type']})")
        name = state["Next"]


def tables_of(stack: Any) -> dict[str, Table]:
    """The template's tables by physical name, with their keys and global secondary indexes."""
    found = {}
    for logical_id, props in stack.tables().items():
        indexes = tuple(
            Index(
                index["IndexName"],
                tuple(k["AttributeName"] for k in index["KeySchema"]),
                index.get("Projection", {}).get("ProjectionType", "ALL"),
                tuple(index.get("Projection", {}).get("NonKeyAttributes") or ()),
            )
            for index in props.get("GlobalSecondaryIndexes") or []
        )
        backups = bool((props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
        name = stack.physical_name(logical_id)
        found[name] = Table(
            name,
            logical_id,
            tuple(k["AttributeName"] for k in props["KeySchema"]),
            indexes,
            props.get("BillingMode") == "PAY_PER_REQUEST",
            backups,
        )
    return found


# ---------------------------------------------------------------- the run

BUDGET = 0.10  # dollars per 1,000 calls' lives (DESIGN section 8)
HOURS_A_MONTH = 730  # AWS's month in its monthly prices
REVIEW = "ReviewStateMachine"


@dataclass
class CostResult:
    call: Ledger
    recording: Ledger  # the recording fetched once, apart
    number: Ledger
    idle: Ledger  # one run of each scheduled function
    runs_a_month: dict[str, float]  # idle step -> runs a month
    recording_bytes: float  # per call, as put into the bucket
    talk_seconds: float
    retention_days: int
    call_storage: dict[str, float]  # table's logical id -> billed bytes stored per call
    number_storage: dict[str, float]
    backed_up: set[str]  # tables with point-in-time recovery
    metrics: list[str]  # custom metrics (EMF) the lives published
    fixed: dict[str, float]  # price key -> units a month the template's resources hold
    fixed_why: dict[str, str]
    settings: dict[str, Any]  # function -> LambdaSettings
    authorizer_ttl: str
    review_path: list[str]
    delivered: dict[str, int]  # events delivered per life, by kind of life
    unpriced: dict[str, int]


def run(new_world: Any, *, lives: int, log: Any) -> CostResult:
    """`lives` lives of each kind, after one of each unrecorded (every function's environment started, the caches
    filled: the lives are warm, as steady traffic is)."""
    from bench import lives as drive
    from bench.cost_meter import meter as the_meter
    from bench.template_info import SCHEDULE, functions, lambda_settings
    from local.schedules import parse

    meter = the_meter()  # its handlers before the world makes its clients
    with new_world() as world:
        stack = world.stack
        meter.tables = tables_of(stack)
        meter.functions = lambda_settings(stack)
        meter.recordings_bucket = stack.physical_name("RecordingsBucket")
        api = stack.resources["Api"]["Properties"]
        meter.access_log_format = str((api.get("AccessLogSettings") or {}).get("Format") or "")
        review = stack.resources[REVIEW]["Properties"]
        if review.get("Type", "STANDARD") != "STANDARD":
            raise ValueError(f"{REVIEW} is not a Standard workflow: its price is not in the table")
        definition = json.loads(stack.state_machines()[stack.physical_name(REVIEW)])
        path = happy_path(definition)
        callee = world.numbers.take()
        world.emulator.set_outcome(callee, "answer", after_ms=drive.ANSWER_MS, talk_ms=drive.TALK_MS)
        caller = drive.customer(world, "caller")
        owners = [drive.customer(world, f"owner_{i}") for i in range(lives + 1)]
        admin = world.issuer.mint("usr_cost_admin", role="admin")
        scheduled = [f.logical_id for f in functions(stack) if f.kind == SCHEDULE]
        delivered: dict[str, int] = {}
        with meter.attached(world):
            meter.ledger = Ledger()  # the unrecorded lives
            drive.call_life(world, meter, caller, callee)
            drive.number_life(world, meter, owners[-1], admin, lives, len(path))
            log("  cost: warm-up lives done")

            call = meter.ledger = Ledger()
            meter.uploads.clear()
            ids = []
            for _ in range(lives):
                ids.append(drive.call_life(world, meter, caller, callee))
                call.lives += 1
            delivered["call"] = round(call.count("webhook POSTs") / lives)
            call_storage = _stored(meter, lives)
            uploads = list(meter.uploads)
            if len(uploads) != lives:
                raise ValueError(f"{len(uploads)} recordings put into the bucket for {lives} recorded calls")
            log(f"  cost: {lives} call lives, ${per_thousand(call.usage(), lives):.4f} per 1,000")

            recording = meter.ledger = Ledger()
            for call_id, size in zip(ids, uploads, strict=True):
                drive.fetch_recording(world, meter, caller, call_id, size)
                recording.lives += 1

            number = meter.ledger = Ledger()
            for i in range(lives):
                drive.number_life(world, meter, owners[i], admin, i, len(path))
                number.lives += 1
            delivered["number"] = round(number.count("webhook POSTs") / lives)
            number_storage = _stored(meter, lives)
            log(f"  cost: {lives} number lives, ${total(number.usage()) / lives:.5f} per number")

            idle = meter.ledger = Ledger()
            runs: dict[str, float] = {}
            for function in scheduled:
                expression = _schedule_of(stack, function)
                label = f"{function} ({expression})"
                drive.idle_run(world, meter, function, label)
                runs[label] = _runs_a_month(parse(expression, started=_EPOCH))
            idle.lives = 1
        if meter.errors:
            raise ValueError(f"the meter failed {len(meter.errors)} times, e.g. {meter.errors[0]}")
        if meter.unpriced:
            raise ValueError(f"AWS requests with no price: {dict(meter.unpriced)}")
        fixed, why = _fixed(stack, len(meter.metrics))
        auth = stack.authorizer()
        return CostResult(
            call=call,
            recording=recording,
            number=number,
            idle=idle,
            runs_a_month=runs,
            recording_bytes=sum(uploads) / lives,
            talk_seconds=drive.TALK_MS / 1000,
            retention_days=int(stack.parameters.get("RecordingRetentionDays") or 90),
            call_storage=call_storage,
            number_storage=number_storage,
            backed_up={t.logical_id for t in meter.tables.values() if t.backups},
            metrics=sorted(meter.metrics),
            fixed=fixed,
            fixed_why=why,
            settings=dict(meter.functions),
            authorizer_ttl=f"{auth.cache_ttl} s" if auth else "none",
            review_path=path,
            delivered=delivered,
            unpriced=dict(meter.unpriced),
        )


def _stored(meter: Any, lives: int) -> dict[str, float]:
    """Billed bytes still stored per life, by table, of the items the lives wrote (shared ones, a user's counters,
    spread over the lives run)."""
    found: dict[str, float] = {}
    for logical_id, items in meter.stored().items():
        table = next(t for t in meter.tables.values() if t.logical_id == logical_id)
        found[logical_id] = sum(stored_bytes(table, item) for item in items) / lives
    return found


def _schedule_of(stack: Any, function: str) -> str:
    for source in stack.event_sources():
        if source.function == function and source.kind == "Schedule":
            return str(source.properties["Schedule"])
    raise ValueError(f"{function} has no schedule")


def _runs_a_month(schedule: Any) -> float:
    from datetime import timedelta

    moment, end, runs = _EPOCH, _EPOCH + timedelta(hours=HOURS_A_MONTH), 0
    while (moment := schedule.next_after(moment)) is not None and moment <= end:
        runs += 1
    return float(runs)


def _epoch() -> Any:
    from datetime import UTC, datetime

    return datetime(2025, 1, 1, tzinfo=UTC)


_EPOCH = _epoch()


def _fixed(stack: Any, metrics: int) -> tuple[dict[str, float], dict[str, str]]:
    """What the template holds a month whatever the traffic, by price key, and what it is."""
    kinds = {
        "secrets.secrets": ("AWS::SecretsManager::Secret", "the stack's secrets"),
        "kms.keys": ("AWS::KMS::Key", "the stack's customer managed keys"),
        "cloudwatch.alarms": ("AWS::CloudWatch::Alarm", "the stack's alarms"),
        "cloudwatch.dashboards": ("AWS::CloudWatch::Dashboard", "the stack's dashboards"),
    }
    fixed, why = {}, {}
    for key, (kind, what) in kinds.items():
        names = stack.of_type(kind)
        fixed[key] = float(len(names))
        why[key] = f"{what}: {', '.join(names) or 'none'}"
    fixed["cloudwatch.metrics"] = float(metrics)
    why["cloudwatch.metrics"] = "the custom metrics (EMF) the lives published (a lower bound: other paths publish more)"
    return fixed, why


# ---------------------------------------------------------------- bench/RESULTS.md, section 7

Verdict = tuple[str, str, str, bool | None, str]  # section, budget, figure, passed, why (bench/report.py's Verdict)
CALL_BUDGET = f"a call's life <= ${BUDGET:.2f} per 1,000 calls (recording storage, LiveKit and carrier apart)"


def _money(value: float) -> str:
    return f"${value:,.4f}" if abs(value) >= 0.01 else f"${value:.6f}"


def _amount(key: str, units: float) -> str:
    unit = PRICES[key].unit
    if unit == "GB":
        return f"{units * GB:,.0f} bytes"
    if unit in ("GB-month", "GB-second"):
        return f"{units:.6g} {unit}s"
    return f"{units:,.4g} {unit}{'s' if units != 1 else ''}"


def _other(counts: Mapping[str, float], lives: int) -> str:
    names = (
        "SQS requests",
        "S3 PUT requests",
        "S3 GET requests",
        "Secrets Manager calls",
        "KMS requests",
        "sfn requests (not charged)",
        "sts requests (not charged)",
        "state transitions",
        "webhook POSTs",
        "LiveKit requests",
    )
    found = [f"{counts[name] / lives:g} {name}" for name in names if counts.get(name)]
    return ", ".join(found) or "-"


def _steps(ledger: Ledger, scale: float, money: str) -> list[str]:
    """One row per step, per life; `scale` turns a life's dollars into the column's (1,000 for per 1,000 calls)."""
    lives = ledger.lives
    out = [
        "| step | API requests | Lambda invocations | billed ms (GB-s) | DynamoDB RRU "
        f"| DynamoDB WRU (table + indexes) | other requests | log bytes | {money} |",
        "|---|---:|---|---:|---:|---:|---|---:|---:|",
    ]
    for step in ledger.steps.values():
        c = step.counts
        functions = ", ".join(f"{n / lives:g}x {f}" for f, n in step.functions.items()) or "-"
        lambda_ = f"{c['billed ms'] / lives:,.0f} ({c['GB-s'] / lives:.4f})" if c["invocations"] else "-"
        written = c["WRU"] / lives, c["WRU (indexes)"] / lives
        out.append(
            f"| {step.name} | {c['API requests'] / lives:g} | {functions} | {lambda_} | {c['RRU'] / lives:g} "
            f"| {written[0] + written[1]:g} ({written[0]:g} + {written[1]:g}) | {_other(c, lives)} "
            f"| {c['log bytes'] / lives:,.0f} | {_money(total(step.usage) * scale / lives)} |"
        )
    usage, c = ledger.usage(), Tally()
    for step in ledger.steps.values():
        c.add(step.counts)
    out.append(
        f"| **all** | {c['API requests'] / lives:g} | {c['invocations'] / lives:g} | "
        f"{c['billed ms'] / lives:,.0f} ({c['GB-s'] / lives:.4f}) | {c['RRU'] / lives:g} | "
        f"{(c['WRU'] + c['WRU (indexes)']) / lives:g} ({c['WRU'] / lives:g} + {c['WRU (indexes)'] / lives:g}) | "
        f"{_other(c, lives)} | {c['log bytes'] / lives:,.0f} | **{_money(total(usage) * scale / lives)}** |"
    )
    return out


def _services(usage: Mapping[str, float], lives: int, scale: float, money: str) -> list[str]:
    costs = dollars(usage)
    whole = sum(costs.values()) or 1.0
    out = [f"| service | what | units per life | list price | {money} | share |", "|---|---|---:|---|---:|---:|"]
    for key in sorted(usage, key=lambda k: -costs[k]):
        price = PRICES[key]
        out.append(
            f"| {price.service} | {price.item} | {_amount(key, usage[key] / lives)} | {price.text} "
            f"| {_money(costs[key] * scale / lives)} | {costs[key] / whole:.0%} |"
        )
    return out


def _lambda_key(usage: Mapping[str, float]) -> str:
    return next((k for k in usage if k.startswith("lambda.gb_seconds.")), "lambda.gb_seconds.arm64")


def render(result: CostResult) -> tuple[list[str], list[Verdict]]:
    out = ["## 7. Cost\n"]
    call, lives = result.call, result.call.lives
    usage = call.usage()
    figure = per_thousand(usage, lives)
    memory = sorted({s.memory_mb for s in result.settings.values()})
    out.append(
        f"What AWS would bill for a call's whole life and for a number's, at us-east-1 list prices as known on "
        f"{PRICES_AS_KNOWN_ON} (recalled, not fetched: the bench runs offline; no free tier, each price's first "
        "tier; the table is `PRICES` in bench/cost.py), counted from "
        f"{lives} real run{'s' if lives > 1 else ''} of each through the real handlers in this process "
        "(bench/lives.py says what a life is, bench/cost_meter.py how each unit is counted), after one unrecorded "
        "life of each that started every function's execution environment and filled the caches: warm lives, as "
        "steady traffic has. Units are per life, dollars per 1,000 lives. Counted as AWS bills them:\n"
    )
    out += [
        "- API Gateway: each request. The authorizer's invocation (a Lambda request too) runs once per key per life: "
        f"its cache (`AuthorizerCacheTtlSeconds` = {result.authorizer_ttl}) is emptied at each life's start, as for "
        "keys unused that long.",
        "- Lambda: each invocation, at the template's MemorySize and architecture "
        f"({', '.join(f'{m} MB' for m in memory)}); its duration = our own CPU time measured here divided by its "
        "size's CPU share (1,769 MB = 1 vCPU, proportionally less below; a core here taken as a vCPU), plus its "
        "waits on AWS, LiveKit and webhook endpoints as measured against the stand-ins (moto in this process, the "
        "emulator and the receiver on loopback), rounded up to the millisecond.",
        "- DynamoDB (on-demand): request units from the items' real sizes, read from moto before and after each "
        "request: 4 KB a read unit, half for an eventually consistent read, a Query's items summed; 1 KB a write "
        "unit of the larger of the item before and after, twice in a transaction; each global secondary index whose "
        "entry changes is written too.",
        "- SQS: each request by 64 KB chunk, plus the receive and the delete of each message by Lambda's poller. S3, "
        "Secrets Manager and KMS: each request. Step Functions: a Standard workflow's state transitions, on its "
        "definition's path (its API calls, like STS's, cost nothing).",
        "- CloudWatch Logs: the functions' log lines as written (the Powertools logger, EMF metrics), Lambda's "
        "`platform.start` and `platform.report` records, the API's access-log line. X-Ray: traces at the default "
        "sampling rule's 5%. Data out to the internet: API answers and webhook deliveries.",
        "",
    ]
    out.append(f"### A call's life (the mean of {lives})\n")
    out += _steps(call, 1000, "$ per 1,000 calls")
    out.append("")
    out += _services(usage, lives, 1000, "$ per 1,000 calls")
    out.append("")
    out += _write_units_by_kind(call)
    lambda_key = _lambda_key(usage)
    counted = call.count("GB-s")
    unscaled = call.count("GB-s unscaled")
    per_wait = call.count("GB per ms of wait") * 10 * PRICES[lambda_key].dollars * 1000 / lives
    passed = figure <= BUDGET
    out.append(
        f"\n**{_money(figure)} per 1,000 calls** (budget ${BUDGET:.2f}): {'PASS' if passed else '**FAIL**'}. "
        f"Each call's life made {call.count('API requests') / lives:g} API requests and "
        f"{call.count('invocations') / lives:g} Lambda invocations, and delivered {result.delivered.get('call', 0)} "
        f"webhook events.\n"
    )
    out.append(
        f"- Lambda's duration as measured here, without the CPU share ({unscaled / lives:.4f} GB-s per call instead "
        f"of {counted / lives:.4f}): {_money(figure - PRICES[lambda_key].cost(counted - unscaled) * 1000 / lives)} "
        "per 1,000 calls. Our own time was "
        f"{call.count('own ms') / lives:.1f} ms per call here and its waits {call.count('wait ms') / lives:.1f} ms.\n"
        f"- Each further 10 ms of waiting in every invocation (DynamoDB over the network, LiveKit Cloud, a "
        f"customer's endpoint are slower than the stand-ins) adds {_money(per_wait)} per 1,000 calls.\n"
        "- Secrets: each delivery decrypts its webhook's signing secret with KMS "
        "(telephony/services/deliveries.py; two while a rotated secret is still valid), and keeps the plaintext "
        "5 minutes per execution environment (telephony/integrations/kms.py `PLAINTEXT_TTL_SECONDS`): "
        f"{call.count('KMS requests') / lives:g} KMS requests a call here; the LiveKit credentials and the "
        "recordings' upload secret are read from Secrets Manager once per execution environment "
        "(telephony/integrations/livekit.py `default`, recording_storage.py `upload_target`): none in a warm life.\n"
        "- Not counted: botocore's retries of a request (each request is counted once); the initialisation of a "
        "new execution environment (billed since August 2025: section 1's import time at the function's size, once "
        "per environment) and its reads of "
        "those secrets; the outbox stream's reads by Lambda (free); CloudWatch Logs storage (compressed, per "
        "GB-month); the bytes of our requests to LiveKit Cloud.\n"
    )
    out += _apart(result)
    out += _fixed_table(result)
    out += _number(result)
    why = "" if passed else _why(call)
    verdicts: list[Verdict] = [("cost", CALL_BUDGET, f"{_money(figure)}", passed, why)]
    return out, verdicts


def _write_units_by_kind(ledger: Ledger) -> list[str]:
    """Where a life's DynamoDB write units go, by kind of item, largest first."""
    lives, price = ledger.lives, PRICES["dynamodb.wru"]
    out = [
        "Where the write units go, by kind of item (its table and key, ids shown as `*`), largest first:\n",
        "| item | write units a call (table + indexes) | of them in transactions (each write twice) "
        "| $ per 1,000 calls |",
        "|---|---:|---:|---:|",
    ]
    for kind, units in ledger.kinds_by_units():
        if not units:
            continue
        out.append(
            f"| `{kind}` | {units / lives:g} | {ledger.transactional_by_kind[kind] / lives:g} "
            f"| {_money(price.cost(units) * 1000 / lives)} |"
        )
    return out


def _why(ledger: Ledger) -> str:
    """The three largest charges of a life, with their units."""
    usage, lives = ledger.usage(), ledger.lives
    costs = dollars(usage)
    found = []
    for key in sorted(costs, key=lambda k: -costs[k])[:3]:
        text = f"{PRICES[key].service} {PRICES[key].item}: {_amount(key, usage[key] / lives)} a call"
        if key == "dynamodb.wru":
            indexed = ledger.count("WRU (indexes)") / lives
            kinds = ", ".join(f"`{kind}` {units / lives:g}" for kind, units in ledger.kinds_by_units()[:3])
            text += f" ({indexed:g} of them to indexes; each write in a transaction counts twice; most to {kinds})"
        found.append(f"{text}, {_money(costs[key] * 1000 / lives)}")
    return "; ".join(found)


def _summed(ledger: Ledger) -> Tally:
    found = Tally()
    for step in ledger.steps.values():
        found.add(step.counts)
    return found


def _apart(result: CostResult) -> list[str]:
    lives = result.call.lives
    months = result.retention_days * 24 / HOURS_A_MONTH
    stored = result.recording_bytes / GB * months
    per_minute = {kbits: kbits * 1000 / 8 * 60 / GB * months for kbits in (32, 128)}
    fetch = result.recording
    storage = {k: v / GB for k, v in result.call_storage.items()}
    backed = {k: v for k, v in storage.items() if k in result.backed_up}
    livekit = result.call.count("LiveKit requests") / lives
    out = ["\nApart from the figure above:\n", "| what | units per call | $ per 1,000 calls |", "|---|---|---:|"]
    out.append(
        f"| recording storage: the file put into the bucket ({result.recording_bytes:,.0f} bytes: the emulator's "
        f"Ogg Opus of {result.talk_seconds:g} s of silence, 3-byte frames) kept `RecordingRetentionDays` = "
        f"{result.retention_days} days | {stored:.3g} GB-months | {_money(PRICES['s3.storage'].cost(stored) * 1000)} |"
    )
    for kbits, gb_months in per_minute.items():
        out.append(
            f"| - the same for each minute of speech at {kbits} kbit/s (a bitrate assumed, not measured) "
            f"| {gb_months:.3g} GB-months | {_money(PRICES['s3.storage'].cost(gb_months) * 1000)} per 1,000 minutes |"
        )
    out.append(
        f"| the recording fetched once: its link (an API request, the function, its reads) and the file's S3 GET and "
        f"bytes out | {_other(_summed(fetch), lives)} "
        f"| {_money(per_thousand(fetch.usage(), lives))} |"
    )
    out.append(
        f"| DynamoDB storage, a month kept (items the life left, +100 bytes each, and their index entries; the call "
        f"stays, its events, deliveries and rate windows expire sooner by TTL): "
        f"{', '.join(f'{k} {v * GB:,.0f} B' for k, v in sorted(storage.items()))} "
        f"| {sum(storage.values()):.3g} GB-months "
        f"| {_money(PRICES['dynamodb.storage'].cost(sum(storage.values())) * 1000)} a month kept |"
    )
    out.append(
        f"| their point-in-time recovery ({', '.join(sorted(backed)) or 'none'}) | {sum(backed.values()):.3g} "
        f"GB-months | {_money(PRICES['dynamodb.pitr'].cost(sum(backed.values())) * 1000)} a month kept |"
    )
    out.append(
        f"| LiveKit and the carrier: not AWS; not counted | {livekit:g} LiveKit API requests, a SIP call answered and "
        f"talking {result.talk_seconds:g} s, an audio egress as long, the agent's session | - |"
    )
    return out


def _fixed_table(result: CostResult) -> list[str]:
    out = [
        "\nA month, whatever the traffic (not per call):\n",
        "| what | units a month | $ a month |",
        "|---|---:|---:|",
    ]
    for key, units in result.fixed.items():
        out.append(f"| {result.fixed_why[key]} | {_amount(key, units)} | {_money(PRICES[key].cost(units))} |")
    for step in result.idle.steps.values():
        runs = result.runs_a_month[step.name]
        out.append(
            f"| {step.name}: {runs:,.0f} runs (one measured: {step.counts['billed ms']:,.0f} billed ms, "
            f"{_other(step.counts, 1)}) | {runs:,.0f} runs | {_money(total(step.usage) * runs)} |"
        )
    out.append(
        "| Lambda's pollers of the SQS queues, long-polling even when idle; X-Ray's reservoir (1 trace a second) "
        "| not counted: AWS does not say how many | - |"
    )
    if result.metrics:
        out.append(f"\nCustom metrics seen: {', '.join(result.metrics)}.")
    return out


def _number(result: CostResult) -> list[str]:
    number, lives = result.number, result.number.lives
    usage = number.usage()
    secrets = number.count("secrets created") / lives
    storage = sum(result.number_storage.values()) / GB
    out = [
        f"\n### A number's life (the mean of {lives}), per number\n",
        f"The review workflow's path when the number is approved and assigned: {' -> '.join(result.review_path)} "
        f"({len(result.review_path)} state transitions of a Standard workflow).\n",
    ]
    out += _steps(number, 1, "$ per number")
    out.append("")
    out += _services(usage, lives, 1, "$ per number")
    out.append(
        f"\n**{_money(total(usage) / lives)} per number** (no budget: DESIGN section 8 sets none), with "
        f"{result.delivered.get('number', 0)} webhook events delivered. A month, while the number is kept: "
        f"{secrets:g} secret{'s' if secrets != 1 else ''} in Secrets Manager (its SIP password) "
        f"{_money(PRICES['secrets.secrets'].cost(secrets))}, {storage * GB:,.0f} bytes of DynamoDB "
        f"{_money(PRICES['dynamodb.storage'].cost(storage))}; LiveKit's trunks and the carrier's number: not AWS, "
        "not counted.\n"
    )
    return out
