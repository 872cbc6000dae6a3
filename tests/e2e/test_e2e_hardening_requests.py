"""Issue 13 over real HTTP, at the request level: unauthenticated garbage gets 401 (never a 500
or a traceback), deeply nested JSON on the webhook is a 400, a replayed signed request is answered
without acting, and the webhook's content is not trusted (DMs refused, links from KIBANA_PUBLIC_URL)."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from devkit.slack_driver.signing import sign
from devkit.slack_driver.transport import body_for
from handlers.alerting.target import Target

from .conftest import SIGNING_SECRET, make_settings
from .test_e2e_alerts_webhook import BODY, deliver, element

FORM = "application/x-www-form-urlencoded"
MUTE = "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute"
SNOOZE, SNOOZE_PATH = "rule_snooze_modal", "/api/alerting/rule/{id}/snooze_schedule"
NESTED = "[" * 100_000 + "]" * 100_000


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert not any("Exception in ASGI application" in r.getMessage() for r in caplog.records)


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(url, content=body, headers=headers)


@pytest.mark.parametrize(
    ("case", "content_type", "body"),
    [
        ("bad payload JSON", FORM, "payload=%7Bnot+json"),
        ("deeply nested payload", FORM, "payload=" + "%5B" * 50_000 + "%5D" * 50_000),
        ("deeply nested JSON event", "application/json", NESTED[:200_000]),
        ("not JSON at all", "application/json", "{{{"),
    ],
)
async def test_unsigned_garbage_with_a_fresh_timestamp_gets_401_and_no_traceback(
    case: str,
    content_type: str,
    body: str,
    bot: RunningBot,
    slack: FakeSlack,
    kibana: FakeKibana,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(int(time.time())),
        "X-Slack-Signature": "v0=" + "0" * 64,
    }
    response = await post(bot.events_url, body.encode(), headers)
    assert response.status_code == 401, case
    assert response.json() == {"error": "invalid request"}
    no_tracebacks(caplog)
    assert kibana.requests == [] and slack.calls == []


async def test_signed_garbage_is_a_400_not_a_500(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    body = "payload=" + "%5B" * 50_000 + "%5D" * 50_000
    headers = {"Content-Type": FORM} | sign(SIGNING_SECRET, body)
    response = await post(bot.events_url, body.encode(), headers)
    assert response.status_code == 400
    no_tracebacks(caplog)


async def test_deeply_nested_json_on_the_webhook_is_a_400(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    response = await deliver(bot, ('{"rule_id": ' + NESTED + "}").encode())
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]
    no_tracebacks(caplog)


# ---- replays -----------------------------------------------------------------------------------


async def test_a_replayed_slash_command_is_answered_without_acting(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    body = body_for(driver.slash_command("mute r1 host-1"), "command")
    headers = {"Content-Type": FORM} | sign(SIGNING_SECRET, body)
    first = await post(bot.events_url, body.encode(), headers)
    assert first.status_code == 200
    await slack.wait_for(lambda: kibana.count("POST", MUTE) == 1)
    again = await post(bot.events_url, body.encode(), headers)  # byte for byte, same signature
    assert again.status_code == 200  # acknowledged like any request (the check runs beside the ack)
    await asyncio.sleep(0.3)
    assert kibana.count("POST", MUTE) == 1
    assert len(slack.responses) == 1  # only the first one's answer


async def test_a_replayed_click_is_answered_without_acting(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200
    payload = driver.block_action("alert_mute")
    body = body_for(payload, "interactive")
    headers = {"Content-Type": FORM} | sign(SIGNING_SECRET, body)
    assert (await post(bot.events_url, body.encode(), headers)).status_code == 200
    await slack.wait_for(lambda: kibana.count("POST", MUTE) == 1)
    assert (await post(bot.events_url, body.encode(), headers)).status_code == 200
    await asyncio.sleep(0.3)
    assert kibana.count("POST", MUTE) == 1


async def test_a_replayed_modal_submission_is_answered_without_acting(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200
    custom = Target(rule_id="r1", space="default", option="custom").pack()
    await driver.post(driver.block_action("rule_snooze", custom))
    view = await slack.wait_for(lambda: next((v for v in slack.views.values() if v.get("callback_id") == SNOOZE), None))
    body = body_for(driver.view_submission(view, {"duration": {"duration": "8h"}}), "interactive")
    headers = {"Content-Type": FORM} | sign(SIGNING_SECRET, body)
    assert (await post(bot.events_url, body.encode(), headers)).status_code == 200
    await slack.wait_for(lambda: kibana.count("POST", SNOOZE_PATH) == 1)

    caplog.set_level(logging.WARNING)
    assert (await post(bot.events_url, body.encode(), headers)).status_code == 200  # no second snooze
    await asyncio.sleep(0.3)
    assert kibana.count("POST", SNOOZE_PATH) == 1
    assert len(kibana.rule("r1")["snooze_schedule"]) == 1
    assert any("a replay of a request already handled" in r.getMessage() for r in caplog.records)


async def test_a_replayed_message_shortcut_opens_no_second_form(
    driver: SlackDriver, slack: FakeSlack, bot: RunningBot
) -> None:
    message = {"type": "message", "user": "U0BOB0001", "ts": "1700000000.000100", "text": "disk full on db-1"}
    body = body_for(driver.message_shortcut("open_case", message), "interactive")
    headers = {"Content-Type": FORM} | sign(SIGNING_SECRET, body)
    assert (await post(bot.events_url, body.encode(), headers)).status_code == 200
    await slack.wait_for("views.open")
    assert (await post(bot.events_url, body.encode(), headers)).status_code == 200
    await asyncio.sleep(0.3)
    assert len(slack.calls_to("views.open")) == 1


async def test_replay_rows_older_than_the_window_are_pruned(bot: RunningBot) -> None:
    from datetime import timedelta

    from bot.store.schema import utcnow

    store = bot.runtime.services.store
    assert not await store.seen_slack_request("v0=" + "a" * 64)
    assert await store.seen_slack_request("v0=" + "a" * 64)
    assert await store.prune_slack_replays(utcnow() + timedelta(seconds=1)) >= 1
    assert not await store.seen_slack_request("v0=" + "a" * 64)


# ---- webhook content -----------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["U0ALICE", "W0123ABCD", "D0123ABCD", "@alice"])
async def test_a_dm_channel_in_a_webhook_body_is_a_400_naming_the_field(
    channel: str, bot: RunningBot, slack: FakeSlack
) -> None:
    response = await deliver(bot, {**BODY, "channel": channel})
    assert response.status_code == 400
    assert response.json()["field"] == "channel"
    assert slack.calls_to("chat.postMessage") == []


async def test_open_in_kibana_is_built_from_kibana_public_url(bot: RunningBot, slack: FakeSlack) -> None:
    body: dict[str, Any] = {**BODY, "rule_url": "https://evil.example/phish", "space_id": "ops"}
    assert (await deliver(bot, body)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    url = element(message, "rule_link")["url"]
    assert url == "https://kibana.example.com/s/ops/app/management/insightsAndAlerting/triggersActions/rule/r1"
    assert "evil" not in str(message)


async def test_the_mute_all_confirmation_names_the_rule_by_id_not_the_bodys_name(
    bot: RunningBot, slack: FakeSlack
) -> None:
    assert (await deliver(bot, {**BODY, "rule_name": "Some other rule"})).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    sure = element(message, "rule_mute_all")["confirm"]["text"]["text"]
    assert "`r1`" in sure and "Some other rule" not in sure


async def test_with_alert_channels_a_webhook_posts_only_to_those(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path, alert_channels="C0ALERTS, C0OPS")
    async with running_bot(settings) as bot:
        refused = await deliver(bot, {**BODY, "channel": "C0SECRET"})
        assert refused.status_code == 400 and refused.json()["field"] == "channel"
        assert "ALERT_CHANNELS" in refused.json()["error"]
        assert (await deliver(bot, BODY)).status_code == 200  # ALERT_CHANNEL, C0ALERTS, is allowed
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == ["C0ALERTS"]
