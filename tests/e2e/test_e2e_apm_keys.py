"""`apm key create` over real signed HTTP: the key reaches only the requester, never a channel or a log."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack
from devkit.harness import RunningBot
from devkit.slack_driver import SlackDriver

from .apm_contract import kibana_calls_follow_the_contract  # noqa: F401 - autouse: every APM call checked against the contract
from .conftest import make_settings

KEYS_ROUTE = "/api/apm/agent_keys"
BASIC = "Basic " + base64.b64encode(b"elastic:changeme").decode()


@pytest.fixture
def settings(kibana: FakeKibana, slack: FakeSlack, tmp_path: Path) -> Settings:
    """The bot's API key, plus the Basic credentials used only for agent keys (Elasticsearch refuses
    agent keys to API-key credentials; test_e2e_kibana_versions.py covers the bot without them)."""
    return make_settings(
        kibana, slack, tmp_path, kibana_agent_key_username="elastic", kibana_agent_key_password="changeme"
    )


async def run(driver: SlackDriver, slack: FakeSlack, text: str, *, count: int = 1) -> list[dict[str, Any]]:
    before = len(slack.responses)
    response = await driver.post(driver.slash_command(text))
    assert response.status_code == 200
    await slack.wait_for(lambda: len(slack.responses) >= before + count)
    return [r.body for r in slack.responses[before:]]


def everything_said(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


async def test_key_goes_only_to_the_requester(
    driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana, bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = await run(driver, slack, "apm key create ci-key event:write", count=2)

    [sent] = [r for r in kibana.requests if r.route == KEYS_ROUTE]
    assert (sent.method, sent.path) == ("POST", KEYS_ROUTE)
    assert sent.json == {"name": "ci-key", "privileges": ["event:write"]}
    assert sent.headers["elastic-api-version"] == "2023-10-31" and "kbn-xsrf" in sent.headers
    assert sent.headers["authorization"] == BASIC  # the agent-key user, for this call only
    [created] = kibana.agent_keys
    encoded, api_key = created["encoded"], created["api_key"]

    private = [a for a in answers if a["response_type"] == "ephemeral"]
    public = [a for a in answers if a["response_type"] == "in_channel"]
    assert len(private) == 1 and len(public) == 1
    assert encoded in private[0]["text"] and encoded in everything_said(private[0])
    assert public[0]["text"] == "<@U0ALICE> created agent key `ci-key` (event:write)"

    # Never in a channel: not in any message the channel holds, not in any Web API call.
    for message in slack.channel_messages("C0ALERTS"):
        assert encoded not in everything_said(message)
    assert any("created agent key `ci-key`" in m["text"] for m in slack.channel_messages("C0ALERTS"))
    for call in slack.calls:
        assert encoded not in json.dumps(call.params, default=str)
    for response in slack.responses:
        if response.body.get("response_type") == "in_channel":
            assert encoded not in everything_said(response.body)

    # Never in the log, although the log was captured at DEBUG (it holds the public reply's body).
    assert "created agent key `ci-key`" in caplog.text
    assert encoded not in caplog.text and api_key not in caplog.text

    # Nor in the audit trail.
    [entry] = await bot.runtime.services.store.list_audit(limit=5)
    assert (entry.action, entry.target, entry.result) == ("apm key create", "ci-key", "ok")
    assert encoded not in entry.detail and api_key not in entry.detail
    assert created["id"] in entry.detail


async def test_key_in_a_space_with_two_privileges(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    answers = await run(driver, slack, "apm key create rum-key event:write,config_agent:read --space ops", count=2)
    [sent] = [r for r in kibana.requests if r.route == KEYS_ROUTE]
    assert sent.path == f"/s/ops{KEYS_ROUTE}"
    assert sent.json == {"name": "rum-key", "privileges": ["event:write", "config_agent:read"]}
    public = next(a for a in answers if a["response_type"] == "in_channel")
    assert public["text"] == "<@U0ALICE> created agent key `rum-key` (event:write, config_agent:read)"


async def test_missing_apm_privilege_is_named(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.forbid("createAgentKey")  # Kibana's own message: "... is missing the following requested privilege(s): ..."
    [answer] = await run(driver, slack, "apm key create ci-key event:write")
    assert answer["response_type"] == "ephemeral"
    text = answer["text"]
    assert "(403)" in text
    assert "the APM application privilege `event:write`" in text
    assert "the cluster privilege `manage_own_api_key`" in text
    assert "You might try with the superuser" not in text  # the role-JSON hint is not repeated
    assert kibana.agent_keys == []
    assert not [m for m in slack.channel_messages("C0ALERTS") if "agent key" in m.get("text", "")]


async def test_missing_kibana_privilege_is_named(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    kibana.forbid(
        "createAgentKey",
        message="API [POST /api/apm/agent_keys] is unauthorized for user, "
        "this action is granted by the Kibana privileges [apm]",
    )
    [answer] = await run(driver, slack, "apm key create ci-key config_agent:read")
    assert "lack the Kibana privilege `apm`" in answer["text"]


async def test_a_responder_may_not_create_keys(driver: SlackDriver, slack: FakeSlack, kibana: FakeKibana) -> None:
    before = len(slack.responses)
    await driver.post(driver.slash_command("apm key create ci-key event:write", user_id="U0BOB"))
    await slack.wait_for(lambda: len(slack.responses) > before)
    assert "You need the *admin* role" in slack.responses[-1].body["text"]
    assert [r for r in kibana.requests if r.route == KEYS_ROUTE] == []
