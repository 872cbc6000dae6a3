"""Everything the fake Kibana remembers: rules, cases, APM objects, and forbidden operations."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .rules import ERROR_MESSAGES, ERROR_REASONS, EXECUTION_STATUSES, Rule

RULE_OPERATIONS = (
    "get",
    "find",
    "enable",
    "disable",
    "muteAll",
    "unmuteAll",
    "muteAlert",
    "unmuteAlert",
    "snooze",
    "unsnooze",
)
CASE_OPERATIONS = ("createCase", "getCase", "findCases", "updateCase", "createComment")
APM_OPERATIONS = (
    "createAgentKey",
    "getAgentConfigurations",
    "saveAgentConfiguration",
    "deleteAgentConfiguration",
    "getSourceMaps",
    "uploadSourceMap",
    "deleteSourceMap",
)
OPERATIONS = (*RULE_OPERATIONS, "health", *CASE_OPERATIONS, *APM_OPERATIONS)


@dataclass(frozen=True)
class Forbidden:
    operation: str
    rule_id: str | None
    message: str | None


def now_utc() -> datetime:
    return datetime.now(UTC)


class KibanaState:
    """The in-memory saved objects. Rules and cases live in a space; APM objects are global."""

    def __init__(self) -> None:
        self.rules: dict[tuple[str, str], Rule] = {}
        self.cases: dict[tuple[str, str], dict[str, Any]] = {}
        self.agent_configurations: list[dict[str, Any]] = []
        self.sourcemaps: list[dict[str, Any]] = []
        self.agent_keys: list[dict[str, Any]] = []
        self.forbidden: list[Forbidden] = []
        self.is_sufficiently_secure = True
        self.has_permanent_encryption_key = True
        self._seq = 0

    # ------------------------------------------------------------------ versions
    def next_version(self) -> str:
        """An opaque saved-object version: base64 of `[seq_no,primary_term]`."""
        self._seq += 1
        return base64.b64encode(f"[{self._seq},1]".encode()).decode()

    # ------------------------------------------------------------------ rules
    def rule(self, space: str, rule_id: str) -> Rule | None:
        return self.rules.get((space, rule_id))

    def rules_in(self, space: str) -> list[Rule]:
        return [rule for (rule_space, _), rule in self.rules.items() if rule_space == space]

    def add_rule(
        self,
        *,
        id: str | None = None,
        name: str = "CPU usage above 90%",
        space: str = "default",
        rule_type_id: str = ".index-threshold",
        consumer: str = "alerts",
        tags: Iterable[str] = (),
        enabled: bool = True,
        active_alerts: Iterable[str] = (),
        execution_status: str | None = None,
        error_reason: str | None = None,
        error_message: str | None = None,
        last_execution_date: datetime | None = None,
        schedule_interval: str = "1m",
        params: dict[str, Any] | None = None,
        muted_alert_ids: Iterable[str] = (),
        mute_all: bool = False,
    ) -> Rule:
        alerts = list(active_alerts)
        status = execution_status or ("active" if alerts else "ok")
        if status not in EXECUTION_STATUSES:
            raise ValueError(f"execution_status must be one of {EXECUTION_STATUSES}, not {status!r}")
        if error_reason is not None and error_reason not in ERROR_REASONS:
            raise ValueError(f"error_reason must be one of {ERROR_REASONS}, not {error_reason!r}")
        if error_reason is not None and status != "error":
            raise ValueError("error_reason needs execution_status='error'")
        if status == "error" and error_reason is None:
            error_reason = "execute"
        now = now_utc()
        rule = Rule(
            id=id or str(uuid.uuid4()),
            space=space,
            name=name,
            rule_type_id=rule_type_id,
            consumer=consumer,
            tags=list(tags),
            enabled=enabled,
            schedule_interval=schedule_interval,
            params=dict(params) if params is not None else _default_params(rule_type_id),
            execution_status=status,
            error_reason=error_reason,
            error_message=error_message or (ERROR_MESSAGES.get(error_reason) if error_reason else None),
            last_execution_date=last_execution_date or now,
            created_at=now,
            updated_at=now,
            active_alerts=alerts,
            known_alerts=set(alerts),
            mute_all=mute_all,
            muted_alert_ids=list(muted_alert_ids),
        )
        self.rules[(space, rule.id)] = rule
        return rule

    # ------------------------------------------------------------------ forbidden operations
    def forbid(self, operation: str, *, rule_id: str | None = None, message: str | None = None) -> None:
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")
        self.forbidden.append(Forbidden(operation, rule_id, message))

    def forbidden_for(self, operation: str, rule_id: str | None = None) -> Forbidden | None:
        for entry in self.forbidden:
            if entry.operation == operation and (entry.rule_id is None or entry.rule_id == rule_id):
                return entry
        return None


def _default_params(rule_type_id: str) -> dict[str, Any]:
    if rule_type_id == ".index-threshold":
        return {
            "index": ["metrics-*"],
            "timeField": "@timestamp",
            "aggType": "avg",
            "aggField": "system.cpu.total.norm.pct",
            "groupBy": "top",
            "termField": "host.name",
            "termSize": 10,
            "timeWindowSize": 5,
            "timeWindowUnit": "m",
            "thresholdComparator": ">",
            "threshold": [0.9],
        }
    return {}
