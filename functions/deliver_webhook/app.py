from telephony.handlers.queues import process_messages
from telephony.models.webhooks import DeliveryMessage
from telephony.observability import observed
from telephony.services import deliveries


@observed
def lambda_handler(event, context):
    return process_messages(event, context, DeliveryMessage, deliveries.deliver)
