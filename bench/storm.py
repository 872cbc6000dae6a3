"""`storm`: an alert storm through the webhook, into Slack with Slack's rate limits on, through two replicas.

Full size: 10,000 webhook deliveries (`POST /kibana/alerts`, the connector body of docs/alerts.md) from
100 rules over 120 s, into 20 channels, then a recovery wave (every alert recovered). Two bot replicas
run as `python -m bot serve` runs them (a process each) on one database: PostgreSQL when
BENCH_DATABASE_URL (or TEST_DATABASE_URL) names one, in a schema of its own; else a SQLite file, which
is said in one line. The fake Kibana and the fake Slack, with Slack's rate limits enforced
(devkit/fake_slack/rate_limits.py), run in another process. This process is Kibana's Webhook connector
behind a load balancer: deliveries go to the replicas in turn, over at most CONNECTIONS_PER_REPLICA
connections to each (a connection refused goes to the next one at once, as a load balancer's failover
does); a delivery answered 5xx (or not answered) is retried like the connector's action task (a few
attempts with a doubling backoff), on the next replica; 4xx is not retried. `storm_kill`
(bench/storm_kill.py) is the same storm with one replica killed (SIGKILL) in the middle of it.

What it reports: top-level messages per channel (and per rule), Slack calls by method, the 429s
Slack sent, calls made before a Retry-After had passed, the busiest minute of each Slack method as
the fake Slack saw it (both replicas together) against its budget, the time from the last delivery
to the final state (every top-level message of the storm says it recovered — its text names the
state, "Recovered: …"), alerts accounted for and lost (what each rule's top-level messages count: a
group message's firing and recovered counts, one for a single alert's message, against the alerts
sent), alerts counted twice, and the refused webhooks.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.children import Child
from bench.figures import Result, Target
from bench.servers import WEBHOOK_TOKEN, channel_id
from bench.sizes import Size
from bench.stack import fakes, shared_database, spawn_bot

MAX_MESSAGES_PER_RULE = 2
FINAL_WITHIN = 15.0  # seconds after the last delivery
POLL_SECONDS = 0.25
SEED = 15  # issue 15
# What the load balancer keeps open to each replica at most: under the bot's HTTP_MAX_CONNECTIONS (200),
# past which uvicorn answers 503 to every request, idle keep-alive connections counted.
CONNECTIONS_PER_REPLICA = 150
RESPONSE_TIMEOUT = 60.0  # seconds Kibana's connector waits for an answer (xpack.actions.responseTimeout)


@dataclass(frozen=True)
class Alert:
    rule: int
    number: int

    @property
    def rule_id(self) -> str:
        return f"storm-rule-{self.rule:02d}"

    @property
    def alert_id(self) -> str:
        return f"{self.rule_id}-host-{self.number:04d}"

    def channel(self, channels: int) -> str:
        return channel_id(self.rule % channels)

    def body(self, channels: int, state: str) -> dict[str, Any]:
        """What Kibana's Webhook connector renders from docs/alerts.md's body (handlers/alerts/webhook.py)."""
        return {
            "rule_id": self.rule_id,
            "rule_name": f"Storm rule {self.rule:02d}",
            "space_id": "default",
            "alert_id": self.alert_id,
            "alert_uuid": f"uuid-{self.rule_id}-{self.number:04d}",
            "action_group": "recovered" if state == "recovered" else "threshold met",
            "state": state,
            "reason": f"cpu above 90% on {self.alert_id}" if state == "active" else "",
            "message": "",
            "rule_url": f"https://kibana.example.com/app/rules/{self.rule_id}",
            "tags": '["storm"]',
            "date": "2026-12-02T01:00:00.000Z",
            "channel": self.channel(channels),
        }


def alerts_of(size: Size) -> list[Alert]:
    per_rule = size.storm_deliveries // size.storm_rules
    alerts = [Alert(rule, n) for rule in range(size.storm_rules) for n in range(per_rule)]
    random.Random(SEED).shuffle(alerts)  # the rules' alerts interleave, as in a storm
    return alerts


# ---- this process: Kibana's Webhook connector, behind a load balancer -----------------------------
class Balancer:
    """The replicas' webhook URLs, taken in turn. A replica that refuses a connection is taken out of the
    turn, as a load balancer's health check takes a dead backend out (the killed replica does not come
    back; on a shared machine its port may be taken by another process, whose 404s Kibana would take as
    final: 315 deliveries were lost so in one run)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._next = 0
        self.failovers = 0  # connections refused, sent on to the next replica
        self.down: set[int] = set()

    def pick(self) -> int:
        for _ in range(len(self.urls)):
            n = self._next % len(self.urls)
            self._next += 1
            if n not in self.down:
                return n
        return n  # every one down: try anyway


