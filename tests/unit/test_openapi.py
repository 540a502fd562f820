"""The OpenAPI document cannot drift: GET /openapi.json serves the file `make openapi` writes from every function's
own route declaration; it must be what they declare today, cover template.yaml's routes and no other, and say what
the handlers do (auth, errors, limits, examples)."""

from __future__ import annotations

import inspect
import json
import typing
from functools import cache
from typing import Any

import pytest
from openapi_spec_validator import validate

from local import openapi
from local.template import Stack
from telephony.handlers.http import STATUS, error_body
from telephony.models.common import Body as BodyModel
from telephony.models.errors import ErrorResponse
from telephony.openapi import swagger
from telephony.openapi.responses import ERRORS

_FUNCTIONS = [f for f in Stack().functions().values() if f.routes]
_ROUTES = sorted(
    (method, path, public, f.module.removesuffix(".app")) for f in _FUNCTIONS for method, path, public in f.routes
)


@cache
def _committed() -> dict[str, Any]:
    return json.loads(openapi.DOCUMENT.read_text())  # type: ignore[no-any-return]


@cache
def _resolvers() -> dict[str, Any]:
    return {f.module.split(".")[1]: app for f, app in zip(_FUNCTIONS, openapi.resolvers(), strict=True)}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): op for path, item in doc["paths"].items() for method, op in item.items()}


def _gaps(routes: list[tuple[Any, ...]], doc: dict[str, Any]) -> tuple[set[Any], set[Any]]:
    """(served but not documented, documented but not served)."""
    served = {(method, path) for method, path, *_ in routes}
    documented = set(_operations(doc))
    return served - documented, documented - served


def test_the_committed_document_is_what_the_routes_declare_today():
    assert openapi.text(openapi.document()) == openapi.DOCUMENT.read_text(), "stale: run `make openapi`"


def test_the_document_has_every_template_route_and_no_other():
    assert _gaps(_ROUTES, _committed()) == (set(), set())


def test_a_route_on_one_side_only_is_caught():
    doc = json.loads(json.dumps(_committed()))
    del doc["paths"]["/outbound-calls/create"]
    assert _gaps(_ROUTES, doc) == ({("POST", "/outbound-calls/create")}, set())
    assert _gaps(_ROUTES[1:], _committed()) == (set(), {_ROUTES[0][:2]})


def _function_of(folder: str) -> str:
    return next(name for name, f in Stack().functions().items() if f.module.split(".")[1] == folder)


@pytest.mark.parametrize(("method", "path", "public", "module"), _ROUTES, ids=[r[3] for r in _ROUTES])
def test_each_function_declares_the_route_the_template_gives_it(method: str, path: str, public: bool, module: str):
    # Given the function behind the route, as the template wires it
    folder = module.rsplit(".", 1)[-1]
    app = _resolvers()[folder]
    template_routes = {(m, p) for m, p, _ in Stack().functions()[_function_of(folder)].routes}
    declared = {(m, p): h for m, p, h in app.declared}
    handler = declared[(method, path)]

    # Then it serves the routes the template gives it and no other, each under one name, as public as the template
    # says: its first route is named after its folder, a second (the same operation over calls of both directions,
    # docs/adr/0023-inbound-calls.md) after the folder too, with `_any_direction`
    assert set(declared) == template_routes
    assert handler.__name__ in (folder, f"{folder}_any_direction")
    assert app.declared[0][2].__name__ == folder
    assert handler.__name__ == _operations(_committed())[(method, path)]["operationId"]
    assert app.public == public
    segments = {part[1:-1] for part in path.split("/") if part.startswith("{")}
    assert segments <= set(inspect.signature(handler).parameters), "the handler does not take every path segment"


def test_the_document_is_valid_openapi_3_1():
    doc = _committed()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def _bodies() -> list[tuple[str, type[BodyModel], dict[str, Any]]]:
    """(route, body model, its named examples) of every route that takes a body."""
    from aws_lambda_powertools.event_handler.openapi.params import Body

    found = []
    for name, app in _resolvers().items():
        for _, _, handler in app.declared:
            for hint in typing.get_type_hints(handler, include_extras=True).values():
                if typing.get_origin(hint) is typing.Annotated:
                    model, *marks = typing.get_args(hint)
                    for mark in marks:
                        if isinstance(mark, Body):
                            found.append((name, model, dict(mark.openapi_examples or {})))
    return found


def test_every_body_example_is_accepted_by_its_model():
    bodies = _bodies()
    assert {name for name, _, examples in bodies if examples} >= {
        "create_call",
        "register_agent_phone_number",
        "configure_phone_number",
        "create_phone_number_request",
    }
    for _, model, examples in bodies:
        assert issubclass(model, BodyModel)
        for example in examples.values():
            model.model_validate(example["value"])


def test_the_seed_examples_of_nested_objects_are_accepted_by_their_models():
    from telephony.models import sip

    for model in (sip.DtmfConfig, sip.TransferConfig, sip.AgentFeatures):
        (example,) = model.model_json_schema()["examples"]
        model.model_validate(example)
        assert _committed()["components"]["schemas"][model.__name__]["examples"] == [example]


