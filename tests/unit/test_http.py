"""The resolver every HTTP function uses (telephony.handlers.http), on routes declared here: validation failures are our
400 with `details` as the contract names the fields, every failure is the one error body, and each resolver serves
its own event. Authentication and the API budget need DynamoDB: tests/integration and tests/gate cover them."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from telephony.errors import Conflict
from telephony.handlers.http import make_app
from telephony.handlers.params import CallId, IdempotencyKey
from telephony.models.calls import CallsQuery
from telephony.models.sip import ConfigureRequest


def _event(method: str, path: str, *, body: Any = None, query: str = "", headers: dict[str, str] | None = None):
    event: dict[str, Any] = {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {"http": {"method": method, "path": path}, "requestId": "req-7", "stage": "$default"},
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(part.split("=", 1) for part in query.split("&"))
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    return event


@pytest.fixture
def app():
    app = make_app(public=True)  # no caller to authenticate: the routes alone

    @app.post("/calls/<call_id>/configure")
    def configure(
        call_id: CallId, body: Annotated[ConfigureRequest, Body()], key: IdempotencyKey = None
    ) -> dict[str, Any]:
        return {"call_id": call_id, "key": key, "trunk": body.sip_trunk is not None}

    @app.get("/calls")
    def calls(query: Annotated[CallsQuery, Query()]) -> dict[str, Any]:
        return {"limit": query.limit, "status": query.status}

    @app.get("/conflict")
    def conflict() -> dict[str, Any]:
        raise Conflict("the call already ended (completed)")

    @app.get("/bug")
    def bug() -> dict[str, Any]:
        raise KeyError("a secret detail")

    @app.get("/wrong-answer")
    def wrong_answer() -> int:
        return "not a number"  # type: ignore[return-value]

    return app


def _answer(app: Any, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    reply = app.resolve(event, None)
    return reply["statusCode"], json.loads(reply["body"])


def _details(app: Any, event: dict[str, Any]) -> list[dict[str, Any]]:
    status, body = _answer(app, event)
    assert status == 400, body
    assert body["error"]["code"] == "invalid_request" and body["error"]["request_id"] == "req-7"
    return body["error"]["details"]  # type: ignore[no-any-return]


TRUNK = {"name": "main", "address": "sip.telnyx.com", "numbers": ["+14155550123"]}


def test_a_valid_request_reaches_the_route_with_its_values(app):
    event = _event("POST", "/calls/call_1/configure", body={"sip_trunk": TRUNK}, headers={"idempotency-key": "k-1"})
    assert _answer(app, event) == (200, {"call_id": "call_1", "key": "k-1", "trunk": True})
    assert _answer(app, _event("GET", "/calls", query="limit=7&status=busy")) == (200, {"limit": 7, "status": "busy"})


def test_body_fields_are_named_without_a_prefix_and_nested_ones_dotted(app):
    body = {"sip_trunk": {**TRUNK, "auth_username": 5}, "extra": 1}
    details = _details(app, _event("POST", "/calls/c/configure", body=body))
    assert {d["field"] for d in details} == {"sip_trunk.auth_username", "extra"}
    assert all(d["issue"] for d in details)


@pytest.mark.parametrize("body", [None, "null"])
def test_a_missing_body_is_the_field_body(app, body):
    assert [d["field"] for d in _details(app, _event("POST", "/calls/c/configure", body=body))] == ["body"]


def test_query_parameters_are_named_query_dot_name(app):
    details = _details(app, _event("GET", "/calls", query="limit=abc&status=nope&unknown=1"))
    assert {d["field"] for d in details} == {"query.limit", "query.status"}


def test_headers_are_named_header_dot_name(app):
    event = _event("POST", "/calls/c/configure", body={"sip_trunk": TRUNK}, headers={"idempotency-key": "a b"})
    assert [d["field"] for d in _details(app, event)] == ["header.idempotency-key"]


@pytest.mark.parametrize("raw", ['{"sip_trunk": NaN}', '{"x": Infinity}', "1e999", "[" * 100_000, '{"a": 1'])
def test_json_that_breaks_parsers_is_a_400(app, raw):
    assert _details(app, _event("POST", "/calls/c/configure", body=raw)) == [{"field": "body", "issue": "invalid_json"}]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "Application/JSON",  # Powertools tells JSON by this prefix, in lower case
    ],
)
@pytest.mark.parametrize("body", [{"sip_trunk": TRUNK}, "sip_trunk=x", None])
def test_a_body_that_is_not_json_by_its_content_type_is_a_400(app, content_type, body):
    """schemathesis: `multipart/form-data` without a boundary, which Powertools reads as multipart, was a 500."""
    event = _event("POST", "/calls/c/configure", body=body, headers={"content-type": content_type})
    assert [d["field"] for d in _details(app, event)] == ["body"]


def test_json_may_say_its_charset_and_a_route_without_a_body_ignores_the_content_type(app):
    json_utf8 = {"content-type": "application/json; charset=utf-8"}
    assert _answer(app, _event("POST", "/calls/c/configure", body={"sip_trunk": TRUNK}, headers=json_utf8))[0] == 200
    bodiless = make_app(public=True)  # a function's one route, which takes no body

    @bodiless.get("/stats")
    def stats() -> dict[str, Any]:
        return {}

    assert _answer(bodiless, _event("GET", "/stats", headers={"content-type": "multipart/form-data"}))[0] == 200


def test_a_domain_error_has_its_status_and_code(app):
    status, body = _answer(app, _event("GET", "/conflict"))
    assert status == 409
    assert body == {
        "error": {
            "code": "conflict",
            "message": "the call already ended (completed)",
            "request_id": "req-7",
            "details": [],
        }
    }


def test_no_route_is_a_404_in_the_error_body(app):
    status, body = _answer(app, _event("GET", "/nowhere"))
    assert (status, body["error"]["code"]) == (404, "not_found")
    assert _answer(app, _event("DELETE", "/calls"))[0] == 404


def test_a_bug_is_a_500_that_tells_nothing_of_it(app, caplog):
    status, body = _answer(app, _event("GET", "/bug"))
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    status, body = _answer(app, _event("GET", "/wrong-answer"))  # what we answer is ours to get right: not a 400
    assert (status, body["error"]["code"]) == (500, "internal_error")


def test_an_authenticated_route_refuses_a_request_the_authorizer_did_not_vouch_for():
    app = make_app()

    @app.get("/mine")
    def mine() -> dict[str, Any]:
        raise AssertionError("the route ran for an unauthenticated request")

    event = _event("GET", "/mine")
    event["requestContext"]["authorizer"] = {"lambda": {"auth_error": "unauthorized", "auth_message": "revoked key"}}
    status, body = _answer(app, event)
    assert (status, body["error"]["code"], body["error"]["message"]) == (401, "unauthorized", "revoked key")


def test_each_resolver_serves_its_own_event():
    """Powertools keeps the event on its class; two resolvers of one process (the local stack's containers) must
    not see each other's, even when one serves a request while the other is in the middle of its own."""
    outer, inner = make_app(public=True), make_app(public=True)

    @inner.get("/inner")
    def inside() -> dict[str, Any]:
        return {"path": inner.current_event.path}

    @outer.get("/outer")
    def outside() -> dict[str, Any]:
        nested = json.loads(inner.resolve(_event("GET", "/inner"), None)["body"])
        return {"nested": nested["path"], "mine": outer.current_event.path}

    assert _answer(outer, _event("GET", "/outer")) == (200, {"nested": "/inner", "mine": "/outer"})


def test_a_base64_body_is_read_as_its_bytes(app):
    event = _event("POST", "/calls/c/configure")
    event["body"], event["isBase64Encoded"] = base64.b64encode(json.dumps({"sip_trunk": TRUNK}).encode()).decode(), True
    assert _answer(app, event)[0] == 200
