"""*I'm on it* (issue 27, item 1): the alert message shows who is on it and since when, someone else may
take it over (after Slack's confirm dialog), a release lets go; each is told in the thread and audited.
Security detection alerts are acknowledged in Kibana through its public signals status route, and set
back to open on release; other alerts' claims live in Slack only. A forged value is refused and audited."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .test_e2e_alerts_webhook import BODY, action_ids, deliver, element

ALICE, BOB = "U0ALICE", "U0BOB0001"
UUID = BODY["alert_uuid"]
SIGNALS = "/api/detection_engine/signals/status"
ON_IT = re.compile(r":raising_hand: <@(U\w+)> is on it since \d\d:\d\d UTC")


async def posted(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, rule_type_id: str = ".index-threshold"
) -> dict[str, Any]:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"], rule_type_id=rule_type_id)
    assert (await deliver(bot, BODY)).status_code == 200
    [message] = slack.channel_messages("C0ALERTS")
    return message


def now(slack: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    found = slack.message("C0ALERTS", message["ts"])
    assert found is not None
    return found


def on_it(message: dict[str, Any]) -> str | None:
    for block in message["blocks"]:
        if block.get("block_id") == "alert_claimed":
            found = ON_IT.fullmatch(block["elements"][0]["text"])
            assert found, block
            return found.group(1)
    return None


def thread(slack: FakeSlack, message: dict[str, Any]) -> list[str]:
    return [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]


async def click(
    driver: SlackDriver, slack: FakeSlack, message: dict[str, Any], action_id: str, *, user: str = ALICE, replies: int
) -> None:
    value = element(now(slack, message), action_id)["value"]
    response = await driver.post(driver.block_action(action_id, value, message=now(slack, message), user_id=user))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(thread(slack, message)) >= replies)


def kibana_writes(kibana: FakeKibana) -> list[Any]:
    return [r for r in kibana.requests if r.method != "GET" and r.route is not None]


async def test_im_on_it_shows_who_and_since_when_and_tells_the_thread(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    message = await posted(bot, slack, kibana)
    assert "alert_claim" in action_ids(message) and "alert_release" not in action_ids(message)
    assert on_it(message) is None

    await click(driver, slack, message, "alert_claim", replies=1)
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)
    assert thread(slack, message) == ["<@U0ALICE> is on alert `host-1` of rule `r1`."]
    shown = now(slack, message)
    assert {"alert_claim", "alert_release", "alert_mute"} <= action_ids(shown)
    take_over = element(shown, "alert_claim")
    assert "is on it since" in take_over["confirm"]["text"]["text"]  # someone else is asked first
    assert kibana_writes(kibana) == []  # not a Security alert: the claim lives in Slack only
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.user_id, entry.action, entry.result, entry.target) == (ALICE, "claim", "ok", "r1/host-1")
    assert len(slack.channel_messages("C0ALERTS")) == 1  # updated in place


async def test_someone_else_takes_it_over_and_only_the_holder_releases(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    message = await posted(bot, slack, kibana)
    await click(driver, slack, message, "alert_claim", replies=1)
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)

    await click(driver, slack, message, "alert_claim", user=BOB, replies=2)
    await slack.wait_for(lambda: on_it(now(slack, message)) == BOB)
    assert thread(slack, message)[-1] == f"<@{BOB}> took over alert `host-1` of rule `r1` from <@U0ALICE>."
    entries = await bot.runtime.services.store.list_audit(limit=5)
    assert (entries[0].user_id, entries[0].action, entries[0].detail) == (BOB, "claim", f"taken over from {ALICE}")

    before = len(slack.responses)
    await driver.post(
        driver.block_action(
            "alert_release", element(now(slack, message), "alert_release")["value"], message=now(slack, message)
        )
    )
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert slack.responses[-1].body["text"].startswith(f"<@{BOB}> is on alert `host-1` of rule `r1`, not you")
    assert on_it(now(slack, message)) == BOB

    await click(driver, slack, message, "alert_release", user=BOB, replies=3)
    assert thread(slack, message)[-1] == f"<@{BOB}> released alert `host-1` of rule `r1`: nobody is on it now."
    await slack.wait_for(lambda: on_it(now(slack, message)) is None)
    assert "alert_release" not in action_ids(now(slack, message))


async def test_a_click_on_a_stale_message_does_not_take_over_silently(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    """Bob clicks *I'm on it* on the message as drawn before Alice claimed: nothing changes, Bob is told."""
    message = await posted(bot, slack, kibana)
    stale = copy.deepcopy(now(slack, message))
    value = element(stale, "alert_claim")["value"]
    await click(driver, slack, message, "alert_claim", replies=1)
    before = len(slack.responses)
    await driver.post(driver.block_action("alert_claim", value, message=stale, user_id=BOB))
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert slack.responses[-1].body["text"].startswith("<@U0ALICE> is on alert `host-1` of rule `r1` since")
    assert on_it(now(slack, message)) == ALICE and len(thread(slack, message)) == 1


