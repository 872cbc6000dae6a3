"""Reminders before a mute or a snooze ends (issue 27 item 4), and Kibana 9.5's alert snooze (item 3):
the thread reply that mentions whoever muted, its buttons (Extend 1 h, Let it end, Unmute now; the
snooze's), each once, forged values refused and audited; the version matrix of timed mutes."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerting.reminders import EndingRef
from tests.unit.test_long_ids_fit_slack import validated

from .conftest import KIBANA_KEY, SIGNING_SECRET, forget_start_up, make_settings
from .test_e2e_timed_mutes import (
    MUTE,
    SNOOZE,
    UNMUTE,
    UNSNOOZE,
    command,
    endings,
    menu_options,
    message_with_menu,
    posts,
    rows,
    sent,
    thread,
)


def reminders(slack: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in posts(slack) if any(b.get("block_id") == "ending_reminder" for b in p.get("blocks", []))]


def button_value(post: dict[str, Any], action_id: str) -> str:
    for block in post["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} in {post}")


async def click(driver: SlackDriver, slack: FakeSlack, reminder: dict[str, Any], action_id: str, **kw: Any) -> None:
    message = {"ts": reminder.get("ts") or "1700000000.000200", "blocks": reminder["blocks"], **reminder}
    before = len(slack.calls_to("chat.postMessage")) + len(slack.responses)
    payload = driver.block_action(action_id, button_value(reminder, action_id), message=message, **kw)
    assert (await driver.post(payload)).status_code == 200
    await slack.wait_for(lambda: len(slack.calls_to("chat.postMessage")) + len(slack.responses) > before)


async def test_a_reminder_mentions_whoever_muted_once_and_extend_moves_the_end(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    await command(driver, slack, "mute r1 host-1 for 1h")
    [row] = await rows(bot)
    end = row.ends_at
    await endings(bot).tick(end - timedelta(minutes=20))  # MUTE_END_REMINDER is 15m by default
    assert reminders(slack) == []
    await endings(bot).tick(end - timedelta(minutes=15))
    await endings(bot).tick(end - timedelta(minutes=14))  # once
    [reminder] = reminders(slack)
    assert reminder["text"].startswith("<@U0ALICE> The mute of `host-1` ends in 15 min (at ")
    validated(reminder["blocks"])
    labels = [e["text"]["text"] for b in reminder["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Extend 1 h", "Let it end", "Unmute now"]

    await click(driver, slack, slack.channel_messages("C0ALERTS")[-1], "mute_extend")
    [moved] = await rows(bot)
    assert moved.ends_at == end + timedelta(hours=1)
    assert posts(slack)[-1]["text"].startswith("<@U0ALICE> extended the mute of `host-1` by 1 hour, until ")
    assert sent(kibana) == [("POST", MUTE)]  # the bot ends it later: nothing to ask Kibana now
    await endings(bot).tick(end + timedelta(minutes=1))  # the old end: nothing
    assert sent(kibana) == [("POST", MUTE)]
    await endings(bot).tick(end + timedelta(minutes=45))  # reminded again before the new end
    assert len(reminders(slack)) == 2
    await endings(bot).tick(end + timedelta(hours=1, seconds=1))
    assert sent(kibana) == [("POST", MUTE), ("POST", UNMUTE)]


async def test_unmute_now_unmutes_and_let_it_end_leaves_it(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    await command(driver, slack, "mute r1 host-1 for 1h")
    [row] = await rows(bot)
    await endings(bot).tick(row.ends_at - timedelta(minutes=10))
    reminder = slack.channel_messages("C0ALERTS")[-1]
    await click(driver, slack, reminder, "mute_let_end")
    assert posts(slack)[-1]["text"].startswith("<@U0ALICE> lets the mute of `host-1` end at ")
    assert await rows(bot) != [] and sent(kibana) == [("POST", MUTE)]
    await click(driver, slack, reminder, "mute_end_now")
    assert sent(kibana) == [("POST", MUTE), ("POST", UNMUTE)]
    assert await rows(bot) == []
    await endings(bot).tick(row.ends_at + timedelta(minutes=1))
    assert sent(kibana) == [("POST", MUTE), ("POST", UNMUTE)]  # cancelled: not unmuted again


async def test_a_forged_reminder_value_is_refused_and_audited(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    slack.add_channel("C0OTHER", "other")
    await command(driver, slack, "mute r1 host-1 for 1h")
    [row] = await rows(bot)
    await endings(bot).tick(row.ends_at - timedelta(minutes=10))
    reminder = slack.channel_messages("C0ALERTS")[-1]
    said = []
    for value, channel, action_id in [
        (EndingRef(kind="m", row=row.id).pack(), "C0OTHER", "mute_end_now"),  # told in another channel
        (EndingRef(kind="m", row=row.id + 99).pack(), "C0ALERTS", "mute_end_now"),  # no such mute
        (EndingRef(kind="s", row=row.id).pack(), "C0ALERTS", "mute_extend"),  # a snooze's value on a mute's button
        ('{"k":"m","i":"DROP"}', "C0ALERTS", "mute_extend"),
    ]:
        message = copy.deepcopy(reminder)  # the client sends what it was made to show
        for block in message["blocks"]:
            for element in block.get("elements", []):
                if element.get("action_id") == action_id:
                    element["value"] = value
        before = len(slack.responses)
        payload = driver.block_action(action_id, value, message=message, channel_id=channel)
        assert (await driver.post(payload)).status_code == 200
        await slack.wait_for(lambda before=before: len(slack.responses) > before)
        said.append(slack.responses[-1].body["text"])
    assert sent(kibana) == [("POST", MUTE)] and len(await rows(bot)) == 1
    assert "not one the bot made" in said[0] and "already ended or been undone" in said[1]
    entries = await bot.runtime.services.store.list_audit(limit=10)
    assert len([e for e in entries if e.result == "refused" and "forged value" in e.detail]) == 4


async def test_a_rule_snooze_the_bot_made_is_reminded_and_can_be_cancelled(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    message = await message_with_menu(bot, slack)
    snooze_1h = next(
        o["value"]
        for b in message["blocks"]
        for e in b.get("elements", [])
        if e.get("action_id") == "rule_snooze"
        for o in e["options"]
        if o["text"]["text"] == "1 hour"
    )
    assert (await driver.post(driver.block_action("rule_snooze", snooze_1h, message=message))).status_code == 200
    await slack.wait_for(lambda: len(thread(slack, message)) >= 1)
    [snooze] = await bot.runtime.services.store.active_snoozes(datetime.now(UTC))
    assert (snooze.channel, snooze.thread_ts) == ("C0ALERTS", message["ts"])
    await endings(bot).tick(snooze.ends_at - timedelta(minutes=15))
    await endings(bot).tick(snooze.ends_at - timedelta(minutes=14))
    [reminder] = [m for m in thread(slack, message) if "ends in" in m["text"]]
    assert reminder["text"].startswith("<@U0ALICE> The snooze of rule `r1` ends in 15 min")
    validated(reminder["blocks"])
    await click(driver, slack, reminder, "snooze_end_now")
    assert sent(kibana)[-1] == ("DELETE", f"/api/alerting/rule/r1/snooze_schedule/{snooze.schedule_id}")
    assert await bot.runtime.services.store.active_snoozes(datetime.now(UTC)) == []


async def test_a_reminder_is_off_with_mute_end_reminder_0(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    async with running_bot(make_settings(kibana, slack, tmp_path, mute_end_reminder="0"), mode="http") as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        await command(driver, slack, "mute r1 host-1 for 1h")
        [row] = await rows(bot)
        await endings(bot).tick(row.ends_at - timedelta(minutes=1))
        assert reminders(slack) == []


# ---- Kibana 9.5: the alert snooze ---------------------------------------------------------------


@pytest.fixture
async def kibana_9_5() -> Any:
    async with FakeKibana(api_keys=(KIBANA_KEY,), version="9.5.0", license="basic") as fake:
        yield fake


async def test_on_9_5_the_menu_offers_until_it_gets_worse_and_kibana_keeps_the_snooze(
    kibana_9_5: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    kibana = kibana_9_5
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    async with running_bot(make_settings(kibana, slack, tmp_path), mode="http") as bot:
        forget_start_up(kibana)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        message = await message_with_menu(bot, slack)
        options = menu_options(message)
        assert list(options) == ["1 hour", "4 hours", "Until 09:00 tomorrow", "Until it gets worse"]
        assert (
            await driver.post(driver.block_action("alert_mute_for", options["Until it gets worse"], message=message))
        ).status_code == 200
        await slack.wait_for(lambda: len(thread(slack, message)) >= 1)
        [request] = [r for r in kibana.requests if r.path == SNOOZE]
        assert request.json == {"conditions": [{"type": "severity_change"}], "condition_operator": "any"}
        assert thread(slack, message)[-1]["text"].endswith("until it gets worse.")
        [entry] = kibana.state.rule("default", "r1").snoozed_alerts
        assert entry["alertInstanceId"] == "host-1" and "expiresAt" not in entry
        assert kibana.rule("r1")["muted_alert_ids"] == []  # a snooze, not a mute

        # unmuting by hand lifts Kibana's snooze too
        await command(driver, slack, "unmute r1 host-1")
        assert sent(kibana)[-2:] == [("POST", UNMUTE), ("POST", UNSNOOZE)]
        assert kibana.state.rule("default", "r1").snoozed_alerts == []


@pytest.mark.parametrize(
    ("version", "muted_with", "bot_unmutes"),
    [("8.15.0", MUTE, True), ("8.19.0", MUTE, True), ("9.1.0", MUTE, True), ("9.5.0", SNOOZE, False)],
)
async def test_the_version_matrix_of_timed_mutes(
    slack: FakeSlack, tmp_path: Path, version: str, muted_with: str, bot_unmutes: bool
) -> None:
    async with FakeKibana(api_keys=(KIBANA_KEY,), version=version, license="basic") as kibana:
        kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
        async with running_bot(make_settings(kibana, slack, tmp_path), mode="http") as bot:
            forget_start_up(kibana)
            driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
            answer = await command(driver, slack, "mute r1 host-1 for 1h")
            assert answer["text"].startswith("<@U0ALICE> muted alert `host-1` of rule `r1` until ")
            assert sent(kibana) == [("POST", muted_with)]
            [row] = await rows(bot)
            if not bot_unmutes:
                [request] = kibana.requests[-1:]
                expires = datetime.fromisoformat(request.json["expires_at"].replace("Z", "+00:00"))
                assert abs((expires - row.ends_at).total_seconds()) < 0.001
            worse = await command(driver, slack, "mute r1 host-1 for 1h")  # mute again: one end, replaced
            assert len(await rows(bot)) == 1 and "until" in worse["text"]
            [row] = await rows(bot)
            await endings(bot).tick(row.ends_at + timedelta(seconds=1))
            expected = [("POST", muted_with)] * 2 + ([("POST", UNMUTE)] if bot_unmutes else [])
            assert sent(kibana) == expected
            said = ":bell: The mute of `host-1` ended; " + (
                "the alert is unmuted." if bot_unmutes else "Kibana's snooze of the alert is over."
            )
            assert posts(slack)[-1]["text"] == said


async def test_a_scheduled_health_report_lists_the_mutes_and_snoozes_with_their_ends(
    bot: RunningBot, driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    from bot.scheduler import HealthScheduler

    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    kibana.add_rule(id="r2", name="Disk", active_alerts=["disk-1"])
    await command(driver, slack, "mute r1 host-1 for 2h")
    await command(driver, slack, "snooze r2 4h")
    store = bot.runtime.services.store
    subscription = await store.add_subscription(
        channel="C0ALERTS", space="default", schedule="every 5m", cron="*/5 * * * *", timezone="UTC",
        on_change=False, created_by="U0ALICE",
    )  # fmt: skip
    scheduler = bot.runtime.part(HealthScheduler)
    [group] = await scheduler.sync()
    assert await scheduler.tick(group, datetime.now(UTC)) == {subscription.id: "posted"}
    [report] = [m for m in slack.channel_messages("C0ALERTS") if m["text"].startswith("Kibana alerting health:")]
    validated(report["blocks"])
    [quieted] = [b for b in report["blocks"] if b.get("block_id") == "health_quieted"]
    [mute] = await rows(bot)
    [snooze] = await store.active_snoozes(datetime.now(UTC))
    text = quieted["text"]["text"]
    assert "• Muted: alert `host-1` of rule `r1`, until " + mute.ends_at.strftime("%Y-%m-%d %H:%M UTC") in text
    assert "• Snoozed: rule `r2`, until " + snooze.ends_at.strftime("%Y-%m-%d %H:%M UTC") in text
    assert text.count("(by <@U0ALICE>)") == 2
    assert report["blocks"][-1]["type"] == "context"  # the footer stays last


async def test_on_9_5_extend_moves_kibanas_snooze_and_the_end_is_told_not_unmuted(
    kibana_9_5: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    from devkit.fake_kibana.alert_snooze import snoozed_until

    kibana = kibana_9_5
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    async with running_bot(make_settings(kibana, slack, tmp_path), mode="http") as bot:
        forget_start_up(kibana)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        await command(driver, slack, "mute r1 host-1 for 1h")
        [row] = await rows(bot)
        assert row.how == "kibana"
        snoozes = kibana.state.rule("default", "r1").snoozed_alerts
        first = snoozed_until(snoozes, "host-1")
        assert first is not None and abs((first - row.ends_at).total_seconds()) < 0.001
        await endings(bot).tick(row.ends_at - timedelta(minutes=15))
        await click(driver, slack, slack.channel_messages("C0ALERTS")[-1], "mute_extend")
        moved = snoozed_until(kibana.state.rule("default", "r1").snoozed_alerts, "host-1")
        assert moved is not None and abs((moved - (first + timedelta(hours=1))).total_seconds()) < 0.001
        assert sent(kibana) == [("POST", SNOOZE), ("POST", SNOOZE)]  # Kibana's snooze, replaced
        await endings(bot).tick(row.ends_at + timedelta(hours=1, seconds=1))
        assert sent(kibana) == [("POST", SNOOZE), ("POST", SNOOZE)]  # Kibana ends it: no unmute
        assert posts(slack)[-1]["text"] == ":bell: The mute of `host-1` ended; Kibana's snooze of the alert is over."
