from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import AgentId
from telephony.models.sip import RegisteredPhoneNumber, RegisterPhoneNumber
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import agents

app = make_app()


@app.post("/agents/<agent_id>/phone-numbers", status_code=201, tags=["Agents"], responses=errors(409, 502))
def register_agent_phone_number(
    agent_id: AgentId, body: Annotated[RegisterPhoneNumber, Body(openapi_examples=examples.REGISTER_PHONE_NUMBER)]
) -> RegisteredPhoneNumber:
    """Register a phone number for an agent

    Every field of the Register Phone Number API, with its defaults, ranges and patterns. `outbound_enabled` is
    accepted for `enable_outbound`. The answer has the SIP URI to point the provider at and provider-specific
    `instructions`. 409 when the number is registered or requested. Spends your budget of configurations (429
    past it).
    """
    return agents.register(agent_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
