"""Creates the template's resources (KMS keys and aliases, tables with their streams and TTL, queues, secrets, state
machines) in moto: server mode or in-process mock."""

from __future__ import annotations

import json
import re
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
    s3 = session.client("s3", endpoint_url=endpoint_url)
    policies = stack.bucket_policies()
    for name, props in stack.buckets().items():
        _create_bucket(s3, name, props, policies.get(name))
    secretsmanager = session.client("secretsmanager", endpoint_url=endpoint_url)
    for name, value in stack.secrets().items():
        secretsmanager.create_secret(Name=name, SecretString=value)
    sfn = session.client("stepfunctions", endpoint_url=endpoint_url)
    for name, definition in stack.state_machines().items():
        sfn.create_state_machine(name=name, definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}-role")


def _create_bucket(s3: Any, name: str, props: dict[str, Any], policy: dict[str, Any] | None) -> None:
    """An AWS::S3::Bucket as CloudFormation makes it: its encryption, public access block, ownership, lifecycle and
    policy each set through S3's own API (so what S3 refuses in them, moto refuses here)."""
    _as_s3_checks(name, props)
    s3.create_bucket(Bucket=name)
    encryption = props.get("BucketEncryption")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **({"BucketKeyEnabled": bool(rule["BucketKeyEnabled"])} if "BucketKeyEnabled" in rule else {}),
            }
            for rule in encryption["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if "PublicAccessBlockConfiguration" in props:
        block = {k: bool(v) for k, v in props["PublicAccessBlockConfiguration"].items()}
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
    lifecycle = props.get("LifecycleConfiguration")
    if lifecycle:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [_lifecycle_rule(r) for r in lifecycle["Rules"]]}
        )
    if policy is not None:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(_over_plain_http(policy)))


def _over_plain_http(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy without its statements that deny requests not made over TLS: moto (which evaluates bucket policies)
    is served over plain HTTP on loopback here, so they would refuse every request. Every other statement holds, and
    tests/tooling/test_local_stack_s3.py holds the template's TLS-only statement in place."""
    statements = policy.get("Statement") or []
    kept = [
        s
        for s in (statements if isinstance(statements, list) else [statements])
        if "aws:SecureTransport" not in json.dumps(s.get("Condition") or {})
    ]
    return {**policy, "Statement": kept}


# S3's rules for a bucket's name (general purpose buckets): 3 to 63 lower-case letters, digits, dots and hyphens,
# beginning and ending with a letter or digit
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class S3Refused(ValueError):
    """What S3 would answer with this error code; moto lets it through."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def _as_s3_checks(name: str, props: dict[str, Any]) -> None:
    """S3's checks of the properties the template uses that moto does not make: the bucket's name, and each
    lifecycle rule's status and expiry."""
    if not _BUCKET_NAME.match(name) or ".." in name:
        raise S3Refused("InvalidBucketName", f"The specified bucket is not valid: {name}")
    for rule in (props.get("LifecycleConfiguration") or {}).get("Rules") or []:
        if rule.get("Status") not in ("Enabled", "Disabled"):
            raise S3Refused("MalformedXML", "a lifecycle rule's Status is Enabled or Disabled")
        if "ExpirationInDays" in rule and int(rule["ExpirationInDays"]) < 1:
            raise S3Refused("InvalidArgument", "'Days' for Expiration action must be a positive integer")


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule of CloudFormation's LifecycleConfiguration as S3's API writes it (the properties this template uses;
    another is refused rather than dropped)."""
    known = {"Id", "Status", "Prefix", "ExpirationInDays", "AbortIncompleteMultipartUpload"}
    unknown = set(rule) - known
    if unknown:
        raise ValueError(f"the local stack does not translate lifecycle properties {sorted(unknown)}")
    out: dict[str, Any] = {"Status": rule["Status"], "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "Id" in rule:
        out["ID"] = rule["Id"]
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


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
