from telephony.handlers.http import make_app
from telephony.observability import observed
from telephony.services import call_lifecycle

app = make_app(public=True)  # LiveKit signs the body instead of sending a Bearer credential


@app.post("/livekit/webhook")
def livekit_webhook() -> dict:
    event = app.current_event
    return call_lifecycle.handle(event.body or "", event.headers.get("authorization"))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