@dataclass
class Delivery:
    alert: Alert
    state: str
    attempts: int = 0
    status: int | None = None  # the last answer's status (None: no answer)
    sent_at: float = 0.0  # when its last attempt was sent
    answered_at: float = 0.0
    replicas: list[int] = field(default_factory=list)  # which replica each attempt reached
    retry_after: float = 0.0  # the last 429's Retry-After (the webhook's budget per token)
    statuses: list[int | None] = field(default_factory=list)  # each attempt's answer

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def _post(session: aiohttp.ClientSession, balancer: Balancer, delivery: Delivery, channels: int) -> int | None:
    """One attempt through the load balancer: its status, None for no answer. A refused connection is
    the balancer's to retry, on each other replica once."""
    body = delivery.alert.body(channels, delivery.state)
    for _ in range(len(balancer.urls)):
        replica = balancer.pick()
        delivery.sent_at = time.monotonic()
        try:
            async with session.post(
                balancer.urls[replica],
                json=body,
                headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=RESPONSE_TIMEOUT),
            ) as response:
                delivery.replicas.append(replica)
                await response.read()
                if response.status == 429:
                    delivery.retry_after = float(response.headers.get("Retry-After", "1"))
                return response.status
        except aiohttp.ClientConnectorError:
            balancer.failovers += 1
            balancer.down.add(replica)
            continue
        except (aiohttp.ClientError, TimeoutError):
            delivery.replicas.append(replica)
            return None
    return None


async def deliver(session: aiohttp.ClientSession, balancer: Balancer, delivery: Delivery, size: Size) -> None:
    """One connector action: POST, and on 5xx (or no answer) retry with a doubling backoff; on 429
    (the webhook's budget per token) retry at its Retry-After, as Kibana's connector does."""
    backoff = size.storm_retry_backoff
    for attempt in range(1, size.storm_attempts + 1):
        delivery.attempts = attempt
        delivery.status = await _post(session, balancer, delivery, size.storm_channels)
        delivery.statuses.append(delivery.status)
        delivery.answered_at = time.monotonic()
        if delivery.status is not None and delivery.status < 500 and delivery.status != 429:
            return
        if attempt < size.storm_attempts:
            await asyncio.sleep(delivery.retry_after if delivery.status == 429 else backoff)
            if delivery.status != 429:
                backoff *= 2


async def wave(
    session: aiohttp.ClientSession, balancer: Balancer, alerts: list[Alert], state: str, seconds: float, size: Size
) -> list[Delivery]:
    """Every alert's delivery, spread evenly over `seconds`, each running on its own (as Kibana's
    action tasks do)."""
    deliveries = [Delivery(alert, state) for alert in alerts]
    start = time.monotonic()
    gap = seconds / max(1, len(deliveries))
    tasks = []
    for n, delivery in enumerate(deliveries):
        delay = start + n * gap - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(deliver(session, balancer, delivery, size)))
    await asyncio.gather(*tasks)
    return deliveries


@dataclass
class Killed:
    """The replica killed in the middle of the storm (storm_kill), and when."""

    replica: int
    after_s: float  # seconds into the storm
    at: float = 0.0  # time.monotonic() of the kill


async def _kill_later(bot: Child, killed: Killed) -> None:
    await asyncio.sleep(killed.after_s)
    killed.at = time.monotonic()
    bot.process.kill()  # SIGKILL: no shutdown, no lease given back, nothing flushed
    await bot.process.wait()
    print(f"  killed replica {killed.replica} (pid {bot.pid}) {killed.after_s:.0f} s into the storm", file=sys.stderr)


