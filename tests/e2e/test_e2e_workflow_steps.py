"""Workflow Builder steps, end to end: the fake Slack runs a step of the manifest (`function_executed`,
signed over HTTP or as a Socket Mode envelope), the real bot acts in the fake Kibana as the person who
ran the workflow, and ends the execution with `functions.completeSuccess` (typed outputs) or
`functions.completeError` (the sentence that person would see for the command)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.fake_slack.functions import Execution
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .conftest import make_settings

RULE = "/api/alerting/rule/{id}"
SNOOZE = "kibana_snooze_rule"
MUTE = "kibana_mute_alert"
OPEN_CASE = "kibana_open_case"
HEALTH = "kibana_alerting_health"


async def run_step(
    driver: SlackDriver, slack: FakeSlack, callback_id: str, inputs: dict[str, Any], *, run_by: str | None = None
) -> Execution:
    payload = driver.function_executed(callback_id, inputs, run_by=run_by)
    answer = await driver.post(payload)
    assert answer.status_code == 200  # Bolt acknowledges the event before the step runs
    return await ended(slack, payload)


async def ended(slack: FakeSlack, payload: dict[str, Any]) -> Execution:
    execution = slack.functions.executions[payload["event"]["function_execution_id"]]
    await slack.wait_for(lambda: execution.state != "running", timeout=10)
    return execution


async def test_snooze_step_snoozes_as_the_person_and_returns_typed_outputs(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    before = time.time()
    execution = await run_step(driver, slack, SNOOZE, {"rule_id": "r1", "duration": "4h", "space": ""})
    assert execution.state == "completed", execution.error
    assert kibana.count("POST", RULE + "/snooze_schedule") == 1
    [sent] = [r for r in kibana.requests if r.route == RULE + "/snooze_schedule"]
    assert sent.json["schedule"]["custom"]["duration"] == "4h"
    outputs = execution.outputs or {}
    assert outputs["rule_id"] == "r1"
    assert before + 4 * 3600 - 5 <= outputs["snoozed_until"] <= time.time() + 4 * 3600 + 5
    assert outputs["summary"].startswith("<@U0ALICE> snoozed rule `r1` for 4h")
    # the step ended with its own token, and the bot's audit trail names the person
    assert execution.calls == ["functions.completeSuccess"]
    [entry] = await bot.runtime.services.store.list_audit(rule_id="r1")
    assert (entry.user_id, entry.action, entry.result, entry.channel) == ("U0ALICE", "snooze", "ok", None)


async def test_mute_step_over_socket_mode(
    socket_driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, socket_bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host 1"])
    payload = socket_driver.function_executed(MUTE, {"rule_id": "r1", "alert_id": "host 1"})
    ack = await socket_driver.send_socket(payload)
    assert ack["envelope_id"]
    execution = await ended(slack, payload)
    assert execution.state == "completed", execution.error
    assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == 1
    [mute] = [r for r in kibana.requests if r.route.endswith("/_mute")]
    assert mute.path_params == {"rule_id": "r1", "alert_id": "host 1"}
    assert execution.outputs == {
        "rule_id": "r1",
        "alert_id": "host 1",
        "summary": (execution.outputs or {})["summary"],
    }
    assert "muted" in (execution.outputs or {})["summary"]


async def test_mute_step_for_1h_records_its_end_as_the_command_does(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["host 1"])
    before = time.time()
    execution = await run_step(driver, slack, MUTE, {"rule_id": "r1", "alert_id": "host 1", "until": "1h"})
    assert execution.state == "completed", execution.error
    assert kibana.count("POST", "/api/alerting/rule/{rule_id}/alert/{alert_id}/_mute") == 1
    [kept] = await bot.runtime.services.store.timed_mutes_of(space="default", rule_id="r1")
    assert (kept.alert_id, kept.created_by) == ("host 1", "U0ALICE")
    assert kept.ends_at is not None
    assert before + 3600 - 5 <= kept.ends_at.timestamp() <= time.time() + 3600 + 5
    outputs = execution.outputs or {}
    assert outputs["muted_until"] == int(kept.ends_at.timestamp())
    assert "for 1h" in outputs["summary"] or "until" in outputs["summary"], outputs["summary"]


async def test_mute_step_takes_the_commands_timed_forms_and_refuses_others(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high", active_alerts=["a", "b", "c"])
    store = bot.runtime.services.store
    for alert, until in (("a", "for 4h"), ("b", "tomorrow 09:00"), ("c", "until 09:00")):
        execution = await run_step(driver, slack, MUTE, {"rule_id": "r1", "alert_id": alert, "until": until})
        assert execution.state == "completed", (until, execution.error)
        assert isinstance((execution.outputs or {})["muted_until"], int)
    ends = {m.alert_id: m.ends_at for m in await store.timed_mutes_of(space="default", rule_id="r1")}
    assert set(ends) == {"a", "b", "c"} and all(ends.values())
    assert ends["a"] is not None and 4 * 3600 - 10 <= ends["a"].timestamp() - time.time() <= 4 * 3600 + 10
    bad = await run_step(driver, slack, MUTE, {"rule_id": "r1", "alert_id": "a", "until": "whenever"})
    assert bad.state == "failed" and "whenever" in (bad.error or ""), bad.error
    forever = await run_step(driver, slack, MUTE, {"rule_id": "r1", "alert_id": "a", "until": ""})
    assert forever.state == "completed", forever.error
    assert "muted_until" not in (forever.outputs or {})
    assert "a" not in {m.alert_id for m in await store.timed_mutes_of(space="default", rule_id="r1")}


async def test_open_case_step_opens_one_case_even_when_slack_redelivers(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    payload = driver.function_executed(OPEN_CASE, {"title": "Checkout is slow", "severity": "High"})
    assert (await driver.post(payload)).status_code == 200
    assert (await driver.post(payload, retry_num=1)).status_code == 200  # Slack's retry: the same event_id
    execution = await ended(slack, payload)
    assert execution.state == "completed", execution.error
    assert kibana.count("POST", "/api/cases") == 1
    [case] = kibana.state.cases.values()
    assert (case["title"], case["severity"]) == ("Checkout is slow", "high")
    assert "Opened by <@U0ALICE> from a Slack workflow" in case["description"]
    outputs = execution.outputs or {}
    assert outputs["case_id"] == case["id"]
    assert outputs["case_url"].startswith("https://kibana.example.com/") and case["id"] in outputs["case_url"]
    assert "opened Kibana case" in outputs["summary"]


async def test_health_step_reports_status_as_outputs(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    execution = await run_step(driver, slack, HEALTH, {})
    assert execution.state == "completed", execution.error
    outputs = execution.outputs or {}
    assert (outputs["status"], outputs["healthy"]) == ("ok", True)
    assert outputs["summary"].startswith("Kibana alerting health: ok (space default)")
    assert kibana.count("GET", "/api/alerting/_health") == 1


async def test_a_kibana_failure_fails_the_step_with_the_commands_sentence(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    execution = await run_step(driver, slack, SNOOZE, {"rule_id": "gone", "duration": "1h"})
    assert execution.state == "failed"
    assert (await driver.post(driver.slash_command("snooze gone 1h"))).status_code == 200
    [reply] = await slack.wait_for(lambda: slack.responses)
    assert execution.error == reply.body["text"]  # the same sentence, word for word
    assert "gone" in (execution.error or "")


async def test_bad_inputs_fail_the_step_and_reach_nothing(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    forever = await run_step(driver, slack, SNOOZE, {"rule_id": "r1", "duration": "forever"})
    assert forever.state == "failed" and "`forever` is not a duration" in (forever.error or "")
    spaced = await run_step(driver, slack, SNOOZE, {"rule_id": "r1 --space ops", "duration": "1h"})
    assert spaced.state == "failed" and "must be one word" in (spaced.error or "")
    space = await run_step(driver, slack, HEALTH, {"space": "Not A Space"})
    assert space.state == "failed" and "is not a Kibana space id" in (space.error or "")
    nobody = await run_step(driver, slack, HEALTH, {"run_by": {"id": "C0ALERTS", "secret": "x"}})
    assert nobody.state == "failed" and "Person who used this workflow" in (nobody.error or "")
    severity = await run_step(driver, slack, OPEN_CASE, {"title": "t", "severity": "urgent"})
    assert severity.state == "failed" and "not a case severity" in (severity.error or "")
    assert [r.route for r in kibana.requests] == []


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    """Bob is a viewer; channel grants do not hold for a step, which runs outside any channel."""
    policy = tmp_path / "steps-policy.toml"
    policy.write_text(
        'default_role = "viewer"\n\n[[grants]]\nrole = "admin"\nusers = ["U0ALICE"]\n\n'
        '[[grants]]\nrole = "admin"\nusers = ["U0CAROL"]\nchannels = ["C0ALERTS"]\n'
    )
    return make_settings(kibana, slack, tmp_path, access_policy=policy)


async def test_the_access_policy_applies_to_the_person_who_ran_the_workflow(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    kibana.add_rule(id="r1", name="CPU high")
    refused = await run_step(driver, slack, SNOOZE, {"rule_id": "r1", "duration": "1h"}, run_by="U0BOB0001")
    assert refused.state == "failed"
    assert (refused.error or "").startswith("You need the *responder* role")
    channel_only = await run_step(driver, slack, SNOOZE, {"rule_id": "r1", "duration": "1h"}, run_by="U0CAROL")
    assert channel_only.state == "failed" and "You need the *responder* role" in (channel_only.error or "")
    assert kibana.count("POST", RULE + "/snooze_schedule") == 0
    audit = await bot.runtime.services.store.list_audit(limit=10)
    refusals = {(e.user_id, e.action, e.target, e.result) for e in audit}
    assert refusals == {("U0BOB0001", "snooze", "r1", "refused"), ("U0CAROL", "snooze", "r1", "refused")}
    assert all("step kibana_snooze_rule" in e.detail for e in audit)
    # Bob may still read health: viewer is enough
    health = await run_step(driver, slack, HEALTH, {}, run_by="U0BOB0001")
    assert health.state == "completed", health.error
    allowed = await run_step(driver, slack, SNOOZE, {"rule_id": "r1", "duration": "1h"}, run_by="U0ALICE")
    assert allowed.state == "completed", allowed.error
