from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import CampaignContact, ContactsQuery
from telephony.models.common import Page
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.get("/campaigns/<campaign_id>/contacts", tags=["Campaigns"], responses=errors(404))
def list_campaign_contacts(campaign_id: CampaignId, query: Annotated[ContactsQuery, Query()]) -> Page[CampaignContact]:
    """A campaign's contacts, with their attempts and call ids

    In the order given; with `status`, those in that status (pending ones by when they are due).
    """
    return campaigns.list_contacts(
        campaign_id,
        principal=current_principal(app),
        status=query.status,
        limit=query.limit,
        next_token=query.next_token,
    )


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
