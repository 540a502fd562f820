from telephony.handlers.http import current_principal, make_app
from telephony.models.sip import Unregistered
from telephony.observability import observed
from telephony.services import agents

app = make_app()


@app.delete("/agents/{agent_id}/phone-numbers/{phone_number_id}")
def unregister_agent_phone_number(agent_id: str, phone_number_id: str) -> Unregistered:
    return agents.unregister(agent_id, phone_number_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
