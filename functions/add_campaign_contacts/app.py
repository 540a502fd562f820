from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import AddContacts, ContactsAdded
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.post("/campaigns/<campaign_id>/contacts", tags=["Campaigns"], responses=errors(404, 409))
def add_campaign_contacts(campaign_id: CampaignId, body: Annotated[AddContacts, Body()]) -> ContactsAdded:
    """Add contacts to a draft or paused campaign

    Up to 10,000 a request and 100,000 a campaign (409 past it); 409 unless the campaign is draft or paused.
    """
    return campaigns.add_contacts(campaign_id, body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
