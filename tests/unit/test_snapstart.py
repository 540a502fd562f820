"""SnapStart: the template puts it on the API functions behind their alias, and the layer renews after a restore
what a snapshot would otherwise share between execution environments."""

from __future__ import annotations

import random
import sys
import tomllib
from typing import Any

import pytest
import snapshot_restore_py

from local.template import ROOT, load
from telephony import aws, snapstart
from telephony.integrations import livekit

CREDENTIALS = livekit.Credentials("http://127.0.0.1:1", "APIkey", "a-secret-of-at-least-32-characters!!")
SNAPSTART = {"ApplyOn": {"Fn::If": ["SnapStartEnabled", "PublishedVersions", "None"]}}


def _restore() -> None:
    """What Lambda's runtime does once it has restored an environment from the snapshot."""
    for renew, args, kwargs in snapshot_restore_py.get_after_restore():
        renew(*args, **kwargs)


def test_a_restored_environment_forgets_the_clients_connections_tokens_and_random_state_of_the_snapshot() -> None:
    # Given an environment holding what a first invocation leaves behind
    session, dynamodb = aws._session(), aws.client("dynamodb")
    livekit._default = livekit.LiveKit(CREDENTIALS)
    pool = livekit._http()
    livekit._token(CREDENTIALS, {"roomAdmin": True, "room": "call_1"}, {})
    random_state = random.getstate()
    try:
        # When Lambda restores it from a snapshot
        _restore()

        # Then every client, connection, credential and token is made again, and `random` is reseeded
        assert aws._session() is not session and aws.client("dynamodb") is not dynamodb
        assert livekit._default is None and livekit._tokens == {}
        assert livekit._http() is not pool
        assert random.getstate() != random_state
    finally:
        aws.reset()
        livekit.reset_default()


def test_the_hooks_are_registered_when_their_modules_are_imported() -> None:
    """Lambda only runs the hooks registered during the initialisation, that is, at import."""
    registered = [renew for renew, _, _ in snapshot_restore_py.get_after_restore()]
    assert aws.reset in registered
    assert livekit._renew in registered
    assert snapstart._reseed in registered


def test_without_the_runtime_library_nothing_is_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside Lambda's runtime (the local stack, the benchmark's cold starts) the import fails, cleanly."""
    before = list(snapshot_restore_py.get_after_restore())
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # `import` raises ImportError

    def renew() -> None:
        raise AssertionError("never called")

    assert snapstart.after_restore(renew) is renew
    assert snapshot_restore_py.get_after_restore() == before


def _functions() -> dict[str, dict[str, Any]]:
    doc = load()
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}


def _api_functions() -> set[str]:
    """Every function with an HttpApi route, and the authorizer every authenticated request waits for."""
    doc = load()
    authorizer = doc["Resources"]["Api"]["Properties"]["Auth"]["Authorizers"]["LambdaAuthorizer"]["FunctionArn"]
    assert authorizer == {"Ref": "AuthorizerFunction.Alias"}
    routed = {
        logical_id
        for logical_id, function in _functions().items()
        if any(e["Type"] == "HttpApi" for e in (function["Properties"].get("Events") or {}).values())
    }
    return routed | {"AuthorizerFunction"}


def test_snapstart_is_on_the_api_functions_and_the_authorizer_only() -> None:
    doc = load()
    assert doc["Parameters"]["SnapStart"]["Default"] == "Disabled"
    assert doc["Globals"]["Function"]["AutoPublishAlias"] == "live"
    api = _api_functions()
    assert len(api) > 20
    for logical_id, function in _functions().items():
        props = function["Properties"]
        if logical_id in api:
            assert props.get("SnapStart") == SNAPSTART, logical_id
            # a new version, so a new snapshot, whenever the setting changes
            assert props.get("VersionDescription") == {"Fn::Sub": "SnapStart ${SnapStart}"}, logical_id
        else:  # the Step Functions tasks: the state machine invokes their unpublished version, never snapshotted
            assert "SnapStart" not in props and "VersionDescription" not in props, logical_id


@pytest.mark.parametrize("setting", ["Enabled", "Disabled"])
def test_routes_and_the_authorizer_invoke_the_published_alias(setting: str) -> None:
    from local.sam_transform import transformed

    resources = transformed(parameters={"SnapStart": setting})["Resources"]
    api = _api_functions()
    invoked = set()
    permissions = [r for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"]
    for permission in (p for p in permissions if p["Properties"]["Principal"] == "apigateway.amazonaws.com"):
        target = permission["Properties"]["FunctionName"]
        assert target["Ref"].endswith("Aliaslive"), target
        invoked.add(target["Ref"].removesuffix("Aliaslive"))
    assert invoked == api
    body = str(resources["Api"]["Properties"]["Body"])
    for logical_id in api:
        assert f"{logical_id}Aliaslive" in body, logical_id
        assert f"{logical_id}.Arn" not in body and f"'{logical_id}', 'Arn'" not in body, logical_id
    versions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Version"}
    for logical_id in api:
        assert resources[logical_id]["Properties"]["SnapStart"] == SNAPSTART
        (version,) = (v for k, v in versions.items() if k.startswith(f"{logical_id}Version"))
        assert version["DeletionPolicy"] == "Delete"  # a replaced version's snapshot is not kept, nor charged
        assert version["Properties"]["Description"] == {"Fn::Sub": "SnapStart ${SnapStart}"}


def test_prod_deploys_with_snapstart_and_the_default_environment_without() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())

    def overrides(environment: str) -> list[str]:
        return str(config[environment]["deploy"]["parameters"].get("parameter_overrides", "")).split()

    assert "SnapStart=Enabled" in overrides("prod")
    assert not any(o.startswith("SnapStart=") for o in overrides("default"))
