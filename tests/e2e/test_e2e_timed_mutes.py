"""Mutes that end (issue 27 items 3 and 4), over real signed HTTP against the fake Kibana and Slack:
`mute … for/until`, the Mute for… menu, the bot's own unmute at the end (before Kibana 9.5) or
Kibana's alert snooze (9.5), a person's unmute cancelling the end, `mute-all … for`, the reminder
before the end and its buttons, and what Kibana received and the channel saw at each step.

Time passes by calling the replica's own loop (`MuteEndings.tick`) with a later `now`: the same
code the background task runs every CHECK_SECONDS, against the same store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting.mute_endings import MuteEndings
from tests.unit.test_long_ids_fit_slack import validated

from .test_e2e_alerts_webhook import BODY, deliver

MUTE = "/api/alerting/rule/r1/alert/host-1/_mute"
UNMUTE = "/api/alerting/rule/r1/alert/host-1/_unmute"
SNOOZE = "/api/alerting/rule/r1/alert/host-1/_snooze"
UNSNOOZE = "/api/alerting/rule/r1/alert/host-1/_unsnooze"


def sent(kibana: FakeKibana) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in kibana.requests if r.route is not None and r.method != "GET"]


def endings(bot: RunningBot) -> MuteEndings:
    return bot.runtime.part(MuteEndings)


async def command(driver: SlackDriver, slack: FakeSlack, text: str) -> dict[str, Any]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text))
    assert response.status_code == 200
    if response.content and response.json().get("text"):
        return dict(response.json())  # answered in the ack (a usage error)
    await slack.wait_for(lambda: len(slack.responses) > before)
    return dict(slack.responses[before].body)


def posts(slack: FakeSlack, channel: str = "C0ALERTS") -> list[dict[str, Any]]:
    return [c.params for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == channel]


async def rows(bot: RunningBot) -> list[Any]:
    return await bot.runtime.services.store.active_timed_mutes()


async def test_mute_for_an_hour_is_unmuted_by_the_bot_at_its_end_and_the_channel_is_told(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    answer = await command(driver, slack, "mute r1 host-1 for 1h")
    assert sent(kibana) == [("POST", MUTE)]
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("<@U0ALICE> muted alert `host-1` of rule `r1` until ")
    assert answer["text"].endswith(" UTC.")
    assert kibana.rule("r1")["muted_alert_ids"] == ["host-1"]
    [row] = await rows(bot)
    assert row.how == "bot" and row.alert_id == "host-1" and row.created_by == "U0ALICE"
    end = row.ends_at
    assert timedelta(minutes=59) < end - datetime.now(UTC) <= timedelta(hours=1)

    await endings(bot).tick(end - timedelta(minutes=30))  # not yet: nothing happens
    assert sent(kibana) == [("POST", MUTE)] and posts(slack) == []

    await endings(bot).tick(end + timedelta(seconds=1))
    assert sent(kibana) == [("POST", MUTE), ("POST", UNMUTE)]
    assert kibana.rule("r1")["muted_alert_ids"] == []
    told = [p["text"] for p in posts(slack)]
    assert told[-1] == ":bell: The mute of `host-1` ended; the alert is unmuted."
    assert await rows(bot) == []
    await endings(bot).tick(end + timedelta(minutes=5))  # once: the row is gone
    assert len(sent(kibana)) == 2 and len(posts(slack)) == len(told)
    [ended, muted] = await bot.runtime.services.store.list_audit(rule_id="r1", limit=5)
    assert (ended.action, ended.user_id, ended.result) == ("unmute", "U0ALICE", "ok")
    assert ended.detail == "the end the person set, made by the bot"
    assert (muted.action, muted.result) == ("mute", "ok")


@pytest.mark.parametrize(
    ("words", "hour", "minute", "tomorrow"),
    [("until 23:59", 23, 59, None), ("until tomorrow 09:00", 9, 0, True)],
)
async def test_until_a_time_of_day_in_the_tz_setting(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Any, words: str, hour: int, minute: int, tomorrow: bool | None
) -> None:
    from zoneinfo import ZoneInfo

    from devkit.harness import running_bot

    from .conftest import SIGNING_SECRET, forget_start_up, make_settings

    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    async with running_bot(make_settings(kibana, slack, tmp_path, tz="Europe/Paris"), mode="http") as bot:
        forget_start_up(kibana)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        answer = await command(driver, slack, f"mute r1 host-1 {words}")
        [row] = await rows(bot)
    local = row.ends_at.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.hour, local.minute) == (hour, minute)
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    if tomorrow:
        assert local.date() == today + timedelta(days=1)
    assert row.ends_at > datetime.now(UTC)
    assert f"{hour:02d}:{minute:02d} CE" in answer["text"]  # CET or CEST: said in the TZ setting's zone


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("mute r1 host-1 for", "Say when the mute ends"),
        ("mute r1 host-1 for 5y", "is not a duration"),
        ("mute r1 host-1 until 25:00", "is not a time"),
        ("mute r1 host-1 until next week", "Say when the mute ends"),
        ("mute r1 host-1 for 400d", "between 1 minute and 365 days"),
        ("mute-all r1 for soon", "is not a duration"),
    ],
)
async def test_a_malformed_end_gets_the_usage_and_reaches_no_kibana(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, text: str, says: str
) -> None:
    answer = await command(driver, slack, text)
    assert says in answer["text"] and answer["response_type"] == "ephemeral"
    assert "for <duration> | until <time>" in answer["text"]  # the usage line
    assert sent(kibana) == []


async def test_until_a_time_that_has_passed_is_refused(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    answer = await command(driver, slack, "mute r1 host-1 until 2020-01-01T00:00")
    assert "That end is not one the bot accepts" in answer["text"] and "has passed" in answer["text"]
    assert sent(kibana) == [] and await rows(bot) == []


async def test_unmuting_by_hand_cancels_the_end(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    await command(driver, slack, "mute r1 host-1 for 2h")
    [row] = await rows(bot)
    await command(driver, slack, "unmute r1 host-1")
    assert await rows(bot) == []
    await endings(bot).tick(row.ends_at + timedelta(minutes=1))
    assert sent(kibana) == [("POST", MUTE), ("POST", UNMUTE)]  # the person's unmute only
    assert posts(slack) == []  # no end told, no reminder


async def test_mute_all_for_a_while_is_confirmed_then_unmuted_all_at_its_end(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1", "host-2"])
    confirm = await command(driver, slack, "mute-all r1 for 2h")
    assert "(for 2h)" in confirm["text"] or "for 2h" in json.dumps(confirm["blocks"])
    validated(confirm["blocks"])
    assert sent(kibana) == []  # asked first
    [button] = [
        e
        for b in confirm["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "rule_mute_all"
    ]
    click = driver.block_action(
        "rule_mute_all", button["value"], message={"ts": "1.2", "blocks": confirm["blocks"]}, is_ephemeral=True
    )
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: ("POST", "/api/alerting/rule/r1/_mute_all") in sent(kibana))
    await slack.wait_for(lambda: len(slack.responses) >= 2)
    assert "muted all alerts of rule `r1` until " in json.dumps([r.body for r in slack.responses])
    [row] = await rows(bot)
    assert row.alert_id is None and row.how == "bot"
    await endings(bot).tick(row.ends_at + timedelta(seconds=1))
    assert sent(kibana)[-1] == ("POST", "/api/alerting/rule/r1/_unmute_all")
    assert posts(slack)[-1]["text"] == ":bell: The mute of all alerts of rule `r1` ended; its alerts are unmuted."
    assert kibana.rule("r1")["mute_all"] is False


async def message_with_menu(bot: RunningBot, slack: FakeSlack) -> dict[str, Any]:
    response = await deliver(bot, BODY)
    assert response.status_code == 200, response.text
    [message] = slack.channel_messages("C0ALERTS")
    return message


def menu_options(message: dict[str, Any]) -> dict[str, str]:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "alert_mute_for":
                return {o["text"]["text"]: o["value"] for o in element["options"]}
    return {}


def thread(slack: FakeSlack, message: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]


async def test_the_mute_for_menu_mutes_4_hours_and_the_thread_is_told_at_the_end(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    message = await message_with_menu(bot, slack)
    validated(message["blocks"])
    options = menu_options(message)
    assert list(options) == ["1 hour", "4 hours", "Until 09:00 tomorrow"]  # 8.19: no "until it gets worse"
    click = driver.block_action("alert_mute_for", options["4 hours"], message=message)
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: len(thread(slack, message)) >= 1)
    assert sent(kibana) == [("POST", MUTE)]
    assert thread(slack, message)[-1]["text"].startswith("<@U0ALICE> muted alert `host-1` of rule `r1` until ")
    now = slack.message("C0ALERTS", message["ts"])
    assert now is not None and menu_options(now) == {}  # muted: Unmute alert instead
    [row] = await rows(bot)
    assert row.thread_ts == message["ts"] and row.channel == "C0ALERTS"
    assert timedelta(hours=3, minutes=59) < row.ends_at - datetime.now(UTC) <= timedelta(hours=4)

    await endings(bot).tick(row.ends_at + timedelta(seconds=1))
    assert sent(kibana)[-1] == ("POST", UNMUTE)
    await slack.wait_for(lambda: thread(slack, message)[-1]["text"].startswith(":bell:"))
    assert thread(slack, message)[-1]["text"] == ":bell: The mute of `host-1` ended; the alert is unmuted."
    redrawn = slack.message("C0ALERTS", message["ts"])
    assert redrawn is not None and "4 hours" in menu_options(redrawn)  # it shows Mute again
    validated(redrawn["blocks"])


async def test_a_forged_menu_choice_naming_another_rule_is_refused_and_audited(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    kibana.add_rule(id="r2", name="Other", active_alerts=["host-1"])
    message = await message_with_menu(bot, slack)
    forged = json.dumps({"r": "r2", "s": "default", "a": "host-1", "o": "for:1h"}, separators=(",", ":"))
    for block in message["blocks"]:  # the client sends what it was made to show
        for element in block.get("elements", []):
            if element.get("action_id") == "alert_mute_for":
                element["options"][0]["value"] = forged
    before = len(slack.responses)
    assert (await driver.post(driver.block_action("alert_mute_for", forged, message=message))).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    said = slack.responses[-1].body["text"]
    assert said.startswith("That choice names alert `host-1` of rule `r2`, which this message does not show")
    assert sent(kibana) == [] and await rows(bot) == []
    entries = await bot.runtime.services.store.list_audit(limit=5)
    assert any(e.result == "refused" and e.action == "mute" and "forged value" in e.detail for e in entries)


async def test_the_mute_for_menu_over_socket_mode(
    socket_bot: RunningBot, socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    message = await message_with_menu(socket_bot, slack)
    one_hour = menu_options(message)["1 hour"]
    ack = await socket_driver.send_socket(socket_driver.block_action("alert_mute_for", one_hour, message=message))
    assert "envelope_id" in ack
    await slack.wait_for(lambda: len(thread(slack, message)) >= 1)
    assert sent(kibana) == [("POST", MUTE)]
    [row] = await rows(socket_bot)
    assert timedelta(minutes=59) < row.ends_at - datetime.now(UTC) <= timedelta(hours=1)
    await endings(socket_bot).tick(row.ends_at + timedelta(seconds=1))
    assert sent(kibana)[-1] == ("POST", UNMUTE)
    await slack.wait_for(lambda: thread(slack, message)[-1]["text"].startswith(":bell:"))


async def test_a_kibana_outage_at_the_end_is_tried_again_and_a_rule_that_is_gone_is_told_once(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    kibana.add_rule(id="r2", name="Disk", active_alerts=["disk-1"])
    await command(driver, slack, "mute r1 host-1 for 1h")
    await command(driver, slack, "mute r2 disk-1 for 1h")
    ends = {row.rule_id: row.ends_at for row in await rows(bot)}
    at = max(ends.values()) + timedelta(seconds=1)
    kibana.fault("POST", r".*/r1/alert/host-1/_unmute", status=503, times=None)  # Kibana down for r1's end
    del kibana.state.rules[("default", "r2")]  # r2 was deleted in Kibana meanwhile
    await endings(bot).tick(at)
    assert [r.rule_id for r in await rows(bot)] == ["r1"]  # r1's end waits for Kibana; r2's is done
    assert posts(slack)[-1]["text"] == (
        ":bell: The mute of `disk-1` ended, but Kibana no longer has rule `r2` (space `default`), "
        "so there was nothing to unmute."
    )
    kibana.clear_faults()
    await endings(bot).tick(at + timedelta(seconds=15))  # the next look
    assert await rows(bot) == []
    assert posts(slack)[-1]["text"] == ":bell: The mute of `host-1` ended; the alert is unmuted."
    assert kibana.rule("r1")["muted_alert_ids"] == []
    assert len([p for p in posts(slack) if p["text"].startswith(":bell:")]) == 2
