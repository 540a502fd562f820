from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import Campaign
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.post("/campaigns/<campaign_id>/start", tags=["Campaigns"], responses=errors(404, 409))
def start_campaign(campaign_id: CampaignId) -> Campaign:
    """Start a draft campaign

    Running at once, or `scheduled` until `schedule.start_at`. 409 unless it is draft. Sends `campaign.started`.
    """
    return campaigns.start(campaign_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
