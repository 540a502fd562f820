from aws_lambda_powertools.event_handler import Response

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CallId
from telephony.models.calls import Direction
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import recordings

app = make_app()


@app.delete("/outbound-calls/<call_id>/recording", status_code=204, tags=["Calls"], responses=errors(404, 409))
def delete_call_recording(call_id: CallId) -> None:
    """Delete an outbound call's recording

    Its file is removed and the recording is marked `deleted`; a second delete is 404. 409 while it is being made.
    """
    recordings.delete(call_id, principal=current_principal(app), direction=Direction.OUTBOUND)
    return Response(status_code=204, content_type=None, body="")  # type: ignore[return-value]


@app.delete("/calls/<call_id>/recording", status_code=204, tags=["Calls"], responses=errors(404, 409))
def delete_call_recording_any_direction(call_id: CallId) -> None:
    """Delete the recording of a call of either direction

    As `DELETE /outbound-calls/{call_id}/recording`, for inbound calls too.
    """
    recordings.delete(call_id, principal=current_principal(app))
    return Response(status_code=204, content_type=None, body="")  # type: ignore[return-value]


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
