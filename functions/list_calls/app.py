from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import AllCallsQuery, CallDetails, CallsQuery
from telephony.models.common import Page
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls", tags=["Calls"])
def list_calls(query: Annotated[CallsQuery, Query()]) -> Page[CallDetails]:
    """List your outbound calls, newest first"""
    return calls.list_calls(
        principal=current_principal(app), status=query.status, limit=query.limit, next_token=query.next_token
    )


@app.get("/calls", tags=["Calls"])
def list_calls_any_direction(query: Annotated[AllCallsQuery, Query()]) -> Page[CallDetails]:
    """List your calls of both directions, newest first

    Filters: `direction`, `status`, `phone_number_id`, and a creation time range `created_after` (inclusive) to
    `created_before` (exclusive), ISO 8601 with an offset, at most 366 days long. A page may hold fewer than
    `limit` calls while `next_token` says there are more.
    """
    return calls.list_all(principal=current_principal(app), query=query)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
