"""Issue 13's bounds: health subscriptions per channel and per workspace, the audit trail's retention
(pruned by the access feature's daily job) and the length of an audit target."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.store import AuditEntry
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.access.retention import AuditRetention

from .conftest import make_settings
from .test_e2e_subscriptions_commands import run


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path, health_max_per_channel=2, health_max_per_workspace=3)


async def test_health_subscriptions_are_bounded_per_channel_and_per_workspace(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    await run(driver, slack, "health subscribe every 1h")
    await run(driver, slack, "health subscribe every 2h")
    answer = await run(driver, slack, "health subscribe every 4h")
    assert "the most a channel may have (HEALTH_MAX_PER_CHANNEL=2)" in answer["text"]
    slack.add_channel("C0OTHER", "other")
    await run(driver, slack, "health subscribe every 1h", channel="C0OTHER")
    slack.add_channel("C0THIRD", "third")
    answer = await run(driver, slack, "health subscribe every 1h", channel="C0THIRD")
    assert "the most it may have (HEALTH_MAX_PER_WORKSPACE=3)" in answer["text"]
    assert len(await bot.runtime.services.store.list_subscriptions()) == 3


def entry(at: datetime, target: str = "r1") -> AuditEntry:
    return AuditEntry(
        user_id="U0ALICE",
        user_name="alice",
        team="T0001",
        channel="C0ALERTS",
        action="mute",
        target=target,
        space="default",
        result="ok",
        at=at,
    )


async def test_audit_entries_older_than_the_retention_are_pruned(bot: RunningBot) -> None:
    store = bot.runtime.services.store
    now = datetime.now(UTC)
    await store.add_audit(entry(now - timedelta(days=91), target="old"))
    await store.add_audit(entry(now - timedelta(days=89), target="recent"))
    retention = bot.runtime.part(AuditRetention)
    assert bot.runtime.services.settings.audit_retention_days == 90
    assert await retention.prune_once() == 1
    assert [e.target for e in await store.list_audit()] == ["recent"]


async def test_the_retention_job_prunes_when_the_bot_starts(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path, audit_retention_days=7)
    async with running_bot(settings) as first:
        await first.runtime.services.store.add_audit(entry(datetime.now(UTC) - timedelta(days=8), target="old"))
    async with running_bot(settings) as second:
        store = second.runtime.services.store
        for _ in range(100):
            if not await store.list_audit():
                break
            await asyncio.sleep(0.02)
        assert await store.list_audit() == []


async def test_a_long_audit_target_is_stored_bounded(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    long_alert = "a" * 512  # the longest alert id the command takes
    await driver.post(driver.slash_command(f"mute r1 {long_alert}"))
    store = bot.runtime.services.store
    await slack.wait_for(lambda: slack.responses)
    [found] = await store.list_audit()
    assert len(found.target) <= 255 and found.target.startswith("r1/aaa") and found.target.endswith("…")
