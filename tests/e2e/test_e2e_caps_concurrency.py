"""Issue 30, item 6: the subscription caps hold when many subscribe at once.

Signed slash commands are sent together (not one after the other) to the real bot, on SQLite and on
PostgreSQL (TEST_DATABASE_URL). The caps are checked in the transaction that adds a subscription, one
subscriber at a time, so exactly the cap is stored and every other person is told which limit was
reached. Before, the count was read before the insert, and 222 health subscriptions were stored
against a cap of 200; alert subscriptions had no workspace cap at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .conftest import make_settings
from .databases import database_url  # noqa: F401 - the fixture, over both backends

CHANNELS = [f"C0CAP{i:02d}" for i in range(6)]


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(
    kibana: FakeKibana,
    slack: FakeSlack,
    es: FakeElasticsearch,
    tmp_path: Path,
    database_url: str,  # noqa: F811
) -> Settings:
    for channel in CHANNELS:
        slack.add_channel(channel, channel.lower())
    return make_settings(
        kibana,
        slack,
        tmp_path,
        database_url=database_url,
        elasticsearch_url=es.url,
        elasticsearch_api_key=es.api_key,
        health_max_per_channel=4,
        health_max_per_workspace=10,
        alerts_max_per_workspace=12,
        slack_pacing=False,
    )


async def together(driver: SlackDriver, slack: FakeSlack, commands: list[tuple[str, str]]) -> list[str]:
    """Send every (channel, text) command at once; the answers' texts, once all have come."""
    before = len(slack.responses)
    sent = await asyncio.gather(
        *(driver.post(driver.slash_command(text, channel_id=channel)) for channel, text in commands)
    )
    assert [r.status_code for r in sent] == [200] * len(commands)
    await slack.wait_for(lambda: len(slack.responses) >= before + len(commands), timeout=30)
    return [str(r.body.get("text", "")) for r in slack.responses[before:]]


async def test_the_health_caps_hold_under_concurrent_subscribes(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    # 6 channels x 5 at once: 30 asked, at most 4 a channel and 10 in all
    commands = [(channel, f"health subscribe every {hours}h") for hours in (1, 2, 3, 4, 6) for channel in CHANNELS]
    answers = await together(driver, slack, commands)
    stored = await bot.runtime.services.store.list_subscriptions()
    assert len(stored) == 10
    assert all(sum(s.channel == c for s in stored) <= 4 for c in CHANNELS)
    subscribed = [a for a in answers if "subscribed this channel" in a]
    refused = [a for a in answers if "(HEALTH_MAX_PER_WORKSPACE=10)" in a or "(HEALTH_MAX_PER_CHANNEL=4)" in a]
    assert len(subscribed) == 10 and len(refused) == 20, [a for a in answers if a not in subscribed + refused]


async def test_the_alert_subscription_caps_hold_under_concurrent_subscribes(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    # 6 channels x 4 distinct filters at once: 24 asked, 12 in all may exist
    commands = [(channel, f"alerts subscribe --tag t{n}") for n in range(4) for channel in CHANNELS]
    answers = await together(driver, slack, commands)
    stored = await bot.runtime.services.store.list_alert_subscriptions()
    assert len(stored) == 12
    subscribed = [a for a in answers if "subscribed this channel to the alerts" in a]
    refused = [a for a in answers if "the most it may have (ALERTS_MAX_PER_WORKSPACE=12)" in a]
    assert len(subscribed) == 12 and len(refused) == 12
    assert all("nothing was subscribed" in a for a in refused)
    # the same filter again is still "already", not a refusal, at the cap
    [again] = await together(driver, slack, [(stored[0].channel, f"alerts subscribe --tag {stored[0].value}")])
    assert again.startswith("This channel already gets the alerts of rules tagged")
