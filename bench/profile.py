"""Where a handler's own time goes: cProfile over warm calls, paused while moto works and while
LiveKit is awaited, self time summed by package. cProfile slows pure Python more than C, so the
shares are indicative; the figures of the report come from the unprofiled runs."""

from __future__ import annotations

import cProfile
import pstats
import sysconfig
from collections import defaultdict
from pathlib import Path

from bench.probe import Probe
from bench.scenarios import StepFn
from bench.world import World, forget_moto_copies

ROOT = Path(__file__).resolve().parent.parent
STDLIB = sysconfig.get_paths()["stdlib"]


def _package(filename: str) -> str:
    if "-packages/" in filename:
        return filename.split("-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if filename.startswith(str(ROOT / "layers" / "common")):
        return "telephony (the layer's own code)"
    if filename.startswith(str(ROOT)):
        return Path(filename).relative_to(ROOT).parts[0]
    if filename.startswith(STDLIB):
        return "stdlib: " + Path(filename).relative_to(STDLIB).parts[0].removesuffix(".py")
    return "interpreter"


def own_time_by_package(
    world: World, probe: Probe, function: str, step: StepFn, *, first: int, calls: int
) -> list[tuple[str, float]]:
    """Self milliseconds per call, by package, largest first."""
    handler = world.handler(function)
    profiler = cProfile.Profile()
    for i in range(first, first + calls):
        prepared = step(i)
        context = world.context(function)
        probe.start()
        probe.profiler = profiler
        profiler.enable()
        try:
            handler(prepared.invocation.event, context)
        finally:
            profiler.disable()
            probe.profiler = None
            probe.stop()
            forget_moto_copies()
    totals: dict[str, float] = defaultdict(float)
    stats = pstats.Stats(profiler)
    for (filename, _, _), (_, _, tottime, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if filename == "~" and callers:  # a C function: its time goes to whoever called it
            for (caller_file, _, _), (_, _, caller_tottime, _) in callers.items():
                totals[_package(caller_file)] += caller_tottime
        else:
            totals[_package(filename)] += tottime
    return sorted(((name, seconds * 1000 / calls) for name, seconds in totals.items()), key=lambda kv: -kv[1])
