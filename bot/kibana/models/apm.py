"""APM agent configuration, agent keys and source maps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field, SecretStr

from ._base import KibanaResponse


class ApmService(KibanaResponse):
    name: str | None = None
    environment: str | None = None


class AgentConfiguration(KibanaResponse):
    """One entry of `GET /api/apm/settings/agent-configuration`."""

    service: ApmService
    settings: dict[str, str] = Field(default_factory=dict)
    agent_name: str | None = None
    etag: str | None = None
    applied_by_agent: bool | None = None
    timestamp: float | None = Field(None, alias="@timestamp")


class AgentKey(KibanaResponse):
    """`POST /api/apm/agent_keys` → `agentKey`. The key itself is secret."""

    id: str
    name: str
    api_key: SecretStr
    encoded: SecretStr
    expiration: int | None = None


class SourceMapArtifact(KibanaResponse):
    """A Fleet artifact holding one source map (list items carry the decoded `body`)."""

    id: str
    identifier: str | None = None
    type: str | None = None
    relative_url: str | None = None
    created: datetime | None = None
    package_name: str | None = Field(None, alias="packageName")
    decoded_size: int | None = Field(None, alias="decodedSize")
    encoded_size: int | None = Field(None, alias="encodedSize")
    body: dict[str, Any] | str | None = None

    @property
    def service_name(self) -> str | None:
        return self.body.get("serviceName") if isinstance(self.body, dict) else None

    @property
    def service_version(self) -> str | None:
        return self.body.get("serviceVersion") if isinstance(self.body, dict) else None

    @property
    def bundle_filepath(self) -> str | None:
        return self.body.get("bundleFilepath") if isinstance(self.body, dict) else None


class SourceMapPage(KibanaResponse):
    """`GET /api/apm/sourcemaps`."""

    artifacts: list[SourceMapArtifact] = Field(default_factory=list)
    total: int = 0