async def run(size: Size, *, kill_after: float | None = None, name: str = "storm") -> Result:
    alerts = alerts_of(size)
    channels = [channel_id(n) for n in range(size.storm_channels)]
    rules = sorted({a.rule_id for a in alerts})
    query = {"cmd": "storm_state", "channels": channels, "rules": rules}
    killed = Killed(0, kill_after) if kill_after is not None else None
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        async with (
            shared_database(Path(tmp), f"bench_{name}") as (database_url, database),
            fakes(channels=size.storm_channels, rate_limits=True) as fake,
        ):
            bots: list[Child] = []
            try:
                for n in range(size.storm_replicas):  # one after the other: the first creates the schema
                    bots.append(
                        await spawn_bot(fake, Path(tmp) / f"bot{n}", name=f"{name}-bot{n}", database_url=database_url)
                    )
                balancer = Balancer([f"{bot.ready['url']}/kibana/alerts" for bot in bots])
                connector = aiohttp.TCPConnector(limit=0, limit_per_host=CONNECTIONS_PER_REPLICA)
                async with aiohttp.ClientSession(connector=connector) as session:
                    kill = asyncio.create_task(_kill_later(bots[0], killed)) if killed is not None else None
                    fired = await wave(session, balancer, alerts, "active", size.storm_seconds, size)
                    recovered = await wave(session, balancer, alerts, "recovered", size.storm_recovery_seconds, size)
                    if kill is not None:
                        await kill
                # from the moment the last delivery was sent: its answer may wait until Slack shows it
                last_delivery = max(d.sent_at for d in fired + recovered)
                state, final_after = await _settle(fake, query, len(alerts), size, last_delivery)
                stats = await fake.ask({"cmd": "stats"})
                budgets = (await fake.ask({"cmd": "slack_budgets"}, timeout=120))["budgets"]
            finally:
                await asyncio.gather(*(bot.stop() for bot in bots), return_exceptions=True)
    run_info = {
        "replicas": size.storm_replicas,
        "database": database,
        "failovers": balancer.failovers,
        "killed": None
        if killed is None
        else {
            "replica": killed.replica,
            "after_s": killed.after_s,
            "settled_after_kill_s": _after_kill(killed, final_after, last_delivery),
        },
    }
    return _result(size, alerts, fired + recovered, state, final_after, stats, budgets, run_info, name)


def _after_kill(killed: Killed, final_after: float | None, last_delivery: float) -> float | None:
    """Seconds from the kill to the final state."""
    return None if final_after is None else last_delivery + final_after - killed.at


async def _settle(
    fake: Child, query: dict[str, Any], alert_count: int, size: Size, last_delivery: float
) -> tuple[dict[str, Any], float | None]:
    """Poll what Slack shows until every alert is counted and every top-level message says it
    recovered (the final state); None when that did not happen within the settle timeout."""
    deadline = last_delivery + size.storm_settle_timeout
    while True:
        state = await fake.ask(query, timeout=60)
        top = sum(state["top_level"].values())
        if sum(state["counted"].values()) >= alert_count and top and state["recovered_top_level"] == top:
            return state, max(0.0, time.monotonic() - last_delivery)
        if time.monotonic() >= deadline:
            return state, None
        await asyncio.sleep(POLL_SECONDS)


def _result(
    size: Size,
    alerts: list[Alert],
    deliveries: list[Delivery],
    state: dict[str, Any],
    final_after: float | None,
    stats: dict[str, Any],
    budgets: dict[str, dict[str, int]],
    run_info: dict[str, Any],
    name: str,
) -> Result:
    refused = [d for d in deliveries if not d.accepted]
    sent = Counter(a.rule_id for a in alerts)
    counted = state["counted"]
    # lost: alerts a rule's messages do not count (a refused delivery is one Kibana gave up on)
    lost = sum(max(0, n - counted.get(rule, 0)) for rule, n in sent.items())
    counted_twice = sum(max(0, counted.get(rule, 0) - n) for rule, n in sent.items())
    per_rule = state["per_rule"]
    most_per_rule = max(per_rule.values(), default=0)
    limits = stats["rate_limits"]
    settled = final_after if final_after is not None else size.storm_settle_timeout
    over = {m: b for m, b in budgets.items() if b["calls"] > b["budget"]}
    worst = max((b["calls"] / b["budget"] for b in budgets.values()), default=0.0)
    figures = {
        "deliveries": len(alerts),
        "rules": size.storm_rules,
        "channels": size.storm_channels,
        "storm_s": size.storm_seconds,
        "recovery_wave_s": size.storm_recovery_seconds,
        **run_info,
        "webhook_attempts": sum(d.attempts for d in deliveries),
        "webhook_answers": dict(Counter(str(d.status) for d in deliveries)),
        "webhook_answers_by_replica": dict(Counter(str(r) for d in deliveries for r in d.replicas)),
        "webhooks_refused": len(refused),
        "refused_by_status": dict(Counter(str(d.status) for d in refused)),
        "refused_by_state": dict(Counter(d.state for d in refused)),  # a refused recovery leaves its message firing
        # what each refused delivery's attempts were answered, the most common first
        "refused_answers": dict(Counter(",".join(str(s) for s in d.statuses) for d in refused).most_common(8)),
        "top_level_messages_per_channel": state["top_level"],
        "most_top_level_messages_per_rule": most_per_rule,
        "rules_with_two_top_level_messages": sum(1 for n in per_rule.values() if n >= 2),
        "top_level_messages_recovered": state["recovered_top_level"],
        "slack_calls_by_method": stats["slack_calls"],
        "slack_429s_sent": limits["ratelimited"],
        "calls_before_retry_after": limits["early_calls"],
        "slack_busiest_minute": budgets,
        "slack_methods_over_budget": sorted(over),
        "final_state_reached": final_after is not None,
        "final_state_after_last_delivery_s": settled,
        "settle_timeout_s": size.storm_settle_timeout,
        "alerts_accounted_for": len(alerts) - lost,
        "alerts_lost": lost,
        "alerts_counted_twice": counted_twice,
    }
    targets = [
        Target("0 alerts lost", float(lost), 0, "eq"),
        Target("0 alerts counted twice", float(counted_twice), 0, "eq"),
        Target("0 calls before Retry-After", float(limits["early_calls"]), 0, "eq"),
        Target(f"≤ {MAX_MESSAGES_PER_RULE} messages per rule per channel", float(most_per_rule), 2, "max"),
        Target("final state reached", 1.0 if final_after is not None else 0.0, 1.0, "eq"),
    ]
    if run_info["killed"] is None:
        targets += [
            Target(f"final state within {FINAL_WITHIN:.0f} s of the last delivery", settled, FINAL_WITHIN, "max"),
            Target("Slack's budgets held (busiest minute / budget, worst method)", worst, 1.0, "max"),
        ]
    else:
        targets.append(
            Target("no rule with two top-level messages", float(figures["rules_with_two_top_level_messages"]), 0, "eq")
        )
    result = Result(name, "final state after last delivery (s)", settled, None, None, targets, figures)
    result.details = details(name, figures, final_after)
    return result


