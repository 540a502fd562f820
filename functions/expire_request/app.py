from telephony.handlers.tasks import run_task
from telephony.models.requests import RequestStatus, RequestTaskInput
from telephony.observability import observed
from telephony.services import phone_requests


@observed
def lambda_handler(event, context):
    return run_task(RequestTaskInput, event, lambda task: phone_requests.close(task.request_id, RequestStatus.EXPIRED))
