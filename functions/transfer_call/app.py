from telephony.handlers.http import current_principal, make_app
from telephony.models.calls import CallDetails, Transfer
from telephony.observability import observed
from telephony.services import calls

app = make_app()


@app.post("/outbound-calls/{call_id}/transfer")
def transfer_call(call_id: str, body: Transfer) -> CallDetails:
    return calls.transfer(call_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
