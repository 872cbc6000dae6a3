"""Everything the fake Kibana remembers: rules, cases, APM objects, and forbidden operations."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .people import Person
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
CASE_OPERATIONS = ("createCase", "getCase", "findCases", "updateCase", "createComment", "findUserActions")
APM_OPERATIONS = (
    "createAgentKey",
    "getAgentConfigurations",
    "saveAgentConfiguration",
    "deleteAgentConfiguration",
    "getSourceMaps",
    "uploadSourceMap",
    "deleteSourceMap",
)
MAINTENANCE_WINDOW_OPERATIONS = ("readMaintenanceWindow", "writeMaintenanceWindow")
OPERATIONS = (
    *RULE_OPERATIONS,
    "health",
    *CASE_OPERATIONS,
    *APM_OPERATIONS,
    "setAlertsStatus",
    *MAINTENANCE_WINDOW_OPERATIONS,
)


@dataclass(frozen=True)
class Forbidden:
    operation: str
    rule_id: str | None
    message: str | None


def now_utc() -> datetime:
    return datetime.now(UTC)


LICENSES = ("basic", "gold", "platinum", "enterprise", "trial")
DEFAULT_VERSION = "9.3.0"  # a current 9.x
SOURCEMAP_MODES = ("fleet", "no-fleet", "disabled", "absent")


def version_tuple(text: str) -> tuple[int, int, int]:
    parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
    if len(parts) < 2:
        raise ValueError(f"not a Kibana version: {text!r} (use e.g. 8.19.0)")
    padded = [*parts, 0]
    return padded[0], padded[1], padded[2]


class KibanaState:
    """The in-memory saved objects. Rules and cases live in a space; APM objects are global.

    `version` and `license_type` change what the fake serves (behaviours.md §11): the snooze routes
    exist from 8.19 on 8.x and from 9.1 on 9.x; from 9.3 `_mute` checks that the alert exists; the
    public rule API strips the snooze state.
    """

    def __init__(self, *, version: str = DEFAULT_VERSION, license_type: str = "platinum") -> None:
        if license_type not in LICENSES:
            raise ValueError(f"license must be one of {', '.join(LICENSES)}, not {license_type!r}")
        self.version = version
        self.version_tuple = version_tuple(version)
        self.license_type = license_type
        self.license_status = "active"
        # Cases are created with refresh=false: a new case reaches _find only after this many seconds.
        self.case_visibility_delay = 0.0
        self.case_visible_at: dict[tuple[str, str], float] = {}  # (space, case id) → monotonic time
        # Custom fields the owner's case settings require, with no default: {key: label}.
        self.required_custom_fields: dict[str, str] = {}
        # APM source maps: "fleet" (works), "no-fleet" (GET answers 200 with an empty body),
        # "disabled" (501, the source-map API is off), "absent" (404, no APM source-map route).
        self.sourcemaps_mode = "fleet"
        self.rules: dict[tuple[str, str], Rule] = {}
        self.cases: dict[tuple[str, str], dict[str, Any]] = {}
        self.case_activity: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (space, case id) → user actions
        self.agent_configurations: list[dict[str, Any]] = []
        self.sourcemaps: list[dict[str, Any]] = []
        self.agent_keys: list[dict[str, Any]] = []
        # Security detection alerts by (space, kibana.alert.uuid): their workflow status (detection.py).
        self.security_alerts: dict[tuple[str, str], str] = {}
        # Maintenance windows by (space, id): maintenance_windows.MaintenanceWindow
        self.maintenance_windows: dict[tuple[str, str], Any] = {}
        self.forbidden: list[Forbidden] = []
        # Who is calling, while a handler runs (handlers are synchronous): a person with their own
        # privileges (people.py), or None for the bot's own key, which holds every privilege.
        self.caller: tuple[Person, str] | None = None
        # Called with (rule, alert ids) when a rule is disabled with `untrack`: Kibana untracks the
        # alerts' documents in alerts-as-data then, while it answers (FakeElasticsearch.follow).
        self.untrack_listeners: list[Callable[[Rule, list[str]], None]] = []
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
        if self.caller is not None:
            person, space = self.caller
            if not person.allows(operation, space):
                return Forbidden(operation, None, None)
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
