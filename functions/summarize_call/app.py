from telephony.handlers.queues import process_messages
from telephony.models.summaries import SummaryRequest
from telephony.observability import observed
from telephony.services import summaries


@observed
def lambda_handler(event, context):
    return process_messages(event, context, SummaryRequest, lambda message: summaries.summarise(message.call_id))
