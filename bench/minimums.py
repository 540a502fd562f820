"""The fewest requests per call the design allows (DESIGN sections 2-4), beside which the measured
counts are listed, and where the measured extra requests come from.

Every authenticated request spends the caller's API budget, a conditional write in DynamoDB
(section 3); in an endpoint that writes anyway, that hit can ride in the endpoint's own
transaction, as the per-user budgets already do. Reads need one request each.
"""

from __future__ import annotations

from dataclasses import dataclass

BUDGET = "UpdateItem on the rate-limits table: the API budget, spent by `Api.resolve` (handlers/http.py) before routing"
USER_BUDGET = (
    "a second UpdateItem on the rate-limits table: the user's API budget across its keys (services/rate_limits.py "
    "`consume_api`), beside the key's; one TransactWriteItems could spend both"
)


@dataclass(frozen=True)
class Minimum:
    dynamodb: int
    livekit: int
    extra: str = ""  # where the requests beyond the minimum are, when there are any


MINIMUMS: dict[str, Minimum] = {
    "authorizer (API key)": Minimum(1, 0),
    "authorizer (JWT)": Minimum(0, 0),
    "POST /api-keys": Minimum(1, 0, f"{BUDGET}; it could join the PutItem in one transaction"),
    "GET /api-keys": Minimum(2, 0),
    "DELETE /api-keys/{key_id}": Minimum(
        1, 0, "GetItem to check the owner (a condition of the transaction could); " + BUDGET
    ),
    "POST /telephony/phone-number-requests": Minimum(1, 0, BUDGET + "; the request's transaction has the other budget"),
    "GET /telephony/phone-number-requests/{request_id}": Minimum(2, 0),
    "GET /telephony/phone-number-requests": Minimum(2, 0),
    "GET /admin/phone-number-requests": Minimum(2, 0),
    "POST /admin/phone-number-requests/{request_id}/approve": Minimum(
        2, 0, BUDGET + " (it could join the decision's transaction)"
    ),
    "POST /admin/phone-number-requests/{request_id}/reject": Minimum(
        2, 0, BUDGET + " (it could join the decision's transaction)"
    ),
    "GET /outbound-calls/phone-numbers": Minimum(2, 0),
    "POST /outbound-calls/phone-numbers/{phone_number_id}/configure": Minimum(3, 3, BUDGET),
    "GET /outbound-calls/phone-numbers/{phone_number_id}/configuration": Minimum(2, 0),
    "DELETE /outbound-calls/phone-numbers/{phone_number_id}/configuration": Minimum(3, 3, BUDGET),
    "POST /agents/{agent_id}/phone-numbers": Minimum(3, 3, BUDGET),
    "GET /agents/{agent_id}/phone-numbers": Minimum(2, 0),
    "DELETE /agents/{agent_id}/phone-numbers/{phone_number_id}": Minimum(3, 3, BUDGET),
    "POST /outbound-calls/create": Minimum(
        2,
        2,
        BUDGET
        + " (it could join the create transaction, which already spends the calls budget), and "
        + USER_BUDGET
        + "; then BatchGetItem of the account's and the operator's do-not-call entries for the callee "
        "(services/dnc.py `refuse_listed`) and GetItem of the account's settings for its calling hours "
        "(services/calling_hours.py `refuse_outside`): one BatchGetItem could read both; then the design's two: "
        "Query on the numbers table by owner (services/calls.py `_outbound_number`, no from_phone_number_id "
        "given) and TransactWriteItems writing the call `dialing` with its counters, the calls budget and its live "
        "place (repositories/calls.py `create`), before LiveKit is asked",
    ),
    "POST /outbound-calls/create (Idempotency-Key)": Minimum(
        4,
        2,
        "as without the key, plus PutItem (in progress) and UpdateItem (completed) on the idempotency table "
        "(Powertools idempotency)",
    ),
    "GET /outbound-calls": Minimum(
        2,
        0,
        "BatchGetItem for the page's calls (repositories/calls.py `_read_entries`): the calls' indexes project only "
        "their keys and numbers, so that a call's updates write nothing to them but a change of status (ADR 0028)",
    ),
    "GET /outbound-calls/{call_id}/details": Minimum(2, 0),
    "POST /outbound-calls/{call_id}/hangup": Minimum(2, 1, BUDGET),
    "POST /outbound-calls/{call_id}/transfer": Minimum(3, 1, BUDGET),
    "POST /outbound-calls/{call_id}/events": Minimum(
        2,
        0,
        "the UpdateItem that sets the summary and counts the transcript's size, conditional on the owner, is also "
        "the ownership check; the segments follow in "
        "a BatchWriteItem. One transaction could hold both, but concurrent posts to one call would then conflict "
        "on the call's item (TransactionConflict) where batched writes do not; " + BUDGET,
    ),
    "GET /outbound-calls/stats": Minimum(2, 0),
    "POST /livekit/webhook": Minimum(2, 0),
    "GET /admin/api-keys": Minimum(2, 0, USER_BUDGET),
    "DELETE /admin/api-keys/{key_id}": Minimum(
        1, 0, "GetItem for the key (a condition of the transaction could check it); " + BUDGET + "; " + USER_BUDGET
    ),
    "POST /webhooks": Minimum(
        1, 0, BUDGET + ": it could join the transaction writing the webhook with its owner's count; " + USER_BUDGET
    ),
    "GET /webhooks": Minimum(2, 0, USER_BUDGET),
    "GET /webhooks/{webhook_id}": Minimum(2, 0, USER_BUDGET),
    "PATCH /webhooks/{webhook_id}": Minimum(
        1,
        0,
        "GetItem for the webhook (the UpdateItem's key is under the owner: its condition is the ownership check); "
        + BUDGET
        + "; "
        + USER_BUDGET,
    ),
    "DELETE /webhooks/{webhook_id}": Minimum(
        1, 0, "GetItem for the webhook (the transaction's condition could check it); " + BUDGET + "; " + USER_BUDGET
    ),
    "POST /webhooks/{webhook_id}/rotate-secret": Minimum(
        1,
        0,
        "GetItem for the webhook's secret (the UpdateItem could move it itself: `SET previous_secret = secret`); "
        + BUDGET
        + "; "
        + USER_BUDGET,
    ),
    "POST /webhooks/{webhook_id}/test": Minimum(
        1,
        0,
        "GetItem for the webhook (a ConditionCheck in the event's transaction could); " + BUDGET + "; " + USER_BUDGET,
    ),
    # the webhook's GetItem is its ownership check: the deliveries are kept under the webhook, not its owner
    "GET /webhooks/{webhook_id}/deliveries": Minimum(3, 0, USER_BUDGET),
    "POST /webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver": Minimum(
        3,
        0,
        "GetItem three times (the webhook, the delivery, its event), which one BatchGetItem could read, then the "
        "attempt's PutItem; " + USER_BUDGET,
    ),
}
