"""Every file in events/ is a well-formed event of its function and runs through its real handler.

A file is `events/<function folder>[.<case>].json`. The case names the outcome (VARIANT_STATUS);
see events/README.md for the seeded ids and the LiveKit webhook's fresh signature.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.integration import event_seeds
from tests.integration.event_seeds import EVENTS

# The outcome of an event: an HTTP function's status code; for the authorizer, 200 when it passes a
# principal on and 401 when it marks the request unauthenticated; for a workflow task, 200 when it
# returns and the status of the domain error it raises otherwise (the ASL matches the error's class name).
VARIANT_STATUS: dict[str, int | None] = {
    "idempotent": None,  # None: the function's own success status
    "jwt": None,
    "any_direction": None,  # the function's second path: calls of both directions
    "invalid": 400,
    "malformed": 401,
    "unauthenticated": 401,
    "revoked": 401,
    "expired_jwt": 401,
    "bad_signature": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
}
CREATED = {
    "create_api_key",
    "create_phone_number_request",
    "register_agent_phone_number",
    "create_call",
    "create_webhook",
    "create_campaign",
}
NO_CONTENT = {"delete_call_recording"}  # 204
NOT_JSON = {"get_docs"}  # answers HTML
# Every optional part of the template on, so that each of its functions is here.
PARAMETERS = {"SummaryModelId": "anthropic.claude-3-haiku-20240307-v1:0"}


@pytest.fixture
def parameters() -> dict[str, str]:
    return PARAMETERS


@cache
def stack() -> Any:
    from local.template import Stack

    return Stack(PARAMETERS)


@cache
def functions_by_folder() -> dict[str, Any]:
    return {f.module.split(".")[1]: f for f in stack().functions().values()}


@cache
def task_payloads() -> dict[str, set[str]]:
    """Workflow task function logical id -> the keys of the Payload the state machine sends it."""
    arns = {f.arn: f.logical_id for f in stack().functions().values()}
    found: dict[str, set[str]] = {}
    for definition in stack().state_machines().values():
        for state in json.loads(definition)["States"].values():
            parameters = state.get("Parameters") or {}
            if parameters.get("FunctionName") in arns:
                keys = {k.removesuffix(".$") for k in parameters["Payload"]}
                found.setdefault(arns[parameters["FunctionName"]], set()).update(keys)
    return found


def event_files() -> list[Path]:
    return sorted(EVENTS.glob("*.json"))


def stem_of(path: Path) -> str:
    return path.name.removesuffix(".json")


def folder_of(stem: str) -> str:
    return stem.partition(".")[0]


def expected_status(stem: str) -> int:
    folder, _, variant = stem.partition(".")
    success = 201 if folder in CREATED else 204 if folder in NO_CONTENT else 200
    if not variant:
        return success
    assert variant in VARIANT_STATUS, f"{stem}: unknown case {variant!r}; add it to VARIANT_STATUS"
    return VARIANT_STATUS[variant] or success


def queue_arns(function: Any) -> set[str]:
    """The queues whose messages the function is invoked with (its SQS event sources)."""
    return {
        e.properties["Queue"] for e in stack().event_sources() if e.function == function.logical_id and e.kind == "SQS"
    }


def is_authorizer(folder: str) -> bool:
    spec = stack().authorizer()
    return spec is not None and functions_by_folder()[folder].logical_id == spec.function


FILES = [pytest.param(p, id=stem_of(p)) for p in event_files()]


# ---------------------------------------------------------------- coverage


def test_every_function_of_the_template_has_an_event():
    covered = {folder_of(stem_of(p)) for p in event_files()}
    missing = sorted(set(functions_by_folder()) - covered)
    assert not missing, f"no events/<name>.json for: {missing}"


def test_every_function_has_its_plain_event_and_every_file_a_function():
    stems = {stem_of(p) for p in event_files()}
    assert not {folder_of(s) for s in stems} - set(functions_by_folder()), "events for functions not in template.yaml"
    assert set(functions_by_folder()) <= stems, "each function needs events/<name>.json besides its variants"


# ---------------------------------------------------------------- shape


def _check_http(event: dict[str, Any], function: Any) -> None:
    from local.gateway import Route

    assert event["version"] == "2.0"
    method, _, path = event["routeKey"].partition(" ")
    routes = {(m, p): public for m, p, public in function.routes}
    assert (method, path) in routes, f"{event['routeKey']} is not a route of {function.logical_id}"
    public = routes[(method, path)]
    found = Route.build(method, path, function.logical_id, public).pattern.match(event["rawPath"])
    assert found, f"rawPath {event['rawPath']} does not match {path}"
    assert event.get("pathParameters", {}) == found.groupdict()
    query: dict[str, str] = {}
    for name, value in parse_qsl(event["rawQueryString"], keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    assert event.get("queryStringParameters", {}) == query
    assert all(name == name.lower() for name in event["headers"]), "API Gateway v2 lower-cases header names"
    context = event["requestContext"]
    assert context["http"]["method"] == method and context["http"]["path"] == event["rawPath"]
    assert context["routeKey"] == event["routeKey"] and context["stage"] == "$default"
    assert context["requestId"] and context["accountId"] and context["apiId"] and context["timeEpoch"]
    assert event["isBase64Encoded"] is False
    if "body" in event:
        assert isinstance(event["body"], str)
        json.loads(event["body"])
        assert event["headers"]["content-length"] == str(len(event["body"].encode()))
    if public:
        assert "authorizer" not in context
    else:
        assert set(context["authorizer"]) == {"lambda"} and context["authorizer"]["lambda"]
        assert event["headers"].get("authorization"), "the authorizer's identity source"


def _check_authorizer(event: dict[str, Any]) -> None:
    assert event["version"] == "2.0" and event["type"] == "REQUEST"
    assert event["identitySource"] == [event["headers"]["authorization"]]
    protected = {f"{m} {p}" for f in stack().functions().values() for m, p, public in f.routes if not public}
    assert event["routeKey"] in protected
    method, _, path = event["routeKey"].partition(" ")
    assert event["routeArn"].endswith(f"/$default/{method}{path}")
    assert event["requestContext"]["routeKey"] == event["routeKey"]
    assert "authorizer" not in event["requestContext"]


def _check_sqs(event: dict[str, Any], queues: set[str]) -> None:
    import hashlib

    assert set(event) == {"Records"} and 1 <= len(event["Records"]) <= 10
    for record in event["Records"]:
        assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] in queues
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["messageId"] and record["receiptHandle"] and record["attributes"]["ApproximateReceiveCount"]
        json.loads(record["body"])


def _check_stream(event: dict[str, Any]) -> None:
    assert set(event) == {"Records"} and event["Records"]
    for record in event["Records"]:
        assert record["eventSource"] == "aws:dynamodb" and record["eventName"] in ("INSERT", "MODIFY", "REMOVE")
        assert record["dynamodb"]["SequenceNumber"] and record["dynamodb"]["Keys"]
        assert ":table/" in record["eventSourceARN"] and "/stream/" in record["eventSourceARN"]


@pytest.mark.parametrize("path", FILES)
def test_event_is_well_formed(path: Path):
    stem = stem_of(path)
    expected_status(stem)  # a known case
    event = json.loads(path.read_text())
    function = functions_by_folder()[folder_of(stem)]
    if function.routes:
        _check_http(event, function)
    elif is_authorizer(folder_of(stem)):
        _check_authorizer(event)
    elif queue_arns(function):
        _check_sqs(event, queue_arns(function))
    elif any(e.function == function.logical_id and e.kind == "DynamoDB" for e in stack().event_sources()):
        _check_stream(event)
    elif any(e.function == function.logical_id and e.kind == "Schedule" for e in stack().event_sources()):
        # EventBridge's "Scheduled Event", as a rule without Input sends it
        assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events" and event["detail"] == {}
    else:
        payload = task_payloads().get(function.logical_id)
        assert payload is not None, f"{function.logical_id} is not routed, the authorizer, queue-fed or a workflow task"
        assert set(event) == payload, f"the state machine sends {function.logical_id} exactly {sorted(payload)}"


# ---------------------------------------------------------------- run


def _sign_webhook(world: Any, event: dict[str, Any]) -> None:
    from local.livekit_emulator.auth import webhook_authorization

    livekit = world.livekit
    event["headers"]["authorization"] = webhook_authorization(
        livekit.api_key, livekit.api_secret, event["body"].encode()
    )


def _check_authorizer_context(world: Any, event: dict[str, Any], seeded: dict[str, dict[str, Any]]) -> None:
    """The context in an HTTP event is what our authorizer says (or said, before a revocation) for its header."""
    from telephony.models.principal import Principal

    context = event["requestContext"]["authorizer"]["lambda"]
    header = event["headers"]["authorization"]
    if context.get("auth_type") == "jwt":
        Principal.from_context(context)
        assert header.startswith("Bearer ey")
    elif "auth_error" in context:
        assert event_seeds.authorize(world, header)["context"] == context
    else:
        assert seeded.get(header) == context, "not the authorizer's context for this key"


def _outcome(world: Any, function: Any, event: dict[str, Any]) -> tuple[int, Any]:
    from pydantic import ValidationError

    from telephony.errors import DomainError
    from telephony.handlers.http import status_of

    if function.routes:
        reply = world.runtime.invoke(function.logical_id, event)
        return reply["statusCode"], reply
    try:
        result = world.runtime.invoke(function.logical_id, event)
    except DomainError as error:
        return status_of(error).value, error
    except ValidationError as error:
        return 400, error
    if isinstance(result, dict) and "isAuthorized" in result:
        assert result["isAuthorized"] is True  # refusals travel in the context, as a 401 of our own shape
        return (200 if result["context"].get("user_id") else 401), result
    return 200, result


@pytest.mark.parametrize("path", FILES)
def test_event_runs_through_its_handler(world, path: Path):
    stem = stem_of(path)
    folder = folder_of(stem)
    function = functions_by_folder()[folder]
    expected = expected_status(stem)
    event = json.loads(path.read_text())

    # Given the world the event names
    seeded = event_seeds.seed_for(world, stem)
    if folder == "livekit_webhook" and expected != 401:
        _sign_webhook(world, event)
    if (event.get("requestContext") or {}).get("authorizer"):
        _check_authorizer_context(world, event, seeded)

    # When the function's real handler runs it
    status, result = _outcome(world, function, copy.deepcopy(event))

    # Then
    assert status == expected, (stem, result)
    if function.routes:
        if status == 204:
            assert not result.get("body"), result
        elif folder not in NOT_JSON:
            body = json.loads(result["body"])
            if status >= 400:
                assert body["error"]["request_id"] == event["requestContext"]["requestId"], body
        if stem == "create_call.idempotent":
            replay = world.runtime.invoke(function.logical_id, copy.deepcopy(event))
            assert (replay["statusCode"], json.loads(replay["body"])) == (status, json.loads(result["body"]))
        if stem == "livekit_webhook":
            assert json.loads(result["body"])["applied"] == "moved to completed"
    if queue_arns(function) and status == 200:
        assert result == {"batchItemFailures": []}, result
