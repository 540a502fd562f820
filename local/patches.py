"""moto's DynamoDB under concurrency: a difference between DynamoDB and the local stack's threads, evened out.

DynamoDB applies the writes to one item one at a time, so a conditional update and a transaction
on the same item never interleave. moto checks a condition and then mutates the item without a
lock, so two threads (the gateway's and a Step Functions task's) can interleave and both
"succeed". The local stack and the tests run many threads, so every DynamoDB call is serialised
here, which is what the product relies on and what DynamoDB guarantees.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.RLock()
_applied = False


def serialise_dynamodb() -> None:
    global _applied
    if _applied:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _applied = True
