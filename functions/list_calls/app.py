from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallDetails, CallsQuery
from telephony.models.common import Page
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls", tags=["Calls"])
def list_calls(query: Annotated[CallsQuery, Query()]) -> Page[CallDetails]:
    """List your calls, newest first"""
    return calls.list_calls(
        principal=current_principal(app), status=query.status, limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
