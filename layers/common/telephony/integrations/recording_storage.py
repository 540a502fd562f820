"""The recordings bucket: where LiveKit's egress uploads (its credentials, scoped to `recordings/`), a presigned
link to a recording, and its removal."""

from __future__ import annotations

from telephony import aws, snapstart
from telephony.config import settings
from telephony.errors import UpstreamUnavailable
from telephony.integrations import secrets
from telephony.integrations.livekit import Upload

PREFIX = "recordings/"


def object_key(owner_id: str, call_id: str) -> str:
    return f"{PREFIX}{owner_id}/{call_id}.ogg"


def _unavailable() -> UpstreamUnavailable:
    return UpstreamUnavailable("the recordings store is unavailable; retry shortly", details=[{"service": "s3"}])


_target: Upload | None = None


def upload_target() -> Upload:
    """Where and how LiveKit uploads: a key pair that may only put objects under `recordings/`, or a role it assumes
    with the stack's external id (the template's RecordingUploadCredentials parameter chooses). Read once per
    container, as the LiveKit credentials are."""
    global _target
    if _target is None:
        _target = _read_target()
    return _target


@snapstart.after_restore
def forget() -> None:
    """The secret may have been rotated since the snapshot (and tests change the environment)."""
    global _target
    _target = None


def _read_target() -> Upload:
    config = settings()
    stored = secrets.read_json(config.require("recordings_upload_secret_arn"))
    common = {
        "bucket": config.require("recordings_bucket"),
        "region": config.aws_region,
        "endpoint": config.recordings_s3_endpoint,
    }
    if stored.get("mode") == "role":
        return Upload(**common, assume_role_arn=str(stored["role_arn"]), external_id=str(stored["external_id"]))
    return Upload(**common, access_key=str(stored["access_key_id"]), secret=str(stored["secret_access_key"]))


def presigned_url(key: str, seconds: int) -> str:
    """A GET of the object that S3 honours for `seconds` (signed locally: no request is made)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return str(
            aws.s3().generate_presigned_url(
                "get_object",
                Params={"Bucket": settings().require("recordings_bucket"), "Key": key},
                ExpiresIn=seconds,
            )
        )
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable() from exc


def delete(key: str) -> None:
    """Remove the object (S3 answers the same whether it was there or not)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        aws.s3().delete_object(Bucket=settings().require("recordings_bucket"), Key=key)
    except (ClientError, BotoCoreError) as exc:
        raise _unavailable() from exc
