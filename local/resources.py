"""Creates the template's resources (KMS keys and aliases, tables with their streams and TTL, queues, secrets, state
machines) in moto: server mode or in-process mock."""

from __future__ import annotations

import json
from typing import Any

import boto3

from local.patches import CUSTOM_KEY_ID_TAG, adjust_kms
from local.template import ACCOUNT, REGION, KmsKey, Stack

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
    kms = session.client("kms", endpoint_url=endpoint_url)
    for key in stack.kms_keys():  # first: a queue or a function's environment may name one
        _create_key(kms, key)
    for alias, key_id in stack.kms_aliases().items():
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
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


def _create_key(kms: Any, key: KmsKey) -> None:
    """An AWS::KMS::Key with the id the template resolved for it (CloudFormation's defaults: a symmetric
    encryption key, AWS's default key policy)."""
    adjust_kms()  # the id is taken from a tag moto would otherwise ignore
    props = key.properties
    tags = [{"TagKey": t["Key"], "TagValue": str(t["Value"])} for t in props.get("Tags") or []]
    request: dict[str, Any] = {
        "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
        "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "Description": props.get("Description", ""),
        "Tags": [{"TagKey": CUSTOM_KEY_ID_TAG, "TagValue": key.key_id}, *tags],
        "MultiRegion": str(props.get("MultiRegion", False)).lower() == "true",
    }
    if "KeyPolicy" in props:
        policy = props["KeyPolicy"]
        request["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    if "Origin" in props:
        request["Origin"] = props["Origin"]
    kms.create_key(**request)
    if str(props.get("EnableKeyRotation", False)).lower() == "true":
        kms.enable_key_rotation(KeyId=key.key_id)
    if str(props.get("Enabled", True)).lower() == "false":
        kms.disable_key(KeyId=key.key_id)
