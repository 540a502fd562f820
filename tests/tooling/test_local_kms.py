"""KMS keys from the template (local/template.py, local/resources.py) in moto's in-process mock: the ids and ARNs
`!Ref` and `!GetAtt` give, consistent before and after the keys exist; aliases; and encryption contexts matched as
KMS matches them (local/patches.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest

from local.patches import adjust_kms
from local.resources import deploy
from local.template import Stack

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  SecretsKey:
    Type: AWS::KMS::Key
    Properties:
      Description: webhook secrets
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: account
            Effect: Allow
            Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}
            Action: "kms:*"
            Resource: "*"
      Tags: [{Key: purpose, Value: webhooks}]
  SecretsKeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub "alias/${AWS::StackName}-secrets"
      TargetKeyId: !Ref SecretsKey
  GlobalKey:
    Type: AWS::KMS::Key
    Properties: {MultiRegion: true, EnableKeyRotation: true}
  Encrypted:
    Type: AWS::SQS::Queue
    Properties: {KmsMasterKeyId: !Ref SecretsKey}
  SignFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/sign/
      Handler: app.lambda_handler
      Environment:
        Variables:
          SECRETS_KEY_ID: !Ref SecretsKey
          SECRETS_KEY_ARN: !GetAtt SecretsKey.Arn
          SECRETS_KEY_ALIAS: !Ref SecretsKeyAlias
"""


def stack(tmp_path: Path, name: str = "kms-test") -> Stack:
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE)
    return Stack(name=name, path=path)


@pytest.fixture
def kms() -> Iterator[Any]:
    adjust_kms()
    with moto.mock_aws():
        yield boto3.client("kms", region_name="us-east-1")


def test_the_functions_environment_names_the_keys_that_are_created(tmp_path, kms):
    made = stack(tmp_path)
    before = made.environment()  # known before the keys exist, as every other name
    deploy(made)
    env = made.environment()
    assert env == before

    key = kms.describe_key(KeyId=env["SECRETS_KEY_ID"])["KeyMetadata"]
    assert key["KeyId"] == env["SECRETS_KEY_ID"] and key["Arn"] == env["SECRETS_KEY_ARN"]
    assert env["SECRETS_KEY_ARN"] == f"arn:aws:kms:us-east-1:123456789012:key/{env['SECRETS_KEY_ID']}"
    assert key["KeySpec"] == "SYMMETRIC_DEFAULT" and key["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert key["Description"] == "webhook secrets" and key["Enabled"]
    assert kms.describe_key(KeyId=env["SECRETS_KEY_ARN"])["KeyMetadata"]["KeyId"] == env["SECRETS_KEY_ID"]
    assert kms.describe_key(KeyId=env["SECRETS_KEY_ALIAS"])["KeyMetadata"]["KeyId"] == env["SECRETS_KEY_ID"]
    assert env["SECRETS_KEY_ALIAS"] == "alias/kms-test-secrets"

    policy = json.loads(kms.get_key_policy(KeyId=env["SECRETS_KEY_ID"], PolicyName="default")["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert kms.list_resource_tags(KeyId=env["SECRETS_KEY_ID"])["Tags"] == [
        {"TagKey": "purpose", "TagValue": "webhooks"}
    ]
    assert [k["KeyId"] for k in kms.list_keys()["Keys"]].count(env["SECRETS_KEY_ID"]) == 1

    queue = boto3.client("sqs", region_name="us-east-1").get_queue_url(QueueName="kms-test-Encrypted")["QueueUrl"]
    attributes = boto3.client("sqs", region_name="us-east-1").get_queue_attributes(
        QueueUrl=queue, AttributeNames=["KmsMasterKeyId"]
    )["Attributes"]
    assert attributes["KmsMasterKeyId"] == env["SECRETS_KEY_ID"]


def test_key_ids_are_uuids_of_the_stack_and_the_key(tmp_path, kms):
    import uuid

    one, other = stack(tmp_path), stack(tmp_path, name="kms-other")
    assert one.kms_key_id("SecretsKey") == stack(tmp_path).kms_key_id("SecretsKey")  # stable
    assert one.kms_key_id("SecretsKey") != other.kms_key_id("SecretsKey")
    assert str(uuid.UUID(one.kms_key_id("SecretsKey"))) == one.kms_key_id("SecretsKey")
    global_id = one.kms_key_id("GlobalKey")
    assert global_id.startswith("mrk-") and str(uuid.UUID(global_id[4:])) == global_id[4:]
    deploy(one)
    metadata = kms.describe_key(KeyId=global_id)["KeyMetadata"]
    assert metadata["MultiRegion"] and metadata["Arn"].endswith(f":key/{global_id}")
    assert kms.get_key_rotation_status(KeyId=global_id)["KeyRotationEnabled"]


def test_a_key_id_taken_twice_is_refused(tmp_path, kms):
    deploy(stack(tmp_path))
    with pytest.raises(kms.exceptions.ClientError, match="already exists"):
        kms.create_key(Tags=[{"TagKey": "_custom_id_", "TagValue": stack(tmp_path).kms_key_id("SecretsKey")}])
    drawn = kms.create_key()["KeyMetadata"]["KeyId"]  # without the tag, moto draws one
    assert drawn not in {stack(tmp_path).kms_key_id(k) for k in ("SecretsKey", "GlobalKey")}


@pytest.fixture
def key(tmp_path: Path, kms: Any) -> str:
    made = stack(tmp_path)
    deploy(made)
    return made.kms_key_id("SecretsKey")


def test_a_secret_decrypts_with_the_context_it_was_encrypted_with(kms, key):
    context = {"webhook_id": "wh_123", "user_id": "usr_alice"}
    sealed = kms.encrypt(KeyId=key, Plaintext=b"whsec_secret", EncryptionContext=context)["CiphertextBlob"]
    assert sealed != b"whsec_secret"
    opened = kms.decrypt(CiphertextBlob=sealed, EncryptionContext=dict(reversed(context.items())))
    assert opened["Plaintext"] == b"whsec_secret" and opened["KeyId"].endswith(f":key/{key}")


@pytest.mark.parametrize(
    "other",
    [
        {"webhook_id": "wh_456"},  # another webhook's
        {},  # none
        {"webhook_id": "wh_123", "extra": "x"},  # more
        {"webhook_i": "dwh_123"},  # the same characters, split elsewhere
    ],
)
def test_a_decrypt_with_another_context_is_refused(kms, key, other):
    sealed = kms.encrypt(KeyId=key, Plaintext=b"whsec_secret", EncryptionContext={"webhook_id": "wh_123"})
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext=other)


def test_contexts_that_read_the_same_run_together_are_different_contexts(kms, key):
    sealed = kms.encrypt(KeyId=key, Plaintext=b"x", EncryptionContext={"a": "b", "c": "d"})["CiphertextBlob"]
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"a": "bcd"})


def test_a_data_key_is_bound_to_its_context(kms, key):
    made = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"webhook_id": "wh_1"})
    again = kms.decrypt(CiphertextBlob=made["CiphertextBlob"], EncryptionContext={"webhook_id": "wh_1"})
    assert again["Plaintext"] == made["Plaintext"] and len(made["Plaintext"]) == 32
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=made["CiphertextBlob"], EncryptionContext={"webhook_id": "wh_2"})
