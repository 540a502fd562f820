from telephony.handlers.tasks import run_task
from telephony.models.requests import RequestTaskInput
from telephony.observability import observed
from telephony.services import phone_requests


def _record(task: RequestTaskInput) -> None:
    error = task.error or {}
    phone_requests.record_failure(task.request_id, error.get("Error", "Unknown"), error.get("Cause", ""))


@observed
def lambda_handler(event, context):
    return run_task(RequestTaskInput, event, _record)
