from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import AgentId, PhoneNumberId
from telephony.models.sip import Unregistered
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import agents

app = make_app()


@app.delete("/agents/<agent_id>/phone-numbers/<phone_number_id>", tags=["Agents"], responses=errors(400, 404, 409, 502))
def unregister_agent_phone_number(agent_id: AgentId, phone_number_id: PhoneNumberId) -> Unregistered:
    """Unregister an agent's phone number

    Its LiveKit trunks and dispatch rule go too. 400 when `agent_id` is not a UUID.
    """
    return agents.unregister(agent_id, phone_number_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
