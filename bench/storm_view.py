"""`storm`, in the fakes' process: what Slack shows, and how the app's calls sat within Slack's budgets.

Kept apart from bench/storm.py (Kibana's side, in the benchmark's process) because it runs beside the
fake Slack and reads its state directly.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devkit.fake_slack import FakeSlack

COUNTS = re.compile(r"\*Firing\*\n(\d+)|\*Recovered\*\n(\d+)")
WINDOW = 60.0  # seconds: Slack's tiers are calls a minute
POST_MESSAGE = "chat.postMessage"
PER_CHANNEL = "chat.postMessage (one channel)"


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


def most_in_a_window(times: Iterable[float], seconds: float = WINDOW) -> int:
    """The most of `times` that fall in any window of `seconds` (half-open, as the fake's limiter counts)."""
    ordered = sorted(times)
    most = start = 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - seconds:
            start += 1
        most = max(most, end - start + 1)
    return most


def slack_budgets(slack: FakeSlack) -> dict[str, dict[str, int]]:
    """Per method, the most calls the fake Slack saw in any minute (every replica's together, 429s
    included: a call Slack refused was still made) and the most it accepted, against the method's
    budget: its tier's calls a minute; for chat.postMessage the workspace's window and, per channel,
    the token bucket's burst plus a minute of its rate."""
    limiter = slack.rate_limiter
    if limiter is None:
        return {}
    limits = limiter.limits
    seen: dict[str, list[float]] = defaultdict(list)
    accepted: dict[str, list[float]] = defaultdict(list)
    for call in slack.calls:
        if call.method in limits.exempt:
            continue
        names = [call.method]
        if call.method == POST_MESSAGE:
            names.append(f"{PER_CHANNEL} {call.params.get('channel')}")
        for name in names:
            seen[name].append(call.at)
            if call.status != 429:
                accepted[name].append(call.at)
    per_channel_budget = limits.post_per_channel.burst + round(limits.post_per_channel.rate * WINDOW)
    budgets: dict[str, dict[str, int]] = {}
    for name, times in seen.items():
        if name.startswith(PER_CHANNEL):
            budget, key = per_channel_budget, PER_CHANNEL
        elif name == POST_MESSAGE:
            budget, key = limits.post_workspace.calls, name
        else:
            budget, key = limits.window(name).calls, name
        row = {"calls": most_in_a_window(times), "accepted": most_in_a_window(accepted[name]), "budget": budget}
        if key not in budgets or row["calls"] > budgets[key]["calls"]:  # the busiest channel stands for all
            budgets[key] = row
    return budgets
