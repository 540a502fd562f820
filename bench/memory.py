"""Each function's memory size, chosen from what its cold start measured (section 8 of bench/RESULTS.md; the rule is
docs/adr/0026-function-memory-sizes.md).

The cold-start child (bench/cold_child.py) reads its resident memory after the function's import, after moto's setup
(the benchmark's, not the function's) and after the first event, and its peak. The function's own peak is taken as
its import's footprint plus what its first event added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench.cold import ColdResult
from bench.cost import VCPU_MB, cpu_share
from bench.stats import median

HEADROOM = (
    2.0  # at least twice the measured peak: Python's heap does not shrink, and Lambda stops a function at its size
)
FLOOR_MB = 512  # the CPU share below which our warm and cold times stretch past what section 2's budget intends
STEP_MB = 128  # sizes in steps of 128 MB (Lambda takes any size from 128 MB to 10,240 MB)
RULE = (
    f"the smallest multiple of {STEP_MB} MB that is at least {HEADROOM:g}x the function's peak resident memory "
    f"measured in its cold start, and at least {FLOOR_MB} MB"
)


def own_peak_mb(run: dict[str, Any]) -> float:
    """A cold start's resident memory that is the function's: its import's, plus what its first event added."""
    return float(run["rss_import_mb"] + max(0.0, run["rss_event_mb"] - run["rss_setup_mb"]))


def rule(peak_mb: float) -> int:
    return max(FLOOR_MB, math.ceil(HEADROOM * peak_mb / STEP_MB) * STEP_MB)


@dataclass(frozen=True)
class Choice:
    function: str
    kind: str
    child_peak_mb: float  # the whole child's peak, moto's setup included
    moto_mb: float  # what moto's setup added
    own_mb: float
    size: int  # the rule's
    template: int  # template.yaml's MemorySize

    @property
    def follows(self) -> bool:
        return self.size == self.template


def choices(cold: ColdResult, settings: dict[str, Any]) -> list[Choice]:
    found = []
    for runs in cold.functions:
        if runs.function is None or not all("rss_peak_mb" in r for r in runs.runs):
            continue
        own = median([own_peak_mb(r) for r in runs.runs])
        found.append(
            Choice(
                runs.function.logical_id,
                runs.function.kind,
                median([r["rss_peak_mb"] for r in runs.runs]),
                median([r["rss_setup_mb"] - r["rss_import_mb"] for r in runs.runs]),
                own,
                rule(own),
                settings[runs.function.logical_id].memory_mb,
            )
        )
    return sorted(found, key=lambda c: -c.own_mb)


Verdict = tuple[str, str, str, bool | None, str]
BUDGET = "every measured function's MemorySize is the rule's (ADR 0026)"


def render(
    cold: ColdResult | None, settings: dict[str, Any], duration_share: float | None = None
) -> tuple[list[str], list[Verdict]]:
    """`duration_share`: Lambda's duration's share of a call's life's cost (section 7), when it ran."""
    out = ["## 8. Memory sizes\n"]
    if cold is None:
        out.append("Not run (the cold starts measure the functions' memory).\n")
        return out, [("memory", BUDGET, "-", None, "")]
    found = choices(cold, settings)
    bare = cold.bare.runs[0] if cold.bare.runs else {}
    imports = median([r.import_ms() for r in cold.functions]) if cold.functions else 0.0
    out.append(
        f"Rule: {RULE}. Headroom: Python's heap does not give memory back, a larger batch or answer than the cold "
        "start's first event needs more, and Lambda stops a function that passes its size. Floor: Lambda gives CPU "
        f"in proportion to memory ({VCPU_MB:,} MB = 1 vCPU), so below {VCPU_MB:,} MB a millisecond of our CPU costs "
        "the same at any size (half the CPU, twice the time) and a smaller size saves only the memory held while "
        "waiting on DynamoDB, LiveKit or a webhook endpoint; it costs latency on every invocation and cold start. "
        f"At {FLOOR_MB} MB our warm code (section 2's budget: 2 ms on one core here) takes about "
        f"{2 / cpu_share(FLOOR_MB):.0f} ms and a cold start's import (median {imports:.0f} ms here) about "
        f"{imports / cpu_share(FLOOR_MB) / 1000:.1f} s if it runs at that share; at 256 MB twice that. "
        + (
            f"Section 7 puts Lambda's whole duration at {duration_share:.0%} of a call's life's cost, so halving the "
            "waits of the functions nobody waits on would save less than that, for a second size to keep right. "
            if duration_share is not None
            else ""
        )
        + "The template sets the size once (Globals); a function whose measured peak asks for more gets its own.\n"
    )
    out.append(
        "| CPU share by size | 128 MB | 256 MB | 512 MB | 1,024 MB | 1,769 MB |\n|---|---:|---:|---:|---:|---:|\n"
        "| vCPU | " + " | ".join(f"{cpu_share(m):.3f}" for m in (128, 256, 512, 1024, 1769)) + " |\n"
        "| 2 ms of our code here takes | "
        + " | ".join(f"{2 / cpu_share(m):.1f} ms" for m in (128, 256, 512, 1024, 1769))
        + " |\n"
    )
    if bare:
        out.append(
            f"Resident memory of a cold start's process (MB = 2^20 bytes; `VmRSS`, and `VmHWM` for the peak): the bare "
            f"boto3 handler {bare.get('rss_import_mb', 0):.0f} MB after its import. For each function: the child's "
            "peak (moto's setup included), what moto's setup added, and the function's own peak = its import's "
            "resident memory plus what its first event added.\n"
        )
    out.append(
        "| function | kind | child's peak | of which moto's setup | own peak | rule's size | template | verdict |"
    )
    out.append("|---|---|---:|---:|---:|---:|---:|---|")
    for c in found:
        out.append(
            f"| {c.function} | {c.kind} | {c.child_peak_mb:.0f} | {c.moto_mb:.0f} | {c.own_mb:.0f} | {c.size} "
            f"| {c.template} | {'PASS' if c.follows else '**FAIL**'} |"
        )
    measured = {c.function for c in found}
    others = sorted(f for f in settings if f not in measured)
    if others:
        out.append(
            f"\nNot measured in this run ({len(others)} functions: this run started {len(found)} in fresh processes); "
            f"their MemorySize is the template's: "
            + ", ".join(sorted({f"{settings[f].memory_mb} MB" for f in others}))
            + ".\n"
        )
    wrong = [c for c in found if not c.follows]
    why = "; ".join(
        f"{c.function}: own peak {c.own_mb:.0f} MB, rule {c.size} MB, template {c.template} MB" for c in wrong
    )
    figure = f"{len(found) - len(wrong)} of {len(found)} follow it"
    return out, [("memory", BUDGET, figure, (not wrong) if found else None, why)]
