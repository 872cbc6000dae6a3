"""Prometheus metrics: Slack requests, Kibana calls and scheduled runs."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

SLACK_REQUESTS = Counter(
    "chatops_slack_requests_total",
    "Slack requests handled, by mode (http, socket), kind (slash_command, block_actions, …) and answer status",
    ["mode", "kind", "status"],
    registry=REGISTRY,
)
SLACK_ACK_SECONDS = Histogram(
    "chatops_slack_ack_seconds",
    "Time from receiving a Slack request to its acknowledgement",
    ["mode", "kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
    registry=REGISTRY,
)
KIBANA_CALLS = Counter(
    "chatops_kibana_calls_total", "Kibana HTTP calls", ["method", "route", "status"], registry=REGISTRY
)
KIBANA_SECONDS = Histogram(
    "chatops_kibana_call_seconds",
    "Kibana HTTP call latency",
    ["method", "route"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
SLACK_REJECTED = Counter(
    "chatops_slack_rejected_total",
    "HTTP requests to /slack/events refused before Bolt (bad signature timestamp, body too large, not UTF-8)",
    ["reason"],
    registry=REGISTRY,
)
SLACK_EVENT_REPEATS = Counter(
    "chatops_slack_event_repeats_total",
    "Events API deliveries skipped because their event_id was already handled (Slack retries)",
    ["mode"],
    registry=REGISTRY,
)
SCHEDULED_RUNS = Counter("chatops_scheduled_runs_total", "Scheduled health-report runs", ["outcome"], registry=REGISTRY)
WEBHOOK_DELIVERIES = Counter(
    "chatops_alert_webhooks_total", "Kibana alert webhook deliveries", ["outcome"], registry=REGISTRY
)


def observe_kibana_call(method: str, route: str, status: int | None, seconds: float) -> None:
    KIBANA_CALLS.labels(method, route, str(status) if status is not None else "error").inc()
    KIBANA_SECONDS.labels(method, route).observe(seconds)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
