"""Reminders for unclaimed alerts (issue 27, item 2): with ALERT_CLAIM_REMINDER and ALERT_ONCALL, a firing
episode nobody pressed *I'm on it* on within that time gets exactly one reply in its thread mentioning the
on-call group; a claimed one gets none; a restart does not remind again (the reminder is in the store)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerts.claim_reminders import oncall_mention

from .conftest import SIGNING_SECRET, forget_start_up, make_settings
from .test_e2e_alerts_webhook import BODY, deliver, element

ONCALL = "S0ONCALL1"
REMINDED = "<!subteam^S0ONCALL1> nobody has said they are on rule `{rule}`'s alerts yet"


def top(slack: FakeSlack, rule: str) -> dict[str, Any] | None:
    for message in slack.channel_messages("C0ALERTS"):
        if message.get("thread_ts") in (None, message["ts"]) and f"`{rule}`" in str(message["blocks"]):
            return message
    return None


def thread(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]


def reminders(slack: FakeSlack) -> list[str]:
    return [c.params["text"] for c in slack.calls_to("chat.postMessage") if ONCALL in c.params.get("text", "")]


def now_body(rule: str, alert: str) -> dict[str, Any]:
    date = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        **BODY,
        "rule_id": rule,
        "rule_name": f"Rule {rule}",
        "alert_id": alert,
        "alert_uuid": f"uuid-{alert}",
        "date": date,
    }


def test_oncall_is_mentioned_as_slack_renders_a_group_or_a_person() -> None:
    assert oncall_mention("S0ONCALL1") == "<!subteam^S0ONCALL1>"
    assert oncall_mention("U0CAROL") == "<@U0CAROL>"


async def test_an_unclaimed_alert_gets_one_reminder_and_a_claimed_one_none(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path, alert_claim_reminder="3s", alert_oncall=ONCALL)
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=["host-1"])
    kibana.add_rule(id="r2", name="Rule r2", active_alerts=["host-2"])
    async with running_bot(settings, mode="http") as bot:
        forget_start_up(kibana)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        assert (await deliver(bot, now_body("r1", "host-1"))).status_code == 200
        assert (await deliver(bot, now_body("r2", "host-2"))).status_code == 200
        claimed = await slack.wait_for(lambda: top(slack, "r1"))
        unclaimed = await slack.wait_for(lambda: top(slack, "r2"))
        value = element(claimed, "alert_claim")["value"]
        assert (await driver.post(driver.block_action("alert_claim", value, message=claimed))).status_code == 200
        await slack.wait_for(lambda: len(thread(slack, claimed)) == 1)

        await slack.wait_for(lambda: reminders(slack), timeout=15)
        await asyncio.sleep(3)  # three more sweeps (one a second with a 3 s reminder)
        [said] = reminders(slack)
        assert said.startswith(REMINDED.format(rule="r2"))
        assert "press *I'm on it*" in said
        assert thread(slack, unclaimed) == [said]  # in the unclaimed alert's thread
        assert thread(slack, claimed) == ["<@U0ALICE> is on alert `host-1` of rule `r1`."]  # none there

    # A restart reads what is due from the store again: the episode was reminded of already.
    async with running_bot(settings, mode="http"):
        await asyncio.sleep(2.5)
    assert len(reminders(slack)) == 1


async def test_an_alert_claimed_too_late_was_reminded_of_once_and_a_new_episode_again(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    """The reminder is once per episode: the alert recovers, fires again, and the new episode is unclaimed."""
    settings = make_settings(kibana, slack, tmp_path, alert_claim_reminder="1s", alert_oncall="U0CAROL")
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=["host-1"])
    async with running_bot(settings, mode="http") as bot:
        assert (await deliver(bot, BODY)).status_code == 200  # started long ago: due at once
        first = await slack.wait_for(lambda: top(slack, "r1"))
        await slack.wait_for(lambda: any("<@U0CAROL>" in t for t in thread(slack, first)), timeout=15)
        assert (await deliver(bot, {**BODY, "state": "recovered"})).status_code == 200
        await slack.wait_for(lambda: "Recovered" in str(slack.message("C0ALERTS", first["ts"])))
        assert (await deliver(bot, {**BODY, "alert_uuid": "uuid-second", "date": BODY["date"]})).status_code == 200
        await slack.wait_for(
            lambda: (
                len(
                    [m for m in slack.channel_messages("C0ALERTS") if "thread_ts" not in m or m["thread_ts"] == m["ts"]]
                )
                == 2
            )
        )
        await slack.wait_for(
            lambda: (
                len([c for c in slack.calls_to("chat.postMessage") if "<@U0CAROL>" in c.params.get("text", "")]) == 2
            ),
            timeout=15,
        )
        await asyncio.sleep(2)
        calls = [c for c in slack.calls_to("chat.postMessage") if "<@U0CAROL>" in c.params.get("text", "")]
        assert len(calls) == 2 and calls[0].params["thread_ts"] != calls[1].params["thread_ts"]
