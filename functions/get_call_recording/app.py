from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CallId
from telephony.models.calls import Direction
from telephony.models.recordings import RecordingLink
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import recordings

app = make_app()


@app.get("/outbound-calls/<call_id>/recording", tags=["Calls"], responses=errors(404, 409))
def get_call_recording(call_id: CallId) -> RecordingLink:
    """Get an outbound call's recording

    When it is ready, `url` links to its OGG file for 5 minutes (ask again for a new link). A failed recording says
    why in `error`. 404 when the call was not recorded (or its recording was deleted); 409 while it is being made.
    """
    return recordings.get(call_id, principal=current_principal(app), direction=Direction.OUTBOUND)


@app.get("/calls/<call_id>/recording", tags=["Calls"], responses=errors(404, 409))
def get_call_recording_any_direction(call_id: CallId) -> RecordingLink:
    """Get the recording of a call of either direction

    As `GET /outbound-calls/{call_id}/recording`, for inbound calls too.
    """
    return recordings.get(call_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
