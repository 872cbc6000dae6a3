"""Seeding and reading the fake's state from tests (synchronous; works before or after start)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from .apm import make_artifact
from .cases import new_case
from .rules import Rule, iso
from .state import KibanaState, now_utc


class Seeding:
    """Mixed into FakeKibana: `add_*` put objects in, the accessors read them back."""

    state: KibanaState

    # ------------------------------------------------------------------ rules
    def add_rule(self, **fields: Any) -> dict[str, Any]:
        """Store a rule and return it in the API shape. The keyword arguments are those of
        `KibanaState.add_rule` (id, name, space, rule_type_id, consumer, tags, enabled,
        active_alerts, execution_status, error_reason, …): `execution_status` defaults to
        "active" when there are active alerts, else "ok"; an "error" rule takes `error_reason`
        ("decrypt" | "execute" | "read" | …, default "execute")."""
        return self.state.add_rule(**fields).to_api(now_utc())

    def rule(self, rule_id: str, space: str = "default") -> dict[str, Any]:
        """The stored rule in the API shape (KeyError when absent)."""
        return self.stored_rule(rule_id, space).to_api(now_utc())

    def stored_rule(self, rule_id: str, space: str = "default") -> Rule:
        """The stored rule object (active_alerts, untracked_alerts, writes, …)."""
        return self.state.rules[(space, rule_id)]

    @property
    def rules(self) -> dict[tuple[str, str], Rule]:
        """All rules keyed by (space, rule id)."""
        return self.state.rules

    def set_active_alerts(self, rule_id: str, alert_ids: Iterable[str], space: str = "default") -> None:
        rule = self.stored_rule(rule_id, space)
        rule.active_alerts = list(alert_ids)
        rule.known_alerts.update(rule.active_alerts)
        if rule.execution_status in ("ok", "active"):
            rule.execution_status = "active" if rule.active_alerts else "ok"

    # ------------------------------------------------------------------ cases
    def add_case(
        self,
        *,
        title: str = "Investigate high CPU",
        description: str = "Opened by the fake Kibana seed.",
        tags: Iterable[str] = (),
        owner: str = "cases",
        severity: str = "low",
        status: str = "open",
        space: str = "default",
        created_by: str = "elastic",
    ) -> dict[str, Any]:
        fields = {
            "title": title,
            "description": description,
            "tags": list(tags),
            "owner": owner,
            "severity": severity,
            "connector": {"id": "none", "name": "none", "type": ".none", "fields": None},
            "settings": {"syncAlerts": True},
        }
        who = {"username": created_by, "full_name": None, "email": None}
        case = new_case(self.state, fields, space=space, who=who, now=iso(now_utc()))
        case["status"] = status
        return dict(case)

    def case(self, case_id: str, space: str = "default") -> dict[str, Any]:
        return self.state.cases[(space, case_id)]

    @property
    def cases(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self.state.cases

    # ------------------------------------------------------------------ APM
    def add_agent_configuration(
        self,
        *,
        service_name: str,
        environment: str | None = None,
        settings: dict[str, str] | None = None,
        agent_name: str | None = None,
    ) -> dict[str, Any]:
        service = {"name": service_name} | ({"environment": environment} if environment else {})
        values = dict(settings or {"transaction_sample_rate": "1.0"})
        config: dict[str, Any] = {
            "service": service,
            "settings": values,
            "@timestamp": int(now_utc().timestamp() * 1000),
            "applied_by_agent": False,
            "etag": hashlib.sha1(json.dumps([service, values], sort_keys=True).encode()).hexdigest(),  # noqa: S324
        }
        if agent_name:
            config["agent_name"] = agent_name
        self.state.agent_configurations.append(config)
        return config

    @property
    def agent_configurations(self) -> list[dict[str, Any]]:
        return self.state.agent_configurations

    def add_sourcemap(
        self,
        *,
        service_name: str = "frontend",
        service_version: str = "1.0.0",
        bundle_filepath: str = "/static/js/main.js",
        sourcemap: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        source_map = sourcemap or {"version": 3, "sources": ["src/index.ts"], "mappings": "AAAA"}
        artifact = make_artifact(service_name, service_version, bundle_filepath, source_map, now_utc())
        self.state.sourcemaps.append(artifact)
        return artifact

    @property
    def sourcemaps(self) -> list[dict[str, Any]]:
        return self.state.sourcemaps

    @property
    def agent_keys(self) -> list[dict[str, Any]]:
        return self.state.agent_keys

    # ------------------------------------------------------------------ health flags
    @property
    def is_sufficiently_secure(self) -> bool:
        return self.state.is_sufficiently_secure

    @is_sufficiently_secure.setter
    def is_sufficiently_secure(self, value: bool) -> None:
        self.state.is_sufficiently_secure = value

    @property
    def has_permanent_encryption_key(self) -> bool:
        return self.state.has_permanent_encryption_key

    @has_permanent_encryption_key.setter
    def has_permanent_encryption_key(self, value: bool) -> None:
        self.state.has_permanent_encryption_key = value
