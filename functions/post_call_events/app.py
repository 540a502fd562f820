from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CallId
from telephony.models.calls import CallEvents, Direction, EventsAccepted
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import calls

app = make_app(agents=True)  # the call's agent posts its transcript and summary with an agent key


@app.post("/outbound-calls/<call_id>/events", tags=["Calls"], responses=errors(404, 409))
def post_call_events(
    call_id: CallId, body: Annotated[CallEvents, Body(openapi_examples=examples.CALL_EVENTS)]
) -> EventsAccepted:
    """Post transcript segments and the summary of an outbound call

    By the call's owner or one of its `agent` API keys. A call's transcript holds at most 500,000 characters of
    text (409 beyond). Segments are returned ordered by `at`; a repeated post of segments that give their `at`
    (a retry) stores them once.
    """
    return calls.post_events(call_id, body, principal=current_principal(app), direction=Direction.OUTBOUND)


@app.post("/calls/<call_id>/events", tags=["Calls"], responses=errors(404, 409))
def post_call_events_any_direction(
    call_id: CallId, body: Annotated[CallEvents, Body(openapi_examples=examples.CALL_EVENTS)]
) -> EventsAccepted:
    """Post transcript segments and the summary of a call of either direction

    As for outbound calls: by the call's owner or one of its `agent` API keys, at most 500,000 characters of
    text per call.
    """
    return calls.post_events(call_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
