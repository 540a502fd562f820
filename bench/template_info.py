"""What the benchmarks need to know about each function, read from template.yaml (never a second list)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from local.template import Stack

HTTP, AUTHORIZER, TASK, QUEUE, STREAM, SCHEDULE = "http", "authorizer", "task", "queue", "stream", "schedule"
# The event sources a function may be fed by instead of a route (SAM event types), and the kind they make it.
_SOURCES = {"SQS": QUEUE, "DynamoDB": STREAM, "Schedule": SCHEDULE}


@dataclass(frozen=True)
class FunctionInfo:
    logical_id: str
    folder: str  # functions/<folder>/app.py
    module: str
    attribute: str
    kind: str  # http | authorizer | task | queue | stream | schedule
    routes: tuple[tuple[str, str], ...]  # (METHOD, /path/{x})
    livekit_policy: bool  # may read the LiveKit credentials secret: the template says it talks to LiveKit

    @property
    def label(self) -> str:
        if self.routes:
            return " ".join(self.routes[0])
        return self.kind


def _references(value: Any, logical_id: str) -> bool:
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        return any(_references(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_references(v, logical_id) for v in value)
    return False


def _livekit_secret(stack: Stack) -> str:
    """The secret behind LIVEKIT_CREDENTIALS_SECRET_ARN in the functions' environment."""
    variables = (((stack.doc.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables")
    ref = (variables or {}).get("LIVEKIT_CREDENTIALS_SECRET_ARN")
    if not isinstance(ref, dict) or "Ref" not in ref:
        raise ValueError("template.yaml: LIVEKIT_CREDENTIALS_SECRET_ARN is not a !Ref to a secret")
    return str(ref["Ref"])


def functions(stack: Stack | None = None) -> list[FunctionInfo]:
    stack = stack or Stack()
    secret = _livekit_secret(stack)
    authorizer = stack.authorizer()
    fed = {source.function: _SOURCES[source.kind] for source in stack.event_sources() if source.kind in _SOURCES}
    tasks: set[str] = set()
    for logical_id in stack.of_type("AWS::Serverless::StateMachine"):
        substitutions = stack.resources[logical_id]["Properties"].get("DefinitionSubstitutions") or {}
        for value in substitutions.values():
            if isinstance(value, dict) and "Fn::GetAtt" in value:
                tasks.add(value["Fn::GetAtt"][0])
    found = []
    for logical_id, function in sorted(stack.functions().items()):
        props = stack.resources[logical_id]["Properties"]
        if authorizer is not None and logical_id == authorizer.function:
            kind = AUTHORIZER
        elif logical_id in tasks:
            kind = TASK
        elif function.routes:
            kind = HTTP
        elif logical_id in fed:
            kind = fed[logical_id]
        else:
            raise ValueError(
                f"{logical_id}: no route, not the authorizer nor a workflow task, fed by no queue, stream or schedule"
            )
        found.append(
            FunctionInfo(
                logical_id=logical_id,
                folder=function.module.split(".")[1],
                module=function.module,
                attribute=function.attribute,
                kind=kind,
                routes=tuple((method, path) for method, path, _ in function.routes),
                livekit_policy=_references(props.get("Policies") or [], secret),
            )
        )
    return found


def left_out(stack: Stack | None = None) -> list[str]:
    """The functions template.yaml declares that its conditions leave out with these (by default, the template's
    default) parameters."""
    stack = stack or Stack()
    return sorted(
        k for k, v in stack.resources.items() if v["Type"] == "AWS::Serverless::Function" and not stack.included(k)
    )


@dataclass(frozen=True)
class LambdaSettings:
    memory_mb: int
    architecture: str  # arm64 | x86_64


def lambda_settings(stack: Stack | None = None) -> dict[str, LambdaSettings]:
    """Each function's MemorySize and architecture: its own, else the template's Globals, else Lambda's defaults."""
    stack = stack or Stack()
    defaults = (stack.doc.get("Globals") or {}).get("Function") or {}
    found = {}
    for logical_id in stack.functions():
        props = stack.resources[logical_id].get("Properties") or {}
        memory = stack.resolve(props.get("MemorySize", defaults.get("MemorySize", 128)))
        architectures = stack.resolve(props.get("Architectures", defaults.get("Architectures", ["x86_64"])))
        found[logical_id] = LambdaSettings(int(memory), str(architectures[0]))
    return found
