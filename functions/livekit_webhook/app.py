from telephony.handlers.http import make_app, raw_body
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import call_lifecycle

app = make_app(public=True)  # LiveKit signs the body instead of sending a Bearer credential


@app.post("/livekit/webhook", tags=["LiveKit"], security=[{"livekitWebhook": []}], responses=errors(401, 503))
def livekit_webhook() -> dict:
    """LiveKit webhooks

    For LiveKit, not for clients: signed events that move calls along. Answers `{event, id, applied}`.
    """
    return call_lifecycle.handle(raw_body(app), app.current_event.headers.get("authorization"))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
