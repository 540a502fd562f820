"""Pieces every model module uses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Body(BaseModel):
    """A request body: unknown fields are refused, so nobody can set status, owner or review fields."""

    model_config = ConfigDict(extra="forbid", defer_build=True, str_strip_whitespace=True)


class Out(BaseModel):
    """A response body."""

    model_config = ConfigDict(defer_build=True)


class Page[T](Out):
    items: list[T]
    next_token: str | None = None
