from telephony.handlers.http import current_principal, make_app
from telephony.models.sip import RegisteredPhoneNumber, RegisterPhoneNumber
from telephony.observability import observed
from telephony.services import agents

app = make_app()


@app.post("/agents/{agent_id}/phone-numbers", status_code=201)
def register_agent_phone_number(agent_id: str, body: RegisterPhoneNumber) -> RegisteredPhoneNumber:
    return agents.register(agent_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
