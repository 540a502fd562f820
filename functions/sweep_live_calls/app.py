from telephony.observability import observed
from telephony.services import live_calls


@observed
def lambda_handler(event, context):
    return live_calls.sweep()._asdict()
