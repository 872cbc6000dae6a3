"""The fake Slack's Workflow Builder steps: executions started from the manifest's `functions`, each
with its own token, ended once by `functions.completeSuccess` (outputs checked against the step's
output parameters) or `functions.completeError`, answered as Slack answers those methods."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack
from devkit.fake_slack.functions import Execution

RUN_BY = {"id": "U0ALICE", "secret": "c2VjcmV0"}
HEALTH_OUTPUTS = {"status": "ok", "healthy": True, "summary": "Kibana alerting health: ok (space default)"}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def as_step(fake: FakeSlack, execution: Execution) -> AsyncWebClient:
    return AsyncWebClient(token=execution.token, base_url=fake.api_url)


async def test_a_step_completes_once_with_outputs_of_its_declared_types(fake: FakeSlack) -> None:
    execution = fake.start_step("kibana_alerting_health", {"run_by": RUN_BY})
    client = as_step(fake, execution)
    with pytest.raises(SlackApiError) as wrong:
        await client.functions_completeSuccess(
            function_execution_id=execution.id, outputs={"status": "ok", "healthy": "yes", "summary": "s"}
        )
    assert wrong.value.response["error"] == "parameter_validation_failed"
    assert "healthy" in str(wrong.value.response["response_metadata"]["messages"])
    with pytest.raises(SlackApiError) as missing:
        await client.functions_completeSuccess(function_execution_id=execution.id, outputs={"status": "ok"})
    assert missing.value.response["error"] == "parameter_validation_failed"
    assert execution.state == "running"

    answer = await client.functions_completeSuccess(function_execution_id=execution.id, outputs=HEALTH_OUTPUTS)
    assert answer["ok"] and execution.state == "completed" and execution.outputs == HEALTH_OUTPUTS
    with pytest.raises(SlackApiError) as again:
        await client.functions_completeError(function_execution_id=execution.id, error="late")
    assert again.value.response["error"] == "token_expired"  # the execution's token ended with it
    bot = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as ended:
        await bot.functions_completeError(function_execution_id=execution.id, error="late")
    assert ended.value.response["error"] == "execution_not_in_running_state"
    assert execution.calls == ["functions.completeSuccess"] * 3


async def test_a_step_fails_with_its_error_and_unknown_executions_are_not_found(fake: FakeSlack) -> None:
    execution = fake.start_step("kibana_alerting_health", {"run_by": RUN_BY})
    client = as_step(fake, execution)
    assert (await client.functions_completeError(function_execution_id=execution.id, error="Kibana is down"))["ok"]
    assert (execution.state, execution.error) == ("failed", "Kibana is down")
    bot = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as unknown:
        await bot.functions_completeSuccess(function_execution_id="Fx0NOSUCH", outputs={})
    assert unknown.value.response["error"] == "function_execution_not_found"


async def test_the_step_token_carries_the_bots_scopes_and_needs_none_for_completing(fake: FakeSlack) -> None:
    execution = fake.start_step("kibana_mute_alert", {"rule_id": "r1", "alert_id": "a", "run_by": RUN_BY})
    fake.revoke_scopes("chat:write")
    client = as_step(fake, execution)
    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C0ALERTS", text="hi")
    assert refused.value.response["error"] == "missing_scope"
    outputs = {"rule_id": "r1", "alert_id": "a", "summary": "muted"}
    assert (await client.functions_completeSuccess(function_execution_id=execution.id, outputs=outputs))["ok"]


def test_steps_and_inputs_the_manifest_does_not_declare_cannot_start(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="no step"):
        fake.start_step("kibana_reboot_everything", {})
    with pytest.raises(ValueError, match="not of type"):
        fake.start_step("kibana_alerting_health", {"run_by": "U0ALICE"})
    with pytest.raises(ValueError, match="not declared"):
        fake.start_step("kibana_alerting_health", {"run_by": RUN_BY, "force": True})
