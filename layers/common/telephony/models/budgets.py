"""The API's four rate-limit budgets (DESIGN 3): plain data, shared by the services that spend them and the
OpenAPI document that describes them, which must not import DynamoDB's access to read four numbers."""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_SECONDS = 3600


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    what: str


API = Budget("api", 1000, "API requests per hour per API key")
NUMBER_REQUESTS = Budget("number_requests", 5, "phone-number requests per hour")
CONFIGURATIONS = Budget("configurations", 10, "phone-number configurations per hour")
CALLS = Budget("calls", 100, "outbound calls per hour")
