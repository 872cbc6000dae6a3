"""`memory`: the bot process's RSS after start, after a warm-up, and through 20,000 mixed requests.

The bot runs in its own process (its RSS read from /proc); one aiohttp load generator
(its own process) sends, in turn, a signed `/kibana mute r a`, a signed click on the Mute
button of an alert message the bot posted, and a Kibana webhook delivery of a new alert.
After each batch we wait until the bot has no listener work in flight, then read the RSS.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench import slack_requests
from bench.children import Child
from bench.figures import Result, Target, ratio
from bench.servers import ALERT_CHANNEL, ALERT_ID
from bench.sizes import Size
from bench.stack import fakes, load, loadgen, spawn_bot, started, wait_until

BATCHES = 10
GROWTH_LIMIT = 1.10


async def _settle(bot: Child) -> dict[str, Any]:
    """Wait (bounded) until the bot has no listener work in flight; its task count then."""

    async def idle() -> dict[str, Any] | None:
        state = await bot.ask({"cmd": "state"})
        return state if state["inflight"] == 0 else None

    _, state = await wait_until(idle, timeout=60.0, interval=0.05)
    return state or {}


def _heap(state: dict[str, Any]) -> dict[str, Any]:
    return {key: state.get(key) for key in ("tasks", "python_blocks", "threads")}


async def run(size: Size) -> Result:
    conc = size.memory_concurrency
    measured = size.memory_requests - size.memory_warmup
    per_batch = max(1, measured // BATCHES)
    series: list[dict[str, Any]] = []
    statuses: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        async with fakes() as fake, loadgen() as gen:
            # Its 6,000 alert posts into one channel, and as many updates of one message, are far
            # beyond Slack's rate limits; it measures memory, so the bot does not pace (the fake
            # Slack has no limits here): SLACK_PACING=false. `storm` measures the pacing.
            bot = await spawn_bot(fake, Path(tmp), slack_pacing=False)
            async with started(bot):
                rss_start = bot.rss_kib()
                url = bot.ready["url"]
                # one alert message to click on
                seed = slack_requests.alert_delivery(alert_id=ALERT_ID, uuid_suffix="000000000000")
                await load(gen, fake, url, [seed], count=1, concurrency=1)
                messages = (await fake.ask({"cmd": "messages", "channel": ALERT_CHANNEL}))["messages"]
                templates = [
                    slack_requests.command(),
                    slack_requests.button(messages[0]),
                    slack_requests.alert_delivery(),
                ]

                async def send(count: int) -> None:
                    answer = await load(gen, fake, url, templates, count=count, concurrency=conc)
                    for key, n in {**answer["statuses"], **answer["errors"]}.items():
                        statuses[key] = statuses.get(key, 0) + n

                await send(size.memory_warmup)
                state = await _settle(bot)
                rss_warm = bot.rss_kib()
                series.append({"requests": size.memory_warmup, "rss_kib": rss_warm, **_heap(state)})
                sent = size.memory_warmup
                for _ in range(BATCHES):
                    await send(per_batch)
                    sent += per_batch
                    state = await _settle(bot)
                    series.append({"requests": sent, "rss_kib": bot.rss_kib(), **_heap(state)})
                rss_end = series[-1]["rss_kib"]
                stats = await fake.ask({"cmd": "stats"})
    growth = ratio(rss_end, rss_warm)
    figures = {
        "requests": sent,
        "warmup_requests": size.memory_warmup,
        "concurrency": conc,
        "rss_start_kib": rss_start,
        "rss_after_warmup_kib": rss_warm,
        "rss_end_kib": rss_end,
        "growth_after_warmup": growth - 1,
        "series": series,
        "http_statuses": statuses,
        "slack_calls": stats["slack_calls"],
        "slack_failed_calls": stats["slack_failed"],
    }
    targets = [
        Target("RSS growth after warm-up ≤ 10 %", growth, GROWTH_LIMIT, "max"),
        Target("every request answered 2xx", 1.0 if set(statuses) <= {"200", "202"} else 0.0, 1.0, "eq"),
    ]
    return Result("memory", "RSS (MiB)", rss_end / 1024, None, growth, targets, figures)
