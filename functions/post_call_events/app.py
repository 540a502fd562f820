from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallEvents, EventsAccepted
from telephony.observability import observed
from telephony.services import calls

app = make_app(agents=True)  # the call's agent posts its transcript and summary with an agent key


@app.post("/outbound-calls/{call_id}/events")
def post_call_events(call_id: str, body: CallEvents) -> EventsAccepted:
    return calls.post_events(call_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
