"""The OpenAPI document cannot drift: its route table is held to template.yaml and to every function's
own resolver (method, path, body model, response model, status, path and query parameters)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from openapi_spec_validator import validate

from local.template import Stack
from telephony.handlers.http import STATUS, Response, error_body, route_of
from telephony.models.errors import ErrorResponse
from telephony.openapi import examples, swagger
from telephony.openapi.document import ERRORS, build, document
from telephony.openapi.routes import OPERATIONS, Operation

_BY_ROUTE = {(op.method, op.path): op for op in OPERATIONS}
_ROUTES = sorted(
    (method, path, public, f.module.removesuffix(".app"))
    for f in Stack().functions().values()
    for method, path, public in f.routes
)


def _gaps(routes: list[tuple[Any, ...]], operations: tuple[Operation, ...]) -> tuple[set[Any], set[Any]]:
    """(served but not documented, documented but not served)."""
    served = {(method, path) for method, path, *_ in routes}
    documented = {(op.method, op.path) for op in operations}
    return served - documented, documented - served


def test_the_table_has_every_template_route_and_no_other():
    assert len(_BY_ROUTE) == len(OPERATIONS)
    assert _gaps(_ROUTES, OPERATIONS) == (set(), set())


def test_a_route_on_one_side_only_is_caught():
    without_create = tuple(op for op in OPERATIONS if op.operation_id != "create_call")
    assert _gaps(_ROUTES, without_create) == ({("POST", "/outbound-calls/create")}, set())
    assert _gaps(_ROUTES[1:], OPERATIONS) == (set(), {_ROUTES[0][:2]})


def test_the_document_has_every_operation_of_the_table_and_no_other():
    doc = build()
    documented = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert documented == set(_BY_ROUTE)


@pytest.mark.parametrize(("method", "path", "public", "module"), _ROUTES, ids=[r[3] for r in _ROUTES])
def test_each_operation_is_what_its_function_serves(method: str, path: str, public: bool, module: str):
    # Given the function behind the route, as the template wires it
    op = _BY_ROUTE[(method, path)]
    app = importlib.import_module(f"{module}.app").app
    (route,) = app.routes

    # Then the table says what its router does
    assert op.operation_id == module.rsplit(".", 1)[-1]  # one name threads through: folder = operationId
    assert (route.method, route.path) == (method, path)
    assert op.public == public == app.public
    assert route.body == op.body
    assert route.response == (op.response if op.media_type == "application/json" else Response)
    assert route.status == op.status
    assert route.query == op.query
    assert sorted(route.path_params) == sorted(part[1:-1] for part in path.split("/") if part.startswith("{"))


def test_a_handler_that_does_not_take_its_path_is_refused():
    with pytest.raises(TypeError, match="every segment"):
        route_of("GET", "/calls/{call_id}", 200, lambda: None)
    with pytest.raises(TypeError, match="neither body, query nor a segment"):
        route_of("GET", "/calls", 200, lambda call_id: None)


def test_the_document_is_valid_openapi_3_1():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    validate(doc)


@pytest.mark.parametrize("op", [op for op in OPERATIONS if op.body_examples], ids=lambda op: op.operation_id)
def test_every_body_example_is_accepted_by_the_model(op: Operation):
    assert op.body is not None
    for example in op.body_examples.values():
        op.body.model_validate(example["value"])


def test_the_seed_examples_of_nested_objects_are_accepted_by_their_models():
    from telephony.models import sip

    for name, values in examples.SCHEMAS.items():
        for value in values:
            getattr(sip, name).model_validate(value)


def test_every_error_status_of_the_handlers_is_described_and_the_body_is_the_model():
    assert {s.value for s in STATUS.values()} <= set(ERRORS)
    assert {code for op in OPERATIONS for code in op.errors} <= set(ERRORS)
    body = error_body("not_found", "no such call", "req-1", [{"field": "call_id"}])
    assert ErrorResponse.model_validate(body).model_dump() == body
    assert ErrorResponse.model_validate(error_body("conflict", "busy", "req-2")).error.details == []


def test_authenticated_operations_can_be_limited_and_public_ones_are_open():
    doc = document()
    for op in OPERATIONS:
        built = doc["paths"][op.path][op.method.lower()]
        if op.public:
            assert built["security"] in ([], [{"livekitWebhook": []}])
            assert "429" not in built["responses"]
        else:
            assert "security" not in built  # the document's default: API key or JWT
            assert {"401", "429"} <= set(built["responses"])
            assert set(built["responses"][str(op.status)]["headers"]) == {"RateLimit", "RateLimit-Policy"}
    assert set(doc["components"]["responses"]["RateLimited"]["headers"]) == {
        "RateLimit",
        "RateLimit-Policy",
        "Retry-After",
    }


def test_the_swagger_page_loads_the_document():
    page = swagger.page("Telephony API")
    assert 'url: "/openapi.json"' in page
    assert "swagger-ui-bundle.js" in page


def test_the_transcript_limit_the_document_states_is_the_one_enforced():
    from telephony.services import calls

    (events,) = [op for op in OPERATIONS if op.operation_id == "post_call_events"]
    assert f"{calls.MAX_TRANSCRIPT_CHARS:,} characters" in events.description