def details(name: str, figures: dict[str, Any], final_after: float | None) -> str:
    """The storm's own table."""
    final = (
        f"{final_after:.1f} s"
        if final_after is not None
        else f"not reached within {figures['settle_timeout_s']:.0f} s "
        f"({figures['top_level_messages_recovered']} of {sum(figures['top_level_messages_per_channel'].values())} "
        "top-level messages recovered)"
    )
    calls = ", ".join(f"{m} {n}" for m, n in sorted(figures["slack_calls_by_method"].items()))
    busiest = ", ".join(
        f"{m} {b['calls']} ({b['accepted']} accepted) of {b['budget']}{' ✗' if b['calls'] > b['budget'] else ''}"
        for m, b in sorted(figures["slack_busiest_minute"].items())
    )
    per_channel = figures["top_level_messages_per_channel"].values()
    killed = figures["killed"]
    rows = [
        (
            "deliveries",
            f"{figures['deliveries']} from {figures['rules']} rules into {figures['channels']} channels "
            f"over {figures['storm_s']:g} s, then {figures['deliveries']} recoveries "
            f"over {figures['recovery_wave_s']:g} s",
        ),
        (
            "replicas",
            f"{figures['replicas']} on {figures['database']}; webhook attempts by replica "
            + ", ".join(f"{r}: {n}" for r, n in sorted(figures["webhook_answers_by_replica"].items()))
            + (f"; {figures['failovers']} connections refused, sent to the other" if figures["failovers"] else ""),
        ),
        *(
            [
                (
                    "replica killed (SIGKILL)",
                    f"replica {killed['replica']}, {killed['after_s']:g} s into the storm; final state "
                    + (
                        f"{killed['settled_after_kill_s']:.1f} s after the kill"
                        if killed["settled_after_kill_s"] is not None
                        else "not reached"
                    ),
                )
            ]
            if killed
            else []
        ),
        (
            "messages (top-level) per channel",
            f"{min(per_channel, default=0)}–{max(per_channel, default=0)} (in {len(per_channel)} channels)",
        ),
        (
            "most messages for one rule in a channel",
            f"{figures['most_top_level_messages_per_rule']} "
            f"({figures['rules_with_two_top_level_messages']} rules with two or more)",
        ),
        ("Slack calls by method", calls or "none"),
        ("429s received", ", ".join(f"{m} {n}" for m, n in sorted(figures["slack_429s_sent"].items())) or "0"),
        ("calls before Retry-After had passed", str(figures["calls_before_retry_after"])),
        ("busiest minute per method (both replicas) / budget", busiest or "none"),
        ("final state after the last delivery", final),
        (
            "alerts accounted for / lost / counted twice",
            f"{figures['alerts_accounted_for']} / {figures['alerts_lost']} / {figures['alerts_counted_twice']}",
        ),
        (
            "webhooks refused (after retries)",
            f"{figures['webhooks_refused']} {figures['refused_by_status'] or ''} "
            f"{figures['refused_by_state'] or ''}".strip(),
        ),
        ("webhook attempts (retries included)", str(figures["webhook_attempts"])),
        (
            "answers to the refused deliveries' attempts (most common)",
            "; ".join(f"{seq}: {n}" for seq, n in figures["refused_answers"].items()) or "none",
        ),
    ]
    lines = [f"| {name} | |", "|---|---|", *(f"| {what} | {value} |" for what, value in rows)]
    return "\n".join(lines)
