"""Cold starts: each function's import and first event in a fresh process, beside a bare boto3 handler.

The first events come from the scenarios (the same realistic events as the warm runs), made
against a world in this process; the world's tables, secrets, queues, buckets and KMS keys are then copied
into every child process's own moto. LiveKit requests of the children go to this process's
emulator, webhook deliveries to its receiver (loopback).
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.lambda_path import allowed_modules, only_for_other_functions
from bench.scenarios import Scenario, Step
from bench.stats import median, ratio
from bench.template_info import FunctionInfo
from bench.world import World, lambda_environment

ROOT = Path(__file__).resolve().parent.parent
BARE = "bare boto3 handler"
BUDGET = 3.0  # each function's import and first event, at most this many times the bare handler's (DESIGN 8)
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode")


@dataclass
class ColdRuns:
    label: str
    function: FunctionInfo | None  # None for the bare handler
    runs: list[dict[str, Any]] = field(default_factory=list)
    import_profile: dict[str, float] = field(default_factory=dict)  # top-level package -> self ms, import phase
    event_profile: dict[str, float] = field(default_factory=dict)  # the same, imports made by the first event
    setup_profile: dict[str, float] = field(default_factory=dict)  # the same, moto's setup in between (untimed)

    def totals_ms(self) -> list[float]:
        """Each run's import plus first event."""
        return [r["import_ms"] + r["first_event_ms"] for r in self.runs]

    def total_ms(self) -> float:
        return median(self.totals_ms())

    def import_ms(self) -> float:
        return median([r["import_ms"] for r in self.runs])

    def first_event_ms(self) -> float:
        return median([r["first_event_ms"] for r in self.runs])

    def moto_ms(self) -> float:
        """Of the first event, moto serving its AWS requests in the process (a network wait on Lambda)."""
        return median([r.get("first_event_moto_ms", 0.0) for r in self.runs])

    def livekit_loaded(self) -> bool:
        return any(r["livekit_loaded"] for r in self.runs)

    def talks_to_livekit(self) -> bool:
        """The template gives it the LiveKit secret, or the SDK ended up imported."""
        return bool(self.function and self.function.livekit_policy) or self.livekit_loaded()

    def budget(self) -> float:
        return BUDGET


@dataclass
class ColdResult:
    bare: ColdRuns
    functions: list[ColdRuns]
    repetitions: int

    def ratio(self, runs: ColdRuns) -> float:
        return ratio(runs.total_ms(), self.bare.total_ms())


def _dump(world: World) -> dict[str, Any]:
    """The world's tables (spec and items), secrets, state machines, queues (empty), buckets (empty: a recording's
    deletion finds its bucket) and KMS keys (their material too: what the world encrypted, a webhook's secret, must
    decrypt in the child), as the children load them."""
    import boto3

    session = boto3.session.Session(region_name="us-east-1")
    dynamodb: Any = session.client("dynamodb")
    tables = {}
    for logical_id, props in world.stack.tables().items():
        name = world.stack.physical_name(logical_id)
        items: list[dict[str, Any]] = []
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            items += page["Items"]
        tables[name] = {"spec": {k: props[k] for k in _TABLE_KEYS if k in props}, "items": items}
    secretsmanager: Any = session.client("secretsmanager")
    secrets = {}
    for page in secretsmanager.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            secrets[entry["Name"]] = secretsmanager.get_secret_value(SecretId=entry["ARN"])["SecretString"]
    from moto.kms.models import kms_backends

    from local.template import ACCOUNT, REGION

    keys = kms_backends[ACCOUNT][REGION].keys  # KMS lets no key's material out: moto's own record of it
    return {
        "tables": tables,
        "secrets": secrets,
        "state_machines": world.stack.state_machines(),
        "queues": [{"name": q.name, "attributes": q.attributes} for q in world.stack.queues()],
        "buckets": sorted(world.stack.buckets()),
        "kms_keys": [
            {"key_id": k.key_id, "material": base64.b64encode(keys[k.key_id].key_material).decode()}
            for k in world.stack.kms_keys()
        ],
    }


def _child_env(world: World, function: FunctionInfo | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMBDA_", "_X_AMZN", "POWERTOOLS_"))}
    env.update(
        {
            "PYTHONPATH": f"{ROOT}:{ROOT / 'layers' / 'common'}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",  # moto's dummy credentials: nothing leaves the process
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }
    )
    if function is not None:
        spec = world.runtime.function(function.logical_id)
        env.update(spec.environment)
        env.update(lambda_environment(spec.name))
    else:
        env.update(lambda_environment("bare"))
    return env


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)$")


def _profile(stderr: str) -> dict[str, dict[str, float]]:
    """Self time of the imports of each phase, by top-level package (from `-X importtime`)."""
    phases: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    current = "before"
    for line in stderr.splitlines():
        if line.startswith("bench-phase: "):
            current = line.split(": ", 1)[1]
            continue
        found = _IMPORT_LINE.match(line)
        if found:
            phases[current][found.group(4).split(".")[0]] += int(found.group(1)) / 1000
    return {name: dict(values) for name, values in phases.items()}


