from telephony.observability import observed
from telephony.services import recordings


@observed
def lambda_handler(event, context):
    return recordings.reconcile()._asdict()
