"""Pieces every model module uses."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_MAX_DEPTH = 16
_MAX_BYTES = 16 * 1024


class Body(BaseModel):
    """A request body: unknown fields are refused, so nobody can set status, owner or review fields; and
    values are taken as the API document describes them: strictly typed (no `0` for false, no `"30"` for 30)
    and unaltered (the lengths are the sent strings', and a password keeps its spaces)."""

    model_config = ConfigDict(extra="forbid", defer_build=True, strict=True)


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(defer_build=True)


class Record(BaseModel):
    """A stored entity as its repository returns it: the item's own fields, its key attributes left out."""

    model_config = ConfigDict(extra="ignore", defer_build=True)


class Page[T](Out):
    items: list[T]
    next_token: str | None = None


class Query(BaseModel):
    """A query string: values come as text and are read as their types (`limit=10`, `include_summary=true`);
    parameters the API does not know are ignored."""

    model_config = ConfigDict(defer_build=True)


class PageQuery(Query):
    limit: int = Field(default=50, ge=1, le=100, description="Items per page")
    next_token: str | None = Field(
        default=None, max_length=2048, description="The `next_token` of the previous page; absent for the first"
    )


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form JSON that DynamoDB holds as given (numbers within its range and 38 digits, no empty key,
    bounded nesting and size): refused here, it would otherwise fail when written, after LiveKit was set up."""

    def walk(node: Any, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise ValueError(f"nested deeper than {_MAX_DEPTH} levels")
        if isinstance(node, dict):
            for key, item in node.items():
                if not key:
                    raise ValueError("keys must not be empty")
                walk(item, depth + 1)
        elif isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
        elif isinstance(node, bool) or node is None or isinstance(node, str):
            return
        elif isinstance(node, int) and abs(node) >= 10**38:
            raise ValueError("integers must have at most 38 digits")
        elif isinstance(node, float) and (not math.isfinite(node) or (node and not 1e-130 <= abs(node) < 1e125)):
            raise ValueError("numbers must be finite, between 1e-130 and 1e125 in magnitude")

    walk(value, 1)
    if len(json.dumps(value)) > _MAX_BYTES:
        raise ValueError(f"at most {_MAX_BYTES // 1024} KiB of JSON")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_storable)]


def _utc_moment(value: str) -> str:
    """An ISO 8601 date and time with its offset, as the API writes times (UTC, milliseconds, `Z`): stored and
    sorted as text, times in other spellings or zones would sort out of order."""
    from datetime import datetime

    from telephony.util import iso

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an ISO 8601 date and time, e.g. 2026-01-01T10:00:00.250Z") from None
    if moment.tzinfo is None:
        raise ValueError("must give its offset from UTC (Z or +hh:mm)")
    return iso(moment)


Moment = Annotated[str, AfterValidator(_utc_moment)]
