"""The message that asks for a call's summary (the summary queue's body)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SummaryRequest(BaseModel):
    """Names the call only: the summariser reads the call and its transcript as they are when it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    call_id: str = Field(min_length=1, max_length=64)
