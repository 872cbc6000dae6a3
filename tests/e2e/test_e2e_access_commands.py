"""whoami, can-i and the audit trail over real signed HTTP; user groups resolved through the fake
Slack's usergroups.users.list (cached)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver
from handlers.alerting import actions as values
from handlers.alerting.target import Target
from handlers.shared.blocks import actions, button

from .conftest import make_settings

BOB, CAROL = "U0BOB0001", "U0CAROL01"
POLICY = """
default_role = "responder"

[[grants]]
role = "admin"
users = ["U0ALICE"]

[[grants]]
role = "operator"
groups = ["S0OPS0001"]

[[grants]]
role = "operator"
users = ["U0CAROL01"]
channels = ["C0OPS0001"]
"""


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    policy = tmp_path / "groups.toml"
    policy.write_text(POLICY)
    slack.add_usergroup("S0OPS0001", [BOB])
    slack.add_channel("C0OPS0001", "ops")
    return make_settings(kibana, slack, tmp_path, access_policy=policy)


async def run(driver: SlackDriver, slack: FakeSlack, text: str, **kw: Any) -> dict[str, Any]:
    """Send `/kibana text`; the first answer through this command's own response_url."""
    payload = driver.slash_command(text, **kw)
    response = await driver.post(payload)
    assert response.status_code == 200
    [first, *_] = await slack.wait_for(lambda: [r for r in slack.responses if r.url == payload["response_url"]])
    return first.body


def shown(answer: dict[str, Any]) -> str:
    return answer["text"] + json.dumps(answer.get("blocks") or [])


def audit_lines(answer: dict[str, Any]) -> list[str]:
    sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    return [line for text in sections for line in text.split("\n")]


# ---- whoami / can-i ------------------------------------------------------------------------------


async def test_whoami_names_the_role_its_sources_and_what_it_allows(driver: SlackDriver, slack: FakeSlack) -> None:
    answer = await run(driver, slack, "whoami", user_id=BOB)
    assert answer["response_type"] == "ephemeral"
    text = shown(answer)
    assert "You are *operator* in <#C0ALERTS>" in text
    assert "default_role responder" in text
    assert "grant operator (groups.toml line " in text and "via group S0OPS0001" in text
    assert "*viewer*: `help`" in text and "`disable`" in text and "`audit`" in text
    assert "`apm key create`" not in text  # admin only
    assert "Roles above yours: admin" in text


async def test_whoami_of_a_plain_member(driver: SlackDriver, slack: FakeSlack) -> None:
    text = shown(await run(driver, slack, "whoami", user_id="U0DAVE001"))
    assert "You are *responder*" in text and "default_role responder" in text and "grant operator" not in text
    assert "`mute`" in text and "`disable`" not in text


async def test_can_i_says_yes_or_no_with_the_role_and_where_it_holds(driver: SlackDriver, slack: FakeSlack) -> None:
    yes = await run(driver, slack, "can-i disable", user_id=BOB)
    assert yes["text"].startswith("Yes: `disable` needs the *operator* role, and you are *operator*")
    no = await run(driver, slack, "can-i disable", user_id=CAROL)
    assert no["text"].startswith("No in <#C0ALERTS>. You need the *operator* role to `disable` rules")
    assert "ACCESS_POLICY" in no["text"] and "You do have it in <#C0OPS0001>" in no["text"]
    there = await run(driver, slack, "can-i disable", user_id=CAROL, channel_id="C0OPS0001")
    assert there["text"].startswith("Yes")


# ---- user groups ----------------------------------------------------------------------------------


