from telephony.handlers.tasks import run_task
from telephony.models.campaigns import TickInput
from telephony.observability import observed
from telephony.services import campaign_engine


@observed
def lambda_handler(event, context):
    return run_task(TickInput, event, campaign_engine.tick)
