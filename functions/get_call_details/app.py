from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CallId
from telephony.models.calls import CallDetails, DetailsQuery, Direction
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import calls

app = make_app()


@app.get("/outbound-calls/<call_id>/details", tags=["Calls"], responses=errors(404))
def get_call_details(call_id: CallId, query: Annotated[DetailsQuery, Query()]) -> CallDetails:
    """Get an outbound call"""
    return calls.details(
        call_id,
        principal=current_principal(app),
        include_transcript=query.include_transcript,
        include_summary=query.include_summary,
        direction=Direction.OUTBOUND,
    )


@app.get("/calls/<call_id>", tags=["Calls"], responses=errors(404))
def get_call_details_any_direction(call_id: CallId, query: Annotated[DetailsQuery, Query()]) -> CallDetails:
    """Get a call of either direction"""
    return calls.details(
        call_id,
        principal=current_principal(app),
        include_transcript=query.include_transcript,
        include_summary=query.include_summary,
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
