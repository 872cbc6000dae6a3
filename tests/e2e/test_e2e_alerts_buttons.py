"""Buttons on an alert message: the exact Kibana call, the message updated in place with a
status line, and a receipt in its thread — over signed HTTP and over Socket Mode."""

from __future__ import annotations

import re
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target

from .test_e2e_alerts_webhook import BODY, EVERY_BUTTON, action_ids, all_text, deliver, element

STATUS = re.compile(r"<@U0ALICE> (.+) at \d\d:\d\d UTC")


@pytest.fixture
async def alert(bot: RunningBot, slack: FakeSlack, kibana: FakeKibana) -> dict[str, Any]:
    """Rule r1 with active alert host-1, and its message in #alerts."""
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1", "host-2"])
    response = await deliver(bot, BODY)
    assert response.status_code == 200, response.text
    [message] = slack.channel_messages("C0ALERTS")
    return message


def writes(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.method != "GET" and r.route is not None]


def status_lines(message: dict[str, Any]) -> list[str]:
    for block in message["blocks"]:
        if block.get("block_id") == "chatops_status":
            return [e["text"] for e in block["elements"]]
    return []


def receipts(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]


def said_by_alice(slack: FakeSlack) -> list[str]:
    """The receipts of Alice's clicks posted in threads: each click's last step."""
    posts = [call.params for call in slack.calls_to("chat.postMessage") if call.response.get("ok")]
    return [p["text"] for p in posts if p.get("thread_ts") and str(p.get("text", "")).startswith("<@U0ALICE> ")]


async def click(driver: SlackDriver, slack: FakeSlack, action_id: str, value: str | None = None) -> None:
    """Click the button and wait until the bot is done with it: its receipt in the thread comes after the
    message's update. (Counting chat.update calls would not do: after a click on a group's message
    the publisher may draw it once more, handlers/alerts/redraw.py.)"""
    receipts_before = len(said_by_alice(slack))
    response = await driver.post(driver.block_action(action_id, value))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(said_by_alice(slack)) > receipts_before)


def after(*flips: tuple[str, str]) -> set[str]:
    """The buttons of a new alert message, with each (old, new) button swapped."""
    buttons = set(EVERY_BUTTON)
    for old, new in flips:
        buttons = (buttons - {old}) | {new}
        if old == "alert_mute":  # a muted alert has no Mute for… menu either
            buttons -= {"alert_mute_for"}
    return buttons


MUTED = ("alert_mute", "alert_unmute")
ALL_MUTED = ("rule_mute_all", "rule_unmute_all")
DISABLED = ("rule_disable", "rule_enable")


async def shows_outcome(
    slack: FakeSlack, message: dict[str, Any], sentence: str, *, updates: int = 1, buttons: set[str] = EVERY_BUTTON
) -> None:
    """The message was updated in place (same ts) with the status line and the buttons that now apply,
    and the receipt is in the thread."""
    await slack.wait_for(lambda: len(receipts(slack, message)) >= updates)
    update = slack.calls_to("chat.update")[updates - 1]
    assert (update.params["channel"], update.params["ts"]) == ("C0ALERTS", message["ts"])
    now = slack.message("C0ALERTS", message["ts"])
    assert now is not None
    lines = status_lines(now)
    assert STATUS.fullmatch(lines[-1]) and STATUS.fullmatch(lines[-1]).group(1) == sentence  # type: ignore[union-attr]
    assert action_ids(now) == buttons  # what applies now: Unmute after Mute, Enable after Disable…
    assert "CPU high" in all_text(now)  # re-rendered from the store, not a bare status
    assert receipts(slack, message)[-1] == f"<@U0ALICE> {sentence}."
    assert [m["ts"] for m in slack.channel_messages("C0ALERTS")] == [message["ts"]]  # no new post
    assert len(receipts(slack, message)) >= updates


