"""Alerting rules as the fake stores them, and their API (snake_case) shape."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


def iso(moment: datetime) -> str:
    """Kibana's timestamp format: `2023-01-13T01:28:00.280Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime | None:
    """Parse an ISO 8601 date-time (or date); None when it is not one. Naive values are UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


EXECUTION_STATUSES = ("ok", "active", "error", "warning", "pending", "unknown")
ERROR_REASONS = ("read", "decrypt", "execute", "unknown", "license", "timeout", "disabled", "validate")
ERROR_MESSAGES = {
    "decrypt": "Unable to decrypt attribute 'apiKey'",
    "execute": "rule execution failure: search_phase_execution_exception",
    "read": "Unable to read rule parameters",
}
RRULE_FREQ = {"y": 0, "M": 1, "w": 2, "d": 3}


@dataclass
class Snooze:
    """One snooze schedule of a rule (stored in Kibana's rRule form)."""

    id: str
    start: datetime
    duration_ms: int
    timezone: str
    custom: dict[str, Any]

    def occurrences(self) -> list[datetime]:
        """Start times of the occurrences, bounded (recurrence by `every` only)."""
        recurring = self.custom.get("recurring") or {}
        every = recurring.get("every")
        count = recurring.get("occurrences")
        end = parse_iso(recurring["end"]) if recurring.get("end") else None
        if not recurring or (not every and count is None and end is None):
            return [self.start]
        amount, unit = (int(every[:-1]), every[-1]) if every else (1, "d")
        limit = min(int(count), 1000) if count is not None else 1000
        starts: list[datetime] = []
        for n in range(limit):
            begin = _shift(self.start, amount * n, unit)
            if end is not None and begin > end:
                break
            starts.append(begin)
        return starts

    def active_until(self, now: datetime) -> datetime | None:
        length = timedelta(milliseconds=self.duration_ms)
        for begin in self.occurrences():
            if begin <= now < begin + length:
                return begin + length
            if begin > now:
                break
        return None

    def to_api(self) -> dict[str, Any]:
        rrule: dict[str, Any] = {"dtstart": iso(self.start), "tzid": self.timezone}
        recurring = self.custom.get("recurring") or {}
        if not recurring:
            rrule["count"] = 1
        else:
            every = recurring.get("every")
            if every:
                rrule["freq"] = RRULE_FREQ[every[-1]]
                rrule["interval"] = int(every[:-1])
            if recurring.get("occurrences") is not None:
                rrule["count"] = recurring["occurrences"]
            if recurring.get("end"):
                rrule["until"] = recurring["end"]
            if recurring.get("onWeekDay"):
                rrule["byweekday"] = list(recurring["onWeekDay"])
            if recurring.get("onMonthDay"):
                rrule["bymonthday"] = list(recurring["onMonthDay"])
            if recurring.get("onMonth"):
                rrule["bymonth"] = list(recurring["onMonth"])
        return {"id": self.id, "duration": self.duration_ms, "rRule": rrule}


def _shift(moment: datetime, amount: int, unit: str) -> datetime:
    if unit == "d":
        return moment + timedelta(days=amount)
    if unit == "w":
        return moment + timedelta(weeks=amount)
    months = amount * (12 if unit == "y" else 1)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass
class Rule:
    """A rule saved object in one space. `active_alerts` are the alert ids now active."""

    id: str
    space: str
    name: str
    rule_type_id: str
    consumer: str
    tags: list[str]
    enabled: bool
    schedule_interval: str
    params: dict[str, Any]
    execution_status: str
    error_reason: str | None
    error_message: str | None
    last_execution_date: datetime
    created_at: datetime
    updated_at: datetime
    created_by: str = "elastic"
    updated_by: str = "elastic"
    active_alerts: list[str] = field(default_factory=list)
    known_alerts: set[str] = field(default_factory=set)
    untracked_alerts: list[str] = field(default_factory=list)
    mute_all: bool = False
    muted_alert_ids: list[str] = field(default_factory=list)
    # 9.5: per-alert snoozes (`snoozedAlerts`): {alertInstanceId, mutedAt, expiresAt?, conditions?, conditionOperator}
    snoozed_alerts: list[dict[str, Any]] = field(default_factory=list)
    snoozes: list[Snooze] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    revision: int = 0
    writes: int = 0
    last_duration_ms: int = 1200

    def touch(self, user: str, now: datetime) -> None:
        """Record a saved-object write."""
        self.updated_at = now
        self.updated_by = user
        self.writes += 1

    def snoozed_until(self, now: datetime) -> datetime | None:
        ends = [end for snooze in self.snoozes if (end := snooze.active_until(now)) is not None]
        return max(ends) if ends else None

    def to_public_api(self, now: datetime, version: tuple[int, int, int]) -> dict[str, Any]:
        """What the public `GET /api/alerting/rule/{id}` and `_find` return: the snooze state is
        stripped (`transformRuleDomainToRule(isPublic)`); newer Kibanas keep `snooze_schedule` but never
        fill `active_snoozes` / `is_snoozed_until` (Kibana issue #242332). The fake keeps
        `snooze_schedule` from 9.3 on (which release started keeping it is not known) [inferred]."""
        body = self.to_api(now)
        del body["active_snoozes"], body["is_snoozed_until"]
        if version < (9, 3, 0):
            del body["snooze_schedule"]
        return body

    def to_api(self, now: datetime) -> dict[str, Any]:
        """The rule domain object (with the snooze state), as the seeding accessors show it."""
        status: dict[str, Any] = {
            "status": self.execution_status,
            "last_execution_date": iso(self.last_execution_date),
            "last_duration": self.last_duration_ms,
        }
        failed = self.execution_status == "error"
        if failed:
            reason = self.error_reason or "unknown"
            status["error"] = {
                "reason": reason,
                "message": self.error_message or ERROR_MESSAGES.get(reason, "Rule failed"),
            }
        snoozed_until = self.snoozed_until(now)
        active_snoozes = [s.id for s in self.snoozes if s.active_until(now) is not None]
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "tags": list(self.tags),
            "enabled": self.enabled,
            "rule_type_id": self.rule_type_id,
            "consumer": self.consumer,
            "schedule": {"interval": self.schedule_interval},
            "actions": [dict(action) for action in self.actions],
            "params": dict(self.params),
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "api_key_owner": self.created_by,
            "api_key_created_by_user": False,
            "notify_when": None,
            "throttle": None,
            "mute_all": self.mute_all,
            "muted_alert_ids": list(self.muted_alert_ids),
            "scheduled_task_id": self.id,
            "execution_status": status,
            "last_run": {
                "outcome": "failed" if failed else "succeeded",
                "outcome_order": 20 if failed else 0,
                "outcome_msg": [status["error"]["message"]] if failed else None,
                "warning": status["error"]["reason"] if failed else None,
                "alerts_count": {
                    "active": len(self.active_alerts),
                    "new": 0,
                    "recovered": 0,
                    "ignored": 0,
                },
            },
            "next_run": iso(now + timedelta(minutes=1)) if self.enabled else None,
            "revision": self.revision,
            "running": False,
            "snooze_schedule": [snooze.to_api() for snooze in self.snoozes],
            "active_snoozes": active_snoozes,
            "is_snoozed_until": iso(snoozed_until) if snoozed_until else None,
        }
        return body
