from telephony.handlers.http import current_principal, make_app
from telephony.models.common import Page, PageQuery
from telephony.models.sip import RegisteredPhoneNumber
from telephony.observability import observed
from telephony.services import agents

app = make_app()


@app.get("/agents/{agent_id}/phone-numbers")
def list_agent_phone_numbers(
    agent_id: str,
    query: PageQuery,
) -> Page[RegisteredPhoneNumber]:
    return agents.list_for_agent(
        agent_id, principal=current_principal(app), limit=query.limit, next_token=query.next_token
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
