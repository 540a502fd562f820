"""Creates the template's resources (tables, queues, secrets, state machines) in moto: server mode or in-process
mock."""

from __future__ import annotations

from typing import Any

import boto3

from local.template import ACCOUNT, REGION, Stack

_TABLE_KEYS = (
    "AttributeDefinitions",
    "KeySchema",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "BillingMode",
    "StreamSpecification",
)


def deploy(stack: Stack, *, endpoint_url: str | None = None) -> None:
    session = boto3.session.Session(region_name=REGION)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    for logical_id, props in stack.tables().items():
        name = stack.physical_name(logical_id)
        spec: dict[str, Any] = {k: props[k] for k in _TABLE_KEYS if k in props}
        if "StreamSpecification" in spec:  # CloudFormation's says only the view type; the API's says it is on
            spec["StreamSpecification"] = {"StreamEnabled": True, **spec["StreamSpecification"]}
        dynamodb.create_table(TableName=name, **spec)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    for queue in stack.queues():  # dead-letter queues first: moto checks a redrive policy's target exists
        sqs.create_queue(QueueName=queue.name, Attributes=queue.attributes)
    secretsmanager = session.client("secretsmanager", endpoint_url=endpoint_url)
    for name, value in stack.secrets().items():
        secretsmanager.create_secret(Name=name, SecretString=value)
    sfn = session.client("stepfunctions", endpoint_url=endpoint_url)
    for name, definition in stack.state_machines().items():
        sfn.create_state_machine(name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}-role")
