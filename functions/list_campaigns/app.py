from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.models.campaigns import Campaign
from telephony.models.common import Page, PageQuery
from telephony.observability import observed
from telephony.services import campaigns

app = make_app()


@app.get("/campaigns", tags=["Campaigns"])
def list_campaigns(query: Annotated[PageQuery, Query()]) -> Page[Campaign]:
    """List your campaigns, newest first"""
    return campaigns.list_campaigns(principal=current_principal(app), limit=query.limit, next_token=query.next_token)


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
