from telephony.handlers.tasks import run_task
from telephony.models.requests import AssignTaskInput
from telephony.observability import observed
from telephony.services import phone_requests


@observed
def lambda_handler(event, context):
    return run_task(AssignTaskInput, event, lambda task: phone_requests.assign(task.request_id, task.decision))
