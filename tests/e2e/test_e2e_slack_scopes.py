"""Slack's scopes end to end: a fake Slack that grants exactly manifest.json's scopes and answers
`missing_scope` as Slack does, and the real bot over real HTTP. Subscriptions go to channels, never
to a direct message; a refusal for a missing scope (or any other Slack error) never counts as
permission, and is told in a sentence naming the scope; `check` names the scopes the app lacks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.checks import check_slack
from bot.settings import Settings
from devkit.fake_elasticsearch import FakeElasticsearch
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

from .conftest import forget_start_up, make_settings

MANIFEST = Path(__file__).parents[2] / "manifest.json"
DIRECT = "Alerts go to channels, never to a direct message; subscribe from a channel."
REINSTALL = "an admin of the Slack app adds it by reinstalling the app with the bot's manifest.json"


@pytest.fixture
async def es() -> AsyncIterator[FakeElasticsearch]:
    async with FakeElasticsearch() as fake:
        yield fake


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, es: FakeElasticsearch, tmp_path: Path) -> Settings:
    return make_settings(kibana, slack, tmp_path, elasticsearch_url=es.url, elasticsearch_api_key=es.api_key)


@pytest.fixture
async def bot(settings: Settings, kibana: FakeKibana) -> AsyncIterator[RunningBot]:
    async with running_bot(settings, mode="http") as running:
        forget_start_up(kibana)
        yield running


async def command(driver: SlackDriver, slack: FakeSlack, text: str, channel: str) -> str:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text, channel_id=channel))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    return str(slack.responses[before].body["text"])


async def alert_subscriptions(bot: RunningBot) -> list[Any]:
    return list(await bot.runtime.services.store.list_alert_subscriptions())


async def test_alerts_subscribe_from_a_direct_message_is_refused_with_a_sentence(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.add_direct_message("D0ALICE", "U0ALICE")  # Alice's direct message with the bot
    assert await command(driver, slack, "alerts subscribe --all", "D0ALICE") == DIRECT
    [call] = slack.calls_to("conversations.info")
    assert call.ok and call.response["channel"]["is_im"] is True  # the manifest's im:read lets Slack say so
    assert await alert_subscriptions(bot) == []


async def test_alerts_subscribe_from_a_group_direct_message_is_refused_with_a_sentence(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.add_user("U0BOB", "bob")
    slack.add_group_direct_message("G0TRIO", ["U0ALICE", "U0BOB"])
    assert await command(driver, slack, "alerts subscribe --tag prod", "G0TRIO") == DIRECT
    assert [c.response["channel"]["is_mpim"] for c in slack.calls_to("conversations.info")] == [True]
    assert await alert_subscriptions(bot) == []


async def test_a_direct_message_the_bot_is_not_part_of_is_refused_as_a_direct_message(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.add_user("U0BOB", "bob")
    slack.add_direct_message("D0PEOPLE", "U0BOB", with_bot=False)  # Alice and Bob: Slack shows it not to the bot
    assert await command(driver, slack, "alerts subscribe --all", "D0PEOPLE") == DIRECT
    assert [c.response["error"] for c in slack.calls_to("conversations.info")] == ["channel_not_found"]
    assert await alert_subscriptions(bot) == []


async def test_a_missing_scope_never_counts_as_permission(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.revoke_scopes("im:read", "groups:read")  # the app installed from an older manifest
    slack.add_direct_message("D0ALICE", "U0ALICE")
    text = await command(driver, slack, "alerts subscribe --all", "D0ALICE")
    assert text == (
        f"I could not check this conversation, so nothing was subscribed: the Slack app lacks the scope `im:read`; "
        f"{REINSTALL}."
    )
    slack.add_channel("G0SECRET", "secret", is_private=True)
    text = await command(driver, slack, "health subscribe every 1h", "G0SECRET")
    assert "lacks the scope `groups:read`" in text and "manifest.json" in text
    refusals = [(c.response["error"], c.response["needed"]) for c in slack.calls_to("conversations.info")]
    assert refusals == [("missing_scope", "im:read"), ("missing_scope", "groups:read")]
    assert await alert_subscriptions(bot) == []
    assert await bot.runtime.services.store.list_subscriptions() == []


@pytest.mark.parametrize("error", ["not_allowed_token_type", "fatal_error", "account_inactive"])
async def test_no_other_slack_refusal_counts_as_permission(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot, error: str
) -> None:
    slack.fail("conversations.info", error, times=None)
    text = await command(driver, slack, "alerts subscribe --all", "C0ALERTS")
    assert text.startswith(f"I could not check this channel (Slack answered {error}), so nothing was subscribed.")
    text = await command(driver, slack, "health subscribe every 1h", "C0ALERTS")
    assert "so nothing was subscribed" in text
    assert await alert_subscriptions(bot) == []
    assert await bot.runtime.services.store.list_subscriptions() == []


async def test_the_fake_answers_missing_scope_for_a_scope_the_manifest_lacks(slack: FakeSlack) -> None:
    manifest_scopes = json.loads(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"]
    assert "channels:join" not in manifest_scopes
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_join(channel="C0ALERTS")
    assert refused.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:join",
        "provided": ",".join(manifest_scopes),
    }
    answer = await client.auth_test()
    assert answer.headers["x-oauth-scopes"] == ",".join(manifest_scopes)


async def test_check_names_the_scopes_the_app_lacks(settings: Settings, slack: FakeSlack) -> None:
    [token] = await check_slack(settings)
    assert token.line().startswith("Slack: ok — bot token accepted")
    assert token.line().endswith("with every scope the bot needs")
    slack.revoke_scopes("im:read", "mpim:read")
    token, scopes = await check_slack(settings)
    assert token.ok and not scopes.ok
    assert scopes.line().startswith(
        "Slack scopes: FAILED — the Slack app lacks `im:read`, `mpim:read`: reinstall it with the bot's manifest.json"
    )


async def test_health_reports_go_to_the_bots_own_direct_message_not_to_one_between_people(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    slack.add_user("U0BOB", "bob")
    slack.add_direct_message("D0PEOPLE", "U0BOB", with_bot=False)
    text = await command(driver, slack, "health subscribe every 1h", "D0PEOPLE")
    assert text == (
        "I cannot post reports in a direct message between people; subscribe from a channel, or from your direct "
        "message with me."
    )
    assert await bot.runtime.services.store.list_subscriptions() == []
    slack.add_direct_message("D0ALICE", "U0ALICE")
    assert "subscribed this channel" in await command(driver, slack, "health subscribe every 1h", "D0ALICE")
    assert [s.channel for s in await bot.runtime.services.store.list_subscriptions()] == ["D0ALICE"]


async def test_check_only_warns_without_the_link_scopes(settings: Settings, slack: FakeSlack) -> None:
    slack.revoke_scopes("links:read", "links:write")
    token, *warnings = await check_slack(settings)
    assert token.ok and all(w.ok and w.warning for w in warnings)  # an app installed before unfurls works, doing less
    assert [w.line() for w in warnings] == [
        f"Slack scopes: WARNING — the Slack app lacks `{scope}`: Kibana links shared in Slack are not unfurled; "
        "reinstall it with the bot's manifest.json"
        for scope in ("links:read", "links:write")
    ]
