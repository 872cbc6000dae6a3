"""Base classes shared by the Kibana models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class KibanaResponse(BaseModel):
    """A body Kibana sends: unknown keys are ignored, since newer Kibanas add fields."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


class KibanaRequest(BaseModel):
    """A body the bot sends: unknown keys are a programming error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)
