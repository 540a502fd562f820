from telephony.handlers.streams import process_new_items
from telephony.observability import observed
from telephony.repositories.events import from_image
from telephony.services import deliveries


@observed
def lambda_handler(event, context):
    return process_new_items(event, context, lambda image: deliveries.dispatch(from_image(image)))
