from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CallId
from telephony.models.calls import CallDetails, Direction
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import calls

app = make_app()


@app.post("/outbound-calls/<call_id>/hangup", tags=["Calls"], responses=errors(404, 409, 502))
def hangup_call(call_id: CallId) -> CallDetails:
    """Hang up an outbound call

    Deletes the LiveKit room. 409 when the call already ended.
    """
    return calls.hangup(call_id, principal=current_principal(app), direction=Direction.OUTBOUND)


@app.post("/calls/<call_id>/hangup", tags=["Calls"], responses=errors(404, 409, 502))
def hangup_call_any_direction(call_id: CallId) -> CallDetails:
    """Hang up a call of either direction

    Deletes the LiveKit room. 409 when the call already ended.
    """
    return calls.hangup(call_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
