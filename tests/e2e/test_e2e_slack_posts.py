"""How the bot posts to Slack, end to end: every post through the reply helper, links never unfurled,
and the bot named as Slack's `auth.test` names it (here `ops-bot`) wherever it asks to be invited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.scheduler import HealthScheduler
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .test_e2e_alerts_webhook import BODY, deliver


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_name="ops-bot") as fake:
        fake.add_channel("C0ALERTS", "alerts")
        yield fake


async def answer_to(driver: SlackDriver, slack: FakeSlack, payload: dict[str, Any]) -> str:
    before = len(slack.responses)
    response = await driver.post(payload)
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    return str(slack.responses[before].body["text"])


async def test_a_channel_without_the_bot_is_told_to_invite_it_by_its_name(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.add_channel("C0QUIET", "quiet", is_member=False)
    text = await answer_to(driver, slack, driver.slash_command("health subscribe every 1h", channel_id="C0QUIET"))
    assert "not a member of this channel" in text
    assert "`/invite @ops-bot`" in text and "Kibana ChatOps" not in text
    assert len(slack.calls_to("auth.test")) == 1  # Bolt's one call, read again for the name


async def test_a_receipt_slack_refuses_names_the_bot_in_the_invite_hint(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200
    slack.fail("chat.postMessage", "not_in_channel")  # the receipt in the alert's thread
    text = await answer_to(driver, slack, driver.block_action("alert_mute"))
    assert "`not_in_channel`" in text and "Invite the bot to the channel (`/invite @ops-bot`)" in text


async def test_no_post_unfurls_its_links(slack: FakeSlack, kibana: FakeKibana, bot: RunningBot) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200  # the alert's message
    assert (await deliver(bot, {**BODY, "state": "recovered"})).status_code == 200  # a line in its thread
    store, scheduler = bot.runtime.services.store, bot.runtime.part(HealthScheduler)
    subscription = await store.add_subscription(
        channel="C0ALERTS", space="default", schedule="every 5m", cron="*/5 * * * *", timezone="UTC",
        on_change=False, created_by="U0ALICE",
    )  # fmt: skip
    [group] = await scheduler.sync()
    assert await scheduler.tick(group, datetime(2026, 1, 5, 10, 10, tzinfo=UTC)) == {subscription.id: "posted"}
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 3 and all(post.ok for post in posts)
    assert [post.params.get("unfurl_links") for post in posts] == [False, False, False]
