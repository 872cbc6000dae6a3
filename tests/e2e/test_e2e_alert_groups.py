"""A rule's alerts as one group message: a storm adds no messages, every alert is counted once, the
thread keeps a compact log, buttons and menus act on the group, a restart loses nothing, and
closed episodes are pruned after ALERT_HISTORY_DAYS."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack, PerSecond, RateLimits
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.alerts import delivery
from handlers.alerts.history import AlertHistoryRetention

from .conftest import make_settings
from .test_e2e_alerts_webhook import BODY, accepted, action_ids, all_text, deliver, element, kibana_sends, top_level


def storm(rule: str, alerts: range, *, recovered: bool = False) -> list[dict[str, Any]]:
    state = "recovered" if recovered else "active"
    return [
        {
            **BODY,
            "rule_id": rule,
            "rule_name": f"Rule {rule}",
            "alert_id": f"{rule}-host-{n}",
            "alert_uuid": f"{rule}-uuid-{n}",
            "state": state,
            "action_group": "recovered" if recovered else "threshold met",
            "reason": f"host {n} {'is fine' if recovered else 'is hot'}",
        }
        for n in alerts
    ]


def counts(message: dict[str, Any]) -> tuple[int, int]:
    text = all_text(message)
    firing = re.search(r"\*Firing\*\\n(\d+)", text)
    recovered = re.search(r"\*Recovered\*\\n(\d+)", text)
    assert firing and recovered, text
    return int(firing.group(1)), int(recovered.group(1))


def log(slack: FakeSlack, message: dict[str, Any], channel: str = "C0ALERTS") -> list[str]:
    return [m["text"] for m in slack.thread(channel, message["ts"]) if m["ts"] != message["ts"]]


async def settled(slack: FakeSlack, channel: str, expected: dict[str, tuple[int, int]]) -> dict[str, dict[str, Any]]:
    """Wait until each rule's (by name) one message shows the expected (firing, recovered) counts."""

    def state() -> dict[str, dict[str, Any]] | None:
        found: dict[str, dict[str, Any]] = {}
        for message in top_level(slack, channel):
            for name in expected:
                if f"Rule {name}" in all_text(message):
                    found[name] = message
        if set(found) != set(expected):
            return None
        if any(counts(found[name]) != wanted for name, wanted in expected.items()):
            return None
        return found

    result = await slack.wait_for(state, timeout=30)
    assert isinstance(result, dict)
    return result


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deliveries answer without waiting long for Slack (202 queued): a storm is sent fast."""
    monkeypatch.setattr(delivery, "WAIT_FOR_SLACK", 0.2)


async def test_a_storm_of_two_rules_gives_two_messages_and_counts_every_alert(
    bot: RunningBot, slack: FakeSlack, quick: None
) -> None:
    # Slack's rate limits on, and posts into a channel stricter than the bot's own pacing (one every
    # 2 s, no burst), so that Slack answers 429 and the bot must wait Retry-After
    limits = slack.limit_rates(RateLimits(post_per_channel=PerSecond(rate=0.5, burst=1)))
    bodies = storm("r1", range(60)) + storm("r2", range(40))
    # every action ends ok; on a slow machine some are booked (429) and get in when Kibana runs them again
    assert accepted(await kibana_sends(bot, bodies))
    assert accepted(await kibana_sends(bot, bodies[::7]))  # Kibana's retries of deliveries that got in

    found = await settled(slack, "C0ALERTS", {"r1": (60, 0), "r2": (40, 0)})
    assert len(top_level(slack)) == 2  # the storm added no messages
    posts = [c for c in slack.calls_to("chat.postMessage") if c.status == 200 and "thread_ts" not in c.params]
    assert len(posts) == 2  # one post per rule; everything else was an update or a line in its thread
    r1 = found["r1"]
    menu = element(r1, "alert_mute")
    assert menu["type"] == "static_select" and len(menu["options"]) == 60
    assert {"rule_mute_all", "rule_disable", "rule_snooze", "case_open", "rule_link"} <= action_ids(r1)
    logged = await slack.wait_for(
        lambda: (
            log(slack, r1)
            if sum(
                int(m.group(1)) for line in log(slack, r1) if (m := re.match(r":rotating_light: (\d+) firing", line))
            )
            >= 59
            else None
        )
    )
    assert logged and all(line.startswith(":rotating_light:") for line in logged)
    # every alert is logged once, but the first when the message was posted for it alone
    posted = next(c for c in slack.calls_to("chat.postMessage") if "Rule r1" in json.dumps(c.params))
    alone = "alert r1-host-" in posted.params["text"]
    firing_logged = [re.match(r":rotating_light: (\d+) firing", line) for line in logged]
    assert sum(int(m.group(1)) for m in firing_logged if m) == (59 if alone else 60)

    # the recovery wave: each group says so, and the episode closes
    assert accepted(await kibana_sends(bot, storm("r1", range(60), recovered=True)))
    assert accepted(await kibana_sends(bot, storm("r2", range(40), recovered=True)))
    found = await settled(slack, "C0ALERTS", {"r1": (0, 60), "r2": (0, 40)})
    assert "All 60 alerts recovered" in all_text(found["r1"])
    assert "alert_mute" not in action_ids(found["r1"])
    await slack.wait_for(lambda: "this episode is closed" in log(slack, found["r1"])[-1])
    assert len(top_level(slack)) == 2

    # the next alert of r1 starts a new episode: a new message
    fresh = await deliver(bot, storm("r1", range(100, 101))[0])
    assert fresh.status_code in (200, 202)
    await slack.wait_for(lambda: len(top_level(slack)) == 3)
    assert limits.total_ratelimited > 0  # Slack did say wait…
    assert limits.early_calls == 0  # …and no call came before its Retry-After had passed


async def test_buttons_and_menus_act_on_the_group_message(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=[f"r1-host-{n}" for n in range(3)])
    for body in storm("r1", range(3)):
        assert (await deliver(bot, body)).status_code == 200
    [message] = top_level(slack)
    await settled(slack, "C0ALERTS", {"r1": (3, 0)})
    message = slack.message("C0ALERTS", message["ts"]) or message
    one = Target(rule_id="r1", space="default", alert_id="r1-host-1", alert_uuid="r1-uuid-1").pack()
    updates = len(slack.calls_to("chat.update"))
    response = await driver.post(driver.block_action("alert_mute", one, message=message))
    assert response.status_code == 200
    await slack.wait_for(lambda: any(r.path.endswith("/r1/alert/r1-host-1/_mute") for r in kibana.requests))
    await slack.wait_for("chat.update", count=updates + 1)

    def muted_menu() -> dict[str, Any] | None:
        now = slack.message("C0ALERTS", message["ts"])
        return element(now, "alert_unmute") if now and "alert_unmute" in action_ids(now) else None

    menu = await slack.wait_for(muted_menu)
    assert [Target.unpack(o["value"]).alert_id for o in menu["options"]] == ["r1-host-1"]
    now = slack.message("C0ALERTS", message["ts"])
    assert now is not None
    assert [Target.unpack(o["value"]).alert_id for o in element(now, "alert_mute")["options"]] == [
        "r1-host-2",
        "r1-host-0",
    ]
    assert "muted alert `r1-host-1`" in all_text(now)  # the status line


async def test_a_restart_in_the_middle_of_a_storm_loses_nothing(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, quick: None
) -> None:
    settings = make_settings(kibana, slack, tmp_path)
    limits = slack.limit_rates()  # Slack's own limits, and on top of them a Slack that says wait to every post:
    slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=2, times=None)
    async with running_bot(settings) as first:
        sent = await kibana_sends(first, storm("r1", range(25)))
        assert accepted(sent)  # stored and queued: Slack's 429s never refuse a delivery
        assert {seen[-1] for _, seen in sent} == {202}
    assert top_level(slack) == []  # nothing could be posted before the restart
    slack.clear_faults()
    async with running_bot(settings) as second:
        assert accepted(await kibana_sends(second, storm("r1", range(25, 40))))
        found = await settled(slack, "C0ALERTS", {"r1": (40, 0)})
    assert len(top_level(slack)) == 1
    assert found["r1"]["ts"] == top_level(slack)[0]["ts"]
    assert limits.early_calls == 0


async def test_closed_episodes_are_pruned_after_alert_history_days(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    """A closed episode (its group, its alerts' keys, what its message shows) goes ALERT_HISTORY_DAYS
    after it closed; an open one stays. A button on the old message still acts and leaves a receipt."""
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=["r1-host-0"])
    assert (await deliver(bot, storm("r1", range(1))[0])).status_code == 200
    assert (await deliver(bot, storm("r1", range(1), recovered=True)[0])).status_code in (200, 202)
    [old] = top_level(slack)
    await slack.wait_for(lambda: "Recovered: Rule r1" in str(slack.message("C0ALERTS", old["ts"])))
    store = bot.runtime.services.store
    for _ in range(200):  # the publisher closes the episode once Slack shows its last state
        old_group = await store.alert_group_at(channel="C0ALERTS", ts=old["ts"])
        if old_group is not None and old_group.closed_at is not None:
            break
        await asyncio.sleep(0.05)
    assert old_group is not None and old_group.closed_at is not None
    assert (await deliver(bot, storm("r2", range(1))[0])).status_code == 200  # r2's episode is open
    [open_message] = [m for m in top_level(slack) if m["ts"] != old["ts"]]

    retention = bot.runtime.part(AlertHistoryRetention)
    assert bot.runtime.services.settings.alert_history_days == 30
    assert await retention.prune_once() == 0  # closed a moment ago: kept
    assert await retention.prune_once(datetime.now(UTC) + timedelta(days=29)) == 0
    assert await retention.prune_once(datetime.now(UTC) + timedelta(days=31)) == 1
    assert await store.alert_group_at(channel="C0ALERTS", ts=old["ts"]) is None
    assert await store.alert_group(old_group.id) is None
    assert await store.get_alert_content(channel="C0ALERTS", ts=old["ts"]) is None
    assert await store.alert_group_at(channel="C0ALERTS", ts=open_message["ts"]) is not None
    assert await retention.prune_once(datetime.now(UTC) + timedelta(days=31)) == 0  # idempotent

    updates = len(slack.calls_to("chat.update"))
    rule = Target(rule_id="r1", space="default").pack()
    assert (await driver.post(driver.block_action("rule_mute_all", rule, message=old))).status_code == 200
    await slack.wait_for(lambda: "<@U0ALICE> muted all alerts of rule `r1`." in log(slack, old))
    assert kibana.rule("r1")["mute_all"] is True
    assert len(slack.calls_to("chat.update")) == updates  # nothing left to re-draw it from: left as it was
