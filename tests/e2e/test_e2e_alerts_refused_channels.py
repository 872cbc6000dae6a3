"""A channel Slack refuses for good, from Kibana's Webhook connector to Slack and back to Kibana's action
history: the documented body works as pasted; a channel Slack refuses a second time in a row is not
retried forever (by the bot or by Kibana): the alert goes to ALERT_CHANNEL (or nowhere), Kibana records
a failed action that says what to do, `check` lists the channel and a metric counts it by reason.
On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.checks import run_checks
from bot.metrics import REGISTRY
from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import ActionResult, AlertVariables, documented_bodies, render_body, send
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot

from .conftest import WEBHOOK_TOKEN, make_settings
from .databases import database_url

__all__ = ["database_url"]  # the fixture: every test here runs on each backend

FIRING, RECOVERED = documented_bodies((Path(__file__).parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8"))


def naming(template: str, channel: str) -> str:
    """The body with `"channel"` added at its end (the documented bodies used to end with `"#optional"`)."""
    return template[:-1] + f',"channel":"{channel}"}}'


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, database_url: str) -> Settings:
    return make_settings(kibana, slack, tmp_path, database_url=database_url)


def alert(n: int = 1, **values: Any) -> AlertVariables:
    return AlertVariables(rule_id="r1", alert_id=f"host-{n}", alert_uuid=f"8f0c2a4e-000{n}", **values)


async def kibana_sends(bot: RunningBot, template: str, variables: AlertVariables) -> ActionResult:
    return await send(f"{bot.url}/kibana/alerts", WEBHOOK_TOKEN, render_body(template, variables.variables()))


def refusals(reason: str) -> float:
    return REGISTRY.get_sample_value("chatops_alert_channels_refused_total", {"reason": reason}) or 0.0


def top_level(slack: FakeSlack, channel: str = "C0ALERTS") -> list[dict[str, Any]]:
    return [m for m in slack.channel_messages(channel) if m.get("thread_ts") in (None, m["ts"])]


def posts_to(slack: FakeSlack, channel: str) -> int:
    return sum(1 for call in slack.calls_to("chat.postMessage") if call.params.get("channel") == channel)


async def test_the_documented_body_works_as_pasted(bot: RunningBot, slack: FakeSlack) -> None:
    firing = await kibana_sends(bot, FIRING, alert(reason="CPU 97%"))
    assert firing.status == "ok", firing.service_message
    recovered = await kibana_sends(bot, RECOVERED, alert(reason="CPU 40%"))
    assert recovered.status == "ok", recovered.service_message
    [message] = top_level(slack)
    assert "Recovered" in json.dumps(message["blocks"])


@pytest.mark.parametrize(
    ("channel", "reason", "hint"),
    [
        ("#optional", "channel_not_found", "invite the bot to #optional"),
        ("#archived", "is_archived", 'To fix it, name another channel ("channel" in this connector'),
        ("#outside", "not_in_channel", "invite the bot to #outside"),
    ],
)
async def test_a_channel_slack_refuses_twice_goes_to_alert_channel_and_kibana_records_why(
    bot: RunningBot, slack: FakeSlack, channel: str, reason: str, hint: str
) -> None:
    slack.add_channel("C0ARCHIVED", "archived")
    slack.archive_channel("C0ARCHIVED")
    slack.add_channel("C0OUTSIDE", "outside", is_member=False)
    before = refusals(reason)
    template = naming(FIRING, channel)

    first = await kibana_sends(bot, template, alert(reason="CPU 97%"))
    assert (first.status, first.retry, first.http_status) == ("error", True, 502)  # maybe a channel just made
    retried = await kibana_sends(bot, template, alert(reason="CPU 97%"))  # Kibana's retry
    assert (retried.status, retried.retry, retried.http_status) == ("error", False, 422), retried.service_message
    said = retried.service_message or ""
    assert said.startswith(f"[422] Unprocessable Entity: Slack refuses to post alerts in {channel}: ")
    assert f"({reason})" in said and "shown in C0ALERTS (ALERT_CHANNEL) instead" in said and hint in said

    [message] = top_level(slack)
    assert "CPU 97%" in json.dumps(message["blocks"])
    [why] = [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]
    assert f"`{channel}`" in why and f"`{reason}`" in why and "ALERT_CHANNEL" in why
    assert refusals(reason) == before + 1

    # The rule's next alert and the recoveries join that message: Slack is not asked about the channel again.
    tried = posts_to(slack, channel)
    other = await kibana_sends(bot, template, alert(2, reason="CPU 95%"))
    assert (other.http_status, other.retry) == (422, False)
    for n in (1, 2):
        recovered = await kibana_sends(bot, naming(RECOVERED, channel), alert(n))
        assert (recovered.http_status, recovered.retry) == (422, False)
    await slack.wait_for(lambda: "All 2 alerts recovered" in json.dumps(slack.message("C0ALERTS", message["ts"])))
    assert [m["ts"] for m in top_level(slack)] == [message["ts"]]
    assert posts_to(slack, channel) == tried
    assert refusals(reason) == before + 1


@pytest.fixture
async def bot_without_alert_channel(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, database_url: str
) -> AsyncIterator[RunningBot]:
    settings = make_settings(kibana, slack, tmp_path, database_url=database_url, alert_channel=None)
    async with running_bot(settings, mode="http") as running:
        yield running


async def test_without_alert_channel_a_refused_alert_is_not_retried_and_check_fails(
    bot_without_alert_channel: RunningBot, slack: FakeSlack
) -> None:
    bot = bot_without_alert_channel
    template = naming(FIRING, "#gone")
    first = await kibana_sends(bot, template, alert())
    assert (first.http_status, first.retry) == (502, True)
    retried = await kibana_sends(bot, template, alert())
    assert (retried.http_status, retried.retry) == (422, False)
    assert "it is not shown in Slack" in (retried.service_message or "")
    tried = posts_to(slack, "#gone")
    assert tried == 2

    store = bot.runtime.services.store
    assert await store.due_alert_groups() == []  # nothing left for the publisher to retry
    again = await kibana_sends(bot, template, alert())  # a retry of the same alert: told at once
    assert (again.http_status, again.retry) == (422, False)
    await asyncio.sleep(0.5)
    assert posts_to(slack, "#gone") == tried

    [line] = [r for r in await run_checks(bot.runtime.services.settings) if r.service == "Alert channels"]
    assert line.line().startswith("Alert channels: FAILED — Slack refused alerts for good in the last 24 h in #gone")
    assert "channel_not_found" in line.detail and "not shown anywhere" in line.detail

    # Once the channel exists, the rule's next alert tries it again and is posted there.
    slack.add_channel("C0GONE", "gone")
    fixed = await kibana_sends(bot, template, alert(2))
    assert fixed.status == "ok", fixed.service_message
    assert len(top_level(slack, "C0GONE")) == 1


async def test_alert_channel_refused_twice_is_told_to_kibana_not_retried(bot: RunningBot, slack: FakeSlack) -> None:
    slack.archive_channel("C0ALERTS")
    first = await kibana_sends(bot, FIRING, alert())
    assert (first.http_status, first.retry) == (502, True)
    retried = await kibana_sends(bot, FIRING, alert())
    assert (retried.http_status, retried.retry) == (422, False)
    said = retried.service_message or ""
    assert "Slack refuses to post alerts in C0ALERTS: the channel is archived (is_archived)" in said
    assert "it is not shown in Slack" in said
    assert await bot.runtime.services.store.due_alert_groups() == []


async def test_check_warns_about_channels_whose_alerts_went_to_alert_channel(bot: RunningBot, slack: FakeSlack) -> None:
    for _ in range(2):
        await kibana_sends(bot, naming(FIRING, "#optional"), alert())
    await slack.wait_for(lambda: top_level(slack))
    results = await run_checks(bot.runtime.services.settings)
    [line] = [r for r in results if r.service == "Alert channels"]
    assert line.ok and line.warning
    assert line.detail.startswith("Slack refused alerts for good in the last 24 h in #optional (channel_not_found: ")
    assert "shown in ALERT_CHANNEL instead" in line.detail
    assert [r.service for r in results][-2:] == ["Database", "Alert channels"]