def test_every_error_status_of_the_handlers_is_described_and_the_body_is_the_model():
    assert {s.value for s in STATUS.values()} <= set(ERRORS)
    listed = {int(code) for op in _operations(_committed()).values() for code in op["responses"]}
    assert listed - set(ERRORS) == {200, 201, 204, 413}
    no_content = [op for op in _operations(_committed()).values() if "204" in op["responses"]]
    assert no_content and all(op["responses"]["204"]["content"] == {} for op in no_content)
    body = error_body("not_found", "no such call", "req-1", [{"field": "call_id"}])
    assert ErrorResponse.model_validate(body).model_dump() == body
    assert ErrorResponse.model_validate(error_body("conflict", "busy", "req-2")).error.details == []


def test_validation_is_documented_as_our_400_not_powertools_422():
    doc = _committed()
    assert not {"HTTPValidationError", "ValidationError"} & set(doc["components"]["schemas"])
    for (method, path), op in _operations(doc).items():
        takes_input = "requestBody" in op or any(p["in"] != "path" for p in op.get("parameters", []))
        takes_input = takes_input or "{agent_id}" in path  # an agent_id must be a UUID
        assert ("400" in op["responses"]) == takes_input, (method, path)
        if "422" in op["responses"]:
            assert path == "/outbound-calls/create"  # an Idempotency-Key reused with another body


def test_authenticated_operations_can_be_limited_and_public_ones_are_open():
    doc = _committed()
    for method, path, public, _ in _ROUTES:
        built = _operations(doc)[(method, path)]
        success = next(answer for code, answer in built["responses"].items() if code.startswith("2"))
        if public:
            assert built["security"] in ([], [{"livekitWebhook": []}])
            assert "429" not in built["responses"]
            assert "headers" not in success
        else:
            assert "security" not in built  # the document's default: API key or JWT
            assert {"401", "403", "429"} <= set(built["responses"])
            assert set(success["headers"]) == {"RateLimit", "RateLimit-Policy"}
            assert set(built["responses"]["429"]["headers"]) == {"RateLimit", "RateLimit-Policy", "Retry-After"}
    assert set(doc["components"]["headers"]) == {"RateLimit", "RateLimit-Policy", "Retry-After"}


def test_query_parameters_are_documented_as_their_models_validate_them():
    parameters = {p["name"]: p for p in _operations(_committed())[("GET", "/outbound-calls")]["parameters"]}
    assert parameters["limit"]["schema"] == {"default": 50, "maximum": 100, "minimum": 1, "type": "integer"}
    assert parameters["status"]["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/CallStatus"}
    delete = _operations(_committed())[("DELETE", "/outbound-calls/phone-numbers/{phone_number_id}/configuration")]
    (config_type,) = delete["parameters"][1:]
    assert config_type["required"] is True
    assert config_type["schema"]["enum"] == ["sip_trunk", "dispatch_rule", "all"]


def test_the_swagger_page_loads_the_document():
    page = swagger.page("Telephony API", "https://cdn.jsdelivr.net/npm")
    assert 'url: "/openapi.json"' in page
    assert "swagger-ui-bundle.js" in page


def test_the_transcript_limit_the_document_states_is_the_one_enforced():
    from telephony.services import calls

    events = _operations(_committed())[("POST", "/outbound-calls/{call_id}/events")]
    assert f"{calls.MAX_TRANSCRIPT_CHARS:,} characters" in events["description"]


def _resolved(schema: Any, doc: dict[str, Any]) -> Any:
    """The schema with every `$ref` into the document's components put in place."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return _resolved(doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]], doc)
        return {k: _resolved(v, doc) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_resolved(v, doc) for v in schema]
    return schema


def test_the_webhooks_section_describes_each_event_as_it_is_sent():
    import jsonschema

    from telephony.models.calls import CallStatus
    from telephony.models.requests import RequestRecord
    from telephony.models.webhooks import EventType
    from telephony.services import deliveries, events
    from tests.unit.fakes import a_call

    doc = _committed()
    assert set(doc["webhooks"]) == {t.value for t in EventType}
    call = a_call(status=CallStatus.COMPLETED, summary="booked")
    request = RequestRecord.model_validate(
        {
            "request_id": "pnr_1",
            "user_id": "usr_a",
            "status": "rejected",
            "country": "US",
            "created_at": "2026-01-01T00:00:00.000Z",
            "updated_at": "2026-01-01T00:00:00.000Z",
        }
    )
    sent = {
        **{t: events.call_events(call, call, [t])[0] for t in EventType if t.value.startswith("call.")},
        **{
            t: events.event("usr_a", t, request.view().model_dump(mode="json"))
            for t in EventType
            if t.value.startswith("phone_number_request.")
        },
        EventType.WEBHOOK_TEST: events.event("usr_a", EventType.WEBHOOK_TEST, {"webhook_id": "wh_1", "message": "hi"}),
    }
    for event_type, event in sent.items():
        operation = doc["webhooks"][event_type.value]["post"]
        schema = _resolved(operation["requestBody"]["content"]["application/json"]["schema"], doc)
        jsonschema.validate(json.loads(deliveries.body_of(event)), schema)
        assert {p["name"] for p in operation["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    wrong = json.loads(deliveries.body_of(sent[EventType.CALL_ENDED]))
    del wrong["data"]["sequence"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            wrong,
            _resolved(
                doc["webhooks"]["call.ended"]["post"]["requestBody"]["content"]["application/json"]["schema"], doc
            ),
        )
