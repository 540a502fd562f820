"""Safe retries of create-call with an `Idempotency-Key` (Powertools Idempotency on DynamoDB).

The key is scoped by principal, so one tenant never receives another's response; the body is
part of the record, so the same key with another body is refused instead of replayed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from telephony.errors import Conflict, IdempotencyMismatch, InvalidInput, UpstreamUnavailable
from telephony.models.principal import Principal
from telephony.repositories.store import Store, default_store

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def run_once(
    principal: Principal,
    key: str | None,
    body: dict[str, Any],
    work: Callable[[], dict[str, Any]],
    *,
    lambda_context: Any = None,
    store: Store | None = None,
) -> dict[str, Any]:
    if key is None:
        return work()
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 printable characters", details=[{"field": "Idempotency-Key"}]
        )
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[scope, key]",
        payload_validation_jmespath="body",
        expires_after_seconds=24 * 3600,
        raise_on_no_idempotency_key=True,
    )
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)  # an in-progress record expires with the invocation

    persistence = (store or default_store()).idempotency.persistence()

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        done["result"] = work()
        return done["result"]

    done: dict[str, dict[str, Any]] = {}
    request = {"scope": principal.user_id, "key": key, "body": body}
    try:
        return once(request=request)  # type: ignore[no-any-return]
    except IdempotencyPersistenceLayerError as exc:
        if "result" in done:  # the work was done (a call placed): answer it rather than invite a second one
            _complete(persistence, request, done["result"])
            return done["result"]
        raise UpstreamUnavailable("the idempotency store is unavailable; retry shortly") from exc
    except IdempotencyValidationError as exc:
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with a different request body", details=[{"field": "Idempotency-Key"}]
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from exc


_SAVE_ATTEMPTS = 3


def _complete(persistence: Any, request: dict[str, Any], result: dict[str, Any]) -> None:
    """The work was done but its record could not be marked done: try again, so that a retry gets the answer
    rather than a 409 while the record stays in progress. The work itself must not run twice either way
    (create-call derives the call's id from the key, so a second run finds the first call)."""
    import time

    from telephony.observability import logger

    for attempt in range(_SAVE_ATTEMPTS):
        try:
            persistence.save_success(data=request, result=result)
            return
        except Exception:  # the store's failure, whatever botocore made of it
            time.sleep(0.05 * 2**attempt)
    logger().error("the Idempotency-Key's record could not be completed; the work was done", exc_info=True)
