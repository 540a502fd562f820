"""The API's four rate-limit budgets (DESIGN 3): plain data, shared by the services that spend them and the
OpenAPI document that describes them, which must not import DynamoDB's access to read four numbers."""

from __future__ import annotations

from typing import NamedTuple

WINDOW_SECONDS = 3600


class Budget(NamedTuple):
    """Not a frozen dataclass: making one execs each method it writes, ~1-2 ms of every cold start per class."""

    name: str
    limit: int
    what: str


API = Budget("api", 1000, "API requests per hour per API key")
NUMBER_REQUESTS = Budget("number_requests", 5, "phone-number requests per hour")
CONFIGURATIONS = Budget("configurations", 10, "phone-number configurations per hour")
CALLS = Budget("calls", 100, "outbound calls per hour")
