"""Text that misleads (issue 30 item 7), over real HTTP:

- control characters and Unicode's bidirectional controls in alert data (a webhook body) and in Kibana's
  names (a rule card) reach Slack visible for what they are, so that an id cannot read as another;
- during a Slack outage (Slack does not answer the bot's `auth.test`, which Bolt asks before handling any
  request) a person is told that Slack is failing, not Bolt's "reinstall this app".
"""

from __future__ import annotations

import json
from typing import Any

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .test_e2e_alerts_webhook import BODY, deliver, element, top_level

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def rendered(node: object) -> list[str]:
    """Every text Slack renders for people (not the values its client sends back to the bot)."""
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for key, value in node.items() if key not in ("value", "url") for t in rendered(value)]
    if isinstance(node, list):
        return [t for item in node for t in rendered(item)]
    return []


def everything(message: dict[str, Any]) -> str:
    return "\n".join(rendered(message))


async def test_control_and_bidi_characters_in_a_webhook_body_reach_slack_visible(
    bot: RunningBot, slack: FakeSlack
) -> None:
    body = {
        **BODY,
        "rule_name": "CPU \u202eetirw\u202c high",
        "alert_id": "host-1\u202e2-tsoh",
        "reason": "\x1b[31mred\x1b[0m and \u2066isolated\u2069",
        "tags": ["prod\u200f", "db"],
    }
    assert (await deliver(bot, body)).status_code == 200
    [message] = top_level(slack)
    shown = everything(message)
    assert not any(mark in shown for mark in BIDI) and "\x1b" not in shown
    assert "`host-1[U+202E]2-tsoh`" in shown  # the id reads as what it is
    assert "CPU [U+202E]etirw[U+202C] high" in message["blocks"][0]["text"]["text"]  # the header
    assert "[U+2066]isolated[U+2069]" in shown
    assert "`prod[U+200F]`" in shown
    # ESC never reaches the store as ESC: the webhook makes it U+FFFD (what Slack cannot show)
    assert "\ufffd[31mred\ufffd[0m" in shown
    # the buttons still name the alert itself: acting on it acts on that id
    assert json.loads(element(message, "alert_mute")["value"])["a"] == "host-1\u202e2-tsoh"


async def test_a_kibana_rule_name_with_controls_is_shown_visible_on_its_card(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id="r1", name="Disk \x1b]8;;evil\x07 full \u202egnol", tags=["\u2067ops"], active_alerts=[])
    before = len(slack.responses)
    assert (await driver.post(driver.slash_command("rule r1"))).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    card = slack.responses[-1].body
    shown = everything(card)
    assert not any(mark in shown for mark in BIDI) and "\x1b" not in shown and "\x07" not in shown
    header = next(b for b in card["blocks"] if b["type"] == "header")
    assert header["text"]["text"] == "Disk \u241b]8;;evil\u2407 full [U+202E]gnol"
    assert "`[U+2067]ops`" in shown


async def test_during_a_slack_outage_a_command_is_told_that_slack_is_failing(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    slack.fail("auth.test", "service_unavailable", status=503, times=None)
    answer = await driver.post(driver.slash_command("rule r1"))
    assert answer.status_code == 200
    assert answer.text.startswith(":warning: Slack is failing right now: it did not answer the bot")
    assert "`service_unavailable`, HTTP 503" in answer.text
    assert "reinstall" not in answer.text
    assert [r for r in kibana.requests if r.route is not None] == []  # nothing was done

    slack.clear_faults()  # Slack is back: the next command is answered, auth.test asked again
    before = len(slack.responses)
    assert (await driver.post(driver.slash_command("rule r1"))).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "CPU high" in json.dumps(slack.responses[-1].body)


async def test_during_a_slack_outage_a_click_is_told_through_its_response_url(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(bot, BODY)).status_code == 200  # posting needs no auth.test
    [message] = top_level(slack)
    slack.fail("auth.test", "internal_error", status=500, times=None)
    before = len(slack.responses)
    click = driver.block_action("alert_mute", element(message, "alert_mute")["value"], message=message)
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    told = slack.responses[-1].body
    assert told["text"].startswith(":warning: Slack is failing right now") and "reinstall" not in told["text"]
    assert told["response_type"] == "ephemeral"
    assert [r for r in kibana.requests if r.method != "GET" and r.route is not None] == []


async def test_a_refused_bot_token_is_told_as_such(bot: RunningBot, slack: FakeSlack, driver: SlackDriver) -> None:
    slack.fail("auth.test", "invalid_auth", times=None)
    answer = await driver.post(driver.slash_command("help"))
    assert answer.text.startswith(":warning: Slack refused the bot's token (`invalid_auth`)")
    assert "SLACK_BOT_TOKEN" in answer.text and "xoxb" not in answer.text


async def test_during_a_slack_outage_a_command_over_socket_mode_is_told_too(
    socket_bot: RunningBot, socket_driver: SlackDriver, slack: FakeSlack
) -> None:
    slack.fail("auth.test", "fatal_error", status=500, times=None)
    ack = await socket_driver.send_socket(socket_driver.slash_command("help"))
    told = json.dumps(ack.get("payload"))
    assert "Slack is failing right now" in told and "reinstall" not in told