async def test_a_forged_claim_or_release_is_refused_and_audited(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    message = await posted(bot, slack, kibana)
    kibana.add_rule(id="r2", name="Other", active_alerts=["host-9"])
    forged_values = [
        json.dumps({"r": "r2", "s": "default"}),  # another rule than the message shows
        json.dumps({"r": "r1", "s": "default", "a": "host-9"}),  # an alert not in its episode
        '{"r": "r1", "h": "not a user"}',  # not a value the bot made
    ]
    for action_id, forged in [(a, v) for a in ("alert_claim", "alert_release") for v in forged_values]:
        shown = copy.deepcopy(now(slack, message))
        for block in shown["blocks"]:
            for e in block.get("elements", []):
                if e.get("action_id") == action_id:
                    e["value"] = forged  # the client sends back what it was given
        if action_id == "alert_release":  # not on the message until claimed: forge the element too
            shown["blocks"].append(
                {
                    "type": "actions",
                    "block_id": "forged",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": action_id,
                            "value": forged,
                            "text": {"type": "plain_text", "text": "Release"},
                        }
                    ],
                }
            )
        before = len(slack.responses)
        await driver.post(driver.block_action(action_id, forged, message=shown))
        await slack.wait_for(lambda before=before: len(slack.responses) > before)
        text = slack.responses[-1].body["text"]
        assert "nothing was done" in text or text == "This button's value is not one the bot made.", text
    entries = await bot.runtime.services.store.list_audit(limit=10)
    assert sorted((e.action, e.result) for e in entries) == [("claim", "refused")] * 3 + [("release", "refused")] * 3
    assert all("forged value" in e.detail for e in entries)
    group = await bot.runtime.services.store.alert_group_at(channel="C0ALERTS", ts=message["ts"])
    assert group is not None and await bot.runtime.services.store.alert_group_claim(group.id) is None
    assert thread(slack, message) == []


async def test_a_security_alert_is_acknowledged_in_kibana_and_opened_again_on_release(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.state.security_alerts[("default", UUID)] = "open"
    message = await posted(bot, slack, kibana, rule_type_id="siem.queryRule")
    await click(driver, slack, message, "alert_claim", replies=1)
    [sent] = [r for r in kibana_writes(kibana) if r.path == SIGNALS]
    assert json.loads(sent.body) == {"signal_ids": [UUID], "status": "acknowledged"}
    assert "kbn-xsrf" in sent.headers and sent.headers["authorization"] == "ApiKey e2e-kibana-api-key"
    assert kibana.state.security_alerts[("default", UUID)] == "acknowledged"
    assert thread(slack, message) == [
        "<@U0ALICE> is on alert `host-1` of rule `r1` and acknowledged it in Kibana's Security alerts."
    ]
    await slack.wait_for(lambda: "alert_release" in action_ids(now(slack, message)))
    await click(driver, slack, message, "alert_release", replies=2)
    assert json.loads(kibana_writes(kibana)[-1].body) == {"signal_ids": [UUID], "status": "open"}
    assert kibana.state.security_alerts[("default", UUID)] == "open"
    assert thread(slack, message)[-1].endswith("nobody is on it now; it is open again in Kibana's Security alerts.")


async def test_when_kibana_refuses_the_acknowledge_the_claim_holds_in_slack_and_says_so(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.forbid("setAlertsStatus")
    message = await posted(bot, slack, kibana, rule_type_id="siem.queryRule")
    await click(driver, slack, message, "alert_claim", replies=1)
    [said] = thread(slack, message)
    assert said.startswith("<@U0ALICE> is on alert `host-1` of rule `r1`; Kibana was not told (it answered 403:")
    assert "the claim lives in Slack only" in said
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)


async def test_the_claim_command_claims_the_rules_message_in_this_channel(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    message = await posted(bot, slack, kibana)
    response = await driver.post(driver.slash_command("claim r1", channel_id="C0ALERTS"))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(thread(slack, message)) == 1)
    assert thread(slack, message) == ["<@U0ALICE> is on the alerts of rule `r1`."]
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)