class Runner:
    def __init__(self, world: World, workdir: Path) -> None:
        self.world = world
        self.workdir = workdir
        self.dump_path = workdir / "world.json"
        self._serial = 0
        self.allowed: dict[str | None, list[str]] = {}

    def _allowed(self, folder: str | None) -> list[str]:
        if folder not in self.allowed:
            self.allowed[folder] = allowed_modules(folder)
        return self.allowed[folder]

    def write_dump(self) -> None:
        self.dump_path.write_text(json.dumps(_dump(self.world)))

    def run(
        self, function: FunctionInfo | None, step: Step | None, *, importtime: bool = False
    ) -> tuple[dict[str, Any], str]:
        self._serial += 1
        spec_path = self.workdir / f"spec-{self._serial}.json"
        result_path = self.workdir / f"result-{self._serial}.json"
        spec: dict[str, Any] = {
            "env": _child_env(self.world, function),
            "module": function.module if function else "bench.bare_handler",
            "attribute": function.attribute if function else "lambda_handler",
            "event": step.invocation.event if step else {},
            "result": str(result_path),
            "allowed_modules": self._allowed(function.folder if function else None),
            "hidden_modules": only_for_other_functions(function.folder if function else None),
        }
        if function is not None:
            spec.update(json.loads(self.dump_path.read_text()))
        spec_path.write_text(json.dumps(spec))
        command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "bench.cold_child"]
        done = subprocess.run(
            [*command, str(spec_path)],
            cwd=ROOT,
            env=spec["env"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"cold start of {spec['module']} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(result_path.read_text())
        spec_path.unlink()
        result_path.unlink()
        if step is not None:
            step.check(result["answer"], f"cold start of {spec['module']}")
        return result, done.stderr


def _compile_project() -> None:
    """Compile the layer's code and the functions' into their `__pycache__` folders (git ignores them).

    The deployed layer carries its bytecode (`make build` compiles it: Lambda cannot write a cache into a
    layer), so the children read ours compiled, as they read the venv's packages' (pip compiles those).
    The children never write bytecode themselves (PYTHONDONTWRITEBYTECODE): every run is the same."""
    import compileall

    for folder in (ROOT / "layers" / "common" / "telephony", ROOT / "functions"):
        if not compileall.compile_dir(folder, quiet=1):
            raise RuntimeError(f"{folder.relative_to(ROOT)} does not compile")


def run(
    world: World,
    scenarios: list[Scenario],
    functions: dict[str, FunctionInfo],
    *,
    repetitions: int,
    spawn: set[str] | None,
    importtime: bool,
    log: Any,
) -> ColdResult:
    """`spawn`: the functions to start in fresh processes (all when None). With a `spawn` list (the quick
    run) only those and the functions the warm runs do not cover get first events, served here too."""
    cold = [s for s in scenarios if s.cold and (spawn is None or s.function in spawn or not s.warm)]
    spare, profiled = repetitions, repetitions + 1  # every destructive event has a resource of its own
    steps: dict[str, list[Step]] = {}
    for scenario in cold:
        make = scenario.build(world, repetitions + 2)
        steps[scenario.function] = [make(i) for i in range(repetitions + 2)]
        log(f"  first events of {scenario.function} ready")
    world.quiet()
    for scenario in cold:  # the spare event of each function is served here: it must work
        served = steps[scenario.function][spare]
        served.check(world.invoke(served.invocation), f"first event of {scenario.function}")
    chosen = [s for s in cold if spawn is None or s.function in spawn]
    _compile_project()
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        runner = Runner(world, Path(tmp))
        runner.write_dump()
        bare = ColdRuns(BARE, None)
        by_function = {s.function: ColdRuns(s.name, functions[s.function]) for s in chosen}
        order: list[str] = list(by_function)
        # The import profiles first: a profile's event that no longer works fails the section before the rounds.
        if importtime:
            for which in [None, *order]:
                target = bare if which is None else by_function[which]
                function = functions[which] if which else None
                event = steps[which][profiled] if which else None
                _, stderr = runner.run(function, event, importtime=True)
                profile = _profile(stderr)
                target.import_profile = profile.get("import", {})
                target.event_profile = profile.get("first-event", {})
                target.setup_profile = profile.get("setup", {})
            log("  cold starts: import profiles done")
        shuffle = random.Random(8349)
        for rep in range(repetitions):
            shuffle.shuffle(order)
            for key in order:
                # The baseline beside every function run, before or after it at random: every ratio's denominator
                # is the median of the bare runs made in the same minutes as all the functions' (this machine's
                # speed drifts by a third over minutes; with one bare run per round, a few fast or slow ones set the
                # baseline of the whole table: 152 ms in one run, 239 ms in another, the functions' own figures
                # 13% apart).
                pair = [None, key] if shuffle.random() < 0.5 else [key, None]
                for each in pair:
                    if each is None:
                        bare.runs.append(runner.run(None, None)[0])
                    else:
                        by_function[each].runs.append(runner.run(functions[each], steps[each][rep])[0])
            log(f"  cold starts: round {rep + 1}/{repetitions} done")
    return ColdResult(bare, list(by_function.values()), repetitions)
