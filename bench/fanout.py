"""`fanout`: one scheduler tick posting the health report to 1,000 subscriptions over 10 spaces.

The bot's own HealthScheduler (from `create_runtime`, SQLite store) runs its tick in this
process; the fake Kibana and fake Slack run in their own process. The baseline makes the
same 1,000 chat.postMessage calls (same channels, text and blocks, rendered beforehand)
directly with slack_sdk's AsyncWebClient, at the scheduler's own post concurrency.
Baseline and tick alternate; each tick has a new fire time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bench.figures import Result, Target, ratio
from bench.servers import BOT_TOKEN, channel_id
from bench.sizes import Size
from bench.stack import answered, bot_settings, fakes
from bot.app import create_runtime
from bot.schedule import parse_schedule
from bot.scheduler import Group, HealthScheduler, count
from bot.settings import load_settings
from handlers.health.report import check_health, health_blocks, health_text
from handlers.health.subscriptions import report_footer

POST_CONCURRENCY = 16  # HealthScheduler's default post_concurrency
EPOCH = datetime(2026, 1, 5, 10, 2, tzinfo=UTC)


async def _direct_posts(client: AsyncWebClient, posts: list[dict[str, Any]]) -> float:
    slots = asyncio.Semaphore(POST_CONCURRENCY)

    async def post(message: dict[str, Any]) -> None:
        async with slots:
            await client.chat_postMessage(**message)

    started = time.perf_counter()
    await asyncio.gather(*(post(m) for m in posts))
    return time.perf_counter() - started


async def run(size: Size) -> Result:
    subscriptions, spaces = size.fanout_subscriptions, size.fanout_spaces
    tick_seconds: list[float] = []
    direct_seconds: list[float] = []
    health_requests: list[int] = []
    outcomes: list[dict[str, int]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fanout-") as tmp:
        async with fakes(channels=subscriptions) as fake:
            # The tick is measured against raw slack_sdk posts, which no limit holds back (nor does the
            # fake Slack here): the bot does not pace either (SLACK_PACING=false; by default its
            # workspace-wide cap, SLACK_POSTS_PER_MINUTE, 300, would hold a 1,000-channel tick for
            # minutes), so that this measures the bot's own cost.
            values = bot_settings(fake, Path(tmp), slack_pacing=False)
            settings = load_settings(**values, _env_file=None)
            runtime = await create_runtime(settings)
            try:
                services = runtime.services
                schedule = parse_schedule("every 5m")
                for n in range(subscriptions):
                    await services.store.add_subscription(
                        channel=channel_id(n),
                        space=f"space-{n % spaces}",
                        schedule=schedule.text,
                        cron=schedule.cron,
                        timezone=schedule.timezone,
                        on_change=False,
                        created_by="U0ALICE",
                    )
                scheduler = runtime.part(HealthScheduler)
                assert isinstance(scheduler, HealthScheduler)
                group = Group(schedule.cron, schedule.timezone)
                fire_times = schedule.next_fire_times(EPOCH, size.fanout_rounds + 1)
                # The baseline's posts: what the tick posts, rendered once, outside the timing.
                checked = {f"space-{s}": await check_health(services.kibana, f"space-{s}") for s in range(spaces)}
                posts = []
                for sub in await services.store.list_subscriptions():
                    outcome = checked[sub.space]
                    blocks = health_blocks(outcome, footer=report_footer(services, sub))
                    posts.append({"channel": sub.channel, "text": health_text(outcome), "blocks": blocks})
                direct = AsyncWebClient(token=BOT_TOKEN, base_url=fake.ready["slack_api_url"], timeout=10)
                await _direct_posts(direct, posts[: POST_CONCURRENCY * 2])  # warm-up
                await scheduler.tick(group, fire_times[-1])  # warm-up tick (its own fire time)
                for n in range(size.fanout_rounds):
                    direct_first = n % 2 == 0
                    if direct_first:
                        direct_seconds.append(await _direct_posts(direct, posts))
                    before = await fake.ask({"cmd": "stats"})
                    started = time.perf_counter()
                    results = await scheduler.tick(group, fire_times[n])
                    tick_seconds.append(time.perf_counter() - started)
                    after = await fake.ask({"cmd": "stats"})
                    health_requests.append(answered(after, "GET", "_health") - answered(before, "GET", "_health"))
                    outcomes.append(count(results.values()))
                    if not direct_first:
                        direct_seconds.append(await _direct_posts(direct, posts))
                stats = await fake.ask({"cmd": "stats"})
            finally:
                await runtime.close()
    tick, base = sum(tick_seconds) / len(tick_seconds), sum(direct_seconds) / len(direct_seconds)
    share = ratio(tick, base)
    figures = {
        "subscriptions": subscriptions,
        "spaces": spaces,
        "rounds": size.fanout_rounds,
        "post_concurrency": POST_CONCURRENCY,
        "tick_s": tick_seconds,
        "direct_slack_sdk_s": direct_seconds,
        "kibana_health_requests_per_tick": health_requests,
        "tick_outcomes": outcomes,
        "slack_failed_calls": stats["slack_failed"],
    }
    every_tick_posted_all = all(o == {"posted": subscriptions} for o in outcomes)
    same = len(set(health_requests)) == 1
    targets = [
        Target(f"exactly {spaces} Kibana health requests", float(health_requests[0] if same else -1), spaces, "eq"),
        Target("time ratio ≤ 1.5", share, 1.5, "max"),
        Target("every subscription posted", 1.0 if every_tick_posted_all else 0.0, 1.0, "eq"),
    ]
    return Result("fanout", "tick (s)", tick, base, share, targets, figures)
