"""S3 buckets from the template (local/template.py, local/resources.py) in moto's in-process mock: the recordings
bucket as the template declares it, and what S3 would refuse refused here too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import moto
import pytest

from local.resources import S3Refused, _lifecycle_rule, deploy
from local.template import Stack


@pytest.fixture
def s3() -> Iterator[object]:
    with moto.mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def test_the_recordings_bucket_is_made_as_the_template_declares_it(s3):
    stack = Stack({"RecordingRetentionDays": "30", "LiveKitApiSecret": "x"})
    deploy(stack)
    (name,) = stack.buckets()
    assert name == "telephony-local-recordingsbucket"  # lower case, as S3 requires and CloudFormation generates
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    (expiry,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert expiry["Expiration"] == {"Days": 30} and expiry["Filter"] == {"Prefix": "recordings/"}
    assert expiry["Status"] == "Enabled"
    ownership = s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    # the template denies every request not over TLS; the local stack, served over plain HTTP, leaves that out
    (declared,) = stack.bucket_policies()[name]["Statement"]
    assert declared["Effect"] == "Deny" and declared["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert declared["Resource"] == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
    assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"] == []


def test_the_upload_secret_holds_what_each_choice_needs():
    key = json.loads(next(v for k, v in Stack().secrets().items() if k.endswith("RecordingUploadSecret")))
    assert key["mode"] == "key" and key["access_key_id"] and key["secret_access_key"]
    with pytest.raises(ValueError, match="RecordingUploaderPrincipalArn is required"):
        Stack({"RecordingUploadCredentials": "AssumeRole"})
    role = Stack(
        {
            "RecordingUploadCredentials": "AssumeRole",
            "RecordingUploaderPrincipalArn": "arn:aws:iam::111122223333:role/egress",
            "RecordingUploadExternalId": "ext-0123456789abcdef",
        }
    )
    assumed = json.loads(next(v for k, v in role.secrets().items() if k.endswith("RecordingUploadSecret")))
    assert assumed["mode"] == "role" and assumed["external_id"] == "ext-0123456789abcdef" and assumed["role_arn"]
    assert not role.included("RecordingUploader") and role.included("RecordingUploadRole")


def test_what_s3_refuses_is_refused(s3, tmp_path: Path):
    """moto creates a bucket named in capitals and keeps a rule expiring after 0 days; S3 refuses both."""
    template = tmp_path / "template.yaml"
    template.write_text(
        "Resources:\n  Shouting:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: Not_A_Valid_Name}\n"
    )
    with pytest.raises(S3Refused, match="InvalidBucketName"):
        deploy(Stack(path=template))
    template.write_text(
        "Resources:\n"
        "  Expiring:\n"
        "    Type: AWS::S3::Bucket\n"
        "    Properties:\n"
        "      LifecycleConfiguration:\n"
        "        Rules: [{Status: Enabled, ExpirationInDays: 0}]\n"
    )
    with pytest.raises(S3Refused, match="'Days' for Expiration action must be a positive integer"):
        deploy(Stack(path=template))


def test_a_lifecycle_property_it_does_not_translate_is_refused_not_dropped():
    with pytest.raises(ValueError, match="NoncurrentVersionExpiration"):
        _lifecycle_rule({"Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})


def test_the_reconcile_of_recordings_runs_on_the_templates_schedule():
    from local.event_sources import EventSources

    (source,) = [e for e in Stack().event_sources() if e.function == "ReconcileRecordingsFunction"]
    assert (source.kind, source.properties["Schedule"]) == ("Schedule", "rate(1 minute)")
    described = EventSources(Stack(), lambda function, event: None).describe()
    assert any("ReconcileRecordingsFunction" in line for line in described), described
