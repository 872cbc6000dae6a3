"""Cases: the create request and the case object Kibana returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from bot.identifiers import CaseOwner

from ._base import KibanaRequest, KibanaResponse

CaseSeverity = Literal["low", "medium", "high", "critical"]
CaseStatus = Literal["open", "in-progress", "closed"]

CaseTag = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class CaseSettings(KibanaRequest):
    sync_alerts: bool = Field(True, alias="syncAlerts")


class NoConnector(KibanaRequest):
    """`connector` of a case that is not pushed anywhere (the only one the bot uses)."""

    id: Literal["none"] = "none"
    name: Literal["none"] = "none"
    type: Literal[".none"] = ".none"
    fields: None = None


class CaseCreate(KibanaRequest):
    """Body of `POST /api/cases` (limits as Kibana's `Cases_create_case_request`)."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=160)]
    description: Annotated[str, StringConstraints(min_length=1, max_length=30000)]
    tags: Annotated[list[CaseTag], Field(max_length=200)] = Field(default_factory=list)
    severity: CaseSeverity = "low"
    owner: CaseOwner = "cases"
    connector: NoConnector = Field(default_factory=NoConnector)
    settings: CaseSettings = Field(default_factory=CaseSettings)
    category: Annotated[str, StringConstraints(max_length=50)] | None = None

    def to_body(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", by_alias=True)
        if body["category"] is None:
            del body["category"]
        return body


MAX_ALERTS_PER_CASE = 1000  # Kibana's limit of the alerts attached to one case (AlertLimiter)


class AlertAttachment(KibanaRequest):
    """Body of `POST /api/cases/{id}/comments` with `type: alert`: alerts of ONE rule (the attachment names
    one `rule`), each by its alerts-as-data document (`alertId` = the document's `_id`, which is
    `kibana.alert.uuid`; `index` = the index that holds it), as many ids as indices."""

    type: Literal["alert"] = "alert"
    alert_ids: Annotated[list[str], Field(min_length=1, max_length=MAX_ALERTS_PER_CASE)] = Field(alias="alertId")
    indices: list[str] = Field(alias="index")
    rule_id: str | None = None
    rule_name: str | None = None
    owner: CaseOwner = "cases"

    def to_body(self) -> dict[str, Any]:
        if len(self.alert_ids) != len(self.indices):
            raise ValueError("an alert attachment has as many indices as alert ids")
        return {
            "type": "alert",
            "alertId": list(self.alert_ids),
            "index": list(self.indices),
            "rule": {"id": self.rule_id, "name": self.rule_name},
            "owner": self.owner,
        }


class CaseUser(KibanaResponse):
    username: str | None = None
    full_name: str | None = None
    email: str | None = None
    profile_uid: str | None = None


class CaseComment(KibanaResponse):
    """An attachment of a case: a user comment (`comment`) or alerts (`alert_id`)."""

    id: str | None = None
    version: str | None = None
    type: str
    comment: str | None = None
    owner: str | None = None
    alert_id: str | list[str] | None = Field(None, alias="alertId")
    created_at: datetime | None = None
    created_by: CaseUser | None = None
    updated_at: datetime | None = None


class Case(KibanaResponse):
    """A case as POST/GET `/api/cases...` return it. `version` is opaque: never compute it."""

    id: str
    version: str
    title: str
    description: str
    tags: list[str] = Field(default_factory=list)
    owner: str
    status: CaseStatus | str
    severity: CaseSeverity | str = "low"
    category: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    connector: dict[str, Any] = Field(default_factory=dict)
    comments: list[CaseComment] = Field(default_factory=list)
    total_comment: int = Field(0, alias="totalComment")
    total_alerts: int = Field(0, alias="totalAlerts")
    created_at: datetime | None = None
    created_by: CaseUser | None = None
    updated_at: datetime | None = None
    updated_by: CaseUser | None = None
    closed_at: datetime | None = None
    closed_by: CaseUser | None = None
    duration: int | None = None


class CasePage(KibanaResponse):
    """`GET /api/cases/_find`."""

    cases: list[Case] = Field(default_factory=list)
    page: int = 1
    per_page: int = 0
    total: int = 0
    count_open_cases: int = 0
    count_in_progress_cases: int = 0
    count_closed_cases: int = 0


class CustomFieldConfiguration(KibanaResponse):
    key: str
    label: str = ""
    type: str = "text"
    required: bool = False
    default_value: Any = Field(None, alias="defaultValue")


class CaseConfiguration(KibanaResponse):
    """One owner's case settings (`GET /api/cases/configure`), as far as the bot reads them."""

    owner: str | None = None
    custom_fields: list[CustomFieldConfiguration] = Field(default_factory=list, alias="customFields")

    def required_without_default(self) -> list[CustomFieldConfiguration]:
        """Custom fields Kibana requires on a new case that it cannot fill in itself (its 400)."""
        return [f for f in self.custom_fields if f.required and f.default_value is None]