@pytest.mark.parametrize(
    ("before", "action_id", "path", "sentence", "buttons"),
    [
        (
            None,
            "alert_mute",
            "/api/alerting/rule/r1/alert/host-1/_mute",
            "muted alert `host-1` of rule `r1`",
            after(MUTED),
        ),
        (
            "alert_mute",
            "alert_unmute",
            "/api/alerting/rule/r1/alert/host-1/_unmute",
            "unmuted alert `host-1` of rule `r1`",
            after(),
        ),
        (None, "rule_mute_all", "/api/alerting/rule/r1/_mute_all", "muted all alerts of rule `r1`", after(ALL_MUTED)),
        (
            "rule_mute_all",
            "rule_unmute_all",
            "/api/alerting/rule/r1/_unmute_all",
            "unmuted all alerts of rule `r1`",
            after(),
        ),
    ],
)
async def test_a_button_calls_kibana_updates_the_message_and_replies_in_its_thread(
    driver: SlackDriver,
    slack: FakeSlack,
    kibana: FakeKibana,
    alert: dict[str, Any],
    before: str | None,
    action_id: str,
    path: str,
    sentence: str,
    buttons: set[str],
) -> None:
    updates = 1
    if before is not None:  # the button is only there once its opposite was used
        await click(driver, slack, before)
        updates = 2
    await click(driver, slack, action_id)
    sent = writes(kibana)[-1]
    assert len(writes(kibana)) == updates
    assert (sent.method, sent.path) == ("POST", path)
    assert sent.headers["authorization"] == "ApiKey e2e-kibana-api-key" and "kbn-xsrf" in sent.headers
    await shows_outcome(slack, alert, sentence, updates=updates, buttons=buttons)


