"""The OpenAPI document and Swagger UI as a client gets them: through the gateway, with no credentials."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from telephony.models import auth, calls, requests, sip  # noqa: F401  (every request model, for _subclasses(Body))
from telephony.models.common import Body
from telephony.openapi import examples
from tests import seeding
from tests.unit.test_openapi import _bodies

AGENT = str(uuid.UUID(int=11))


@pytest.fixture
def doc(world) -> dict[str, Any]:
    reply = world.client.get("/openapi.json", headers={})
    assert reply.status == 200, reply.body
    assert reply.header("content-type") == "application/json"
    return reply.json()


def _example_checker(doc: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema of the document; its `#/components/...` references resolve in the document."""
    return Draft202012Validator({**schema, "components": doc["components"]})


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_the_document_is_public_and_valid_openapi_3_1(world, doc):
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    assert doc["servers"] == [{"url": "/"}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["apiKey"]["scheme"] == schemes["userJwt"]["scheme"] == "bearer"
    assert doc["security"] == [{"apiKey": []}, {"userJwt": []}]


def test_every_template_route_is_documented_and_nothing_else(world, doc):
    served = {(method, path) for f in world.stack.functions().values() for method, path, _ in f.routes}
    documented = {(method, path) for method, path, _ in _operations(doc)}
    assert documented == served
    names = [operation["operationId"] for _, _, operation in _operations(doc)]
    assert len(names) == len(set(names)), "operationIds must be unique"
    for function in world.stack.functions().values():
        for method, path, public in function.routes:
            operation = doc["paths"][path][method.lower()]
            folder = function.module.split(".")[1]
            # a function serving a second path (calls of both directions) names its operation after its folder too
            assert operation["operationId"] in (folder, f"{folder}_any_direction")
            assert ("security" in operation) == public  # public routes drop the bearer requirement


def test_request_bodies_refuse_unknown_fields_as_the_models_do(doc):
    bodies = {model.__name__: model for model in _subclasses(Body)}
    documented = set()
    for _, _, operation in _operations(doc):
        content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
        if content is None:
            continue
        name = content["schema"]["$ref"].rsplit("/", 1)[-1]
        assert name in bodies, name  # every JSON body is a request model
        documented.add(name)
    assert documented >= {"CreateCall", "RegisterPhoneNumber", "ConfigureRequest", "Transfer", "CallEvents"}
    nested = {name for name in doc["components"]["schemas"] if name in bodies}
    assert nested >= documented | {"SipTrunkConfig", "DispatchRuleConfig", "DtmfConfig", "TransferConfig", "Voice"}
    for name in nested:
        schema = doc["components"]["schemas"][name]
        assert (schema.get("additionalProperties") is False) == (bodies[name].model_config.get("extra") == "forbid")


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_every_example_is_valid_against_its_schema(doc):
    checked = 0
    answers = 0  # the failures every operation lists, each with an example
    for _, _, operation in _operations(doc):
        for content in (operation.get("requestBody") or {}).get("content", {}).values():
            for example in (content.get("examples") or {}).values():
                _example_checker(doc, content["schema"]).validate(example["value"])
                checked += 1
        for code, response in operation["responses"].items():
            answers += not code.startswith("2")
            for content in response.get("content", {}).values():
                if "example" in content:
                    _example_checker(doc, content["schema"]).validate(content["example"])
                    checked += 1
    for name, schema in doc["components"]["schemas"].items():
        for value in schema.get("examples", []):
            _example_checker(doc, {"$ref": f"#/components/schemas/{name}"}).validate(value)
            checked += 1
    for header in doc["components"]["headers"].values():
        _example_checker(doc, header["schema"]).validate(header["example"])
        checked += 1
    # none was skipped: every example the routes declare, of the error answers, of the schemas and headers
    declared = sum(len(named) for _, _, named in _bodies())
    seed_objects = 3  # DtmfConfig, TransferConfig, AgentFeatures
    assert checked == declared + answers + seed_objects + len(doc["components"]["headers"])


def test_a_wrong_example_would_be_caught(doc):
    schema = doc["paths"]["/agents/{agent_id}/phone-numbers"]["post"]["requestBody"]["content"]["application/json"]
    wrong = {**examples.REGISTER_PHONE_NUMBER["twilio"]["value"], "ringing_timeout_seconds": 0, "extra": 1}
    errors = list(_example_checker(doc, schema["schema"]).iter_errors(wrong))
    assert len(errors) == 2


def test_the_seed_examples_work_against_the_api(world, keys, doc):
    register = doc["paths"]["/agents/{agent_id}/phone-numbers"]["post"]["requestBody"]["content"]["application/json"]
    for example in register["examples"].values():
        # a LiveKit number is registered by an admin, or by its owner once a request assigned it
        token = keys.admin_jwt if example["value"]["provider"] == "livekit" else keys.alice
        agent = AGENT if token == keys.alice else "00000000-0000-0000-0000-00000000ad01"
        reply = world.client.post(f"/agents/{agent}/phone-numbers", token=token, json_body=example["value"])
        assert reply.status == 201, reply.body
        assert reply.header("RateLimit") and reply.header("RateLimit-Policy")
    configured = examples.CONFIGURE["both"]["value"]
    number = _own_number("usr_alice", configured["sip_trunk"]["numbers"][0])
    reply = world.client.post(
        f"/outbound-calls/phone-numbers/{number}/configure", token=keys.alice, json_body=configured
    )
    assert reply.status == 200, reply.body
    created = world.client.post(
        "/outbound-calls/create", token=keys.alice, json_body=examples.CREATE_CALL["minimal"]["value"]
    )
    assert created.status == 201, created.body


def _own_number(user_id: str, e164: str) -> str:
    return seeding.own_number(user_id, e164, id_prefix="pn_docs")


def test_swagger_ui_is_public_and_loads_the_document(world):
    reply = world.client.get("/docs", headers={})
    assert reply.status == 200, reply.body
    assert reply.header("content-type").startswith("text/html")
    page = reply.body.decode()
    assert 'url: "/openapi.json"' in page and "SwaggerUIBundle" in page
