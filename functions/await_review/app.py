from telephony.handlers.tasks import run_task
from telephony.models.requests import ReviewTaskInput
from telephony.observability import observed
from telephony.services import phone_requests


@observed
def lambda_handler(event, context):
    return run_task(ReviewTaskInput, event, lambda task: phone_requests.await_review(task.request_id, task.task_token))
