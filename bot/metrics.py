"""Prometheus metrics: Slack requests, Slack Web API calls, Kibana calls and scheduled runs, plus the process itself.

The process, Python platform and garbage-collector collectors and `chatops_build_info` give a
fresh process samples on its first scrape (the labelled counters have none until used).
"""

from __future__ import annotations

import platform
from importlib import metadata

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)

# The bot has its own registry (not prometheus_client's default one), so it adds the standard
# collectors itself: process_* (CPU, memory, open files), python_info and python_gc_*.
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)


def _version() -> str:
    try:
        return metadata.version("kibana-chatops")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


BUILD_INFO = Gauge(
    "chatops_build_info",
    "The running bot's version and Python version (always 1)",
    ["version", "python"],
    registry=REGISTRY,
)
BUILD_INFO.labels(_version(), platform.python_version()).set(1)

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
    "HTTP requests to /slack/events refused before Bolt (timestamp, signature, size, slow or aborted body, replay)",
    ["reason"],
    registry=REGISTRY,
)
HTTP_REFUSED = Counter(
    "chatops_http_refused_total",
    "HTTP connections and requests refused by the server's limits: busy (HTTP_MAX_CONNECTIONS, answered 503), "
    "client_connections (HTTP_MAX_CONNECTIONS_PER_CLIENT, closed as it opened), head_too_large "
    "(HTTP_MAX_HEADER_BYTES, 431 and closed)",
    ["reason"],
    registry=REGISTRY,
)
AUDIT_REFUSALS_UNRECORDED = Counter(
    "chatops_audit_refusals_unrecorded_total",
    "Refused attempts over AUDIT_REFUSALS_PER_MINUTE of one person: counted here, not recorded one by one",
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
ALERT_CHANNELS_REFUSED = Counter(
    "chatops_alert_channels_refused_total",
    "Alert messages (a rule's episode in a channel) whose channel Slack refused for good, by Slack's error; "
    "they go to ALERT_CHANNEL instead when it is set",
    ["reason"],
    registry=REGISTRY,
)
SLACK_API_CALLS = Counter(
    "chatops_slack_api_calls_total",
    "Slack Web API calls, by method and outcome (ok, error, ratelimited, waited_too_long, failed)",
    ["method", "outcome"],
    registry=REGISTRY,
)
SLACK_API_RATELIMITED = Counter(
    "chatops_slack_api_ratelimited_total",
    "HTTP 429 (ratelimited) answers from Slack's Web API, by method (each was waited out and retried)",
    ["method"],
    registry=REGISTRY,
)
SLACK_API_WAIT_SECONDS = Histogram(
    "chatops_slack_api_wait_seconds",
    "Time a Slack Web API call waited in the bot's rate-limit queue before it went out",
    ["method"],
    buckets=(0.001, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)

SLACK_BUDGETS_SHARED = Gauge(
    "chatops_slack_budgets_shared",
    "1 while this replica takes its Slack rate-limit tokens from the budgets the replicas share (PostgreSQL); "
    "0 while it paces alone (a single replica on SQLite, or the shared store not answering)",
    registry=REGISTRY,
)
SLACK_CALLS_PACED_ALONE = Counter(
    "chatops_slack_calls_paced_alone_total",
    "Slack Web API calls this replica paced on its own, at its share of each budget, because the store "
    "sharing the budgets did not answer",
    registry=REGISTRY,
)


def observe_kibana_call(method: str, route: str, status: int | None, seconds: float) -> None:
    KIBANA_CALLS.labels(method, route, str(status) if status is not None else "error").inc()
    KIBANA_SECONDS.labels(method, route).observe(seconds)


def render() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
