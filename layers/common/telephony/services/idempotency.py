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

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=(store or default_store()).idempotency.persistence(),
        config=config,
    )
    def once(request: dict[str, Any]) -> dict[str, Any]:
        done["result"] = work()
        return done["result"]

    done: dict[str, dict[str, Any]] = {}
    try:
        return once(request={"scope": principal.user_id, "key": key, "body": body})  # type: ignore[no-any-return]
    except IdempotencyPersistenceLayerError as exc:
        if "result" in done:  # the work was done (a call placed): answer it rather than invite a second one
            from telephony.observability import logger

            logger().error("the Idempotency-Key's record could not be completed; the work was done", exc_info=True)
            return done["result"]
        raise UpstreamUnavailable("the idempotency store is unavailable; retry shortly") from exc
    except IdempotencyValidationError as exc:
        raise IdempotencyMismatch(
            "this Idempotency-Key was used with a different request body", details=[{"field": "Idempotency-Key"}]
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly") from exc
