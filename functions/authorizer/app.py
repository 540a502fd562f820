from telephony.handlers.authorizer import authorize
from telephony.observability import observed


@observed
def lambda_handler(event, context):
    return authorize(event)
