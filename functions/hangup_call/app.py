from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallDetails
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.post("/outbound-calls/{call_id}/hangup")
def hangup_call(call_id: str) -> CallDetails:
    return calls.hangup(call_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
