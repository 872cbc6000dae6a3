"""Sample alerts for the demo: webhook bodies as Kibana's Webhook connector renders them.

Each click on "Send a sample alert" takes the next (rule, alert) pair: from the seeded fake
Kibana, its enabled rules with active alerts; from a real Kibana, its enabled rules (with a
made-up alert id, since the alerts index is not read by the bot).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bot.kibana.client import KibanaClient
from devkit.fake_kibana import FakeKibana


@dataclass(frozen=True)
class SampleRule:
    rule_id: str
    name: str
    space: str
    rule_type_id: str
    tags: tuple[str, ...]
    alert_id: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


RuleSource = Callable[[], Awaitable[list[SampleRule]]]


def fake_kibana_rules(fake: FakeKibana) -> RuleSource:
    """Enabled rules of the fake with active alerts, one entry per alert that Kibana would
    notify about (not muted, rule not muted or snoozed)."""

    async def rules() -> list[SampleRule]:
        found = []
        now = datetime.now(UTC)
        for rule in fake.state.rules.values():
            if not rule.enabled or rule.mute_all or rule.snoozed_until(now) is not None:
                continue
            for alert_id in rule.active_alerts:
                if alert_id in rule.muted_alert_ids:
                    continue
                found.append(
                    SampleRule(
                        rule.id, rule.name, rule.space, rule.rule_type_id, tuple(rule.tags), alert_id, dict(rule.params)
                    )
                )
        return found

    return rules


def kibana_rules(client: KibanaClient, space: str) -> RuleSource:
    """Enabled rules of a real Kibana (first page of `_find` in `space`)."""

    async def rules() -> list[SampleRule]:
        page = await client.find_rules(space=space, per_page=20)
        return [
            SampleRule(r.id, r.name or r.id, space, r.rule_type_id, tuple(r.tags), "demo-host-1", dict(r.params))
            for r in page.data
            if r.enabled
        ]

    return rules


def reason_for(rule: SampleRule) -> str:
    """A reason worded like the rule type's own `{{context.reason}}`."""
    params = rule.params
    if rule.rule_type_id == "apm.error_rate":
        service = params.get("serviceName", rule.alert_id)
        return (
            f"Error count is 42 in the last 5 mins for service: {service}. Alert when > {params.get('threshold', 25)}."
        )
    if rule.rule_type_id == "apm.transaction_duration":
        service = params.get("serviceName", rule.alert_id)
        return f"Avg. latency is 2.4 s in the last 5 mins for service: {service}. Alert when > 2.0 s."
    if rule.rule_type_id == ".es-query":
        return "Document count is 318 in the last 5m. Alert when greater than 100."
    if rule.rule_type_id == "xpack.uptime.alerts.monitorStatus":
        return f"Monitor {rule.alert_id} is down from 2 locations."
    return f"system.cpu.total.norm.pct is 97.3% on {rule.alert_id}, above the threshold of 90%."


def webhook_body(rule: SampleRule, kibana_link_base: str, now: datetime | None = None) -> dict[str, Any]:
    """The connector body of docs/alerts.md, with Kibana's mustache variables rendered."""
    space_prefix = "" if rule.space == "default" else f"/s/{rule.space}"
    return {
        "rule_id": rule.rule_id,
        "rule_name": rule.name,
        "space_id": rule.space,
        "alert_id": rule.alert_id,
        "alert_uuid": str(uuid.uuid4()),
        "action_group": "threshold met",
        "reason": reason_for(rule),
        "rule_url": f"{kibana_link_base}{space_prefix}/app/observability/alerts/rules/{rule.rule_id}",
        "tags": ",".join(rule.tags),
        "date": (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "channel": "",
    }


class SampleAlerts:
    """Hands out the next sample webhook body, cycling through the source's rules."""

    def __init__(self, source: RuleSource, kibana_link_base: str) -> None:
        self._source = source
        self._link_base = kibana_link_base.rstrip("/")
        self._counter = itertools.count()

    async def next_body(self) -> dict[str, Any] | None:
        rules = await self._source()
        if not rules:
            return None
        return webhook_body(rules[next(self._counter) % len(rules)], self._link_base)
