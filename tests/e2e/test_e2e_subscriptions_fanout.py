"""200 channels subscribed to the same space: one Kibana health request per tick, 200 posts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.schedule import parse_schedule
from bot.scheduler import HealthScheduler, count
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from tests.e2e.conftest import make_settings

CHANNELS = [f"C{n:04d}" for n in range(200)]


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    """This test counts Kibana reads per tick, not Slack's pace: the bot's workspace-wide cap on
    chat.postMessage (SLACK_POSTS_PER_MINUTE, 300 by default) would make each 200-post tick take
    about 40 s, so it is set to its largest value here."""
    return make_settings(kibana, slack, tmp_path, slack_posts_per_minute=10_000)


async def test_two_hundred_channels_one_health_request_per_tick(
    slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    store = bot.runtime.services.store
    schedule = parse_schedule("every 5m")
    for n, channel in enumerate(CHANNELS):
        slack.add_channel(channel, f"team-{n}")
        await store.add_subscription(
            channel=channel,
            space="ops",
            schedule=schedule.text,
            cron=schedule.cron,
            timezone=schedule.timezone,
            on_change=n % 2 == 0,  # half of them only on change
            created_by="U0ALICE",
        )
    scheduler = bot.runtime.part(HealthScheduler)
    assert isinstance(scheduler, HealthScheduler)
    [group] = await scheduler.sync()
    # the test fires the ticks itself: the real clock's (a run crossing a 5-minute mark) would read
    # Kibana once more
    scheduler.apscheduler.pause()
    times = schedule.next_fire_times(datetime(2026, 1, 5, 10, 2, tzinfo=UTC), 3)

    first = await scheduler.tick(group, times[0])
    assert count(first.values()) == {"posted": 200}
    assert kibana.count("GET", "/api/alerting/_health") == 1
    assert kibana.count("GET", "/api/alerting/_health", space="ops") == 1

    second = await scheduler.tick(group, times[1])  # nothing changed: the on-change half stays quiet
    assert count(second.values()) == {"posted": 100, "skipped_unchanged": 100}
    assert kibana.count("GET", "/api/alerting/_health") == 2

    kibana.add_rule(id="broken", space="ops", execution_status="error", error_reason="decrypt")
    third = await scheduler.tick(group, times[2])
    assert count(third.values()) == {"posted": 200}
    assert kibana.count("GET", "/api/alerting/_health") == 3

    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 500 and all(call.ok for call in posts)
    assert {call.params["channel"] for call in posts} == set(CHANNELS)
    assert sum("warn" in call.params["text"] for call in posts) == 200
