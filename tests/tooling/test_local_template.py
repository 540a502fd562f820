"""The local stack reads everything from template.yaml: no second list to drift."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from local.template import Stack


def test_every_function_module_exists_and_every_route_has_one_function():
    stack = Stack()
    routes = [(m, p) for f in stack.functions().values() for m, p, _ in f.routes]
    assert len(routes) == len(set(routes))
    every = Stack({"SummaryModelId": "m"})  # with the functions an optional feature adds
    for function in every.functions().values():
        folder = function.module.rsplit(".", 1)[0].replace(".", "/")
        assert (stack_root() / folder / "app.py").exists(), function.logical_id
        camel = "".join(part.title() for part in folder.split("/")[-1].split("_")) + "Function"
        assert camel == function.logical_id  # one name threads through: folder = logical id


def test_environment_resolves_references_to_physical_names():
    env = Stack({"ReviewTimeoutSeconds": "5"}).environment()
    assert env["REQUESTS_TABLE"] == "telephony-local-RequestsTable"
    assert env["REVIEW_TIMEOUT_SECONDS"] == "5"
    assert env["REVIEW_STATE_MACHINE_ARN"].endswith(":stateMachine:telephony-local-number-review")


def test_no_function_scans_the_installed_distributions_for_pydantic_plugins():
    """pydantic looks for plugins in every distribution's entry points when its first model is completed, unless
    the template's PYDANTIC_DISABLE_PLUGINS says there are none (a cold-start cost: README, Benchmarks)."""
    env = {**os.environ, **Stack().environment()}
    env["PYTHONPATH"] = os.pathsep.join([str(stack_root()), str(stack_root() / "layers" / "common")])
    child = (
        "import functions.list_calls.app\n"
        "from telephony.models.calls import CallsQuery\n"
        "CallsQuery.model_validate({})\n"
        "from pydantic.plugin import _loader\n"
        "import json; print(json.dumps(_loader._plugins))\n"
    )
    done = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) is None  # never loaded: nothing was scanned


def test_state_machine_substitutions_are_applied():
    definitions = Stack().state_machines()
    assert definitions and all("${" not in d for d in definitions.values())
    assert "function:telephony-local-AwaitReviewFunction" in definitions["telephony-local-number-review"]
    assert "function:telephony-local-CampaignTickFunction" in definitions["telephony-local-campaign-engine"]


def stack_root():
    from local.template import ROOT

    return ROOT


def test_an_issuer_without_an_audience_is_refused_as_cloudformation_would():
    with pytest.raises(ValueError, match="JwtAudience is required when JwtIssuer is set"):
        Stack({"JwtIssuer": "https://issuer.example", "JwtAudience": ""})
    assert Stack({"JwtIssuer": "https://issuer.example", "JwtAudience": "app"}).parameters["JwtAudience"] == "app"
    assert Stack({"JwtIssuer": "", "JwtAudience": ""}).conditions["CreateUserPool"]


def test_livekit_waits_end_before_the_functions_that_make_them_are_stopped():
    """A transfer waits for the far end; a wait that outlived the function would leave nothing recorded."""
    from local.template import load
    from telephony.integrations import livekit

    doc = load()
    default = doc["Globals"]["Function"]["Timeout"]
    for logical_id, wait in (
        ("TransferCallFunction", livekit._TRANSFER_SECONDS),
        ("CreateCallFunction", livekit._TIMEOUT_SECONDS),
    ):
        timeout = doc["Resources"][logical_id]["Properties"].get("Timeout", default)
        assert wait + 4 <= timeout <= 30, (logical_id, wait, timeout)  # 30: API Gateway's integration limit


def test_the_rate_limit_windows_can_only_be_updated_by_the_functions():
    """A revocation marker lives in that table: no function may delete, scan or overwrite its items (reading them,
    to show an account its usage, is harmless)."""
    from local.template import load

    doc = load()
    policy = doc["Resources"]["RateLimitsUpdatePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Action"]) for s in policy] == [("Allow", "dynamodb:UpdateItem")]
    users, readers = set(), set()
    for name, resource in doc["Resources"].items():
        policies = (resource.get("Properties") or {}).get("Policies") or []
        policies = policies if isinstance(policies, list) else [policies]
        inline = [p for p in policies if isinstance(p, dict) and "Ref" not in p]
        for statement in (st for p in inline for st in p.get("Statement", [])):
            if "RateLimitsTable" in json.dumps(statement.get("Resource")):
                assert statement["Action"] in ("dynamodb:GetItem", "dynamodb:BatchGetItem"), (name, statement)
        assert "RateLimitsTable" not in json.dumps([p for p in inline if "Statement" not in p])
        if {"Ref": "RateLimitsUpdatePolicy"} in policies:
            users.add(name)
        if {"Ref": "AccountLimitsReadPolicy"} in policies:
            readers.add(name)
    functions = Stack().functions().values()
    authenticated = {f.logical_id for f in functions if f.routes and not all(p for *_, p in f.routes)}
    # every authenticated HTTP function, and the campaign engine's step, which spends its account's calls budget
    assert users == authenticated | {"CampaignTickFunction"}
    assert readers >= authenticated  # the budgets are the caller's account's, read at every request


@pytest.mark.parametrize("setting", ["Enabled", "Disabled"])
def test_the_local_stack_reads_the_template_whichever_the_snapstart_setting(setting: str) -> None:
    """The authorizer is named by SAM's reference to its published alias; locally the function itself runs."""
    stack = Stack({"SnapStart": setting})
    assert stack.conditions["SnapStartEnabled"] is (setting == "Enabled")
    authorizer = stack.authorizer()
    assert authorizer is not None and authorizer.function == "AuthorizerFunction"
    assert stack.resolve({"Ref": "AuthorizerFunction.Alias"}) == stack.functions()["AuthorizerFunction"].name
    assert len(stack.functions()) == len(Stack().functions())
