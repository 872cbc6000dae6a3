"""`storm`: an alert storm through the webhook, into Slack with Slack's rate limits on.

Full size: 1,000 webhook deliveries (`POST /kibana/alerts`, the connector body of docs/alerts.md) from 20
rules over 60 s, into 5 channels, then a recovery wave (every alert recovered). The bot runs as
`python -m bot serve` runs it (its own process); the fake Kibana and the fake Slack, with Slack's
rate limits enforced (devkit/fake_slack/rate_limits.py), run in another; this process is
Kibana's Webhook connector: a delivery answered 5xx (or not answered) is retried like the
connector's action task (a few attempts with a doubling backoff); 4xx is not retried.

What it reports: top-level messages per channel (and per rule), Slack calls by method, the 429s
Slack sent, calls made before a Retry-After had passed, the time from the last delivery to the
final state (every top-level message of the storm says it recovered — its text names the state,
"Recovered: …"), alerts accounted for and lost (what each rule's top-level messages count: a group
message's firing and recovered counts, one for a single alert's message, against the alerts sent),
alerts counted twice, and the refused webhooks.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.children import Child
from bench.figures import Result, Target
from bench.servers import WEBHOOK_TOKEN, channel_id
from bench.sizes import Size
from bench.stack import fakes, spawn_bot, started

if TYPE_CHECKING:
    from devkit.fake_slack import FakeSlack

MAX_MESSAGES_PER_RULE = 2
FINAL_WITHIN = 15.0  # seconds after the last delivery
POLL_SECONDS = 0.25
SEED = 15  # issue 15


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


# ---- in the fakes' process: what Slack shows ----------------------------------------------------
COUNTS = re.compile(r"\*Firing\*\n(\d+)|\*Recovered\*\n(\d+)")


def storm_state(slack: FakeSlack, command: dict[str, Any]) -> dict[str, Any]:
    """Top-level messages per channel and per rule, how many say they recovered, and how many
    alerts each rule's messages count: a group message's firing and recovered counts, or one for a
    message of a single alert (so ungrouped and grouped messages are counted alike)."""
    per_channel: dict[str, int] = {}
    per_rule: Counter[str] = Counter()
    counted: Counter[str] = Counter()
    recovered = 0
    rules: list[str] = command["rules"]
    for channel in command["channels"]:
        messages = list(slack.messages.get(channel, {}).values())
        top = [m for m in messages if m.get("thread_ts") in (None, m.get("ts"))]
        per_channel[channel] = len(top)
        for message in top:
            text = json.dumps(message)
            rule = next((r for r in rules if f'"{r}' in text or f"`{r}`" in text), None)
            if rule is None:
                continue
            per_rule[f"{channel} {rule}"] += 1
            numbers = [int(a or b) for block in message.get("blocks", []) for a, b in _fields(block)]
            counted[rule] += sum(numbers) if numbers else 1
            if str(message.get("text", "")).startswith("Recovered"):
                recovered += 1
    return {
        "top_level": per_channel,
        "per_rule": dict(per_rule),
        "recovered_top_level": recovered,
        "counted": dict(counted),
    }


def _fields(block: dict[str, Any]) -> list[tuple[str, str]]:
    if block.get("block_id") != "alert_summary":
        return []
    found = []
    for field in block.get("fields", []):
        match = COUNTS.fullmatch(str(field.get("text", "")))
        if match:
            found.append((match.group(1) or "", match.group(2) or ""))
    return found


# ---- this process: Kibana's Webhook connector ---------------------------------------------------
@dataclass
class Delivery:
    alert: Alert
    state: str
    attempts: int = 0
    status: int | None = None  # the last answer's status (None: no answer)
    sent_at: float = 0.0  # when its last attempt was sent
    answered_at: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def deliver(session: aiohttp.ClientSession, url: str, delivery: Delivery, channels: int, size: Size) -> None:
    """One connector action: POST, and on 5xx (or no answer) retry with a doubling backoff."""
    backoff = size.storm_retry_backoff
    for attempt in range(1, size.storm_attempts + 1):
        delivery.attempts = attempt
        delivery.sent_at = time.monotonic()
        try:
            async with session.post(
                url,
                json=delivery.alert.body(channels, delivery.state),
                headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                await response.read()
                delivery.status = response.status
        except (aiohttp.ClientError, TimeoutError):
            delivery.status = None
        delivery.answered_at = time.monotonic()
        if delivery.status is not None and delivery.status < 500:
            return
        if attempt < size.storm_attempts:
            await asyncio.sleep(backoff)
            backoff *= 2


async def wave(
    session: aiohttp.ClientSession, url: str, alerts: list[Alert], state: str, seconds: float, size: Size
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
        tasks.append(asyncio.create_task(deliver(session, url, delivery, size.storm_channels, size)))
    await asyncio.gather(*tasks)
    return deliveries


async def run(size: Size) -> Result:
    alerts = alerts_of(size)
    channels = [channel_id(n) for n in range(size.storm_channels)]
    rules = sorted({a.rule_id for a in alerts})
    query = {"cmd": "storm_state", "channels": channels, "rules": rules}
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as tmp:
        async with fakes(channels=size.storm_channels, rate_limits=True) as fake:
            async with started(await spawn_bot(fake, Path(tmp) / "bot")) as bot:
                url = f"{bot.ready['url']}/kibana/alerts"
                async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:
                    fired = await wave(session, url, alerts, "active", size.storm_seconds, size)
                    recovered = await wave(session, url, alerts, "recovered", size.storm_recovery_seconds, size)
                # from the moment the last delivery was sent: its answer may wait until Slack shows it
                last_delivery = max(d.sent_at for d in fired + recovered)
                state, final_after = await _settle(fake, query, len(alerts), size, last_delivery)
                stats = await fake.ask({"cmd": "stats"})
            await _stop_quietly(bot)
    return _result(size, alerts, fired + recovered, state, final_after, stats)


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


async def _stop_quietly(bot: Child) -> None:
    """The bot may still be waiting out Slack's rate limit when the benchmark ends; it is stopped
    like `serve` is (in-flight work gets its drain time, then is cancelled)."""
    await bot.stop()


def _result(
    size: Size,
    alerts: list[Alert],
    deliveries: list[Delivery],
    state: dict[str, Any],
    final_after: float | None,
    stats: dict[str, Any],
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
    figures = {
        "deliveries": len(alerts),
        "rules": size.storm_rules,
        "channels": size.storm_channels,
        "storm_s": size.storm_seconds,
        "recovery_wave_s": size.storm_recovery_seconds,
        "webhook_attempts": sum(d.attempts for d in deliveries),
        "webhook_answers": dict(Counter(str(d.status) for d in deliveries)),
        "webhooks_refused": len(refused),
        "refused_by_status": dict(Counter(str(d.status) for d in refused)),
        "top_level_messages_per_channel": state["top_level"],
        "most_top_level_messages_per_rule": most_per_rule,
        "top_level_messages_recovered": state["recovered_top_level"],
        "slack_calls_by_method": stats["slack_calls"],
        "slack_429s_sent": limits["ratelimited"],
        "calls_before_retry_after": limits["early_calls"],
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
        Target(f"final state within {FINAL_WITHIN:.0f} s of the last delivery", settled, FINAL_WITHIN, "max"),
    ]
    result = Result("storm", "final state after last delivery (s)", settled, None, None, targets, figures)
    result.details = details(figures, final_after)
    return result


def details(figures: dict[str, Any], final_after: float | None) -> str:
    """The storm's own table."""
    final = (
        f"{final_after:.1f} s"
        if final_after is not None
        else f"not reached within {figures['settle_timeout_s']:.0f} s "
        f"({figures['top_level_messages_recovered']} of {sum(figures['top_level_messages_per_channel'].values())} "
        "top-level messages recovered)"
    )
    calls = ", ".join(f"{m} {n}" for m, n in sorted(figures["slack_calls_by_method"].items()))
    rows = [
        (
            "deliveries",
            f"{figures['deliveries']} from {figures['rules']} rules into {figures['channels']} channels "
            f"over {figures['storm_s']:g} s, then {figures['deliveries']} recoveries "
            f"over {figures['recovery_wave_s']:g} s",
        ),
        (
            "messages (top-level) per channel",
            ", ".join(f"{c} {n}" for c, n in figures["top_level_messages_per_channel"].items()),
        ),
        ("most messages for one rule in a channel", str(figures["most_top_level_messages_per_rule"])),
        ("Slack calls by method", calls or "none"),
        ("429s received", ", ".join(f"{m} {n}" for m, n in sorted(figures["slack_429s_sent"].items())) or "0"),
        ("calls before Retry-After had passed", str(figures["calls_before_retry_after"])),
        ("final state after the last delivery", final),
        (
            "alerts accounted for / lost / counted twice",
            f"{figures['alerts_accounted_for']} / {figures['alerts_lost']} / {figures['alerts_counted_twice']}",
        ),
        (
            "webhooks refused (after retries)",
            f"{figures['webhooks_refused']} {figures['refused_by_status'] or ''}".strip(),
        ),
        ("webhook attempts (retries included)", str(figures["webhook_attempts"])),
    ]
    lines = ["| storm | |", "|---|---|", *(f"| {what} | {value} |" for what, value in rows)]
    return "\n".join(lines)
