"""The campaign engine's executions (Step Functions): one run of a campaign at a time, named after it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from telephony import aws
from telephony.config import settings
from telephony.errors import UpstreamUnavailable


def execution_name(campaign_id: str, run: str, generation: int = 0) -> str:
    """An execution's name: a run of a campaign, and which of the executions that carry it on (each one hands over
    to the next before its history grows long). Starting a name twice starts it once."""
    return f"{campaign_id}-{run}-{generation}"


class CampaignEngine:
    def start(self, campaign_id: str, run: str) -> None:
        """Start the run; a run started already (this request repeated) is left as it is."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            aws.stepfunctions().start_execution(
                stateMachineArn=settings().require("campaign_engine_arn"),
                name=execution_name(campaign_id, run),
                input=json.dumps({"campaign_id": campaign_id, "run": run, "generation": 0, "ticks": 0}),
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ExecutionAlreadyExists":
                return
            raise UpstreamUnavailable("the campaign engine is unavailable; retry shortly") from exc
        except BotoCoreError as exc:
            raise UpstreamUnavailable("the campaign engine is unavailable; retry shortly") from exc


@cache
def default() -> Any:
    return CampaignEngine()