async def test_mute_changes_the_rule_in_kibana(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    await click(driver, slack, "alert_mute")
    assert kibana.rule("r1")["muted_alert_ids"] == ["host-1"]


async def test_snooze_for_an_hour(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    one_hour = Target(rule_id="r1", space="default", option="1h").pack()
    await click(driver, slack, "rule_snooze", one_hour)
    [sent] = writes(kibana)
    assert (sent.method, sent.path) == ("POST", "/api/alerting/rule/r1/snooze_schedule")
    assert sent.json["schedule"]["custom"]["duration"] == "1h"
    schedule_id = kibana.rule("r1")["snooze_schedule"][0]["id"]
    await shows_outcome(slack, alert, f"snoozed rule `r1` for 1h (schedule `{schedule_id}`)")


def modal(slack: FakeSlack, callback_id: str) -> dict[str, Any] | None:
    found = [v for v in slack.views.values() if v.get("callback_id") == callback_id]
    return found[-1] if found else None


async def test_snooze_for_a_custom_duration(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    custom = Target(rule_id="r1", space="default", option="custom").pack()
    await driver.post(driver.block_action("rule_snooze", custom))
    view = await slack.wait_for(lambda: modal(slack, "rule_snooze_modal"))
    assert writes(kibana) == []
    response = await driver.post(driver.view_submission(view, {"duration": {"duration": "8h"}}))
    assert response.status_code == 200
    await slack.wait_for("chat.update")
    [sent] = writes(kibana)
    assert sent.path == "/api/alerting/rule/r1/snooze_schedule"
    assert sent.json["schedule"]["custom"]["duration"] == "8h"
    schedule_id = kibana.rule("r1")["snooze_schedule"][0]["id"]
    await shows_outcome(slack, alert, f"snoozed rule `r1` for 8h (schedule `{schedule_id}`)")


@pytest.mark.parametrize("untrack", [False, True], ids=["keep-alerts", "untrack"])
async def test_disable_through_its_modal(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any], untrack: bool
) -> None:
    await driver.post(driver.block_action("rule_disable"))

    def filled() -> dict[str, Any] | None:
        view = modal(slack, "rule_disable_modal")
        return view if view is not None and view.get("submit") else None

    view = await slack.wait_for(filled)
    assert "*2* active alerts" in all_text(view)  # the modal says how many alerts are active
    choice = {"untrack": {"untrack": ["untrack"] if untrack else []}}
    response = await driver.post(driver.view_submission(view, choice))
    assert response.status_code == 200
    await slack.wait_for("chat.update")
    [sent] = writes(kibana)
    assert (sent.method, sent.path, sent.json) == ("POST", "/api/alerting/rule/r1/_disable", {"untrack": untrack})
    assert kibana.rule("r1")["enabled"] is False
    sentence = "disabled rule `r1`" + (" and untracked its alerts" if untrack else "")
    await shows_outcome(slack, alert, sentence, buttons=after(DISABLED))

    await click(driver, slack, "rule_enable")  # Enable is there now, and turns back into Disable…
    assert (writes(kibana)[-1].method, writes(kibana)[-1].path) == ("POST", "/api/alerting/rule/r1/_enable")
    await shows_outcome(slack, alert, "enabled rule `r1`", updates=2)


async def test_status_lines_pile_up_and_survive_a_webhook_update(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    await click(driver, slack, "alert_mute")
    # the driver clicks on the message as Slack shows it now (after the first update)
    await click(driver, slack, "rule_mute_all")
    await shows_outcome(slack, alert, "muted all alerts of rule `r1`", updates=2, buttons=after(MUTED, ALL_MUTED))
    now = slack.message("C0ALERTS", alert["ts"])
    assert now is not None
    assert [STATUS.fullmatch(line).group(1) for line in status_lines(now)] == [  # type: ignore[union-attr]
        "muted alert `host-1` of rule `r1`",
        "muted all alerts of rule `r1`",
    ]

    response = await deliver(bot, {**BODY, "reason": "CPU at 99%"})
    assert response.json()["status"] == "updated"
    now = slack.message("C0ALERTS", alert["ts"])
    assert now is not None
    assert "CPU at 99%" in all_text(now) and len(status_lines(now)) == 2

    await deliver(bot, {**BODY, "action_group": "recovered"})
    now = slack.message("C0ALERTS", alert["ts"])
    assert now is not None
    assert len(status_lines(now)) == 2 and "Recovered" in all_text(now)


async def test_buttons_on_a_recovered_message_still_act_on_the_rule(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    await deliver(bot, {**BODY, "action_group": "recovered"})
    await click(driver, slack, "rule_mute_all")
    await slack.wait_for(lambda: len(receipts(slack, alert)) >= 2)  # the recovery reply and the receipt
    now = slack.message("C0ALERTS", alert["ts"])
    assert now is not None
    assert action_ids(now) == after(ALL_MUTED) - {"alert_mute", "alert_mute_for", "alert_unmute", "alert_claim"}
    assert STATUS.fullmatch(status_lines(now)[-1])


async def test_kibana_failing_leaves_the_message_alone_and_tells_the_person(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    kibana.fault("POST", r".*/_mute", status=500, times=None)
    before = len(slack.responses)
    await driver.post(driver.block_action("alert_mute"))
    await slack.wait_for(lambda: len(slack.responses) > before, timeout=10)
    answer = slack.responses[-1].body
    assert answer["response_type"] == "ephemeral"
    assert slack.calls_to("chat.update") == []
    assert receipts(slack, alert) == []


async def test_a_responder_may_not_mute_all_from_the_message(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    slack.add_user("U0BOB", "bob")
    before = len(slack.responses)
    await driver.post(driver.block_action("rule_mute_all", user_id="U0BOB"))
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "operator" in slack.responses[-1].body["text"]
    assert writes(kibana) == []
    assert slack.calls_to("chat.update") == []


async def test_the_case_button_carries_the_alert(alert: dict[str, Any]) -> None:
    target = Target.unpack(element(alert, "case_open")["value"])
    assert target == Target(rule_id="r1", space="default", alert_id="host-1", alert_uuid=BODY["alert_uuid"])


async def test_a_button_over_socket_mode(
    socket_bot: RunningBot, socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await deliver(socket_bot, BODY)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    ack = await socket_driver.send_socket(socket_driver.block_action("alert_mute"))
    assert "envelope_id" in ack
    await slack.wait_for("chat.update")
    [sent] = writes(kibana)
    assert sent.path == "/api/alerting/rule/r1/alert/host-1/_mute"
    await shows_outcome(slack, message, "muted alert `host-1` of rule `r1`", buttons=after(MUTED))


async def test_when_the_update_fails_the_receipt_still_records_the_action(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, alert: dict[str, Any]
) -> None:
    slack.fail("chat.update", "message_not_found")
    await driver.post(driver.block_action("alert_mute"))
    await slack.wait_for(lambda: receipts(slack, alert))
    assert receipts(slack, alert) == ["<@U0ALICE> muted alert `host-1` of rule `r1`."]
    assert [call.ok for call in slack.calls_to("chat.update")] == [False]
    assert kibana.rule("r1")["muted_alert_ids"] == ["host-1"]
