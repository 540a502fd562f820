from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import Campaign
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.post("/campaigns/<campaign_id>/pause", tags=["Campaigns"], responses=errors(404, 409))
def pause_campaign(campaign_id: CampaignId) -> Campaign:
    """Pause a campaign

    No new call is placed from this answer on; the calls live now go on to their end. 409 unless it is scheduled
    or running. Sends `campaign.paused`.
    """
    return campaigns.pause(campaign_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
