"""`apm config list|set` over real signed HTTP: the exact Kibana calls, the overwrite flow, access."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver

from .apm_contract import kibana_calls_follow_the_contract  # noqa: F401 - autouse: every APM call checked against the contract
from .conftest import SIGNING_SECRET, forget_start_up, make_settings

CONFIG_ROUTE = "/api/apm/settings/agent-configuration"


async def run(driver: SlackDriver, slack: FakeSlack, text: str, *, count: int = 1, **kw: Any) -> list[dict[str, Any]]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text, **kw))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + count)
    return [r.body for r in slack.responses[before:]]


def apm_requests(kibana: FakeKibana, method: str) -> list[Any]:
    return [r for r in kibana.requests if r.method == method and r.route == CONFIG_ROUTE]


def assert_apm_headers(request: Any) -> None:
    assert request.headers["elastic-api-version"] == "2023-10-31"
    assert request.headers["authorization"] == "ApiKey e2e-kibana-api-key"
    if request.method != "GET":
        assert "kbn-xsrf" in request.headers


def all_text(body: dict[str, Any]) -> str:
    return body.get("text", "") + json.dumps(body.get("blocks") or [], ensure_ascii=False)


async def test_list_shows_every_configuration(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_agent_configuration(service_name="checkout", environment="production", settings={"log_level": "debug"})
    kibana.add_agent_configuration(service_name="search", settings={"transaction_sample_rate": "0.2"})
    [answer] = await run(driver, slack, "apm config list")
    [sent] = apm_requests(kibana, "GET")
    assert sent.path == CONFIG_ROUTE
    assert_apm_headers(sent)
    assert answer["response_type"] == "ephemeral"
    shown = all_text(answer)
    assert "*checkout* · environment `production`" in shown and "`log_level` = `debug`" in shown
    assert "*search* · all environments" in shown and "`transaction_sample_rate` = `0.2`" in shown
    assert "not yet applied by any agent" in shown


async def test_list_of_one_service_in_a_space(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_agent_configuration(service_name="checkout", settings={"log_level": "debug"})
    kibana.add_agent_configuration(service_name="search", settings={"log_level": "info"})
    [answer] = await run(driver, slack, "apm config list checkout --space ops")
    [sent] = apm_requests(kibana, "GET")
    assert sent.path == f"/s/ops{CONFIG_ROUTE}"
    shown = all_text(answer)
    assert "checkout" in shown and "search" not in shown


async def test_set_a_new_configuration(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot
) -> None:
    [answer] = await run(
        driver, slack, "apm config set checkout production transaction_sample_rate=0.5 log_level=debug"
    )
    [sent] = apm_requests(kibana, "PUT")
    assert sent.path == CONFIG_ROUTE and sent.query == {}
    assert sent.json == {
        "service": {"name": "checkout", "environment": "production"},
        "settings": {"transaction_sample_rate": "0.5", "log_level": "debug"},
    }
    assert_apm_headers(sent)
    assert answer["response_type"] == "in_channel"
    assert answer["text"].startswith("<@U0ALICE> set the APM agent configuration of `checkout`")
    assert kibana.agent_configurations[0]["settings"] == {"transaction_sample_rate": "0.5", "log_level": "debug"}
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.target, entry.result) == ("apm config set", "checkout/production", "ok")


async def test_set_for_all_environments_in_a_space_sends_no_environment(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    await run(driver, slack, "apm config set checkout capture_body=all --space ops")
    [sent] = apm_requests(kibana, "PUT")
    assert sent.path == f"/s/ops{CONFIG_ROUTE}"
    assert sent.json == {"service": {"name": "checkout"}, "settings": {"capture_body": "all"}}


async def test_existing_configuration_is_compared_then_overwritten_on_click(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    kibana.add_agent_configuration(
        service_name="checkout",
        environment="production",
        settings={"transaction_sample_rate": "1.0", "capture_body": "off"},
    )
    [answer] = await run(
        driver, slack, "apm config set checkout production transaction_sample_rate=0.5 log_level=debug"
    )
    assert apm_requests(kibana, "PUT") == []  # nothing written yet
    assert answer["response_type"] == "ephemeral"
    fields = next(b["fields"] for b in answer["blocks"] if b.get("fields"))
    current, proposed = fields[0]["text"], fields[1]["text"]
    assert (
        "*Current*" in current
        and "`transaction_sample_rate` = `1.0`" in current
        and "`capture_body` = `off`" in current
    )
    assert "*Proposed*" in proposed and "`transaction_sample_rate` = `0.5`  _changed_" in proposed
    assert "`log_level` = `debug`  _new_" in proposed
    assert "`capture_body` will be removed" in json.dumps(answer["blocks"], ensure_ascii=False)

    ephemeral = slack.ephemerals[-1]
    before = len(slack.responses)
    click = driver.block_action("apm_config_overwrite", message=ephemeral, is_ephemeral=True)
    assert (await driver.post(click)).status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + 2)

    [sent] = apm_requests(kibana, "PUT")
    assert sent.query == {"overwrite": "true"}
    assert sent.json == {
        "service": {"name": "checkout", "environment": "production"},
        "settings": {"transaction_sample_rate": "0.5", "log_level": "debug"},
    }
    assert_apm_headers(sent)
    replaced, announced = (r.body for r in slack.responses[before:])
    assert replaced["replace_original"] is True and replaced["text"].startswith("Done: you overwrote")
    assert announced["response_type"] == "in_channel"
    channel = [m["text"] for m in slack.channel_messages("C0ALERTS")]
    assert any(t.startswith("<@U0ALICE> overwrote the APM agent configuration of `checkout`") for t in channel)
    [stored] = kibana.agent_configurations
    assert stored["settings"] == {"transaction_sample_rate": "0.5", "log_level": "debug"}


async def test_overwrite_flag_writes_at_once(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_agent_configuration(service_name="checkout", settings={"log_level": "info"})
    [answer] = await run(driver, slack, "apm config set checkout log_level=debug --overwrite")
    [sent] = apm_requests(kibana, "PUT")
    assert sent.query == {"overwrite": "true"}
    assert answer["text"].startswith("<@U0ALICE> overwrote")
    assert [c["settings"] for c in kibana.agent_configurations] == [{"log_level": "debug"}]


async def test_kibanas_already_exists_answer_also_leads_to_the_comparison(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana
) -> None:
    message = (
        'A configuration already exists for "checkout/undefined. '
        "Use ?overwrite=true to overwrite the existing configuration."
    )
    kibana.fault(
        "PUT", CONFIG_ROUTE, status=400, times=1, body={"statusCode": 400, "error": "Bad Request", "message": message}
    )
    [answer] = await run(driver, slack, "apm config set checkout log_level=debug")
    assert answer["response_type"] == "ephemeral"
    assert "Overwrite it?" in all_text(answer)
    assert any(e.get("action_id") == "apm_config_overwrite" for b in answer["blocks"] for e in b.get("elements", []))


async def test_cancel_leaves_it_unchanged(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_agent_configuration(service_name="checkout", settings={"log_level": "info"})
    await run(driver, slack, "apm config set checkout log_level=debug")
    before = len(slack.responses)
    await driver.post(driver.block_action("apm_config_cancel", message=slack.ephemerals[-1], is_ephemeral=True))
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert slack.responses[-1].body["replace_original"] is True
    assert "unchanged" in slack.responses[-1].body["text"]
    assert apm_requests(kibana, "PUT") == []


async def test_overwrite_click_rechecks_access(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.add_agent_configuration(service_name="checkout", settings={"log_level": "info"})
    await run(driver, slack, "apm config set checkout log_level=debug")
    slack.add_user("U0BOB", "bob")
    before = len(slack.responses)
    click = driver.block_action(
        "apm_config_overwrite", message=slack.ephemerals[-1], is_ephemeral=True, user_id="U0BOB"
    )
    await driver.post(click)
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "You need the *admin* role" in slack.responses[-1].body["text"]
    assert apm_requests(kibana, "PUT") == []


async def test_settings_are_checked_before_any_call(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    response = await driver.post(driver.slash_command("apm config set checkout =debug"))
    body = response.json()
    assert "has no key before `=`" in body["text"] and "apm config set <service>" in body["text"]
    assert kibana.requests == []


@pytest.fixture
async def viewer_bot(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> AsyncIterator[RunningBot]:
    policy = tmp_path / "viewer-policy.toml"
    policy.write_text('default_role = "viewer"\n')
    settings = make_settings(kibana, slack, tmp_path, access_policy=policy)
    async with running_bot(settings, mode="http") as running:
        forget_start_up(kibana)
        yield running


async def test_a_viewer_may_list_but_not_set(slack: FakeSlack, kibana: FakeKibana, viewer_bot: RunningBot) -> None:
    driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=viewer_bot.events_url, fake_slack=slack)
    [refused] = await run(driver, slack, "apm config set checkout log_level=debug")
    assert "You need the *admin* role" in refused["text"] and "you are *viewer*" in refused["text"]
    assert kibana.requests == []
    [listed] = await run(driver, slack, "apm config list")
    assert "APM agent configuration" in listed["text"]
    [entry] = await viewer_bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.result) == ("apm config set", "refused")
