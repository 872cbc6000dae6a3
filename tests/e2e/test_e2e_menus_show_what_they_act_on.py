"""Menus and buttons act only on what their message shows (issue 30 item 5), and fit Slack's limits
whatever the ids (issue 25 item 6):

- a rule whose id is 255 characters is snoozed from its alert message and from its group message (the
  snooze menu's options name the alert's row, sealed, as the alert menus do) and from its rule card
  (a *Snooze…* button that opens the form);
- a valid but forged value (an alert of another rule, of another space, of another episode; another
  message's sealed reference) is refused with a sentence, audited, and nothing reaches Kibana;
- a closed episode's *Mute all* is not carried into the rule's next episode.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.alerts import delivery

from .conftest import SIGNING_SECRET, make_settings
from .databases import database_url
from .test_e2e_alert_groups import settled, storm
from .test_e2e_alerts_webhook import BODY, action_ids, deliver, element, top_level

__all__ = ["database_url"]  # the fixture: every test here runs on each backend (the checks read the store)


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, database_url: str) -> Settings:
    return make_settings(kibana, slack, tmp_path, database_url=database_url)


LONG_RULE = "rule-" + "0123456789abcdef" * 15 + "x" * 10  # 255 characters, a valid Kibana rule id
assert len(LONG_RULE) == 255


def writes(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.method != "GET" and r.route is not None]


def snoozed(kibana: FakeKibana, rule: str) -> list[Any]:
    return [r for r in writes(kibana) if r.path == f"/api/alerting/rule/{rule}/snooze_schedule"]


def receipts(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]


async def choose(driver: SlackDriver, message: dict[str, Any], action_id: str, value: str) -> None:
    response = await driver.post(driver.block_action(action_id, value, message=message))
    assert response.status_code == 200


async def test_a_rule_with_a_255_character_id_is_snoozed_from_its_messages(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id=LONG_RULE, name="Long rule", active_alerts=["host-1", "host-2"])
    one = {**BODY, "rule_id": LONG_RULE, "rule_name": "Long rule", "rule_url": ""}
    assert (await deliver(bot, one)).status_code == 200
    [message] = top_level(slack)
    menu = element(message, "rule_snooze")
    assert menu["type"] == "static_select"
    assert [o["text"]["text"] for o in menu["options"]] == ["1 hour", "4 hours", "1 day", "Custom…"]
    assert all(len(o["value"]) <= 150 for o in menu["options"])  # what Slack carries (the fake checks it too)

    await choose(driver, message, "rule_snooze", menu["options"][0]["value"])
    await slack.wait_for(lambda: len(snoozed(kibana, LONG_RULE)) == 1)
    assert snoozed(kibana, LONG_RULE)[0].json["schedule"]["custom"]["duration"] == "1h"
    await slack.wait_for(lambda: any("snoozed rule" in r and "for 1h" in r for r in receipts(slack, message)))

    # a second alert turns the message into the group message: its snooze menu names the rule too
    two = {**one, "alert_id": "host-2", "alert_uuid": "uuid-2"}
    assert (await deliver(bot, two)).status_code in (200, 202)

    def group_menu() -> dict[str, Any] | None:
        now = slack.message("C0ALERTS", message["ts"])
        return (
            element(now, "rule_snooze")
            if now and "alert_mute" in action_ids(now) and "2 firing" in now["text"]
            else None
        )

    menu = await slack.wait_for(group_menu)
    now = slack.message("C0ALERTS", message["ts"])
    assert now is not None
    await choose(driver, now, "rule_snooze", menu["options"][2]["value"])
    await slack.wait_for(lambda: len(snoozed(kibana, LONG_RULE)) == 2)
    assert snoozed(kibana, LONG_RULE)[1].json["schedule"]["custom"]["duration"] == "1d"
    assert len(top_level(slack)) == 1


async def test_the_rule_card_of_a_255_character_id_snoozes_through_its_form(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id=LONG_RULE, name="Long rule", active_alerts=["a"])
    before = len(slack.responses)
    assert (await driver.post(driver.slash_command(f"rule {LONG_RULE}"))).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) > before)
    card = slack.responses[-1].body
    assert "blocks" in card, card  # the card itself, not a refusal of its blocks
    snooze = element(card, "rule_snooze")
    assert snooze["type"] == "button" and len(snooze["value"]) <= 2000
    payload = driver.block_action("rule_snooze", snooze["value"], message={**card, "ts": "1.000001"}, is_ephemeral=True)
    assert (await driver.post(payload)).status_code == 200
    view = await slack.wait_for(
        lambda: next((v for v in slack.views.values() if v.get("callback_id") == "rule_snooze_modal"), None)
    )
    assert (await driver.post(driver.view_submission(view, {"duration": {"duration": "2h"}}))).status_code == 200
    await slack.wait_for(lambda: len(snoozed(kibana, LONG_RULE)) == 1)
    assert snoozed(kibana, LONG_RULE)[0].json["schedule"]["custom"]["duration"] == "2h"


async def test_forged_menu_and_button_values_are_refused_and_audited(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=["r1-host-0", "r1-host-1"])
    kibana.add_rule(id="r2", name="Rule r2", active_alerts=["r2-host-0"])
    kibana.add_rule(id="r1", name="Rule r1 in ops", space="ops", active_alerts=["r1-host-0"])
    for body in storm("r1", range(2)) + storm("r2", range(2)):
        assert (await deliver(bot, body)).status_code in (200, 202)
    found = await settled(slack, "C0ALERTS", {"r1": (2, 0), "r2": (2, 0)})
    r1, r2 = copy.deepcopy(found["r1"]), found["r2"]  # r1: the copy a forging client changes
    r2_reference = element(r2, "rule_snooze")["options"][0]["value"]
    forged = [
        ("alert_mute", Target(rule_id="r2", alert_id="r2-host-0", alert_uuid="r2-uuid-0")),  # another rule
        ("alert_mute", Target(rule_id="r1", space="ops", alert_id="r1-host-0", alert_uuid="r1-uuid-0")),  # space
        ("alert_mute", Target(rule_id="r1", alert_id="r1-host-7", alert_uuid="r1-uuid-7")),  # not in the group
        ("alert_mute", Target(rule_id="r1", alert_id="r1-host-0", alert_uuid="r1-uuid-OTHER")),  # another episode
        ("rule_snooze", Target(rule_id="r2", option="1h")),  # another rule's snooze
    ]
    said = []
    for action_id, target in forged:
        value = target.pack()
        menu = element(r1, action_id)
        menu["options"][0]["value"] = value  # the client sends what it was made to show
        before = len(slack.responses)
        await choose(driver, r1, action_id, value)
        await slack.wait_for(lambda before=before: len(slack.responses) > before)
        said.append(slack.responses[-1].body["text"])
    # and a button of r2's message pasted on r1's: a rule write the message does not show
    mute_all = element(r1, "rule_mute_all")
    mute_all["value"] = Target(rule_id="r2").pack()
    before = len(slack.responses)
    await choose(driver, r1, "rule_mute_all", mute_all["value"])
    await slack.wait_for(lambda: len(slack.responses) > before)
    said.append(slack.responses[-1].body["text"])

    assert said[0].startswith("That choice names alert `r2-host-0` of rule `r2`, which this message does not show")
    assert said[2].startswith("That choice names alert `r1-host-7` of rule `r1`, which this message does not show")
    assert said[4].startswith("That choice names rule `r2`, which this message does not show")
    assert all("nothing was done" in s for s in said), said
    assert writes(kibana) == []
    assert not any("<@U0ALICE>" in r for r in receipts(slack, r1))  # no receipt landed on r1's message
    entries = await bot.runtime.services.store.list_audit(limit=20)
    refused = [(e.action, e.result) for e in entries if "forged value" in e.detail]
    assert sorted(refused) == sorted([("mute", "refused")] * 4 + [("snooze", "refused"), ("mute-all", "refused")])

    # the snooze option of r2's message is a real value of the bot's, but not one r1's message shows
    # (a sealed reference, when r2's id is long; here the Target itself): r1's message refuses it as well
    menu = element(r1, "rule_snooze")
    menu["options"][0]["value"] = r2_reference
    before = len(slack.responses)
    await choose(driver, r1, "rule_snooze", r2_reference)
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "which this message does not show" in slack.responses[-1].body["text"]
    assert writes(kibana) == []

    # Open case with another rule's alert: refused before its form opens
    case_open = element(r1, "case_open")
    case_open["value"] = Target(rule_id="r2", alert_id="r2-host-0", alert_uuid="r2-uuid-0").pack()
    views, before = len(slack.views), len(slack.responses)
    await choose(driver, r1, "case_open", case_open["value"])
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "alert `r2-host-0` of rule `r2`, which this message does not show" in slack.responses[-1].body["text"]
    assert len(slack.views) == views

    # what the message does show still acts
    r1_now = slack.message("C0ALERTS", r1["ts"])
    assert r1_now is not None
    shown = element(r1_now, "alert_mute")["options"][0]["value"]
    await choose(driver, r1_now, "alert_mute", shown)
    await slack.wait_for(lambda: len(writes(kibana)) == 1)
    assert writes(kibana)[0].path.startswith("/api/alerting/rule/r1/alert/r1-host-")


async def test_a_forged_reference_to_an_alert_of_another_message_is_refused(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    """A sealed reference the bot made, for an alert of rule R2's message, chosen on R1's message."""
    r1_long, r2_long = LONG_RULE[:-1] + "1", LONG_RULE[:-1] + "2"
    for rule in (r1_long, r2_long):
        kibana.add_rule(id=rule, name=f"Rule {rule[-1]}", active_alerts=["h-0", "h-1"])
        for n in range(2):
            body = {**BODY, "rule_id": rule, "rule_name": f"Rule {rule[-1]}", "rule_url": ""}
            assert (
                await deliver(bot, {**body, "alert_id": f"h-{n}", "alert_uuid": f"{rule[-1]}-u-{n}"})
            ).status_code in (200, 202)

    def both() -> list[dict[str, Any]] | None:
        messages = [m for m in top_level(slack) if "2 firing" in m["text"]]
        return messages if len(messages) == 2 else None

    one, two = sorted(copy.deepcopy(await slack.wait_for(both)), key=lambda m: m["text"])
    theirs = element(two, "alert_mute")["options"][0]["value"]
    assert not theirs.startswith("{")  # a sealed reference: the Target is over 150 characters
    element(one, "alert_mute")["options"][0]["value"] = theirs
    before = len(slack.responses)
    await choose(driver, one, "alert_mute", theirs)
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "which this message does not show" in slack.responses[-1].body["text"]
    assert writes(kibana) == []
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result) == ("mute", "refused") and "forged value" in entry.detail


async def test_a_new_episode_starts_without_the_old_mute_all(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, monkeypatch: Any, database_url: str
) -> None:
    """The rule's alerts all recover, and a new alert fires before the old message's last update (the
    debounce): the new alert opens a new episode, whose message offers Mute all again."""
    monkeypatch.setattr(delivery, "WAIT_FOR_SLACK", 0.2)
    settings = make_settings(kibana, slack, tmp_path, alert_update_interval=3, database_url=database_url)
    kibana.add_rule(id="r1", name="Rule r1", active_alerts=["r1-host-0"])
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        assert (await deliver(bot, storm("r1", range(1))[0])).status_code == 200
        [old] = top_level(slack)
        await choose(driver, old, "rule_mute_all", Target(rule_id="r1").pack())
        await slack.wait_for(lambda: "rule_unmute_all" in action_ids(slack.message("C0ALERTS", old["ts"]) or {}))
        assert kibana.rule("r1")["mute_all"] is True
        kibana.rule("r1")["mute_all"] = False  # someone unmuted it in Kibana: the rule notifies again
        assert (await deliver(bot, storm("r1", range(1), recovered=True)[0])).status_code in (200, 202)
        assert (await deliver(bot, storm("r1", range(1, 2))[0])).status_code in (200, 202)
        await slack.wait_for(lambda: len(top_level(slack)) == 2, timeout=15)
        new = next(m for m in top_level(slack) if m["ts"] != old["ts"])
        assert "rule_mute_all" in action_ids(new) and "rule_unmute_all" not in action_ids(new)
        assert "r1-host-1" in new["text"]
        await slack.wait_for(
            lambda: "Recovered" in (slack.message("C0ALERTS", old["ts"]) or {}).get("text", ""), timeout=15
        )
        store = bot.runtime.services.store
        old_group = await store.alert_group_at(channel="C0ALERTS", ts=old["ts"])
        new_group = await store.alert_group_at(channel="C0ALERTS", ts=new["ts"])
        assert old_group is not None and new_group is not None
        assert old_group.closed_at is not None and old_group.rule_muted_all is True
        assert new_group.closed_at is None and new_group.rule_muted_all is False
