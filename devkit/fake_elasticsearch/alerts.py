"""Alert documents in Kibana's alerts-as-data shape, and the indices that hold them.

Kibana writes one document per alert (its `_id` is `kibana.alert.uuid`) into the concrete index
behind a write alias, and updates that same document as the alert goes on or recovers:
`event.action` open → active → close, `kibana.alert.status` active → recovered, `@timestamp` the
START of the rule run that last wrote it (`alerts_client.ts` `persistAlerts`: `startedAtString`),
though the run writes its documents when it ends. Untracking (a rule disabled with untrack, a bulk
untrack) is an update-by-query that changes `kibana.alert.status` (→ untracked), `kibana.alert.end`
and `kibana.alert.time_range` only (`setAlertsToUntracked`). Framework fields are stored as dotted
keys, as the alerts client writes them. Aliases (`.alerts-{context}.alerts-{namespace}`)
and backing indices (`.internal.alerts-{context}.alerts-{namespace}-000001`) follow Elastic's
"Query alert indices" documentation; only Security's namespace is the space id, every other rule
type writes namespace `default` whatever the space, so the space is `kibana.space_ids`.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# rule type id -> (registration context, rule category shown in kibana.alert.rule.category)
RULE_TYPE_CONTEXTS: dict[str, tuple[str, str]] = {
    ".index-threshold": ("stack", "Index threshold"),
    ".es-query": ("stack", "Elasticsearch query"),
    ".geo-containment": ("stack", "Tracking containment"),
    "metrics.alert.threshold": ("observability.metrics", "Metric threshold"),
    "metrics.alert.inventory.threshold": ("observability.metrics", "Inventory"),
    "logs.alert.document.count": ("observability.logs", "Log threshold"),
    "observability.rules.custom_threshold": ("observability.threshold", "Custom threshold"),
    "apm.error_rate": ("observability.apm", "Error count threshold"),
    "apm.transaction_duration": ("observability.apm", "Latency threshold"),
    "xpack.uptime.alerts.monitorStatus": ("observability.uptime", "Uptime monitor status"),
    "slo.rules.burnRate": ("observability.slo", "SLO burn rate"),
    "xpack.ml.anomaly_detection_alert": ("ml.anomaly-detection", "Anomaly detection"),
    "transform_health": ("transform.health", "Transform health"),
    "siem.queryRule": ("security", "Custom query rule"),
}
DEFAULT_CONTEXT = ("default", "Rule")


def alias_for(rule_type_id: str, space: str) -> str:
    context, _ = RULE_TYPE_CONTEXTS.get(rule_type_id, DEFAULT_CONTEXT)
    namespace = space if context == "security" else "default"
    return f".alerts-{context}.alerts-{namespace}"


def backing_index(alias: str) -> str:
    return ".internal" + alias + "-000001"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class AlertDoc:
    """What the fake keeps per alert; `source()` renders the stored document."""

    uuid: str
    instance_id: str
    rule_uuid: str
    rule_name: str
    rule_type_id: str
    consumer: str
    space: str
    tags: list[str] = field(default_factory=list)
    status: str = "active"
    event_action: str = "open"
    reason: str = ""
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    end: datetime | None = None
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    workflow_status: str = "open"
    action_group: str = "threshold met"
    duration_us: int = 0  # as of the rule run that last wrote the document
    execution_uuid: str = field(default_factory=lambda: str(uuid_module.uuid4()))  # that run's
    extra: dict[str, Any] = field(default_factory=dict)
    # What else Kibana writes of an alert: the windows running when it began, the cases it was attached
    # to, whether it flaps, and its rule type's evaluation (`kibana.alert.evaluation.*`: value, threshold…).
    maintenance_window_ids: list[str] = field(default_factory=list)
    case_ids: list[str] = field(default_factory=list)
    flapping: bool = False
    evaluation: dict[str, Any] = field(default_factory=dict)
    # The document as last rendered (with the tags it was rendered with): a benchmark's searches read
    # 100,000 of them again and again. Setting any field forgets it; `extra` is applied at each read.
    _rendered: tuple[tuple[str, ...], dict[str, Any]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name != "_rendered":
            object.__setattr__(self, "_rendered", None)

    @property
    def alias(self) -> str:
        return alias_for(self.rule_type_id, self.space)

    @property
    def index(self) -> str:
        return backing_index(self.alias)

    def source(self) -> dict[str, Any]:
        """The stored document (a new dict each time; its lists are shared with the fake's copy)."""
        tags = tuple(self.tags)
        rendered = self._rendered
        if rendered is None or rendered[0] != tags:
            rendered = (tags, self._render())
            object.__setattr__(self, "_rendered", rendered)
        doc = dict(rendered[1])
        if self.extra:
            doc.update(self.extra)
        return doc

    def _render(self) -> dict[str, Any]:
        context, category = RULE_TYPE_CONTEXTS.get(self.rule_type_id, DEFAULT_CONTEXT)
        space_prefix = "" if self.space == "default" else f"/s/{self.space}"
        time_range = {"gte": iso(self.start)} if self.end is None else {"gte": iso(self.start), "lte": iso(self.end)}
        doc: dict[str, Any] = {
            "@timestamp": iso(self.timestamp),
            "event.action": self.event_action,
            "event.kind": "signal",
            "kibana.alert.action_group": "recovered" if self.status == "recovered" else self.action_group,
            "kibana.alert.duration.us": self.duration_us,
            "kibana.alert.flapping": self.flapping,
            "kibana.alert.maintenance_window_ids": list(self.maintenance_window_ids),
            "kibana.alert.instance.id": self.instance_id,
            "kibana.alert.reason": self.reason,
            "kibana.alert.rule.category": category,
            "kibana.alert.rule.consumer": self.consumer,
            "kibana.alert.rule.execution.uuid": self.execution_uuid,
            "kibana.alert.rule.name": self.rule_name,
            "kibana.alert.rule.producer": context.split(".")[0] if context != "default" else "alerts",
            "kibana.alert.rule.revision": 0,
            "kibana.alert.rule.rule_type_id": self.rule_type_id,
            "kibana.alert.rule.tags": list(self.tags),
            "kibana.alert.rule.uuid": self.rule_uuid,
            "kibana.alert.start": iso(self.start),
            "kibana.alert.status": self.status,
            "kibana.alert.time_range": time_range,
            "kibana.alert.url": f"{space_prefix}/app/observability/alerts/{self.uuid}",
            "kibana.alert.uuid": self.uuid,
            "kibana.alert.workflow_status": self.workflow_status,
            "kibana.space_ids": [self.space],
            "kibana.version": "8.17.0",
            "tags": list(self.tags),
        }
        if self.end is not None:
            doc["kibana.alert.end"] = iso(self.end)
        if self.case_ids:
            doc["kibana.alert.case_ids"] = list(self.case_ids)
        for name, value in self.evaluation.items():
            doc[f"kibana.alert.evaluation.{name}"] = value
        return doc
