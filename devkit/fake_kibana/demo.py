"""A realistic demo data set: rules of several types in spaces `default` and `ops`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from .state import now_utc

if TYPE_CHECKING:
    from .server import FakeKibana


def seed_demo(fake: FakeKibana) -> None:
    """Load the demo set: active alerts, a muted rule, a disabled rule, and one rule failing
    with reason `execute` (so `_health` shows execution_health `warn`)."""
    now = now_utc()
    fake.add_rule(
        id="cpu-high",
        name="High CPU on web hosts",
        tags=["prod", "infra", "web"],
        active_alerts=["web-01", "web-02"],
        last_execution_date=now - timedelta(seconds=40),
    )
    fake.add_rule(
        id="disk-full",
        name="Disk usage above 85%",
        tags=["prod", "infra"],
        active_alerts=["db-01"],
        muted_alert_ids=["db-01"],
        last_execution_date=now - timedelta(seconds=55),
    )
    fake.add_rule(
        id="checkout-latency",
        name="Checkout latency p95 above 2s",
        rule_type_id="apm.transaction_duration",
        consumer="apm",
        tags=["prod", "checkout"],
        params={"serviceName": "checkout", "transactionType": "request", "threshold": 2000},
        last_execution_date=now - timedelta(seconds=20),
    )
    fake.add_rule(
        id="error-logs",
        name="Error log spike",
        rule_type_id=".es-query",
        consumer="stackAlerts",
        tags=["logs"],
        enabled=False,
        last_execution_date=now - timedelta(hours=3),
        params={"searchType": "esQuery", "index": ["logs-*"], "threshold": [100], "thresholdComparator": ">"},
    )
    fake.add_rule(
        id="payments-errors",
        name="Payments error rate",
        space="ops",
        rule_type_id="apm.error_rate",
        consumer="apm",
        tags=["payments", "prod"],
        active_alerts=["payments-api"],
        params={"serviceName": "payments-api", "threshold": 25, "windowSize": 5, "windowUnit": "m"},
        last_execution_date=now - timedelta(seconds=30),
    )
    fake.add_rule(
        id="queue-depth",
        name="Queue depth too high",
        space="ops",
        rule_type_id=".index-threshold",
        tags=["ops", "queues"],
        execution_status="error",
        error_reason="execute",
        error_message="rule execution failure: index_not_found_exception: no such index [queues-*]",
        last_execution_date=now - timedelta(minutes=2),
    )
    fake.add_rule(
        id="heartbeat-down",
        name="Synthetics monitor down",
        space="ops",
        rule_type_id="xpack.uptime.alerts.monitorStatus",
        consumer="uptime",
        tags=["synthetics"],
        last_execution_date=now - timedelta(seconds=10),
    )
    fake.add_case(
        title="Web hosts saturating CPU",
        description="High CPU on web-01 and web-02 since the last deploy.",
        tags=["prod", "infra"],
        severity="high",
    )
    fake.add_agent_configuration(
        service_name="checkout",
        environment="production",
        settings={"transaction_sample_rate": "0.5", "capture_body": "off"},
        agent_name="nodejs",
    )
    fake.add_sourcemap(service_name="frontend", service_version="2.4.1", bundle_filepath="/static/js/main.js")
