"""Warm handler time per endpoint (AWS and LiveKit waits subtracted) and the requests each call makes."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.probe import Probe, Snapshot
from bench.profile import own_time_by_package
from bench.scenarios import Scenario, StepFn
from bench.stats import median, ms, percentile
from bench.world import World, forget_moto_copies


@dataclass
class Sample:
    total_ns: int
    snapshot: Snapshot

    @property
    def own_ns(self) -> int:
        return self.total_ns - self.snapshot.aws_ns - self.snapshot.livekit_ns


@dataclass
class WarmResult:
    scenario: Scenario
    samples: list[Sample] = field(default_factory=list)

    def own_ms(self, q: float) -> float:
        return ms(percentile([s.own_ns for s in self.samples], q))

    def ours_ms(self, q: float) -> float:
        """Our own code's time: the own time less botocore's client work (serialise, sign, parse), call by call."""
        return ms(percentile([s.own_ns - s.snapshot.client_ns for s in self.samples], q))

    def botocore_ms(self) -> float:
        return ms(median([s.snapshot.client_ns for s in self.samples]))

    def total_ms(self) -> float:
        return ms(median([s.total_ns for s in self.samples]))

    def aws_ms(self) -> float:
        return ms(median([s.snapshot.aws_ns for s in self.samples]))

    def livekit_ms(self) -> float:
        return ms(median([s.snapshot.livekit_ns for s in self.samples]))

    def per_call(self, measure: Callable[[Snapshot], int]) -> tuple[int, int, int]:
        """The usual count per call (the mode), and the least and most seen."""
        values = [measure(s.snapshot) for s in self.samples]
        return Counter(values).most_common(1)[0][0], min(values), max(values)

    def operations(self) -> str:
        """The AWS requests of a typical call, e.g. `dynamodb.UpdateItem, dynamodb.Query`."""
        typical = Counter(tuple(sorted(s.snapshot.ops.items())) for s in self.samples).most_common(1)[0][0]
        return ", ".join(f"{n}x {op}" if n > 1 else op for op, n in typical)


def run(
    new_world: Callable[[], World],
    probe: Probe,
    scenarios: list[Scenario],
    *,
    iterations: int,
    passes: int,
    warmup: int,
    profile_calls: int,
    profile_if: Callable[[WarmResult], bool],
    one_world: bool,
    log: Callable[[str], None],
) -> tuple[list[WarmResult], dict[str, list[tuple[str, float]]], list[str]]:
    """The measured results, own-time profiles of those `profile_if` picks (on fixtures of their own), and the
    scenarios that failed (each is reported; the others are still measured).

    The calls of each scenario are spread over `passes` passes through all the scenarios, so that a burst of
    the machine's other work moves a part of every figure rather than the whole of one (two runs of one
    pass each had approve and reject, the same work, at 3.12/3.06 and 2.72/4.29 ms).
    Each scenario gets a world of its own in each pass, so that no scenario's figures depend on the fixtures
    of those before it (`one_world` is for few iterations, where deploying a world per scenario would take
    longer than everything else)."""
    per_pass = -(-iterations // passes)
    results = {scenario.name: WarmResult(scenario) for scenario in scenarios}
    profiles = {}
    failures: dict[str, str] = {}
    shared = new_world() if one_world else None
    with shared if shared is not None else contextlib.nullcontext():
        for round_ in range(passes):
            last = round_ == passes - 1
            for scenario in scenarios:
                if scenario.name in failures:
                    continue
                result = results[scenario.name]
                try:
                    with contextlib.nullcontext(shared) if shared is not None else new_world() as world:
                        started = time.monotonic()
                        world.loud()
                        step = scenario.build(world, per_pass + warmup + (profile_calls if last else 0))
                        world.quiet()
                        built = time.monotonic() - started
                        _measure(world, probe, scenario, step, result, calls=per_pass, warmup=warmup)
                        log(
                            f"  {scenario.name}: p50 our code {result.ours_ms(50):.2f} ms "
                            f"(own {result.own_ms(50):.2f}) after pass {round_ + 1}/{passes} "
                            f"(set up in {built:.0f} s)"
                        )
                        if last and profile_calls and profile_if(result):
                            profiles[scenario.name] = own_time_by_package(
                                world, probe, scenario.function, step, first=per_pass + warmup, calls=profile_calls
                            )
                except Exception as error:  # one scenario's failure must not lose the others' figures
                    log(f"  {scenario.name}: FAILED: {type(error).__name__}: {error}")
                    failures[scenario.name] = f"{scenario.name}: {type(error).__name__}: {error}"
    measured = [results[s.name] for s in scenarios if s.name not in failures]
    return measured, profiles, list(failures.values())


def _measure(
    world: World, probe: Probe, scenario: Scenario, step: StepFn, result: WarmResult, *, calls: int, warmup: int
) -> None:
    handler = world.handler(scenario.function)
    for i in range(calls + warmup):
        prepared = step(i)  # untimed: whatever this call needs first
        context = world.context(scenario.function)
        probe.start()
        started_ns = time.perf_counter_ns()
        answer = handler(prepared.invocation.event, context)
        total_ns = time.perf_counter_ns() - started_ns
        snapshot = probe.stop()
        forget_moto_copies()
        prepared.check(answer, scenario.name)
        if i >= warmup:
            result.samples.append(Sample(total_ns, snapshot))
