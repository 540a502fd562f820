"""The functions' DynamoDB permissions, enforced in the local stack as IAM enforces them on AWS.

moto answers every request whatever the caller's role, so a policy narrowed too far would only fail once
deployed, and one left too wide would never show. Here each function's role is read from the template after the
SAM transform (its inline policies, SAM's policy templates expanded, and the template's managed policies), and
every DynamoDB request made while that function runs is checked against it: an action on a table or index the
role does not allow is refused with AccessDeniedException, as DynamoDB refuses it. Requests made outside any
function (the tests' own reads, the stack's seeding) are not checked.
"""

from __future__ import annotations

import contextlib
import fnmatch
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from local.template import ACCOUNT, REGION, Stack

# Items of a TransactWriteItems or a batch are authorised one action each, as DynamoDB authorises them.
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass
class Role:
    """The Allow statements of one function's role that name DynamoDB actions."""

    function: str
    statements: list[tuple[list[str], list[str]]] = field(default_factory=list)  # (actions, resources)

    def allows(self, action: str, resource: str) -> bool:
        for actions, resources in self.statements:
            if any(fnmatch.fnmatchcase(action, a) for a in actions) and any(
                fnmatch.fnmatchcase(resource, r) for r in resources
            ):
                return True
        return False


_acting = threading.local()
_roles: dict[str, Role] = {}
_installed = False


def table_arn(table: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"


def roles(stack: Stack) -> dict[str, Role]:
    """Every function's role (by the function's logical id), from the template after the SAM transform."""
    from local.sam_transform import transformed

    document = transformed(parameters=stack.parameters)
    resources = document["Resources"]
    found: dict[str, Role] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        role_ref = resource["Properties"].get("Role")
        if not (isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref):
            continue
        role = resources[role_ref["Fn::GetAtt"][0]]["Properties"]
        policies = [_chosen(stack, p) for p in role.get("Policies") or []]
        documents = [p["PolicyDocument"] for p in policies if p]
        for managed in role.get("ManagedPolicyArns") or []:
            if isinstance(managed, dict) and "Ref" in managed and managed["Ref"] in resources:
                documents.append(resources[managed["Ref"]]["Properties"]["PolicyDocument"])
        found[logical_id] = Role(logical_id, _dynamodb_statements(stack, documents))
    return found


def _chosen(stack: Stack, policy: dict[str, Any]) -> dict[str, Any] | None:
    """A policy the transform wrapped in its condition (Fn::If), as the stack's parameters decide it."""
    while "Fn::If" in policy:
        name, yes, no = policy["Fn::If"]
        policy = yes if stack.conditions[name] else no
    return None if policy == {"Ref": "AWS::NoValue"} else policy


def _dynamodb_statements(stack: Stack, documents: list[dict[str, Any]]) -> list[tuple[list[str], list[str]]]:
    statements = []
    for document in documents:
        for statement in document.get("Statement") or []:
            if statement.get("Effect") != "Allow":
                continue
            actions = _listed(statement.get("Action"))
            if not any(a.startswith("dynamodb:") or a == "*" for a in actions):
                continue
            statements.append((actions, [str(r) for r in _listed(stack.resolve(statement.get("Resource")))]))
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def install(stack: Stack) -> None:
    """Check the DynamoDB requests of every botocore client made from now on (botocore's built-in handlers,
    which every new session registers, as moto registers its own)."""
    global _installed
    _roles.clear()
    _roles.update(roles(stack))
    if _installed:
        return
    from botocore import handlers

    handlers.BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb.*", _check))
    _installed = True


@contextlib.contextmanager
def acting_as(function: str) -> Iterator[None]:
    """The requests made in this block are `function`'s (the runtime wraps each invocation in it)."""
    previous = getattr(_acting, "function", None)
    _acting.function = function
    try:
        yield
    finally:
        _acting.function = previous


def _check(params: dict[str, Any], model: Any, **_: Any) -> None:
    function = getattr(_acting, "function", None)
    role = _roles.get(function) if function else None
    if role is None:
        return
    for action, resource in requested(model.name, params):
        if not role.allows(f"dynamodb:{action}", resource):
            from botocore.exceptions import ClientError

            message = f"{function}'s role is not authorized to perform: dynamodb:{action} on resource: {resource}"
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, model.name)


def requested(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(action, resource ARN) of each authorisation a DynamoDB request needs."""
    if operation == "TransactWriteItems":
        needed = []
        for item in params.get("TransactItems") or []:
            ((kind, body),) = item.items()
            needed.append((_TRANSACT_ACTIONS[kind], table_arn(body["TableName"])))
        return needed
    if operation == "TransactGetItems":
        return [("GetItem", table_arn(i["Get"]["TableName"])) for i in params.get("TransactItems") or []]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(operation, table_arn(table)) for table in params.get("RequestItems") or {}]
    table = params.get("TableName")
    if not table:
        return []
    resource = table_arn(table)
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [(operation, resource)]
