"""Entry point of the functions an SQS queue feeds: each message parsed and handled on its own.

A message that fails is reported in `batchItemFailures` (the event source's `ReportBatchItemFailures`): Lambda
deletes the others, and the failed one comes back after the queue's visibility timeout until the queue's redrive
policy moves it to the dead-letter queue. A body that does not parse fails the same way: it can only end there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel


def process_messages[M: BaseModel](
    event: dict[str, Any], context: Any, model: type[M], work: Callable[[M], Any]
) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from telephony.observability import logger

    def handle(record: Any) -> Any:  # Powertools passes it by this name
        return work(model.model_validate_json(record.body))

    processor = BatchProcessor(event_type=EventType.SQS, logger=logger())
    return dict(process_partial_response(event=event, record_handler=handle, processor=processor, context=context))
