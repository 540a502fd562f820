from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page
from telephony.models.sip import RegisteredPhoneNumber
from telephony.observability import observed
from telephony.services import agents

app = make_app()


@app.get("/agents/<agent_id>/phone-numbers")
def list_agent_phone_numbers(
    agent_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> Page[RegisteredPhoneNumber]:
    return agents.list_for_agent(agent_id, principal=current_principal(app), limit=limit, next_token=next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
