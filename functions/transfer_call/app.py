from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CallId
from telephony.models.calls import CallDetails, Direction, Transfer
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import calls

app = make_app()


@app.post("/outbound-calls/<call_id>/transfer", tags=["Calls"], responses=errors(404, 409, 502))
def transfer_call(call_id: CallId, body: Annotated[Transfer, Body(openapi_examples=examples.TRANSFER)]) -> CallDetails:
    """Transfer an outbound call

    `cold` (SIP REFER) or `warm` (dial the destination into the room, with the number's ringing and duration
    settings: the leg spends your budget of outbound calls, 429 past it). 403 unless the destination is in the
    number's `transfer_config.allowed_destinations` and the mode is enabled; 409 unless the call is in progress,
    or once it was transferred 5 times.
    """
    return calls.transfer(call_id, body, principal=current_principal(app), direction=Direction.OUTBOUND)


@app.post("/calls/<call_id>/transfer", tags=["Calls"], responses=errors(404, 409, 502))
def transfer_call_any_direction(
    call_id: CallId, body: Annotated[Transfer, Body(openapi_examples=examples.TRANSFER)]
) -> CallDetails:
    """Transfer a call of either direction

    As for outbound calls: the number's `transfer_config` decides (an inbound call's number is the one it
    reached), and a warm transfer dials out from that number.
    """
    return calls.transfer(call_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
