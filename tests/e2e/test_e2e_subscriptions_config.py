"""The subscription declared in settings (HEALTH_CHANNEL, HEALTH_SCHEDULE): created at start-up,
kept out of users' hands, removed when unset; a bad HEALTH_SCHEDULE stops start-up (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.settings import ConfigError
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import running_bot
from devkit.slack_driver import SlackDriver

from .conftest import SIGNING_SECRET, make_settings


async def command(driver: SlackDriver, slack: FakeSlack, text: str) -> dict[str, Any]:
    before = len(slack.responses)
    await driver.post(driver.slash_command(text))
    await slack.wait_for(lambda: len(slack.responses) > before)
    return slack.responses[before].body


async def test_configured_subscription_lives_and_goes_with_the_settings(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(
        kibana,
        slack,
        tmp_path,
        health_channel="C0ALERTS",
        health_schedule="daily 09:00 Europe/Paris",
        kibana_space="ops",
    )
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        [configured] = await bot.runtime.services.store.list_subscriptions()
        assert (configured.channel, configured.space, configured.schedule) == (
            "C0ALERTS",
            "ops",
            "daily 09:00 Europe/Paris",
        )
        assert (configured.cron, configured.timezone, configured.from_config) == ("0 9 * * *", "Europe/Paris", True)
        listing = str((await command(driver, slack, "health subscriptions"))["blocks"])
        assert f"*#{configured.id}* · daily at 09:00 Europe/Paris" in listing and "from configuration" in listing
        refused = await command(driver, slack, f"health unsubscribe {configured.id}")
        assert "declared in the bot's configuration" in refused["text"]
        assert (
            "only the one declared in configuration" in (await command(driver, slack, "health unsubscribe all"))["text"]
        )
        assert len(await bot.runtime.services.store.list_subscriptions()) == 1

    changed = make_settings(kibana, slack, tmp_path, health_channel="C0ALERTS", health_schedule="every 1h")
    async with running_bot(changed) as bot:
        [same] = await bot.runtime.services.store.list_subscriptions()
        assert (same.id, same.schedule, same.cron, same.space) == (configured.id, "every 1h", "0 * * * *", "default")

    async with running_bot(make_settings(kibana, slack, tmp_path)) as bot:  # settings no longer declare it
        assert await bot.runtime.services.store.list_subscriptions() == []


async def test_bad_health_schedule_is_a_configuration_error(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """Refused when the settings are read, before the store or any connection is opened."""
    with pytest.raises(ConfigError, match=r"^HEALTH_SCHEDULE: expected a schedule such as .*cannot be kept exactly"):
        make_settings(kibana, slack, tmp_path, health_channel="C0ALERTS", health_schedule="every 7m")
    assert not (tmp_path / "bot.db").exists()


async def test_a_too_frequent_health_schedule_does_not_suggest_on_change(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """HEALTH_SCHEDULE has no --on-change form, so it keeps the 5-minute floor and says nothing of the flag."""
    with pytest.raises(ConfigError) as raised:
        make_settings(kibana, slack, tmp_path, health_channel="C0ALERTS", health_schedule="every 1m")
    assert "at most every 5 minutes (try `every 5m`)" in str(raised.value)
    assert "on-change" not in str(raised.value)


def test_serve_exits_2_naming_health_schedule(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "KIBANA_", "HEALTH_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-config-test",
        SLACK_SIGNING_SECRET="config-test-secret",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        HEALTH_CHANNEL="C0ALERTS",
        HEALTH_SCHEDULE="daily 9am",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--mode", "http", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "HEALTH_SCHEDULE: expected a schedule such as" in done.stderr
    assert "Traceback" not in done.stderr