async def test_a_group_grant_works_and_the_membership_is_cached(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    for _ in range(2):
        answer = await run(driver, slack, "enable r1", user_id=BOB)
        assert answer["text"] == "<@U0BOB0001> enabled rule `r1`."
    assert kibana.count("POST", "/api/alerting/rule/{id}/_enable") == 2
    [lookup] = slack.calls_to("usergroups.users.list")  # the second check was a cache hit
    assert lookup.params["usergroup"] == "S0OPS0001"


async def test_a_member_outside_the_group_is_refused_before_kibana(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1")
    answer = await run(driver, slack, "enable r1", user_id="U0DAVE001")
    assert "You need the *operator* role to `enable` rules; you are *responder*" in answer["text"]
    assert kibana.requests == []
    assert len(slack.calls_to("usergroups.users.list")) == 1


# ---- the audit trail -----------------------------------------------------------------------------


def rule_message(rule_id: str) -> dict[str, Any]:
    target = Target(rule_id=rule_id, space="default", alert_id="host-1").pack()
    return {
        "type": "message",
        "ts": "1700000000.000100",
        "text": "alert",
        "blocks": [actions(button("Mute", values.ALERT_MUTE, target), block_id="b")],
    }


async def test_command_and_button_writes_and_refusals_appear_in_audit(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    kibana.add_rule(id="r2", active_alerts=["host-1"])
    await run(driver, slack, "unmute-all r1")  # Alice, a command
    click = driver.block_action(values.ALERT_MUTE, message=rule_message("r2"), user_id=BOB, is_ephemeral=True)
    before = len(slack.responses)
    assert (await driver.post(click)).status_code == 200  # Bob, a button
    await slack.wait_for(lambda: any("muted alert" in json.dumps(r.body) for r in slack.responses[before:]))
    refused = await run(driver, slack, "apm key create k event:write", user_id=BOB)  # refused: admin only
    assert "You need the *admin* role" in refused["text"]
    kibana.fault("POST", "/api/alerting/rule/r2/_enable", status=403)
    await run(driver, slack, "enable r2 --space default")  # Kibana fails

    store = bot.runtime.services.store
    for _ in range(100):
        if len(await store.list_audit(limit=10)) >= 4:
            break
        await asyncio.sleep(0.02)
    answer = await run(driver, slack, "audit")
    assert answer["response_type"] == "ephemeral"
    assert len(answer["blocks"]) <= 50
    lines = audit_lines(answer)
    assert len(lines) == 4
    enable, key, mute, unmute_all = lines  # newest first
    assert "<@U0ALICE> in <#C0ALERTS> · *enable* `r2` · space `default` · :x: error · Kibana 403" in enable
    assert "<@U0BOB0001>" in key and "*apm key create* `k`" in key and "refused" in key and "Kibana not called" in key
    assert "<@U0BOB0001>" in mute and "*mute* `r2/host-1`" in mute and ":white_check_mark: ok" in mute
    assert "<@U0ALICE>" in unmute_all and "*unmute-all* `r1`" in unmute_all
    assert all(line[:4].isdigit() and " UTC · " in line for line in lines)

    only_r2 = audit_lines(await run(driver, slack, "audit rule r2"))
    assert len(only_r2) == 2 and all("r2" in line for line in only_r2)
    assert len(audit_lines(await run(driver, slack, "audit last 1"))) == 1


async def test_audit_is_for_operators(driver: SlackDriver, slack: FakeSlack) -> None:
    answer = await run(driver, slack, "audit", user_id="U0DAVE001")
    assert "You need the *operator* role to read the `audit` log" in answer["text"]
    empty = await run(driver, slack, "audit", user_id=BOB)
    assert empty["text"] == "The audit trail has no entries yet."


async def test_a_refused_modal_submission_is_audited(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host-1"])
    assert (await driver.post(driver.slash_command("disable r1"))).status_code == 200
    [opened] = await slack.wait_for("views.open")
    await slack.wait_for("views.update")
    view = slack.views[opened.response["view"]["id"]]
    response = await driver.post(driver.view_submission(view, {}, user_id="U0DAVE001"))
    assert "You need the *operator* role" in json.dumps(response.json()["errors"])
    for _ in range(100):
        entries = await bot.runtime.services.store.list_audit(rule_id="r1")
        if entries:
            break
        await asyncio.sleep(0.02)
    [entry] = entries
    assert (entry.user_id, entry.action, entry.result, entry.target) == ("U0DAVE001", "disable", "refused", "r1")
    assert kibana.count("POST", "/api/alerting/rule/{id}/_disable") == 0
