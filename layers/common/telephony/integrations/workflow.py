"""The phone-number review workflow (Step Functions)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from telephony import aws
from telephony.errors import UpstreamUnavailable

_GONE = {"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"}


class WorkflowGone(Exception):
    """The execution no longer waits for this token (it timed out or already moved on)."""


def _call(operation: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return operation(**kwargs)
    except ClientError as exc:
        if aws.error_code(exc) in _GONE:
            raise WorkflowGone(aws.error_code(exc)) from exc
        raise UpstreamUnavailable("the review workflow is unavailable; retry shortly") from exc
    except BotoCoreError as exc:
        raise UpstreamUnavailable("the review workflow is unavailable; retry shortly") from exc


class Workflow:
    """The review workflow's executions: started per request, resumed by the reviewers' decisions."""

    def start(self, state_machine_arn: str, *, name: str, payload: dict[str, Any]) -> None:
        _call(
            aws.stepfunctions().start_execution,
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps(payload),
        )

    def succeed(self, task_token: str, output: dict[str, Any]) -> None:
        _call(aws.stepfunctions().send_task_success, taskToken=task_token, output=json.dumps(output))

    def fail(self, task_token: str, *, error: str, cause: str) -> None:
        _call(aws.stepfunctions().send_task_failure, taskToken=task_token, error=error, cause=cause[:32000])


@cache
def default() -> Workflow:
    return Workflow()
