"""Stats and list latency with 10, 1,000 and 100,000 calls stored for the user.

The calls table is seeded in bulk, straight into the moto backend, with items made by the
repository's own key functions; the stats counters (the user's TOTAL item and the hour buckets
still alive under their 26-hour TTL) are written to match the seeded calls, and the stats
endpoint's answer is checked against them. Calls are spaced 36 s apart (the 100 calls/hour limit),
newest first. Every size lives in the same table and is measured in the same rounds.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.events import user
from bench.probe import Probe
from bench.stats import median, ms
from bench.warm import Sample
from bench.world import Failure, World, forget_moto_copies

SPACING = 36  # seconds between two calls: 100 an hour, the per-user limit
# A repeating mix of outcomes: (status, answered, sip code, end reason)
OUTCOMES = [("completed", True, None, "callee_hangup")] * 12 + [
    ("no_answer", False, 480, "no_answer"),
    ("no_answer", False, 480, "no_answer"),
    ("no_answer", False, 480, "no_answer"),
    ("busy", False, 486, "busy"),
    ("busy", False, 486, "busy"),
    ("failed", False, 503, "sip_failure: client_initiated"),
    ("canceled", False, 487, "hangup"),
    ("canceled", False, 487, "hangup"),
]
ENDPOINTS = {
    "GET /outbound-calls/stats": ("/outbound-calls/stats", None),
    "GET /outbound-calls?limit=10": ("/outbound-calls", {"limit": "10"}),
    "GET /outbound-calls (default page, 50)": ("/outbound-calls", None),
}


@dataclass
class Seeded:
    user_id: str
    size: int
    totals: dict[str, int] = field(default_factory=dict)
    last_24h: dict[str, int] = field(default_factory=dict)
    buckets: int = 0


@dataclass
class GrowthResult:
    sizes: list[int]
    samples: dict[tuple[str, int], list[Sample]]  # (endpoint, size) -> samples
    seeded: dict[int, Seeded]
    seconds_to_seed: float

    def own_ms(self, endpoint: str, size: int) -> float:
        return ms(median([s.own_ns for s in self.samples[(endpoint, size)]]))

    def total_ms(self, endpoint: str, size: int) -> float:
        return ms(median([s.total_ns for s in self.samples[(endpoint, size)]]))

    def aws_ms(self, endpoint: str, size: int) -> float:
        return ms(median([s.snapshot.aws_ns for s in self.samples[(endpoint, size)]]))

    def items_read(self, endpoint: str, size: int) -> int:
        return Counter(s.snapshot.items_read for s in self.samples[(endpoint, size)]).most_common(1)[0][0]

    def requests(self, endpoint: str, size: int) -> int:
        return Counter(s.snapshot.dynamodb() for s in self.samples[(endpoint, size)]).most_common(1)[0][0]


def _seed(world: World, size: int, now: int) -> Seeded:
    from moto.dynamodb.models import dynamodb_backends

    from local.template import ACCOUNT, REGION
    from telephony.repositories import calls as calls_repo
    from telephony.repositories import dynamo, keys
    from telephony.util import iso

    table = dynamodb_backends[ACCOUNT][REGION].get_table(world.stack.physical_name("CallsTable"))
    owner = f"usr_growth_{size}"
    seeded = Seeded(owner, size)
    totals: Counter[str] = Counter()
    hours: dict[int, Counter[str]] = {}
    since = calls_repo.hour_of(now) - 23 * calls_repo.HOUR  # what the stats service counts as the last 24 h
    alive = calls_repo.hour_of(now) - calls_repo.STATS_TTL  # buckets older than their TTL are gone
    for k in range(size):
        created = now - k * SPACING
        status, answered, sip_code, reason = OUTCOMES[k % len(OUTCOMES)]
        call_id = f"call_growth{size:06d}x{k:07d}"
        moment = datetime.fromtimestamp(created, UTC)
        record: dict[str, Any] = {
            "call_id": call_id,
            "owner_id": owner,
            "status": status,
            "phone_number": "+14155550199",
            "from_number": "+14155550142",
            "from_phone_number_id": "pn_growth",
            "room_name": call_id,
            "agent_name": "bench-agent",
            "participant_identity": f"sip-{call_id}",
            "created_at": iso(moment),
            "created_epoch": created,
            "ended_at": iso(datetime.fromtimestamp(created + 60, UTC)),
            "end_reason": reason,
            "sip_status_code": sip_code,
        }
        adds = {"total_calls": 1, f"status_{status}": 1}
        if answered:
            duration = 30 + (k * 7) % 270
            record["answered_at"] = iso(datetime.fromtimestamp(created + 10, UTC))
            record["duration_seconds"] = duration
            adds |= {"answered_calls": 1, "total_duration_seconds": duration, "timed_calls": 1}
        item = {
            **keys.call(call_id),
            **keys.call_owner(owner, record["created_at"], call_id),
            **keys.call_owner_status(owner, status, record["created_at"], call_id),
            **record,
        }
        table.put_item(dynamo.marshal(item))
        totals.update(adds)
        hour = calls_repo.hour_of(created)
        if hour > alive:
            hours.setdefault(hour, Counter()).update(adds)
    zeros = {f"status_{s}": 0 for s in ("queued", "dialing", "ringing", "in_progress")}
    table.put_item(dynamo.marshal({**keys.stats_total(owner), **zeros, **totals}))
    for hour, counters in hours.items():
        item = {**keys.stats_hour(owner, hour), **zeros, **counters, "expires_at": hour + calls_repo.STATS_TTL}
        table.put_item(dynamo.marshal(item))
    seeded.totals = dict(totals)
    seeded.last_24h = dict(sum((c for h, c in hours.items() if h >= since), Counter()))
    seeded.buckets = len(hours)
    return seeded


def _verify(stats: dict[str, Any], seeded: Seeded) -> None:
    """The stats endpoint must report exactly the seeded calls."""
    for name, counters, expected in (
        ("all time", stats, seeded.totals),
        ("last 24 h", stats["last_24h"], seeded.last_24h),
    ):
        got = {
            "total_calls": counters["total_calls"],
            "answered_calls": counters["answered_calls"],
            "total_duration_seconds": counters["total_duration_seconds"],
            **{f"status_{s}": n for s, n in counters["by_status"].items() if n},
        }
        want = {
            "total_calls": expected.get("total_calls", 0),
            "answered_calls": expected.get("answered_calls", 0),
            "total_duration_seconds": expected.get("total_duration_seconds", 0),
            **{k: v for k, v in expected.items() if k.startswith("status_") and v},
        }
        if got != want:
            raise Failure(f"stats of {seeded.size} seeded calls ({name}) do not match: {got} != {want}")


def run(world: World, probe: Probe, *, sizes: list[int], rounds: int, warmup: int, log: Any) -> GrowthResult:
    started = time.monotonic()
    now = int(time.time())
    seeded = {size: _seed(world, size, now) for size in sizes}
    forget_moto_copies()
    seconds = time.monotonic() - started
    log(f"  seeded {sum(sizes):,} calls in {seconds:.1f} s")
    samples: dict[tuple[str, int], list[Sample]] = {(e, s): [] for e in ENDPOINTS for s in sizes}
    for round_ in range(rounds + warmup):
        for size in sizes:
            principal = user(seeded[size].user_id, key=f"ak_growth_{size}_{round_ // 300}")
            for endpoint, (path, query) in ENDPOINTS.items():
                invocation = world.events.http("GET", path, principal=principal, query=query)
                handler = world.handler(invocation.function)
                context = world.context(invocation.function)
                probe.start()
                began = time.perf_counter_ns()
                answer = handler(invocation.event, context)
                total = time.perf_counter_ns() - began
                snapshot = probe.stop()
                forget_moto_copies()
                body = _body(answer, endpoint)
                if round_ == 0:
                    _check(endpoint, query, body, seeded[size])
                if round_ >= warmup:
                    samples[(endpoint, size)].append(Sample(total, snapshot))
        if round_ % 5 == 4:
            log(f"  growth: round {round_ + 1}/{rounds + warmup}")
    return GrowthResult(sizes, samples, seeded, seconds)


def _check(endpoint: str, query: dict[str, str] | None, body: Any, seeded: Seeded) -> None:
    if endpoint.endswith("stats"):
        _verify(body, seeded)
        return
    page = int((query or {}).get("limit", "50"))
    if len(body["items"]) != min(page, seeded.size):
        raise Failure(f"{endpoint} with {seeded.size} calls gave {len(body['items'])} items")


def _body(answer: Any, what: str) -> Any:
    if not isinstance(answer, dict) or answer.get("statusCode") != 200:
        raise Failure(f"{what}: {str(answer)[:300]}")
    return json.loads(answer["body"])
