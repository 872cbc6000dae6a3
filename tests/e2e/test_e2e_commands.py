"""Every alerting command over real signed HTTP: the exact Kibana call, and what the user sees."""

from __future__ import annotations

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.slack_driver import SlackDriver


async def run(driver: SlackDriver, slack: FakeSlack, text: str, *, count: int = 1) -> list[dict]:
    """Send `/kibana text`; return every response_url post it caused (waits for `count`)."""
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + count)
    return [r.body for r in slack.responses[before:]]


def last_request(kibana: FakeKibana):  # type: ignore[no-untyped-def]
    return [r for r in kibana.requests if r.route is not None][-1]


async def test_help_lists_every_command(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    [answer] = await run(driver, slack, "help")
    assert answer["response_type"] == "ephemeral"
    for word in ("mute <rule_id> <alert_id>", "disable <rule_id> [--untrack]", "snooze", "--space"):
        assert word in answer["text"]
    assert kibana.requests == []  # help never calls Kibana


async def test_usage_error_is_answered_in_the_ack(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    response = await driver.post(driver.slash_command("mute r1"))
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "Something is missing" in body["text"] and "mute <rule_id> <alert_id>" in body["text"]
    assert kibana.requests == []


@pytest.mark.parametrize(
    ("text", "method", "path", "body"),
    [
        ("mute r1 host-1", "POST", "/api/alerting/rule/r1/alert/host-1/_mute", None),
        ("unmute r1 host-1", "POST", "/api/alerting/rule/r1/alert/host-1/_unmute", None),
        ("unmute-all r1", "POST", "/api/alerting/rule/r1/_unmute_all", None),
        ("enable r1", "POST", "/api/alerting/rule/r1/_enable", None),
        ("mute r1 host-1 --space ops", "POST", "/s/ops/api/alerting/rule/r1/alert/host-1/_mute", None),
    ],
)
async def test_writes_reach_kibana_and_are_announced(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, text: str, method: str, path: str, body: object
) -> None:
    space = "ops" if "--space ops" in text else "default"
    kibana.add_rule(id="r1", name="CPU high", space=space, active_alerts=["host-1"])
    [answer] = await run(driver, slack, text)
    sent = last_request(kibana)
    assert (sent.method, sent.path) == (method, path)
    assert sent.headers["authorization"] == "ApiKey e2e-kibana-api-key"
    assert "kbn-xsrf" in sent.headers
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("<@U0ALICE> ")
    assert "rule `r1`" in answer["text"]


async def test_mute_changes_kibana_state(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", active_alerts=["host-1"])
    await run(driver, slack, "mute r1 host-1")
    assert kibana.rule("r1")["muted_alert_ids"] == ["host-1"]


async def test_snooze_and_unsnooze(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1")
    [answer] = await run(driver, slack, "snooze r1 4h")
    sent = last_request(kibana)
    assert (sent.method, sent.path) == ("POST", "/api/alerting/rule/r1/snooze_schedule")
    assert sent.json["schedule"]["custom"]["duration"] == "4h"
    assert "snoozed rule `r1` for 4h" in answer["text"]
    [answer] = await run(driver, slack, "unsnooze r1")
    deleted = last_request(kibana)
    assert deleted.method == "DELETE" and deleted.route == "/api/alerting/rule/{ruleId}/snooze_schedule/{scheduleId}"
    assert "cancelled the snooze" in answer["text"]
    [answer] = await run(driver, slack, "unsnooze r1")
    assert answer["response_type"] == "ephemeral" and "no snooze schedule" in answer["text"]


async def test_rules_lists_matches_with_buttons(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", name="CPU high", tags=["prod"])
    kibana.add_rule(id="r2", name="Disk full")
    [answer] = await run(driver, slack, "rules cpu")
    sent = last_request(kibana)
    assert sent.route == "/api/alerting/rules/_find" and sent.query["search"] == "cpu"
    text = str(answer["blocks"])
    assert "CPU high" in text and "Disk full" not in text
    assert "rule_show" in text


async def test_rule_card_has_the_action_buttons(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["a", "b"])
    [answer] = await run(driver, slack, "rule r1")
    action_ids = {
        element["action_id"]
        for block in answer["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }
    assert action_ids == {"rule_mute_all", "rule_disable", "rule_snooze", "rule_link"}
    link = next(
        e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "rule_link"
    )
    assert link["url"] == "https://kibana.example.com/app/management/insightsAndAlerting/triggersActions/rule/r1"
    fields = [f["text"] for b in answer["blocks"] for f in b.get("fields", [])]
    assert "*Active alerts*\n2" in fields


async def test_unknown_rule_names_id_and_space(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    [answer] = await run(driver, slack, "enable nope --space ops")
    assert answer["response_type"] == "ephemeral"
    assert "Rule `nope` was not found in space `ops`" in answer["text"]


async def test_health_report(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", execution_status="error", error_reason="execute")
    [answer] = await run(driver, slack, "health")
    assert last_request(kibana).route == "/api/alerting/_health"
    text = str(answer["blocks"])
    assert "Kibana alerting health: warn" in text
    assert "*execution*: warn" in text and "*decryption*: ok" in text


async def test_a_responder_may_not_enable(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_rule(id="r1", enabled=False)
    before = len(slack.responses)
    await driver.post(driver.slash_command("enable r1", user_id="U0BOB"))
    await slack.wait_for(lambda: len(slack.responses) > before)
    answer = slack.responses[-1].body
    assert "You need the *operator* role to `enable`" in answer["text"]
    assert kibana.requests == []


def _open_view(slack: FakeSlack, callback_id: str) -> dict | None:  # type: ignore[type-arg]
    for view in slack.views.values():
        if view.get("callback_id") == callback_id and view.get("submit"):
            return view
    return None


async def test_disable_command_confirms_in_a_form_with_untrack(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="Noisy rule", active_alerts=["a", "b", "c"])
    await driver.post(driver.slash_command("disable r1 --untrack"))
    view = await slack.wait_for(lambda: _open_view(slack, "rule_disable_modal"))
    text = str(view["blocks"])
    assert "Noisy rule" in text and "*3* active alerts" in text
    untrack = next(b for b in view["blocks"] if b.get("block_id") == "untrack")
    assert untrack["element"]["initial_options"][0]["value"] == "untrack"  # --untrack pre-ticks it
    assert [r for r in kibana.requests if r.method == "POST"] == []  # nothing disabled before the confirmation
    response = await driver.post(driver.view_submission(view, {"untrack": {"untrack": ["untrack"]}}))
    assert response.status_code == 200
    await slack.wait_for(lambda: slack.responses)
    [sent] = [r for r in kibana.requests if r.method == "POST"]
    assert (sent.path, sent.json) == ("/api/alerting/rule/r1/_disable", {"untrack": True})
    assert "<@U0ALICE> disabled rule `r1` and untracked its alerts" in slack.responses[-1].body["text"]
    assert slack.responses[-1].body["response_type"] == "in_channel"


async def test_mute_all_command_asks_for_confirmation(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["a1"])
    [answer] = await run(driver, slack, "mute-all r1")
    assert answer["response_type"] == "ephemeral"
    assert [r for r in kibana.requests if r.method == "POST"] == []  # asked, not done
    button = next(
        e
        for b in answer["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "rule_mute_all"
    )
    assert button["confirm"]["confirm"]["text"] == "Mute all"
    message = {"ts": "1.000001", "type": "message", "text": answer["text"], "blocks": answer["blocks"]}
    before = len(slack.responses)
    await driver.post(driver.block_action("rule_mute_all", button["value"], message=message, is_ephemeral=True))
    await slack.wait_for(lambda: len(slack.responses) >= before + 2)
    [sent] = [r for r in kibana.requests if r.method == "POST"]
    assert sent.path == "/api/alerting/rule/r1/_mute_all"
    refreshed, announced = (r.body for r in slack.responses[before:])
    assert refreshed["replace_original"] is True and "Unmute all" in str(refreshed["blocks"])
    assert announced["response_type"] == "in_channel" and "muted all alerts of rule `r1`" in announced["text"]
