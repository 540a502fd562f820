"""`python -m bench` (make bench): every benchmark of DESIGN section 8, written to bench/RESULTS.md.

`python -m bench --quick` (make bench-quick, run by make test): the same code with few iterations and
small sizes, written to bench/RESULTS-quick.md. It asserts nothing about timings; it fails when the
benchmark code, a scenario or a consistency check (a handler's answer, the stats counters) breaks.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import logging
import os
import platform
import secrets
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("package", "cold", "warm", "growth", "cost", "e2e", "scale")


@dataclass(frozen=True)
class Plan:
    name: str
    cold_repetitions: int
    cold_spawn: frozenset[str] | None  # functions started in fresh processes (None: all)
    importtime: bool
    warm_iterations: int
    warm_passes: int  # the warm calls of each endpoint are spread over this many passes through all of them
    warm_warmup: int
    profile_calls: int
    growth_sizes: tuple[int, ...]
    growth_rounds: int
    growth_warmup: int
    e2e_iterations: int
    e2e_warmup: int
    build: bool  # run `make build` when the layer build is missing or stale
    output: Path
    cost_lives: int = 1  # the lives of a call and of a number counted for section 7 (after one unrecorded of each)


FULL = Plan(
    name="full",
    cold_repetitions=11,  # each function's median of 11 runs; the bare handler runs beside every one of them
    cold_spawn=None,
    importtime=True,
    warm_iterations=500,
    warm_passes=3,
    warm_warmup=10,
    profile_calls=20,
    growth_sizes=(10, 1_000, 100_000),
    growth_rounds=25,
    growth_warmup=2,
    e2e_iterations=40,
    e2e_warmup=3,
    build=True,
    output=ROOT / "bench" / "RESULTS.md",
    cost_lives=5,
)
QUICK = Plan(
    name="quick",
    cold_repetitions=1,
    cold_spawn=frozenset({"GetCallStatsFunction", "CreateCallFunction"}),
    importtime=False,
    warm_iterations=3,
    warm_passes=1,
    warm_warmup=1,
    profile_calls=1,
    growth_sizes=(10, 100, 1_000),
    growth_rounds=3,
    growth_warmup=1,
    e2e_iterations=3,
    e2e_warmup=1,
    build=False,
    output=ROOT / "bench" / "RESULTS-quick.md",  # ignored by git (bench/.gitignore)
)


_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _machine() -> dict[str, str]:
    cpu = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    # the results files themselves do not count: the previous run's are usually still uncommitted
    changed = _git("status", "--porcelain", "--", ".", ":!bench/RESULTS.md", ":!bench/RESULTS-quick.md")
    dirty = " (with uncommitted changes)" if changed else ""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"`nproc` {nproc}, {cpu or platform.processor()}, {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "commit": (_git("rev-parse", "--short", "HEAD") or "?") + dirty,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few iterations, small sizes (make test)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}")
    parser.add_argument("--output", type=Path, help="where to write the results (default: by mode)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {sorted(unknown)}")
    output: Path = args.output or plan.output

    logging.getLogger("livekit_emulator").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="No application metrics to publish")

    from bench.report import Report, render, summary

    started = time.monotonic()
    header = {"command": "make bench" if plan.name == "full" else "make bench-quick", **_machine()}
    header["mode"] = f"{plan.name} (`python -m bench{' --quick' if args.quick else ''}`)"
    report = Report(header)
    log(f"bench ({plan.name}): {', '.join(s for s in SECTIONS if s in sections)}")

    def section(name: str, work: Callable[[], None]) -> None:
        """Run one section; a failure is reported and the others still run (the exit status says it)."""
        if name not in sections:
            return
        log(name)
        try:
            work()
        except Exception as error:
            log(traceback.format_exc())
            report.errors.append(f"{name}: {type(error).__name__}: {error}")

    def package_section() -> None:
        from bench import package

        report.package = package.run(build_if_needed=plan.build, log=log)

    def e2e_section() -> None:
        from bench import e2e

        report.e2e = e2e.run(iterations=plan.e2e_iterations, warmup=plan.e2e_warmup, log=log)

    def scale_section() -> None:
        from bench import scale

        report.scale = scale.run(scale.PLANS[plan.name], log=log)

    section("package", package_section)
    if sections & {"cold", "warm", "growth", "cost"}:
        _in_process(plan, sections, report, section)
    section("e2e", e2e_section)
    section("scale", scale_section)

    header["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    header["wall time"] = f"{time.monotonic() - started:.0f} s"
    text = render(report, passes=plan.warm_passes)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    for line in summary(report):
        log(line)
    for error in report.errors:
        log(f"BENCHMARK ERROR {error}")
    log(f"written to {output}")
    if report.errors:
        sys.exit(1)


def _in_process(plan: Plan, sections: set[str], report: object, section: Callable[..., None]) -> None:
    from bench import cold, growth, template_info, warm
    from bench.probe import Probe
    from bench.report import WARM_BUDGET_MS, Report
    from bench.scenarios import for_functions, unmeasured
    from bench.world import HOST, World
    from local.issuer import Issuer
    from local.livekit_emulator import Emulator

    assert isinstance(report, Report)
    functions = template_info.functions()
    scenarios, missing = for_functions(functions)
    report.unmeasured = unmeasured(missing, template_info.left_out())
    if missing:
        log(f"  no scenario for: {', '.join(f.logical_id for f in missing)}")
    emulator = Emulator(api_key="benchkey", api_secret=secrets.token_urlsafe(32)).start(HOST, 0)
    issuer = Issuer()
    issuer.serve(HOST, 0)
    probe = Probe().install()
    first_profiled: list[str] = []

    def profile_if(result: warm.WarmResult) -> bool:
        if plan.name == "quick":  # exercise the profiler once, whatever the figures
            first_profiled.append(result.scenario.name)
            return len(first_profiled) == 1
        return result.ours_ms(50) > WARM_BUDGET_MS

    def cold_section() -> None:
        with World(emulator, issuer) as world:
            report.cold = cold.run(
                world,
                scenarios,
                {f.logical_id: f for f in functions},
                repetitions=plan.cold_repetitions,
                spawn=set(plan.cold_spawn) if plan.cold_spawn is not None else None,
                importtime=plan.importtime,
                log=log,
            )

    def warm_section() -> None:
        report.warm, report.profiles, failures = warm.run(
            lambda: World(emulator, issuer),
            probe,
            [s for s in scenarios if s.warm],
            iterations=plan.warm_iterations,
            passes=plan.warm_passes,
            warmup=plan.warm_warmup,
            profile_calls=plan.profile_calls,
            profile_if=profile_if,
            one_world=plan.name == "quick",
            log=log,
        )
        report.errors.extend(f"warm: {failure}" for failure in failures)

    def growth_section() -> None:
        with World(emulator, issuer, webhooks=False) as world:
            report.growth = growth.run(
                world,
                probe,
                sizes=list(plan.growth_sizes),
                rounds=plan.growth_rounds,
                warmup=plan.growth_warmup,
                log=log,
            )

    def cost_section() -> None:
        from bench import cost

        report.cost = cost.run(lambda: World(emulator, issuer), lives=plan.cost_lives, log=log)

    try:
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # EMF metrics and logs: Lambda's stdout
            section("cold", cold_section)
            section("warm", warm_section)
            section("growth", growth_section)
            section("cost", cost_section)  # last: its meter's botocore handlers stay registered in this process
    finally:
        emulator.stop()
        issuer.stop()
