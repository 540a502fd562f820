"""Entry point of the functions a DynamoDB stream feeds: each new item handled on its own.

A record that fails is reported in `batchItemFailures` (the event source's `ReportBatchItemFailures`): Lambda
retries the batch from it, in order, until the event source's retry limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def process_new_items(event: dict[str, Any], context: Any, work: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    """`work` gets each inserted item as DynamoDB's JSON (the stream's NewImage); other records are skipped."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecordEventName

    from telephony.observability import logger

    def handle(record: Any) -> Any:  # Powertools passes it by this name
        if record.event_name is not DynamoDBRecordEventName.INSERT:
            return None
        return work(record.raw_event["dynamodb"]["NewImage"])

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, logger=logger())
    return dict(process_partial_response(event=event, record_handler=handle, processor=processor, context=context))
