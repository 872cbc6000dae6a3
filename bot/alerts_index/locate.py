"""Where Kibana keeps an alert: what a case's alert attachment names it by.

Kibana attaches an alert to a case by its alerts-as-data document: `alertId` is the document's
`_id` (for the alerting framework's alerts, `kibana.alert.uuid`) and `index` the index that holds
it; Kibana reads and updates the alert there (its status when the case syncs alerts, its
`kibana.alert.case_ids`). The concrete index (`.internal.alerts-….alerts-default-000001`) is read
from Elasticsearch when the bot has ELASTICSEARCH_URL (`locate_alerts`). Without it, the write alias
of the rule type's alerts (`.alerts-{context}.alerts-{namespace}`, `alias_for`) names the same
document as long as the index has not rolled over since the alert was written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.alerts_index.errors import ALERTS_INDEX, translate

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

# Kibana's rule types and the registration context their alerts are written under (each rule type's
# `alerts.context` in its server plugin). Only Security's namespace is the space id; every other
# context writes namespace `default` whatever the space (the space is `kibana.space_ids`).
CONTEXTS: dict[str, str] = {
    ".index-threshold": "stack",
    ".es-query": "stack",
    ".geo-containment": "stack",
    "metrics.alert.threshold": "observability.metrics",
    "metrics.alert.inventory.threshold": "observability.metrics",
    "logs.alert.document.count": "observability.logs",
    "observability.rules.custom_threshold": "observability.threshold",
    "apm.error_rate": "observability.apm",
    "apm.transaction_error_rate": "observability.apm",
    "apm.transaction_duration": "observability.apm",
    "apm.anomaly": "observability.apm",
    "xpack.uptime.alerts.monitorStatus": "observability.uptime",
    "xpack.uptime.alerts.tlsCertificate": "observability.uptime",
    "xpack.synthetics.alerts.monitorStatus": "observability.uptime",
    "slo.rules.burnRate": "observability.slo",
    "xpack.ml.anomaly_detection_alert": "ml.anomaly-detection",
    "transform_health": "transform.health",
    "datasetQuality.degradedDocs": "dataset.quality",
}
SECURITY_PREFIX = "siem."
LOOKUP_LIMIT = 1000  # ids in one search (a case holds at most 1,000 alerts)


@dataclass(frozen=True)
class AlertLocation:
    """One alert document: its `_id` and `_index`, and the rule it names."""

    alert_id: str
    index: str
    rule_id: str | None = None
    rule_name: str | None = None


def alias_for(rule_type_id: str, space: str) -> str | None:
    """The write alias of a rule type's alerts in a space; None for a rule type whose context is not known."""
    if rule_type_id.startswith(SECURITY_PREFIX):
        return f".alerts-security.alerts-{space}"
    context = CONTEXTS.get(rule_type_id)
    return f".alerts-{context}.alerts-default" if context else None


async def locate_alerts(
    es: AsyncElasticsearch, uuids: Sequence[str], *, space: str, url: str = ""
) -> dict[str, AlertLocation]:
    """{kibana.alert.uuid: where its document is} for the alerts of `space` among `uuids` that
    Elasticsearch has (at most LOOKUP_LIMIT); errors as `AlertsIndexError`s."""
    wanted = list(dict.fromkeys(uuids))[:LOOKUP_LIMIT]
    if not wanted:
        return {}
    query = {
        "bool": {
            "filter": [
                {"terms": {"kibana.alert.uuid": wanted}},
                {"term": {"kibana.space_ids": space}},
            ]
        }
    }
    arguments: dict[str, Any] = {
        "index": ALERTS_INDEX,
        "query": query,
        "size": len(wanted),
        "source": ["kibana.alert.uuid", "kibana.alert.rule.uuid", "kibana.alert.rule.name"],
        "ignore_unavailable": True,
        "allow_no_indices": True,
    }
    try:
        answer = await es.search(**arguments)
    except Exception as error:
        raise translate(error, url=url) from None
    found: dict[str, AlertLocation] = {}
    for hit in _hits(answer.body):
        source = hit.get("_source") or {}
        uuid = _field(source, "kibana.alert.uuid") or hit.get("_id")
        if isinstance(uuid, str) and isinstance(hit.get("_id"), str) and isinstance(hit.get("_index"), str):
            found[uuid] = AlertLocation(
                alert_id=hit["_id"],
                index=hit["_index"],
                rule_id=_field(source, "kibana.alert.rule.uuid"),
                rule_name=_field(source, "kibana.alert.rule.name"),
            )
    return found


def _hits(body: Any) -> list[dict[str, Any]]:
    hits = body.get("hits", {}).get("hits", []) if isinstance(body, dict) else []
    return [h for h in hits if isinstance(h, dict)]


def _field(source: dict[str, Any], name: str) -> str | None:
    """A field stored as a dotted key (as the alerts client writes it) or nested."""
    value: Any = source.get(name)
    if value is None:
        node: Any = source
        for part in name.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = node
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None
