from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallDetails, CallStatus
from telephony.models.common import Page
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls")
def list_calls(
    status: Annotated[CallStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Page[CallDetails]:
    return calls.list_calls(principal=current_principal(app), status=status, limit=limit, next_token=next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
