from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body

from telephony.handlers.http import current_principal, make_app
from telephony.models.campaigns import CampaignCreated, CreateCampaign
from telephony.observability import observed
from telephony.openapi import examples
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.post("/campaigns", status_code=201, tags=["Campaigns"], responses=errors(409))
def create_campaign(
    body: Annotated[CreateCampaign, Body(openapi_examples=examples.CREATE_CAMPAIGN)],
) -> CampaignCreated:
    """Create a campaign (draft)

    Up to 10,000 contacts (more with `POST /campaigns/{campaign_id}/contacts`, 100,000 a campaign); a number given
    twice is dialled once (`counts.duplicates`), an invalid one is kept as `skipped` (`invalid`) and named in
    `invalid_contacts` (400 when none is valid). `from_phone_number_id` must be your number able to call out (400
    otherwise); a window or schedule in which nothing could be dialled is 400. Nothing is dialled until it is started.
    """
    return campaigns.create(body, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
