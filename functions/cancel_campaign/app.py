from telephony.handlers.http import current_principal, make_app
from telephony.handlers.params import CampaignId
from telephony.models.campaigns import Campaign
from telephony.observability import observed
from telephony.openapi.responses import errors
from telephony.services import campaigns

app = make_app()


@app.post("/campaigns/<campaign_id>/cancel", tags=["Campaigns"], responses=errors(404, 409))
def cancel_campaign(campaign_id: CampaignId) -> Campaign:
    """Cancel a campaign

    No new call is placed from this answer on; the calls live now go on to their end and the contacts not dialled
    are skipped (`canceled`). 409 once it is completed or canceled. Sends `campaign.canceled`.
    """
    return campaigns.cancel(campaign_id, principal=current_principal(app))


@observed
def lambda_handler(event, context):
    return app.resolve(event, context)
