from telephony.handlers.tasks import run_task
from telephony.models.requests import RequestStatus, RequestTaskInput
from telephony.observability import observed
from telephony.services import phone_requests


def _failure(task: RequestTaskInput) -> str:
    error = task.error or {}
    return f"{error.get('Error', 'Unknown')}: {error.get('Cause', '')}".strip()


@observed
def lambda_handler(event, context):
    return run_task(
        RequestTaskInput,
        event,
        lambda task: phone_requests.close(task.request_id, RequestStatus.FAILED, failure=_failure(task)),
    )
