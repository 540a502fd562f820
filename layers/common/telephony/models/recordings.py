"""A call's recording as its owner reads it."""

from __future__ import annotations

from pydantic import Field

from telephony.models.calls import Recording


class RecordingLink(Recording):
    call_id: str
    url: str | None = Field(
        default=None, description="A link to the OGG file (GET), valid 5 minutes; present when the recording is ready"
    )
    url_expires_at: str | None = Field(default=None, description="When `url` stops working")
