"""The route table: every endpoint the fake serves, as templates matching the OpenAPI paths."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

from . import (
    alert_snooze,
    alerting,
    apm,
    case_activity,
    cases,
    detection,
    maintenance_windows,
    rule_search,
    server_info,
    snooze,
)
from .calls import Handler


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    family: str  # "core" | "alerting" | "cases" | "apm" | "security"
    # APM routes: (forbid() operation, Kibana privilege) checked by core before validation
    privilege: tuple[str, str] | None = None
    # which Kibana versions have the route (None: all); on the others the router answers a bare 404
    since: Callable[[tuple[int, int, int]], bool] | None = None
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(regex))

    def exists_in(self, version: tuple[int, int, int]) -> bool:
        return self.since is None or self.since(version)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


RULE = "/api/alerting/rule/{id}"
AGENT_CONFIG = "/api/apm/settings/agent-configuration"
MW = "/api/maintenance_window"


def _snooze_api(version: tuple[int, int, int]) -> bool:
    """The public snooze routes: 8.19+ on 8.x (backport, PR #214566), absent from 9.0, 9.1+ (§11)."""
    major, minor, _ = version
    return minor >= 19 if major == 8 else minor >= 1 if major == 9 else major > 9


def _alert_snooze_api(version: tuple[int, int, int]) -> bool:
    """The per-alert snooze routes (`…/alert/{alert_id}/_snooze`, `_unsnooze`): 9.5 on."""
    return version >= (9, 5, 0)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/status", server_info.status, "core"),
    Route("GET", "/api/licensing/info", server_info.licensing_info, "core"),
    Route("GET", "/api/alerting/_health", alerting.health, "alerting"),
    Route("GET", "/api/alerting/rules/_find", rule_search.find_rules, "alerting"),
    Route("GET", RULE, alerting.get_rule, "alerting"),
    Route("POST", RULE + "/_disable", alerting.disable_rule, "alerting"),
    Route("POST", RULE + "/_enable", alerting.enable_rule, "alerting"),
    Route("POST", RULE + "/_mute_all", alerting.mute_all, "alerting"),
    Route("POST", RULE + "/_unmute_all", alerting.unmute_all, "alerting"),
    Route("POST", RULE + "/snooze_schedule", snooze.snooze_rule, "alerting", since=_snooze_api),
    Route(
        "DELETE",
        "/api/alerting/rule/{ruleId}/snooze_schedule/{scheduleId}",
        snooze.unsnooze_rule,
        "alerting",
        since=_snooze_api,
    ),
    Route("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute", alerting.mute_alert, "alerting"),
    Route("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unmute", alerting.unmute_alert, "alerting"),
    Route("POST", detection.ROUTE, detection.set_alerts_status, "security"),
    Route("GET", MW + "/_find", maintenance_windows.find, "alerting", since=maintenance_windows.has_find),
    Route("POST", MW, maintenance_windows.create, "alerting", since=maintenance_windows.has_routes),
    Route("GET", MW + "/{id}", maintenance_windows.get, "alerting", since=maintenance_windows.has_routes),
    Route("DELETE", MW + "/{id}", maintenance_windows.delete, "alerting", since=maintenance_windows.has_routes),
    Route("POST", MW + "/{id}/_archive", maintenance_windows.archive, "alerting", since=maintenance_windows.has_routes),
    Route(
        "POST",
        "/api/alerting/rule/{rule_id}/alert/{alert_id}/_snooze",
        alert_snooze.snooze_alert,
        "alerting",
        since=_alert_snooze_api,
    ),
    Route(
        "POST",
        "/api/alerting/rule/{rule_id}/alert/{alert_id}/_unsnooze",
        alert_snooze.unsnooze_alert,
        "alerting",
        since=_alert_snooze_api,
    ),
    Route("POST", "/api/cases", cases.create_case, "cases"),
    Route("PATCH", "/api/cases", cases.update_cases, "cases"),
    Route("GET", "/api/cases/_find", cases.find_cases, "cases"),
    Route("GET", "/api/cases/configure", cases.get_configuration, "cases"),
    Route("GET", "/api/cases/{caseId}", cases.get_case, "cases"),
    Route("POST", "/api/cases/{caseId}/comments", cases.add_comment, "cases"),
    Route("GET", "/api/cases/{caseId}/user_actions/_find", case_activity.find_activity, "cases"),
    Route("POST", "/api/apm/agent_keys", apm.create_agent_key, "apm"),  # privilege check in handler
    Route("GET", AGENT_CONFIG, apm.list_configurations, "apm", ("getAgentConfigurations", "apm")),
    Route("PUT", AGENT_CONFIG, apm.save_configuration, "apm", ("saveAgentConfiguration", "apm_settings_write")),
    Route("DELETE", AGENT_CONFIG, apm.delete_configuration, "apm", ("deleteAgentConfiguration", "apm_settings_write")),
    Route("GET", "/api/apm/sourcemaps", apm.list_sourcemaps, "apm", ("getSourceMaps", "apm")),
    Route("POST", "/api/apm/sourcemaps", apm.upload_sourcemap, "apm", ("uploadSourceMap", "apm_write")),
    Route("DELETE", "/api/apm/sourcemaps/{id}", apm.delete_sourcemap, "apm", ("deleteSourceMap", "apm_write")),
)
TEMPLATES = frozenset(route.template for route in ROUTES)


def find_route(
    method: str, path: str, version: tuple[int, int, int] | None = None
) -> tuple[Route, dict[str, str]] | None:
    """The route of `method path` (in Kibana `version`, when given)."""
    for route in ROUTES:
        if version is not None and not route.exists_in(version):
            continue
        params = route.match(method, path)
        if params is not None:
            return route, params
    return None


def template_for(path: str) -> str | None:
    """The template of any route (whatever the method) that matches `path`."""
    for route in ROUTES:
        if route.pattern.fullmatch(path):
            return route.template
    return None
