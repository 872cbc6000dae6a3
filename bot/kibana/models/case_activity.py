"""A case's activity: the user actions of `GET /api/cases/{caseId}/user_actions/_find`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ._base import KibanaResponse
from .cases import CaseUser

# The types the bot brings into a case's thread (Kibana has more: title, tags, connector, pushed, …).
ActivityType = Literal["comment", "status", "severity", "assignees"]
ACTIVITY_TYPES: tuple[ActivityType, ...] = ("comment", "status", "severity", "assignees")
ACTIVITY_PAGE = 100  # MAX_USER_ACTIONS_PER_PAGE


class CaseUserAction(KibanaResponse):
    """One change to a case: `type` says what changed, `action` how (create, update, add, delete),
    `payload` the new value (`{"status": "closed"}`, `{"comment": {...}}`, `{"assignees": [...]}`)."""

    id: str
    action: str
    type: str
    comment_id: str | None = None
    created_at: datetime
    created_by: CaseUser = Field(default_factory=CaseUser)
    owner: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class CaseActivityPage(KibanaResponse):
    page: int = 1
    per_page: int = Field(0, alias="perPage")
    total: int = 0
    user_actions: list[CaseUserAction] = Field(default_factory=list, alias="userActions")
