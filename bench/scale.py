"""Scale (DESIGN section 8): a large campaign through the engine as `make dev` runs it, and the write rate of the
hottest DynamoDB item while an account has many calls live.

Both run in one process against the product as bench/world.py deploys it (template.yaml in an in-process moto, the
real handlers, the LiveKit emulator sending its signed webhooks to the local gateway), with Step Functions executing
the state machines: a campaign's run is the engine's own execution (statemachines/campaign_engine.asl.json), started
by `POST /campaigns/{id}/start` and stepping CampaignTickFunction through moto's Lambda, as in `make dev`.

1. Campaign: `POST /campaigns` with the plan's contacts (one request), started, the emulator answering each call in a
   few ms and hanging up after `talk_ms`. Dials per second are counted from the calls' creation times; the
   emulator's peak of simultaneous SIP participants on the number's trunk is compared with `max_concurrency`; the
   campaign's final counts must equal its calls' statuses (else the section fails). A run that has not finished
   within the plan's time is paused through the API and drained, and what it dialled is reported as such.
2. Hot items: one account with `live_calls` calls live, each placed through the API, rung and answered by the
   emulator's webhooks, posted events by its agent (`POST /outbound-calls/{id}/events`, through the API, so the
   per-key and per-user API windows are written too), then calls ended and placed at full occupancy, then all
   ended. bench/item_writes.py counts every write per item with its WCU; the counts per call and per post become
   rates at the loads `Load` states, item by item, beside DynamoDB's 1,000 WCU/s per partition (an item never
   spans partitions).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.events import Principal, user
from bench.item_writes import ItemKey, Tally, counting
from bench.stats import median
from bench.world import HOST, Failure, World

PARTITION_WCU = 1_000  # DynamoDB's write throughput of one partition, so of one item: 1,000 WCU (1 KB writes) a second


@dataclass(frozen=True)
class ScalePlan:
    contacts: int
    max_concurrency: int
    talk_ms: int  # how long each campaign call talks once answered
    campaign_seconds: float  # dialling stops (the campaign is paused) past this
    window_seconds: float  # dials are counted in windows this long
    live_calls: int
    posts_per_call: int
    churn: int  # calls ended and placed again while the account is at its maximum


PLANS = {
    # 50 at once, half the API's ceiling (100), and calls that talk 15 s: at the pace the local stand-ins place calls
    # (a few a second, every handler and webhook in this one process), shorter calls end before the campaign fills its
    # places (2-second calls peaked at 19 to 27 here), and "never above" would be left untested.
    "full": ScalePlan(
        contacts=10_000,
        max_concurrency=50,
        talk_ms=15_000,
        campaign_seconds=300.0,
        window_seconds=5.0,
        live_calls=1_000,
        posts_per_call=3,
        churn=100,
    ),
    "quick": ScalePlan(
        contacts=50,
        max_concurrency=10,
        talk_ms=3_000,
        campaign_seconds=120.0,
        window_seconds=1.0,
        live_calls=20,
        posts_per_call=2,
        churn=4,
    ),
}


@dataclass(frozen=True)
class Load:
    """The rates the per-call counts are turned into (the live calls are the run's own number)."""

    call_seconds: float = 180.0  # mean duration: live calls end (and are replaced) at live / call_seconds a second
    post_every: float = 5.0  # an agent posts transcript events every this many seconds of each live call
    burst_seconds: float = 10.0  # the burst: as many calls as are live, placed within this many seconds


LOAD = Load()
ANSWER_MS = 5  # the emulator answers every call this soon


# ---------------------------------------------------------------- results


@dataclass
class CampaignResult:
    contacts: int
    max_concurrency: int
    talk_ms: int
    create_seconds: float  # POST /campaigns with every contact
    finished: bool  # completed, rather than paused at the plan's time
    wall_seconds: float  # from the start request to the campaign completed (or paused and drained)
    dial_times: list[float]  # epoch seconds of each call's creation
    window_seconds: float
    peak: int  # the emulator's most SIP participants at once on the number's trunk
    counts: dict[str, Any]
    attempts: int
    statuses: dict[str, int]  # the campaign's calls by status
    ledger: dict[ItemKey, Tally] = field(default_factory=dict)  # writes while the campaign ran

    @property
    def dialled(self) -> int:
        return len(self.dial_times)

    def windows(self) -> list[float]:
        """Dials a second in each window from the first dial to the last (a last, partial window dropped)."""
        if not self.dial_times:
            return []
        first = min(self.dial_times)
        span = max(self.dial_times) - first
        count = max(int(span // self.window_seconds), 1)
        bins = [0] * count
        for moment in self.dial_times:
            slot = int((moment - first) // self.window_seconds)
            if slot < count:
                bins[slot] += 1
        return [b / self.window_seconds for b in bins]

    def steady(self) -> list[float]:
        """The windows between the first and the last: the engine ramping up and the tail are left out."""
        rates = self.windows()
        return rates[1:-1] if len(rates) >= 3 else rates

    def overall(self) -> float:
        span = max(self.dial_times) - min(self.dial_times) if self.dial_times else 0.0
        return self.dialled / span if span > 0 else math.nan

    def campaign_item(self) -> tuple[ItemKey, Tally] | None:
        items = [(k, t) for k, t in self.ledger.items() if k.table == "CampaignsTable" and k.key[1] == "ITEM"]
        return max(items, key=lambda kt: kt[1].units) if items else None


@dataclass
class Rate:
    item: ItemKey
    writes: float  # a second
    units: float  # WCU a second
    largest: int  # bytes


@dataclass
class HotResult:
    live_calls: int
    posts_per_call: int
    churn: int
    seconds: dict[str, float]  # phase -> wall seconds
    phases: dict[str, dict[ItemKey, Tally]]
    cancelled: dict[str, int]
    peak_live: int  # the account's live calls as /account/limits reported them at full occupancy

    def steady(self, load: Load = LOAD) -> list[Rate]:
        """Calls replaced at live / call_seconds a second (each a start and an end at full occupancy, counted in the
        churn phase) and events posted every post_every seconds of each call."""
        starts = self.live_calls / load.call_seconds
        posts = self.live_calls / load.post_every
        per_call = {k: (t, starts / self.churn) for k, t in self.phases.get("churn", {}).items()}
        per_post = {k: (t, posts / (self.live_calls * self.posts_per_call)) for k, t in self.phases["talk"].items()}
        return _rates([per_call, per_post])

    def burst(self, load: Load = LOAD) -> list[Rate]:
        """Every call of the start phase (from none live to all), placed within burst_seconds."""
        return _rates([{k: (t, 1 / load.burst_seconds) for k, t in self.phases["start"].items()}])


def _rates(parts: list[dict[ItemKey, tuple[Tally, float]]]) -> list[Rate]:
    rates: dict[ItemKey, Rate] = {}
    for part in parts:
        for key, (tally, scale) in part.items():
            rate = rates.setdefault(key, Rate(key, 0.0, 0.0, 0))
            rate.writes += tally.writes * scale
            rate.units += tally.units * scale
            rate.largest = max(rate.largest, tally.largest)
    return sorted(rates.values(), key=lambda r: -r.units)


@dataclass
class ScaleResult:
    plan: ScalePlan
    campaign: CampaignResult | None = None
    hot: HotResult | None = None


# ---------------------------------------------------------------- running


def run(plan: ScalePlan, *, log: Callable[[str], None]) -> ScaleResult:
    from local.issuer import Issuer
    from local.livekit_emulator import Emulator

    result = ScaleResult(plan)
    emulator = Emulator(api_key="benchkey", api_secret=secrets.token_urlsafe(32)).start(HOST, 0)
    issuer = Issuer()
    issuer.serve(HOST, 0)
    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # EMF metrics and logs: Lambda's stdout
            with World(emulator, issuer, engine=True) as world:
                result.campaign = campaign(world, plan, log=log)
            with World(emulator, issuer) as world:
                result.hot = hot_items(world, plan, log=log)
    finally:
        emulator.stop()
        issuer.stop()
    return result


def _tables(world: World) -> dict[str, str]:
    return {world.stack.physical_name(logical): logical for logical in world.stack.tables()}


def _account(world: World, user_id: str, *, max_live: int) -> tuple[Principal, dict[str, Any]]:
    """A user with an outbound number, allowed `max_live` live calls and far more calls and requests an hour than
    the run makes (the limits are raised through the admin route, as an operator would)."""
    number = world.register(user_id)
    limits = {
        "max_concurrent_calls": max_live,
        "calls_per_hour": 100_000,
        "api_requests_per_hour": 1_000_000,
        "api_requests_per_hour_per_user": 10_000_000,
    }
    world.request("PUT", f"/admin/accounts/{user_id}/limits", world.setup_admin(), limits)
    return user(user_id, key=f"ak_scale_{user_id}"), number


def _trunk_peak(world: World, number: dict[str, Any]) -> int:
    peaks: dict[str, int] = world.emulator.state()["sip_participants"]["peak"]
    trunk = number.get("outbound_trunk_id")
    return int(peaks.get(trunk, 0)) if trunk else max(peaks.values(), default=0)


def _calls_of(owner_id: str) -> list[Any]:
    from telephony.repositories.store import default_store

    found, token = [], None
    while True:
        page, token = default_store().calls.list_by_owner(owner_id, status=None, limit=100, token=token)
        found += page
        if not token:
            return found


def campaign(world: World, plan: ScalePlan, *, log: Callable[[str], None]) -> CampaignResult:
    from telephony.models.campaigns import CampaignStatus
    from telephony.repositories.store import default_store
    from telephony.services.campaign_engine import outcome_of

    owner = "usr_scale_campaign"
    principal, number = _account(world, owner, max_live=1_000)
    world.emulator.set_outcome("*", "answer", after_ms=ANSWER_MS, talk_ms=plan.talk_ms)
    contacts = [
        {"phone_number": world.numbers.take(), "variables": {"first_name": f"Ada {k}"}} for k in range(plan.contacts)
    ]
    body = {
        "name": "scale",
        "from_phone_number_id": number["phone_number_id"],
        "contacts": contacts,
        "system_prompt": "You are a helpful support agent. Be brief.",
        "max_concurrency": plan.max_concurrency,
    }
    db = default_store()
    with counting(_tables(world)) as ledger:
        started = time.monotonic()
        created = world.request("POST", "/campaigns", principal, body, expect=201)
        create_seconds = time.monotonic() - started
        cid = created["campaign_id"]
        if created["counts"]["pending"] != plan.contacts:
            raise Failure(f"the campaign took {created['counts']['pending']} of {plan.contacts} contacts")
        log(f"  campaign of {plan.contacts:,} contacts created in {create_seconds:.1f} s; started")
        ledger.phase = "run"
        started = time.monotonic()
        world.request("POST", f"/campaigns/{cid}/start", principal)
        finished = _follow(db, cid, plan, started, log)
        if not finished:
            world.request("POST", f"/campaigns/{cid}/pause", principal)
            _drain(db, cid, log)
        wall = time.monotonic() - started
        world.emulator.flush_webhooks(timeout=60)
    record = db.campaigns.get(cid)
    if record is None:
        raise Failure("the campaign is gone")
    expected = CampaignStatus.COMPLETED if finished else CampaignStatus.PAUSED
    if record.status is not expected or record.in_flight:
        raise Failure(f"the campaign is {record.status.value} with {len(record.in_flight)} calls in flight")
    calls = [c for c in _calls_of(owner) if c.campaign_id == cid]
    _check_counts(record, calls, plan, outcome_of, finished)
    return CampaignResult(
        contacts=plan.contacts,
        max_concurrency=plan.max_concurrency,
        talk_ms=plan.talk_ms,
        create_seconds=create_seconds,
        finished=finished,
        wall_seconds=wall,
        dial_times=sorted(datetime.fromisoformat(c.created_at).timestamp() for c in calls),
        window_seconds=plan.window_seconds,
        peak=_trunk_peak(world, number),
        counts=record.counts().model_dump(mode="json"),
        attempts=record.counters.get("attempts", 0),
        statuses=dict(Counter(c.status.value for c in calls)),
        ledger=ledger.tallies("run"),
    )


def _follow(db: Any, cid: str, plan: ScalePlan, started: float, log: Callable[[str], None]) -> bool:
    """Until the campaign completed (True) or the plan's time ran out (False)."""
    from telephony.models.campaigns import CampaignStatus

    said = started
    while time.monotonic() - started < plan.campaign_seconds:
        record = db.campaigns.get(cid)
        if record is not None and record.status is CampaignStatus.COMPLETED:
            return True
        if time.monotonic() - said >= 30 and record is not None:
            said = time.monotonic()
            log(f"  {record.counters.get('attempts', 0):,} dialled after {said - started:.0f} s")
        time.sleep(0.5)
    return False


def _drain(db: Any, cid: str, log: Callable[[str], None], timeout: float = 120.0) -> None:
    """A paused campaign's engine keeps stepping until its live calls ended and were settled."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = db.campaigns.get(cid)
        if record is not None and not record.in_flight:
            return
        time.sleep(0.5)
    raise Failure("the paused campaign's calls were not settled")


def _check_counts(record: Any, calls: list[Any], plan: ScalePlan, outcome_of: Any, finished: bool) -> None:
    """The campaign's counts are its calls': each ended call counted once under its outcome, none in progress, and
    every contact either counted or (paused) still pending."""
    counts = record.counts()
    if any(not c.ended for c in calls):
        raise Failure(f"{sum(not c.ended for c in calls)} campaign calls did not end")
    outcomes = Counter(outcome_of(c).value for c in calls)
    counted = {s: getattr(counts, s) for s in ("answered", "busy", "no_answer", "failed")}
    if {s: outcomes.get(s, 0) for s in counted} != counted:
        raise Failure(f"the campaign counts {counted}, its calls {dict(outcomes)}")
    if counts.in_progress or record.counters.get("attempts", 0) != len(calls):
        attempts = record.counters.get("attempts")
        raise Failure(f"{counts.in_progress} in progress, {attempts} attempts, {len(calls)} calls")
    dialled_contacts = sum(counted.values())
    if counts.total != plan.contacts or counts.pending != plan.contacts - dialled_contacts:
        raise Failure(f"total {counts.total}, pending {counts.pending}, {dialled_contacts} dialled")
    if finished and counts.pending:
        raise Failure(f"completed with {counts.pending} pending")


# ---------------------------------------------------------------- hot items


def hot_items(world: World, plan: ScalePlan, *, log: Callable[[str], None]) -> HotResult:
    owner = "usr_scale_hot"
    principal, _ = _account(world, owner, max_live=plan.live_calls)
    agent = Principal(owner, "agent", f"ak_scale_agent_{owner}")
    world.emulator.set_outcome("*", "answer", after_ms=ANSWER_MS, talk_ms=3_600_000)  # talking until hung up
    seconds: dict[str, float] = {}
    with counting(_tables(world)) as ledger:

        def phase(name: str, work: Callable[[], None]) -> None:
            ledger.phase = name
            started = time.monotonic()
            work()
            world.emulator.flush_webhooks(timeout=120)  # every write of the phase lands in it
            seconds[name] = time.monotonic() - started
            log(f"  {name}: {seconds[name]:.1f} s")

        live: list[str] = []
        phase("start", lambda: live.extend(_place(world, principal, plan.live_calls)))
        ledger.phase = "between"
        usage = world.request("GET", "/account/limits", principal)["usage"]["live_calls"]
        if usage != plan.live_calls:
            raise Failure(f"{usage} live calls counted, {plan.live_calls} placed")
        phase("talk", lambda: _post_events(world, agent, live, plan.posts_per_call))
        phase("churn", lambda: _churn(world, principal, live, plan.churn))
        phase("end", lambda: _end(world, principal, live))
        ledger.phase = "after"
        left = world.request("GET", "/account/limits", principal)["usage"]["live_calls"]
        if left != 0:
            raise Failure(f"{left} calls still counted live after every call ended")
    return HotResult(
        live_calls=plan.live_calls,
        posts_per_call=plan.posts_per_call,
        churn=plan.churn,
        seconds=seconds,
        phases={name: ledger.tallies(name) for name in ("start", "talk", "churn", "end")},
        cancelled=dict(ledger.cancelled),
        peak_live=usage,
    )


def _create(world: World, principal: Principal) -> str:
    body = {"phone_number": world.numbers.take(), "system_prompt": "Be brief", "welcome_message": "Hi!"}
    return str(world.request("POST", "/outbound-calls/create", principal, body, expect=201)["call_id"])


def _place(world: World, principal: Principal, count: int) -> list[str]:
    placed = [_create(world, principal) for _ in range(count)]
    world.wait_calls(placed, "in_progress", timeout=max(120.0, 0.5 * count))
    return placed


def _post_events(world: World, agent: Principal, live: list[str], posts: int) -> None:
    """Each call's agent posts what was said, turn by turn, and its summary with the last post."""
    for turn in range(posts):
        for call_id in live:
            at = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            body: dict[str, Any] = {
                "transcript": [
                    {"role": "agent", "text": f"Turn {turn}: how can I help you today?", "at": at},
                    {"role": "user", "text": "I would like to move my appointment to Friday, please.", "at": at},
                ]
            }
            if turn == posts - 1:
                body["summary"] = "The caller moved their appointment to Friday."
            world.request("POST", f"/outbound-calls/{call_id}/events", agent, body)


def _hang_up(world: World, principal: Principal, call_id: str, by_api: bool) -> None:
    """Half the calls are hung up through the API, half by the callee (LiveKit's webhooks end them)."""
    if by_api:
        world.request("POST", f"/outbound-calls/{call_id}/hangup", principal)
    else:
        world.emulator.hangup(call_id)


def _churn(world: World, principal: Principal, live: list[str], count: int) -> None:
    """At full occupancy: a call ends, its place is taken by a new one, `count` times."""
    ended, placed = [], []
    for k in range(count):
        gone = live.pop(0)
        _hang_up(world, principal, gone, by_api=k % 2 == 0)
        world.wait_calls([gone], "completed", timeout=60)  # its place is given back before another takes it
        ended.append(gone)
        placed.append(_create(world, principal))
    world.wait_calls(placed, "in_progress", timeout=max(60.0, 0.5 * count))
    live.extend(placed)


def _end(world: World, principal: Principal, live: list[str]) -> None:
    for k, call_id in enumerate(live):
        _hang_up(world, principal, call_id, by_api=k % 2 == 0)
    world.wait_calls(live, "completed", timeout=max(120.0, 0.5 * len(live)))


# ---------------------------------------------------------------- the report's section

_IDS = [
    (re.compile(r"call_[A-Za-z0-9_-]+"), "<call>"),
    (re.compile(r"transfer-[A-Za-z0-9_-]+"), "<leg>"),
    (re.compile(r"cmp_[A-Za-z0-9]+"), "<campaign>"),
    (re.compile(r"ev_[A-Za-z0-9]+"), "<event>"),
    (re.compile(r"ak_scale_agent_\w+"), "<agent's key>"),
    (re.compile(r"ak_scale_\w+"), "<user's key>"),
    (re.compile(r"usr_scale_[a-z]+"), "<user>"),
    (re.compile(r"#\d{6,}"), "#<n>"),
    (re.compile(r"EV_[A-Za-z0-9]+"), "<webhook event>"),
]


def shape(item: ItemKey) -> str:
    """An item's key with its ids as placeholders: what kind of item it is."""
    text = item.label()
    for pattern, placeholder in _IDS:
        text = pattern.sub(placeholder, text)
    return text


def _top(rates: list[Rate], n: int = 8) -> list[str]:
    rows = []
    for rate in rates[:n]:
        rows.append(
            f"| {shape(rate.item)} | {rate.writes:,.1f} | {rate.units:,.1f} | {rate.largest:,} "
            f"| {rate.units / PARTITION_WCU:.0%} |"
        )
    return rows


def hottest(hot: HotResult, load: Load = LOAD) -> tuple[str, Rate]:
    candidates = [("steady", r) for r in hot.steady(load)[:1]] + [("burst", r) for r in hot.burst(load)[:1]]
    return max(candidates, key=lambda c: c[1].units)


def load_text(hot: HotResult, load: Load = LOAD) -> str:
    return (
        f"{hot.live_calls:,} calls live ({load.call_seconds:.0f} s each, an events post every "
        f"{load.post_every:.0f} s); "
        f"{hot.live_calls:,} placed within {load.burst_seconds:.0f} s"
    )


def section(result: ScaleResult | None) -> tuple[list[str], list[tuple[str, str, bool | None, str]]]:
    """The report's lines, and its verdicts as (budget, figure, passed, why)."""
    out = ["## 9. Scale\n"]
    verdicts: list[tuple[str, str, bool | None, str]] = []
    if result is None:
        out.append("Not run.\n")
        return out, [
            ("campaign: concurrency never above max_concurrency", "-", None, ""),
            ("hottest DynamoDB item <= 1,000 WCU/s", "-", None, ""),
        ]
    out.append(
        "The product in this process as bench/world.py deploys it (template.yaml in moto, the real handlers, the "
        "LiveKit emulator's signed webhooks through the local gateway), with Step Functions executing the campaign "
        "engine's state machine as `make dev` does (bench/scale.py).\n"
    )
    verdicts.append(_campaign(result, out))
    verdicts.append(_hot(result, out))
    return out, verdicts


def _campaign(result: ScaleResult, out: list[str]) -> tuple[str, str, bool | None, str]:
    budget = "campaign: concurrency never above max_concurrency"
    c = result.campaign
    out.append("### Campaign throughput\n")
    if c is None:
        out.append("Not run.\n")
        return budget, "-", None, ""
    steady = c.steady()
    ended = "completed" if c.finished else f"paused after {result.plan.campaign_seconds:.0f} s and drained"
    out.append(
        f"`POST /campaigns` with {c.contacts:,} contacts ({c.create_seconds:.1f} s), `max_concurrency` "
        f"{c.max_concurrency}, then `POST /campaigns/{{id}}/start`: the engine's execution in moto's Step Functions, "
        f"its steps (CampaignTickFunction) placing each call as create-call does; the emulator answers each call in "
        f"{ANSWER_MS} ms and the callee hangs up after {c.talk_ms:,} ms. The campaign {ended}.\n"
    )
    out.append("| figure | value |")
    out.append("|---|---:|")
    out.append(f"| contacts | {c.contacts:,} |")
    out.append(f"| dialled | {c.dialled:,} |")
    out.append(f"| wall time, start request to {'completed' if c.finished else 'drained'} | {c.wall_seconds:.1f} s |")
    out.append(
        f"| dials a second, median of {len(steady)} windows of {c.window_seconds:.0f} s "
        f"(first and last left out) | {median(steady):.1f} |"
    )
    out.append(f"| dials a second, overall (first dial to last) | {c.overall():.1f} |")
    slowest, fastest = min(steady, default=0.0), max(steady, default=0.0)
    out.append(f"| dials a second, slowest and fastest window | {slowest:.1f} - {fastest:.1f} |")
    out.append(f"| peak SIP participants at once on the trunk (emulator) | {c.peak} |")
    out.append(f"| max_concurrency | {c.max_concurrency} |")
    out.append(f"| calls by status | {', '.join(f'{k} {v:,}' for k, v in sorted(c.statuses.items()))} |")
    item = c.campaign_item()
    if item is not None:
        _, tally = item
        out.append(
            f"| the campaign's item: writes, WCU per dial (largest size) | {tally.writes / max(c.dialled, 1):.1f}, "
            f"{tally.units / max(c.dialled, 1):.1f} ({tally.largest:,} bytes) |"
        )
    out.append(
        "\nThe counts were checked against the calls: each of the campaign's calls ended, its outcome counted once "
        f"({', '.join(f'{k} {v:,}' for k, v in c.counts.items() if isinstance(v, int) and v)}), "
        f"{c.attempts:,} attempts for {c.dialled:,} calls.\n"
    )
    if not c.finished:
        out.append(
            f"**Not the whole campaign:** the local stand-ins (moto's DynamoDB and Step Functions, every handler and "
            f"webhook in this one process) dialled {c.dialled:,} of the {c.contacts:,} contacts in "
            f"{result.plan.campaign_seconds:.0f} s; the rest stayed pending. Nothing is extrapolated from it.\n"
        )
    passed = c.peak <= c.max_concurrency
    why = "" if passed else f"{c.peak} SIP participants at once on the trunk"
    return budget, f"peak {c.peak} / {c.max_concurrency}", passed, why


def _hot(result: ScaleResult, out: list[str]) -> tuple[str, str, bool | None, str]:
    hot = result.hot
    out.append("### Hot items\n")
    if hot is None:
        out.append("Not run.\n")
        return "hottest DynamoDB item <= 1,000 WCU/s", "-", None, ""
    load = LOAD
    out.append(
        f"One account, {hot.live_calls:,} calls placed through `POST /outbound-calls/create` (its "
        f"`max_concurrent_calls` raised to {hot.live_calls:,} through the admin route), each rung and answered by the "
        "emulator's webhooks "
        f"(start: {hot.seconds['start']:.0f} s); its agent posts {hot.posts_per_call} events per call, two transcript "
        f"segments each and the summary with the last (`POST /outbound-calls/{{id}}/events`, talk: "
        f"{hot.seconds['talk']:.0f} s); then at {hot.peak_live:,} live, {hot.churn} calls end and as many are placed "
        f"(churn: {hot.seconds['churn']:.0f} s); then all end (end: {hot.seconds['end']:.0f} s). Half the ends are "
        "hang-ups through the API, half the callee hanging up (LiveKit's webhooks). Every DynamoDB write is counted "
        "per item (bench/item_writes.py): WCU from the item's size before and after, twice for an item of a "
        "transaction, and the global secondary index entries the write changed as items of their own.\n"
    )
    out.append(
        f"Loads: **steady**, {hot.live_calls:,} calls live of {load.call_seconds:.0f} s each, so "
        f"{hot.live_calls / load.call_seconds:.1f} calls a second end and are placed (each at full occupancy: the "
        f"churn phase's counts), and an events post every {load.post_every:.0f} s of each call "
        f"({hot.live_calls / load.post_every:,.0f} posts a second: the talk phase's counts); **burst**, "
        f"{hot.live_calls:,} calls placed, rung and answered within {load.burst_seconds:.0f} s (the start phase's "
        "counts, from none live to all). Rates are per item, beside DynamoDB's 1,000 WCU a second per partition.\n"
    )
    for name, rates in (("steady", hot.steady(load)), ("burst", hot.burst(load))):
        out.append(f"{name.capitalize()} load, the hottest items:\n")
        out.append("| item | writes/s | WCU/s | largest (bytes) | of 1,000 WCU/s |")
        out.append("|---|---:|---:|---:|---:|")
        out += _top(rates)
        out.append("")
    cancelled = sum(hot.cancelled.get(p, 0) for p in ("start", "talk", "churn", "end"))
    out.append(f"Transactions cancelled during the run (counted apart, not charged): {cancelled}.\n")
    which, top = hottest(hot, load)
    passed = top.units <= PARTITION_WCU
    figure = f"{top.units:,.0f} WCU/s ({which}: {shape(top.item)})"
    why = "" if passed else f"{top.writes:,.0f} writes/s of up to {top.largest:,} bytes"
    return f"hottest DynamoDB item <= 1,000 WCU/s at {load_text(hot, load)}", figure, passed, why
