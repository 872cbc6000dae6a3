"""What real rules render, from Kibana's Webhook connector to Slack: the body of docs/alerts.md rendered as
Kibana renders it (devkit.fake_kibana.webhook_connector), posted as Kibana posts it, judged as Kibana judges
the answer (a 4xx fails the action for good: the alert would be lost), and what the fake Slack then shows.
On SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_kibana.webhook_connector import ActionResult, AlertVariables, documented_bodies, render_body, send
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from handlers.alerts.webhook import TEXT_KEPT

from .conftest import WEBHOOK_TOKEN, make_settings
from .databases import database_url

__all__ = ["database_url"]  # the fixture: every test here runs on each backend

FIRING, RECOVERED = documented_bodies((Path(__file__).parents[2] / "docs" / "alerts.md").read_text(encoding="utf-8"))


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, database_url: str) -> Settings:
    return make_settings(kibana, slack, tmp_path, database_url=database_url)


def alert(**values: Any) -> AlertVariables:
    return AlertVariables(rule_id="r1", alert_id="host-1", alert_uuid="8f0c2a4e-0001", **values)


async def kibana_sends(bot: RunningBot, variables: AlertVariables, template: str = FIRING) -> ActionResult:
    return await send(f"{bot.url}/kibana/alerts", WEBHOOK_TOKEN, render_body(template, variables.variables()))


def the_message(slack: FakeSlack) -> dict[str, Any]:
    [message] = [m for m in slack.channel_messages("C0ALERTS") if m.get("thread_ts") in (None, m["ts"])]
    return message


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + message["text"]


async def stored_reason(bot: RunningBot, message: dict[str, Any]) -> str:
    store = bot.runtime.services.store
    group = await store.alert_group_at(channel="C0ALERTS", ts=message["ts"])
    assert group is not None
    snapshot = await store.alert_group_snapshot(group.id)
    assert snapshot is not None
    return snapshot.newest[0].reason


async def test_a_reason_over_20000_characters_is_shown_clipped(bot: RunningBot, slack: FakeSlack) -> None:
    result = await kibana_sends(bot, alert(reason="CPU 97% on host-1. " + "x" * 25_000))
    assert result.status == "ok", result.service_message
    message = the_message(slack)
    assert "CPU 97% on host-1." in shown(message) and "x" * 2000 in shown(message)
    assert len(await stored_reason(bot, message)) == TEXT_KEPT  # the store keeps what Slack can show


async def test_a_message_over_20000_characters_is_shown_when_the_reason_is_empty(
    bot: RunningBot, slack: FakeSlack
) -> None:
    result = await kibana_sends(bot, alert(message="Index threshold: " + "m" * 30_000))
    assert result.status == "ok", result.service_message
    assert "Index threshold: mmm" in shown(the_message(slack))


async def test_more_than_200_tags_are_accepted_and_the_first_shown(bot: RunningBot, slack: FakeSlack) -> None:
    result = await kibana_sends(bot, alert(tags=[f"team-{n}" for n in range(250)]))
    assert result.status == "ok", result.service_message
    text = shown(the_message(slack))
    assert "`team-0`" in text and "`team-19`" in text


async def test_a_lone_surrogate_is_shown_as_the_replacement_character(bot: RunningBot, slack: FakeSlack) -> None:
    """A reason that ends in half an emoji (a log line cut short): `JSON.stringify` writes `\\ud83d`."""
    variables = alert(reason="log: disk full \U0001f4be\ud83d", rule_name="Disk \udc00")
    body = render_body(FIRING, variables.variables())
    assert b"\\ud83d" in body and b"\\udc00" in body
    result = await kibana_sends(bot, variables)
    assert result.status == "ok", result.service_message
    text = shown(the_message(slack))
    assert "log: disk full \U0001f4be\ufffd" in text and "Disk \ufffd" in text
    recovered = await kibana_sends(bot, variables, RECOVERED)
    assert recovered.status == "ok", recovered.service_message


async def test_comma_joined_tags_whose_first_starts_with_a_bracket_are_tags(bot: RunningBot, slack: FakeSlack) -> None:
    """`{{rule.tags}}` (in bodies written before `asJSON`) renders `[x],prod`, which is not broken JSON."""
    template = FIRING.replace("{{rule.tags.asJSON}}", "{{rule.tags}}")
    result = await kibana_sends(bot, alert(tags=["[x]", "prod"]), template)
    assert result.status == "ok", result.service_message
    text = shown(the_message(slack))
    assert "`[x]`" in text and "`prod`" in text


async def test_a_nul_in_the_reason_is_stored_and_shown_replaced(bot: RunningBot, slack: FakeSlack) -> None:
    """PostgreSQL text cannot hold NUL: it used to be a 500 on every retry. Slack cannot show it either."""
    variables = alert(reason="value\x00 out of range\x1b[0m", message="m\x00")
    result = await kibana_sends(bot, variables)
    assert result.status == "ok", result.service_message
    message = the_message(slack)
    assert "value\ufffd out of range\ufffd[0m" in shown(message) and "\x00" not in shown(message)
    recovered = await kibana_sends(bot, alert(reason="back\x00 to normal"), RECOVERED)
    assert recovered.status == "ok", recovered.service_message
    assert "back\ufffd to normal" in shown(the_message(slack))
