from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import Campaign
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.post("/campaigns/<campaign_id>/resume", tags=["Campaigns"], responses=errors(404, 409))
def resume_campaign(campaign_id: CampaignId) -> Campaign:
    """Resume a paused campaign

    409 unless it is paused. Sends `campaign.resumed`.
    """
    return campaigns.resume(campaign_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
