"""The ways into the case form — the `open_case` message shortcut and the `case_open` button — go
through the guard like every other write: a value the bot did not make is refused and audited, a
click or shortcut naming two different channels is refused and audited, and a person refused when
the form opens is audited too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.cases.actions import CASE_OPEN
from handlers.shared.blocks import actions, button

from .conftest import make_settings

ALERTS, OTHER = "C0ALERTS", "C0OTHER"

# Bob may open cases only in #alerts; Carol nowhere.
POLICY = """
default_role = "viewer"

[[grants]]
role = "admin"
users = ["U0ALICE"]

[[grants]]
role = "responder"
users = ["U0BOB"]
channels = ["C0ALERTS"]
"""


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    slack.add_channel(OTHER, "other")
    policy = tmp_path / "cases-policy.toml"  # make_settings writes policy.toml
    policy.write_text(POLICY)
    return make_settings(kibana, slack, tmp_path, access_policy=policy)


def case_button(value: str) -> dict[str, Any]:
    message = {"type": "message", "ts": "1700000000.000100", "text": "CPU usage above 90% is active on host-1"}
    message["blocks"] = [actions(button("Open case", CASE_OPEN, value), block_id="b")]
    return message


async def audit(bot: RunningBot) -> list[Any]:
    return await bot.runtime.services.store.list_audit(limit=20)


async def test_a_forged_case_open_value_is_refused_and_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    forged = json.dumps({"r": "r1 --space ops", "s": "default"})
    response = await driver.post(driver.block_action(CASE_OPEN, forged, message=case_button(forged)))
    assert response.status_code == 200
    await slack.wait_for(lambda: slack.responses)
    assert slack.responses[0].body["text"] == "This button's value is not one the bot made."
    [entry] = await audit(bot)
    assert (entry.action, entry.result, entry.user_id) == ("case", "refused", "U0ALICE")
    assert "forged value" in entry.detail and "r1 --space ops" in entry.target
    assert slack.calls_to("views.open") == [] and kibana.requests == []


async def test_a_case_open_click_whose_channel_and_container_disagree_is_refused(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    value = Target(rule_id="r1", alert_id="host-1").pack()
    click = driver.block_action(CASE_OPEN, value, message=case_button(value), user_id="U0BOB", channel_id=OTHER)
    click["container"]["channel_id"] = ALERTS  # Bob's grant's channel, in one of the two places
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: slack.responses)
    assert "two different channels" in slack.responses[-1].body["text"]
    assert slack.calls_to("views.open") == []
    [entry] = await audit(bot)
    assert (entry.action, entry.result, entry.user_id) == ("case", "refused", "U0BOB")
    assert "forged value" in entry.detail
    # the same click where both say #alerts opens the form
    agreed = driver.block_action(CASE_OPEN, value, message=case_button(value), user_id="U0BOB", channel_id=ALERTS)
    await driver.post(agreed)
    [update] = await slack.wait_for("views.update")
    assert any(b.get("block_id") == "title" for b in slack.views[update.params["view_id"]]["blocks"])


async def test_a_shortcut_whose_channel_and_container_disagree_is_refused(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message = slack.post_as_user(OTHER, "Search is down", user="U0CAROL")
    shortcut = driver.message_shortcut("open_case", message, user_id="U0BOB", channel_id=OTHER)
    shortcut["container"] = {"type": "message", "channel_id": ALERTS, "message_ts": message["ts"]}
    assert (await driver.post(shortcut)).status_code == 200
    await slack.wait_for(lambda: slack.responses)
    assert "two different channels" in slack.responses[-1].body["text"]
    assert slack.calls_to("views.open") == [] and kibana.requests == []
    [entry] = await audit(bot)
    assert (entry.action, entry.result, entry.user_id) == ("case", "refused", "U0BOB")


async def test_a_person_refused_when_the_form_opens_is_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    message = slack.post_as_user(OTHER, "Search is down", user="U0CAROL")
    await driver.post(driver.message_shortcut("open_case", message, user_id="U0BOB", channel_id=OTHER))
    [update] = await slack.wait_for("views.update")
    assert "responder" in slack.views[update.params["view_id"]]["blocks"][0]["text"]["text"]
    [entry] = await audit(bot)
    assert (entry.action, entry.result, entry.user_id, entry.channel) == ("case", "refused", "U0BOB", OTHER)
    assert entry.target == f"{OTHER}:{message['ts']}" and "open the form: needs responder" in entry.detail
    assert kibana.requests == []