async def test_a_group_message_claim_covers_its_episode_and_acknowledges_its_firing_security_alerts(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1", "host-2"], rule_type_id="siem.eqlRule")
    uuids = {"host-1": "uuid-1", "host-2": "uuid-2"}
    for alert, uuid in uuids.items():
        kibana.state.security_alerts[("default", uuid)] = "open"
        assert (await deliver(bot, {**BODY, "alert_id": alert, "alert_uuid": uuid})).status_code == 200
    [message] = await slack.wait_for(lambda: slack.channel_messages("C0ALERTS") or None)
    await slack.wait_for(lambda: "*Firing*\\n2" in json.dumps(now(slack, message)["blocks"]))
    claim_value = json.loads(element(now(slack, message), "alert_claim")["value"])
    assert claim_value == {"r": "r1", "s": "default"}  # the episode, not one alert
    logged = len(thread(slack, message))  # the group's log of what fired
    await click(driver, slack, message, "alert_claim", replies=logged + 1)
    [sent] = [r for r in kibana_writes(kibana) if r.path == SIGNALS]
    body = json.loads(sent.body)
    assert body["status"] == "acknowledged" and sorted(body["signal_ids"]) == ["uuid-1", "uuid-2"]
    assert {kibana.state.security_alerts[("default", u)] for u in uuids.values()} == {"acknowledged"}
    assert thread(slack, message)[-1] == (
        "<@U0ALICE> is on the alerts of rule `r1` and acknowledged it in Kibana's Security alerts."
    )
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)
    assert "*Firing*\\n2" in json.dumps(now(slack, message)["blocks"])  # still the group message


async def test_im_on_it_over_socket_mode(
    socket_bot: RunningBot, socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message = await posted(socket_bot, slack, kibana)
    ack = await socket_driver.send_socket(socket_driver.block_action("alert_claim", message=message))
    assert "envelope_id" in ack
    await slack.wait_for(lambda: thread(slack, message) == ["<@U0ALICE> is on alert `host-1` of rule `r1`."])
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)


async def test_when_kibana_does_not_answer_the_claim_still_holds_and_says_what_is_not_known(
    bot: RunningBot, slack: FakeSlack, kibana: FakeKibana, driver: SlackDriver
) -> None:
    """Kibana answers 503 to the acknowledge (retried, as setting a status is idempotent): Slack got its
    ack at once, the claim holds, and the receipt says Kibana's state is not known and where to look."""
    message = await posted(bot, slack, kibana, rule_type_id="siem.queryRule")
    kibana.fault("POST", SIGNALS, status=503)
    started = len(slack.responses)
    await click(driver, slack, message, "alert_claim", replies=1)
    [said] = thread(slack, message)
    assert said.startswith("<@U0ALICE> is on alert `host-1` of rule `r1`; whether Kibana acknowledged it is not known")
    assert "check the alert's status in Kibana's Security alerts" in said
    assert len([r for r in kibana.requests if r.path == SIGNALS]) > 1  # retried before giving up
    await slack.wait_for(lambda: on_it(now(slack, message)) == ALICE)
    assert len(slack.responses) == started  # nothing private: the thread says it
