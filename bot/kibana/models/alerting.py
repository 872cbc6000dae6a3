"""Alerting framework health and rules, as `GET /api/alerting/...` returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ._base import KibanaResponse

HealthStatus = Literal["ok", "warn", "error"]

_STATUS_RANK: dict[str, int] = {"ok": 0, "warn": 1, "error": 2}


class HealthState(KibanaResponse):
    """One sub-state of the alerting framework health."""

    status: HealthStatus
    timestamp: datetime | None = None


class FrameworkHealth(KibanaResponse):
    decryption_health: HealthState
    execution_health: HealthState
    read_health: HealthState


class AlertingHealth(KibanaResponse):
    """`GET /api/alerting/_health` (computed by Kibana across all spaces)."""

    is_sufficiently_secure: bool
    has_permanent_encryption_key: bool
    alerting_framework_health: FrameworkHealth

    @property
    def status(self) -> HealthStatus:
        """The worst of the three sub-states."""
        health = self.alerting_framework_health
        states = (health.decryption_health, health.execution_health, health.read_health)
        return max((s.status for s in states), key=lambda s: _STATUS_RANK[s])


class RuleSchedule(KibanaResponse):
    interval: str


class RuleExecutionProblem(KibanaResponse):
    reason: str
    message: str


class RuleExecutionStatus(KibanaResponse):
    status: str
    last_execution_date: datetime | None = None
    last_duration: float | None = None
    error: RuleExecutionProblem | None = None
    warning: RuleExecutionProblem | None = None


class AlertsCount(KibanaResponse):
    active: int | None = None
    new: int | None = None
    recovered: int | None = None
    ignored: int | None = None


class RuleLastRun(KibanaResponse):
    outcome: str
    alerts_count: AlertsCount = Field(default_factory=AlertsCount)
    outcome_msg: list[str] | None = None
    warning: str | None = None


class RuleSnooze(KibanaResponse):
    """One entry of a rule's `snooze_schedule` (rRule form; duration in milliseconds)."""

    id: str | None = None
    duration: float
    rrule: dict[str, Any] = Field(alias="rRule")
    skip_recurrences: list[str] = Field(default_factory=list, alias="skipRecurrences")


class Rule(KibanaResponse):
    """A rule as `GET /api/alerting/rule/{id}` returns it.

    Every attribute but `id` has a default because `_find` with `fields` omits the
    attributes it was not asked for.
    """

    id: str
    name: str = ""
    enabled: bool = False
    mute_all: bool = False
    muted_alert_ids: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    rule_type_id: str = ""
    consumer: str = ""
    schedule: RuleSchedule | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    execution_status: RuleExecutionStatus | None = None
    last_run: RuleLastRun | None = None
    next_run: datetime | None = None
    snooze_schedule: list[RuleSnooze] = Field(default_factory=list)
    is_snoozed_until: datetime | None = None
    active_snoozes: list[str] = Field(default_factory=list)
    notify_when: str | None = None
    api_key_owner: str | None = None
    created_by: str | None = None
    updated_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision: int | None = None

    @property
    def active_alerts(self) -> int:
        """How many alerts were active after the rule's last run (0 when it never ran)."""
        if self.last_run is None:
            return 0
        return self.last_run.alerts_count.active or 0


class RulePage(KibanaResponse):
    """`GET /api/alerting/rules/_find`."""

    page: int
    per_page: int
    total: int
    data: list[Rule]


class SnoozeCustomSchedule(KibanaResponse):
    start: datetime
    duration: str
    timezone: str | None = None
    recurring: dict[str, Any] | None = None


class SnoozeSchedule(KibanaResponse):
    """The `schedule` that `POST .../snooze_schedule` created; `id` cancels it."""

    id: str
    custom: SnoozeCustomSchedule | None = None
