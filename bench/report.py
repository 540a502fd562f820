"""bench/RESULTS.md: the machine, every figure, and each budget with PASS/FAIL and, when failed, why."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import cost as cost_model
from bench.cold import BUDGET as COLD_BUDGET
from bench.cold import ColdResult, ColdRuns
from bench.e2e import E2EResult
from bench.growth import ENDPOINTS, GrowthResult
from bench.lambda_path import allowed_modules
from bench.minimums import MINIMUMS
from bench.package import PackageResult
from bench.scale import ScaleResult
from bench.scale import section as scale_section
from bench.stats import fmt_ratio, median, percentile, ratio
from bench.warm import WarmResult

WARM_BUDGET_MS = 2.0  # our own code per call, botocore's client work excluded (DESIGN section 8)
GROWTH_BUDGET = 1.2
PACKAGE_BUDGET = 30_000_000  # bytes (MB = 10^6 bytes)
CREATE = "POST /outbound-calls/create"
STATS = "GET /outbound-calls/stats"
JWT_FAMILY = ("cryptography", "_cffi_backend", "idna")
BUDGETED_GROWTH = ("GET /outbound-calls/stats", "GET /outbound-calls?limit=10")


@dataclass
class Verdict:
    section: str
    budget: str
    figure: str
    passed: bool | None  # None: not measured in this run
    why: str = ""

    @property
    def mark(self) -> str:
        return "not run" if self.passed is None else ("PASS" if self.passed else "**FAIL**")


@dataclass
class Report:
    header: dict[str, str]
    notes: list[str] = field(default_factory=list)
    cold: ColdResult | None = None
    warm: list[WarmResult] | None = None
    profiles: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    growth: GrowthResult | None = None
    package: PackageResult | None = None
    e2e: E2EResult | None = None
    cost: cost_model.CostResult | None = None
    scale: ScaleResult | None = None
    unmeasured: dict[str, str] = field(default_factory=dict)  # function -> why it has no figures
    errors: list[str] = field(default_factory=list)  # sections the benchmark code failed in
    verdicts: list[Verdict] = field(default_factory=list)


def _top(profile: dict[str, float], n: int = 6) -> str:
    items = sorted(profile.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name} {value:.0f}" for name, value in items if value >= 0.5) or "-"


def _contamination(runs: ColdRuns, setup_profile: dict[str, float]) -> float:
    """Import time moto's setup spent on modules this function's first event then found loaded (the ones it
    may import on Lambda: the others are hidden from it again, bench/cold_child.py)."""
    if not any(r["jwt_in_event"] for r in runs.runs):
        return 0.0
    allowed = set(allowed_modules(runs.function.folder if runs.function else None))
    return sum(setup_profile.get(name, 0.0) for name in JWT_FAMILY if name in allowed)


# ---------------------------------------------------------------- sections


def _cold(report: Report, out: list[str]) -> None:
    cold = report.cold
    out.append("## 1. Cold start\n")
    if cold is None:
        out.append("Not run.\n")
        report.verdicts.append(Verdict("cold start", f"<= {COLD_BUDGET:.1f}x a bare boto3 handler", "-", None))
        return
    bare = cold.bare
    out.append(
        f"A fresh `python` per run (`python -m bench.cold_child`) imports the function's module and serves its "
        f"first event (Lambda's init plus first invocation); untimed in between, moto starts in the process "
        f"(`mock_aws`, with the adjustments of local/patches.py, as in the warm runs) holding a copy of a world made "
        f"by the scenarios below (moto needs boto3: a function whose import did not load it and whose first "
        f"event talks to AWS is charged the time boto3 took to import there). Beside it, the same for a handler that "
        f"only imports boto3 and returns. {cold.repetitions} runs of each function, in shuffled rounds, each beside a "
        f"run of the bare handler (before or after it, at random: {len(bare.runs)} bare runs, so the one "
        f"denominator of every ratio is sampled in the same minutes as all the functions; {_spread(bare)}); "
        f"the ratio is of medians. The processes get the environment Lambda sets (`AWS_EXECUTION_ENV`, "
        f"`LAMBDA_TASK_ROOT`, "
        f"`_X_AMZN_TRACE_ID`...), and they can import only what Lambda would have: the layer's requirements, what "
        f"the runtime ships (boto3, snapshot-restore-py) and the standard library (bench/lambda_path.py; this venv "
        f"also holds moto, httpx, the X-Ray SDK...). So, as on Lambda, Powertools Tracer looks for the X-Ray SDK, "
        f"which the layer does not ship, and stays off (Lambda's active tracing records the invocation from "
        f"outside the process). "
        f"Every module is read as bytecode, none compiled in the run: the venv's packages as pip compiled them, "
        f"the layer's code and the functions' compiled by the bench before the runs, as `make build` compiles "
        f"the deployed layer (section 5). "
        f"This is a cold start without SnapStart: with the template's `SnapStart` parameter on, Lambda resumes the "
        f"API functions from a snapshot taken after their import instead (README, Configuration reference). "
        f"The functions a stream or a queue feeds (the outbox's dispatcher, the webhook deliverer) get the event "
        f"Lambda would send them, built by the local stack's pollers (local/event_sources.py) from what moto holds; "
        f"the deliverer's first event includes its POST to a receiver on loopback in the benchmark's process "
        f"(local/receiver.py), which answers 200 at once. "
        f'"LiveKit" = the template gives the function the LiveKit secret / its first event made LiveKit '
        f'requests. "of which moto" = the part of the first event moto '
        f"spent serving its AWS requests in the process (bracketed as in section 2; on Lambda, the wait on "
        f"DynamoDB and the other services): shown, not subtracted. Times in ms.\n"
    )
    out.append(
        "| function | LiveKit (template / requests) | import | first event | of which moto | total | ratio | budget "
        "| verdict | first-event requests |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---|---|")
    out.append(
        f"| {bare.label} | - | {bare.import_ms():.0f} | {bare.first_event_ms():.0f} | - | {bare.total_ms():.0f} "
        "| 1.00x | - | - | - |"
    )
    failed = []
    for runs in sorted(cold.functions, key=lambda r: -cold.ratio(r)):
        info = runs.function
        assert info is not None
        value = cold.ratio(runs)
        extra = _contamination(runs, runs.setup_profile) if runs.setup_profile else 0.0
        corrected = ratio(runs.total_ms() + extra, bare.total_ms())
        passed = corrected <= runs.budget()
        if not passed:
            failed.append(runs)
        requests = runs.runs[0]["aws_requests"]
        lk = runs.runs[0]["livekit_requests"]
        summary = f"{len(requests)} AWS" + (f", {lk} LiveKit" if lk else "")
        shown = fmt_ratio(value) + (f" ({fmt_ratio(corrected)}*)" if extra else "")
        out.append(
            f"| {info.folder} | {'yes' if info.livekit_policy else 'no'} / {'yes' if runs.livekit_loaded() else 'no'} "
            f"| {runs.import_ms():.0f} | {runs.first_event_ms():.0f} | {runs.moto_ms():.0f} | {runs.total_ms():.0f} "
            f"| {shown} "
            f"| {runs.budget():.1f}x | {'PASS' if passed else '**FAIL**'} | {summary} |"
        )
        report.verdicts.append(
            Verdict(
                "cold start",
                f"{info.folder}: <= {runs.budget():.1f}x bare boto3",
                shown,
                passed,
                "" if passed else _cold_why(runs, bare),
            )
        )
    if any(_contamination(r, r.setup_profile) for r in cold.functions if r.setup_profile):
        out.append(
            "\n\\* moto's import (between the two timed phases) loads `cryptography` and `idna`, which a first event "
            "that imports PyJWT (the authorizer's RS256) would otherwise pay for; the figure in "
            "brackets adds their import time as measured in that run's `-X importtime` profile, and the verdict "
            "uses it."
        )
    disagree = [
        r.function.folder for r in cold.functions if r.function and r.livekit_loaded() and not r.function.livekit_policy
    ]
    if disagree:
        out.append(f"\nLiveKit requests from functions the template gives no LiveKit secret: {', '.join(disagree)}.")
    profiled = [r for r in [bare, *cold.functions] if r.import_profile]
    if profiled:
        out.append(
            "\nWhere the time goes (`-X importtime`, one extra run each, self time summed by top-level package, ms; "
            "importtime slows imports somewhat). First event = imports it triggers; the rest of the first event is "
            "work (clients, validators, the first requests).\n"
        )
        out.append("| function | import phase: top packages | first event: imports it triggers |")
        out.append("|---|---|---|")
        for runs in [bare, *sorted(failed, key=lambda r: -cold.ratio(r))]:
            name = runs.function.folder if runs.function else runs.label
            out.append(f"| {name} | {_top(runs.import_profile)} | {_top(runs.event_profile)} |")
    out.append("")


def _spread(runs: ColdRuns) -> str:
    totals = runs.totals_ms()
    low, high = percentile(totals, 10), percentile(totals, 90)
    return f"their 10th percentile {low:.0f} ms, median {runs.total_ms():.0f} ms, 90th percentile {high:.0f} ms"


def _cold_why(runs: ColdRuns, bare: ColdRuns) -> str:
    over = runs.total_ms() - runs.budget() * bare.total_ms()
    imported = f"import {runs.import_ms():.0f} ms"
    first = f"first event {runs.first_event_ms():.0f} ms, moto {runs.moto_ms():.0f} of it"
    if runs.import_profile:
        imported += f" (top: {_top(runs.import_profile, 3)})"
        first += f" (imports: {_top(runs.event_profile, 3)})"
    return "; ".join([f"{over:.0f} ms over budget", imported, first])


def _calls(report: Report) -> str:
    counts = sorted({len(result.samples) for result in report.warm or []})
    return f"{counts[0]:,}" if len(counts) == 1 else f"{counts[0]:,}-{counts[-1]:,}"


def _warm(report: Report, out: list[str], passes: int) -> None:
    out.append("## 2. Warm overhead\n")
    if not report.warm:
        out.append("Not run.\n")
        report.verdicts.append(
            Verdict("warm", f"p50 of our code (botocore excluded) <= {WARM_BUDGET_MS:.0f} ms per endpoint", "-", None)
        )
        return
    out.append(
        f"Every handler in this process (the template deployed into moto by `local.stack.prepare`, the LiveKit "
        f"emulator on loopback, Lambda's environment; the X-Ray SDK, which the layer does not ship, made "
        f"unimportable as in the cold starts, so Powertools Tracer stays off as on Lambda: bench/world.py), "
        f"{_calls(report)} calls per endpoint in {passes} pass{'es' if passes > 1 else ''} through all of them "
        "(so that a burst of the machine's other work moves a part of every figure, not the whole of one; in the "
        "full run each endpoint gets a fresh world and a warm-up in each pass), each call with its own realistic "
        "event (`local/gateway.py` builds them, authorizer context included). "
        "Own time = the handler's wall time minus the time moto spent serving its AWS requests (bracketed by "
        "`before-send` hooks placed first and last around moto's stubber) and minus the time inside `LiveKit._run`. "
        "It includes botocore's client work (serialise, sign, parse: shown apart, as the time inside botocore's "
        "`_make_api_call` less moto's; DynamoDB's data answers are handed over as sent, not parsed against the model, "
        "and its requests are not validated client-side), routing and validation (`handlers/http.py` on Powertools' "
        "resolver, ADR 0016), logging and EMF metrics, and the service code. The budget is on our code: the own "
        f"time less botocore's client work, call by call, p50 at most {WARM_BUDGET_MS:.0f} ms (DESIGN section 8). "
        "Times in ms.\n"
    )
    out.append(
        "| endpoint | our code p50 | our code p99 | own p50 (with botocore) | of which botocore p50 | total p50 "
        "| AWS wait p50 | LiveKit wait p50 | verdict |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for result in report.warm:
        ours = result.ours_ms(50)
        endpoint = result.scenario.name
        passed = ours <= WARM_BUDGET_MS
        client = result.botocore_ms()
        out.append(
            f"| {endpoint} | {ours:.2f} | {result.ours_ms(99):.2f} | {result.own_ms(50):.2f} | {client:.2f} "
            f"| {result.total_ms():.2f} | {result.aws_ms():.2f} | {result.livekit_ms():.2f} "
            f"| {'PASS' if passed else '**FAIL**'} |"
        )
        why = ""
        if not passed:
            requests = result.per_call(lambda s: sum(s.ops.values()))[0]
            why = (
                f"{ours - WARM_BUDGET_MS:.2f} ms over (botocore's client work, {client:.2f} ms for {requests} AWS "
                "requests, not counted)"
            )
            if endpoint in report.profiles:
                why += "; profile: " + ", ".join(f"{n} {v:.1f}" for n, v in report.profiles[endpoint][:4])
        report.verdicts.append(
            Verdict(
                "warm",
                f"{endpoint}: p50 of our code (botocore excluded) <= {WARM_BUDGET_MS:.0f} ms",
                f"{ours:.2f} ms",
                passed,
                why,
            )
        )
    if report.profiles:
        out.append(
            "\nWhere the own time of the endpoints whose code is over budget goes: cProfile over warm calls, "
            "paused while moto works and while LiveKit is awaited, self time by package (C functions counted to their "
            "caller), ms per call. cProfile inflates pure-Python code several times, so read the shares, not the "
            "sums.\n"
        )
        out.append("| endpoint | profiled total | by package |")
        out.append("|---|---:|---|")
        for endpoint, rows in report.profiles.items():
            total = sum(v for _, v in rows)
            out.append(f"| {endpoint} | {total:.1f} | " + ", ".join(f"{n} {v:.2f}" for n, v in rows[:7]) + " |")
    out.append("")


def _round_trips(report: Report, out: list[str]) -> None:
    out.append("## 3. Round trips\n")
    if not report.warm:
        out.append("Not run.\n")
        return
    out.append(
        "Requests per call, counted in the warm runs (botocore `before-send` events; LiveKit's `LiveKit.calls`, "
        "checked against the `_run` wrapper): the usual value per call (it did not vary unless a range is shown). "
        "Minimum = the fewest the design allows (bench/minimums.py says why for each).\n"
    )
    out.append(
        "| endpoint | DynamoDB (reads + writes) | requests | other AWS | LiveKit | min DynamoDB | min LiveKit "
        "| beyond the minimum |"
    )
    out.append("|---|---:|---|---:|---:|---:|---:|---|")
    scans = 0
    for result in report.warm:
        name = result.scenario.name
        ddb, lo, hi = result.per_call(lambda s: s.dynamodb())
        reads = result.per_call(lambda s: s.dynamodb_reads())[0]
        other = result.per_call(lambda s: s.other_aws())[0]
        livekit, lk_lo, lk_hi = result.per_call(lambda s: s.livekit_calls)
        counter = result.per_call(lambda s: s.livekit_counter)[0]
        scans += sum(s.snapshot.count("Scan") for s in result.samples)
        minimum = MINIMUMS.get(name)
        ranged = f" ({lo}-{hi})" if lo != hi else ""
        lk_text = (
            f"{livekit}"
            + (f" ({lk_lo}-{lk_hi})" if lk_lo != lk_hi else "")
            + ("" if counter == livekit else f" (counter {counter})")
        )
        extra = (minimum.extra if minimum and ddb > minimum.dynamodb else "") or "-"
        out.append(
            f"| {name} | {ddb}{ranged} ({reads} + {ddb - reads}) | {result.operations() or '-'} | {other} "
            f"| {lk_text} | "
            f"{minimum.dynamodb if minimum else '?'} | {minimum.livekit if minimum else '?'} | {extra} |"
        )
    report.verdicts.append(
        Verdict("round trips", "no endpoint does a Scan", f"{scans} Scans", scans == 0, "" if scans == 0 else "a Scan")
    )
    by_name = {r.scenario.name: r for r in report.warm}
    if STATS in by_name:
        reads = by_name[STATS].per_call(lambda s: s.dynamodb_reads())[0]
        report.verdicts.append(
            Verdict(
                "round trips", "stats is one read", f"{reads} read(s)", reads == 1, "" if reads == 1 else "more reads"
            )
        )
    if CREATE in by_name:
        ddb = by_name[CREATE].per_call(lambda s: s.dynamodb())[0]
        livekit = by_name[CREATE].per_call(lambda s: s.livekit_calls)[0]
        passed = ddb <= 3 and livekit <= 2
        why = "" if passed else f"{ddb} DynamoDB requests: {MINIMUMS[CREATE].extra}"
        report.verdicts.append(
            Verdict(
                "round trips",
                "create-call <= 3 DynamoDB and <= 2 LiveKit requests (happy path, no Idempotency-Key)",
                f"{ddb} DynamoDB, {livekit} LiveKit",
                passed,
                why,
            )
        )
    out.append("")


def _growth(report: Report, out: list[str]) -> None:
    out.append("## 4. Growth\n")
    growth = report.growth
    if growth is None:
        out.append("Not run.\n")
        report.verdicts.append(Verdict("growth", f"largest size within {GROWTH_BUDGET}x of the smallest", "-", None))
        return
    small, large = growth.sizes[0], growth.sizes[-1]
    out.append(
        f"One user per size with {', '.join(f'{s:,}' for s in growth.sizes)} calls, written straight into moto's "
        f"DynamoDB backend ({sum(growth.sizes):,} items plus counters in {growth.seconds_to_seed:.1f} s) with the "
        "repository's key functions; the stats counters (the TOTAL item and the hour buckets still alive under their "
        "26-hour TTL) match the calls, and the stats answer was checked against them. All sizes share one table and "
        f"are measured in the same rounds ({len(next(iter(growth.samples.values())))} per figure). moto answers every "
        "Query by walking and sorting the whole table and every match (moto/dynamodb/models/table.py `query`), which "
        "DynamoDB does not: its cost, shown as `moto`, is left out of the budgeted figure; DynamoDB's own work is "
        "the requests and items read per call. Times in ms (medians).\n"
    )
    out.append(
        "| endpoint | calls stored | own p50 | total p50 (with moto) | moto p50 | DynamoDB requests | items read "
        "| hour buckets |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for endpoint in ENDPOINTS:
        for size in growth.sizes:
            out.append(
                f"| {endpoint} | {size:,} | {growth.own_ms(endpoint, size):.2f} "
                f"| {growth.total_ms(endpoint, size):.2f} | "
                f"{growth.aws_ms(endpoint, size):.2f} | {growth.requests(endpoint, size)} | "
                f"{growth.items_read(endpoint, size)} | {growth.seeded[size].buckets} |"
            )
    out.append("")
    for endpoint in ENDPOINTS:
        own = ratio(growth.own_ms(endpoint, large), growth.own_ms(endpoint, small))
        total = ratio(growth.total_ms(endpoint, large), growth.total_ms(endpoint, small))
        reads = ratio(growth.items_read(endpoint, large), growth.items_read(endpoint, small))
        middle = growth.sizes[len(growth.sizes) // 2]
        upper = ratio(growth.own_ms(endpoint, large), growth.own_ms(endpoint, middle))
        out.append(
            f"- {endpoint}: {large:,} vs {small:,} calls: own time {fmt_ratio(own)} ({large:,} vs {middle:,}: "
            f"{fmt_ratio(upper)}), with moto {fmt_ratio(total)}, items read {fmt_ratio(reads)}."
        )
        if endpoint not in BUDGETED_GROWTH:
            continue
        passed = own <= GROWTH_BUDGET
        why = ""
        if not passed:
            why = f"own time {growth.own_ms(endpoint, small):.2f} -> {growth.own_ms(endpoint, large):.2f} ms"
            if reads > 1:
                why += f"; items read {growth.items_read(endpoint, small)} -> {growth.items_read(endpoint, large)}"
            if endpoint == STATS:
                why += (
                    f" (the TOTAL item and one bucket per active hour: {growth.seeded[small].buckets} vs "
                    f"{growth.seeded[large].buckets} buckets, each one's counters summed)"
                )
        report.verdicts.append(
            Verdict(
                "growth",
                f"{endpoint}: {large:,} calls within {GROWTH_BUDGET}x of {small:,}",
                fmt_ratio(own),
                passed,
                why,
            )
        )
    out.append(
        "\nThe budget is checked on the stats and on the list with a page of 10, which is full at every size; the "
        "default page (50) holds 10 items at the smallest size and 50 above, so its ratio from the smallest size "
        "measures the page, and the one between the two larger sizes measures growth.\n"
    )


def _package(report: Report, out: list[str]) -> None:
    out.append("## 5. Package\n")
    package = report.package
    if package is None:
        out.append("Not run (no `sam build` output at `.aws-sam/build/CommonLayer`; `make build` makes it).\n")
        report.verdicts.append(Verdict("package", "layer <= 30 MB unzipped, boto3 not bundled", "-", None))
        return
    state = "rebuilt by this run (`make build`)" if package.rebuilt else "as found"
    out.append(
        f"`{package.path.relative_to(package.path.parents[3])}` ({state}): **{package.total / 1e6:.1f} MB** "
        f"({package.total / 2**20:.1f} MiB) unzipped, the sum of its files' sizes; MB = 10^6 bytes. "
        f"{package.bytecode / 1e6:.1f} MB of it is bytecode (`.pyc`, counted below with its source's "
        "distribution): `make build` compiles the layer after `sam build`, because Lambda cannot write a "
        "bytecode cache into a layer and would otherwise compile every module from source at each cold start.\n"
    )
    if package.stale:
        out.append(f"The build did not match the sources: {'; '.join(package.stale)}.\n")
    out.append("| distribution | version | MB | share | brought in by (layers/common/requirements.txt) |")
    out.append("|---|---|---:|---:|---|")
    for entry in package.packages[:15]:
        out.append(
            f"| {entry.name} | {entry.version} | {entry.size / 1e6:.2f} | {entry.size / package.total:.0%} | "
            f"{', '.join(entry.pulled_in_by) or '-'} |"
        )
    out.append("")
    for name, size in package.functions_with_dependencies.items():
        out.append(
            f"Outside the layer, {name} bundles packages of its own (its requirements.txt): "
            f"{size / 1e6:.1f} MB unzipped.\n"
        )
    size_ok = package.total <= PACKAGE_BUDGET
    why = ""
    if not size_ok:
        biggest = ", ".join(f"{p.name} {p.size / 1e6:.1f} MB" for p in package.packages[:4])
        why = f"{(package.total - PACKAGE_BUDGET) / 1e6:.1f} MB over; biggest: {biggest}"
    report.verdicts.append(Verdict("package", "layer <= 30 MB unzipped", f"{package.total / 1e6:.1f} MB", size_ok, why))
    bundled = package.bundled_runtime
    report.verdicts.append(
        Verdict(
            "package",
            "boto3 / botocore not bundled (the runtime has them)",
            ", ".join(bundled) or "none bundled",
            not bundled,
            ""
            if not bundled
            else "brought in by "
            + "; ".join(
                f"{p.name} <- {', '.join(p.pulled_in_by) or '?'}" for p in package.packages if p.name in bundled
            ),
        )
    )


def _e2e(report: Report, out: list[str]) -> None:
    out.append("## 6. End to end, through the stand-in (no budget)\n")
    e2e = report.e2e
    if e2e is None:
        out.append("Not run.\n")
        return
    create, bare = median(e2e.create_ms), median(e2e.bare_ms)
    value = e2e.ratio()
    moto_server, moto_backend = median(e2e.create_moto_server_ms), median(e2e.create_moto_backend_ms)
    without_moto = median(e2e.without_moto_ms())
    requests = round(median(e2e.create_moto_requests))
    out.append(
        f"`local.stack` (what `make dev` runs) on free loopback ports (ready in {e2e.startup_s:.1f} s), an "
        "outbound-capable number registered through `POST /agents/{id}/phone-numbers`, then in alternation: "
        "`POST /outbound-calls/create` over HTTP (httpx, keep-alive; the gateway, the cached authorizer answer, the "
        "handler, moto in server mode, the emulator), and the two `livekit-api` calls it makes (CreateDispatch + "
        "CreateSIPParticipant, same fields) from this process against the same emulator, with one client kept open "
        f"as the service keeps its own. {len(e2e.create_ms)} rounds; the emulator's webhooks were switched off so "
        "that nothing else runs in the stack while measuring. The stack runs with clocks on moto "
        "(bench/timed_stack.py: its HTTP server from a request's first line to its answer, and its DynamoDB "
        "backend's operation), so each create-call's time is split into moto's and the rest (which includes opening "
        "a connection to moto for each request: its server closes every one). For scale: "
        "`GET /outbound-calls/stats` through the same gateway, and one DynamoDB GetItem from this process to the "
        "stack's moto server.\n"
    )
    out.append("| measure | median ms |")
    out.append("|---|---:|")
    out.append(f"| POST /outbound-calls/create through the gateway | {create:.1f} |")
    out.append(f"| - of which moto's HTTP server serving its {requests} DynamoDB requests | {moto_server:.1f} |")
    out.append(f"| - of which moto's DynamoDB backend (the operations themselves) | {moto_backend:.1f} |")
    out.append(
        f"| - the rest: gateway, handler, botocore client side, 2 LiveKit calls (per round) | {without_moto:.1f} |"
    )
    out.append(f"| CreateDispatch + CreateSIPParticipant, bare livekit-api | {bare:.1f} |")
    out.append(f"| GET /outbound-calls/stats through the gateway | {median(e2e.stats_ms):.1f} |")
    out.append(f"| one GetItem to the stack's moto server | {median(e2e.moto_ms):.1f} |")
    out.append(
        f"\nRatio: **{fmt_ratio(value)}**: the stand-in's figure, not a budget (DESIGN section 8 retired it: it "
        "measured moto's server more than the product, ADR 0013). Without moto's server time: "
        f"{fmt_ratio(without_moto / bare)}; moto's DynamoDB backend alone is {fmt_ratio(moto_backend / bare)} the "
        "bare calls.\n"
    )


def _cost(report: Report, out: list[str]) -> None:
    if report.cost is None:
        out.append("## 7. Cost\n")
        out.append("Not run.\n")
        report.verdicts.append(Verdict("cost", cost_model.CALL_BUDGET, "-", None))
        return
    lines, verdicts = cost_model.render(report.cost)
    out += lines
    out.append("")
    report.verdicts += [Verdict(*verdict) for verdict in verdicts]


def _memory(report: Report, out: list[str]) -> None:
    from bench import memory
    from bench.template_info import lambda_settings

    share = None
    if report.cost is not None:
        usage = report.cost.call.usage()
        costs = cost_model.dollars(usage)
        share = sum(v for k, v in costs.items() if k.startswith("lambda.gb_seconds.")) / (sum(costs.values()) or 1)
    lines, verdicts = memory.render(report.cold, lambda_settings(), share)
    out += lines
    out.append("")
    report.verdicts += [Verdict(*verdict) for verdict in verdicts]


def _scale(report: Report, out: list[str]) -> None:
    lines, verdicts = scale_section(report.scale)
    out += lines
    report.verdicts += [Verdict("scale", budget, figure, passed, why) for budget, figure, passed, why in verdicts]


# ---------------------------------------------------------------- the document


def render(report: Report, *, passes: int) -> str:
    body: list[str] = []
    _cold(report, body)
    _warm(report, body, passes)
    _round_trips(report, body)
    _growth(report, body)
    _package(report, body)
    _e2e(report, body)
    _cost(report, body)
    _memory(report, body)
    _scale(report, body)
    out = ["# Benchmarks\n"]
    out.append(
        f"Written by `{report.header['command']}`. Every figure is a median or a percentile of repeated runs, or a "
        "ratio of medians, all from this one invocation on this one machine, which is shared with other work and "
        "noisy.\n"
    )
    out.append("| | |")
    out.append("|---|---|")
    for key, value in report.header.items():
        if key != "command":
            out.append(f"| {key} | {value} |")
    out.append("")
    for note in report.notes:
        out.append(f"- {note}")
    if report.notes:
        out.append("")
    if report.errors:
        out.append("## Benchmark errors\n")
        out.append("These sections failed (the benchmark code or a scenario broke); their figures are missing.\n")
        out += [f"- {error}" for error in report.errors]
        out.append("")
    out.append("## Budgets\n")
    out.append("| section | budget | figure | verdict | why it failed |")
    out.append("|---|---|---|---|---|")
    for verdict in report.verdicts:
        out.append(
            f"| {verdict.section} | {verdict.budget} | {verdict.figure} | {verdict.mark} | {verdict.why or ''} |"
        )
    failed = sum(1 for v in report.verdicts if v.passed is False)
    passed = sum(1 for v in report.verdicts if v.passed)
    out.append(f"\n{passed} passed, {failed} failed.\n")
    if report.unmeasured:
        out.append("Functions not measured:\n")
        out += [f"- {function}: {why}." for function, why in report.unmeasured.items()]
        out.append("")
    return "\n".join(out + body).rstrip() + "\n"


def summary(report: Report) -> list[str]:
    return [f"{v.mark:8s} {v.section}: {v.budget}: {v.figure}" for v in report.verdicts]
