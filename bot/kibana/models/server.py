"""`GET /api/status` and `GET /api/licensing/info`: which Kibana the bot talks to."""

from __future__ import annotations

from pydantic import Field

from ._base import KibanaResponse


class StatusVersion(KibanaResponse):
    number: str
    build_flavor: str | None = None


class KibanaStatus(KibanaResponse):
    """`GET /api/status` (only what the bot reads)."""

    name: str | None = None
    version: StatusVersion


class License(KibanaResponse):
    type: str | None = None
    status: str | None = None
    mode: str | None = None
    uid: str | None = None
    expiry_date_in_millis: int | None = Field(None, alias="expiryDateInMillis")


class LicensingInfo(KibanaResponse):
    """`GET /api/licensing/info`: `license` is absent when Kibana cannot tell (no Elasticsearch licence)."""

    license: License | None = None
