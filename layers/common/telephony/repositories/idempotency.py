"""The store of Idempotency-Key records: Powertools' DynamoDB persistence layer on our table and client."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from telephony import aws
from telephony.repositories import dynamo

_TABLE = dynamo.Table("idempotency_table")


@lru_cache(maxsize=1)
def _persistence(table: str, client: Any) -> Any:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(table_name=table, boto3_client=client)


class IdempotencyRepository:
    def persistence(self) -> Any:
        """Powertools' persistence layer (one per table and client: a new one once the clients are renewed)."""
        return _persistence(_TABLE.name, aws.dynamodb())
