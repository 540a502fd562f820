"""Helpers shared by the test levels: a small response type and an in-process API client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        lowered = {k.lower(): v for k, v in self.headers.items()}
        return lowered.get(name.lower())


class GatewayClient:
    """Calls the local gateway in-process: routes from template.yaml, authorizer first, real handlers."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Reply:
        sent = {"content-type": "application/json", **(headers or {})}
        if token is not None:
            sent["authorization"] = f"Bearer {token}"
        body = raw if raw is not None else (json.dumps(json_body).encode() if json_body is not None else b"")
        status, reply_headers, reply_body = self.gateway.handle(method, path, sent, body)
        return Reply(status, reply_headers, reply_body)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Reply:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.request("DELETE", path, **kw)

    def patch(self, path: str, **kw: Any) -> Reply:
        return self.request("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Reply:
        return self.request("PUT", path, **kw)


def assert_error(reply: Reply, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body)
    error = reply.json()["error"]
    assert error["request_id"], error
    assert isinstance(error["message"], str) and error["message"]
    if code:
        assert error["code"] == code, error
    return error


def create_key_table(client: Any, name: str) -> None:
    """A DynamoDB table keyed like ours (string `pk` and `sk`), on demand: for tests below the deployed stack."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
