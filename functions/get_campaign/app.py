from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import Campaign
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.get("/campaigns/<campaign_id>", tags=["Campaigns"], responses=errors(404))
def get_campaign(campaign_id: CampaignId) -> Campaign:
    """A campaign, its status and its counts

    `counts` add up: `total` = `pending` + `in_progress` + `answered` + `busy` + `no_answer` + `failed` + the
    `skipped` ones, whatever the moment; `attempts` counts the calls placed, retries included.
    """
    return campaigns.get(campaign_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
