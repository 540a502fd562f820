from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import AgentId
from telephony.models.common import Page, PageQuery
from telephony.models.sip import RegisteredPhoneNumber
from telephony.observability import observed
from telephony.services import agents

app = make_app()


@app.get("/agents/<agent_id>/phone-numbers", tags=["Agents"])
def list_agent_phone_numbers(agent_id: AgentId, query: Annotated[PageQuery, Query()]) -> Page[RegisteredPhoneNumber]:
    """List an agent's phone numbers"""
    return agents.list_for_agent(
        agent_id, principal=current_principal(app), limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
