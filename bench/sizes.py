"""How big each benchmark runs: `full` is the issue's table, `tiny` keeps the smoke test fast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    # ack: signed `/kibana mute r a` against a slow Kibana
    ack_requests: int
    ack_concurrency: int
    ack_latency: float
    ack_rounds: int  # baseline/bot batches, interleaved
    # kibana: idempotent calls through the bot's client vs raw httpx
    kibana_calls: int
    kibana_concurrency: int
    kibana_rounds: int
    # fanout: one scheduler tick
    fanout_subscriptions: int
    fanout_spaces: int
    fanout_rounds: int
    # memory: RSS of the bot process
    memory_requests: int
    memory_warmup: int
    memory_concurrency: int
    # startup: process start to /readyz 200
    startup_rounds: int
    # storm: webhook deliveries from many rules into a few channels, Slack's rate limits on
    storm_deliveries: int
    storm_rules: int
    storm_channels: int
    storm_seconds: float  # the deliveries are spread over this
    storm_recovery_seconds: float  # the recovery wave (every alert recovered) over this
    storm_attempts: int  # Kibana's connector: attempts per delivery (5xx or no answer: retried)
    storm_retry_backoff: float  # seconds before the first retry, doubling
    storm_settle_timeout: float  # seconds after the last delivery to wait for the final state
    storm_replicas: int  # bot processes on one database, the deliveries spread over them
    storm_kill_after: float  # storm_kill: seconds into the storm that one replica is killed (SIGKILL)
    # alerts_poll: one alert-poller tick
    alerts_poll_alerts: int = 100_000
    alerts_poll_subscriptions: int = 500
    alerts_poll_spaces: int = 50
    alerts_poll_rounds: int = 5  # steady rounds, after round 0 (every alert new)


FULL = Size(
    name="full",
    ack_requests=2000,
    ack_concurrency=50,
    ack_latency=2.0,
    ack_rounds=2,
    kibana_calls=5000,
    kibana_concurrency=50,
    kibana_rounds=5,
    fanout_subscriptions=1000,
    fanout_spaces=10,
    fanout_rounds=3,
    memory_requests=20000,
    memory_warmup=2000,
    memory_concurrency=50,
    startup_rounds=5,
    storm_deliveries=10_000,
    storm_rules=100,
    storm_channels=20,
    storm_seconds=120.0,
    storm_recovery_seconds=20.0,
    storm_attempts=4,
    storm_retry_backoff=2.0,
    storm_settle_timeout=360.0,
    storm_replicas=2,
    storm_kill_after=60.0,
)

TINY = Size(
    name="tiny",
    ack_requests=20,
    ack_concurrency=5,
    ack_latency=0.2,
    ack_rounds=1,
    kibana_calls=100,
    kibana_concurrency=5,
    kibana_rounds=1,
    fanout_subscriptions=10,
    fanout_spaces=2,
    fanout_rounds=1,
    memory_requests=200,
    memory_warmup=40,
    memory_concurrency=5,
    startup_rounds=1,
    storm_deliveries=20,
    storm_rules=4,
    storm_channels=2,
    storm_seconds=2.0,
    storm_recovery_seconds=0.5,
    storm_attempts=3,
    storm_retry_backoff=0.2,
    storm_settle_timeout=60.0,
    storm_replicas=2,
    storm_kill_after=1.0,
    alerts_poll_alerts=200,
    alerts_poll_subscriptions=10,
    alerts_poll_spaces=2,
    alerts_poll_rounds=1,
)

SIZES = {size.name: size for size in (FULL, TINY)}
