"""The fake Slack's Web API over real HTTP: tokens, argument encodings, directory methods,
channel errors and injected faults."""

from __future__ import annotations

import json

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack


async def raw_call(fake: FakeSlack, method: str, token: str | None, **kwargs: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient() as client:
        return await client.post(f"{fake.api_url}{method}", headers=headers, **kwargs)  # type: ignore[arg-type]


async def test_start_returns_the_api_url_on_an_ephemeral_local_port(fake_slack: FakeSlack) -> None:
    assert fake_slack.api_url.startswith("http://127.0.0.1:")
    assert fake_slack.api_url.endswith("/api/")
    assert ":0/" not in fake_slack.api_url
    assert "xoxb" not in repr(fake_slack)


async def test_auth_test_names_team_bot_user_and_bot(slack_client: AsyncWebClient) -> None:
    answer = await slack_client.auth_test()
    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == ("T0001", "U0BOT", "B0BOT")


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("xapp-test-token", "not_allowed_token_type")],
)
async def test_bot_methods_need_the_bot_token(fake_slack: FakeSlack, token: str | None, error: str) -> None:
    response = await raw_call(fake_slack, "chat.postMessage", token, json={"channel": "C0ALERTS", "text": "x"})
    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": error}
    assert fake_slack.channel_messages("C0ALERTS") == []
    assert fake_slack.calls[-1].method == "chat.postMessage"
    assert fake_slack.calls[-1].token == token


async def test_the_token_may_also_come_as_a_form_field(fake_slack: FakeSlack) -> None:
    response = await raw_call(fake_slack, "auth.test", None, data={"token": fake_slack.bot_token})
    assert response.json()["ok"] is True
    assert "token" not in fake_slack.calls[-1].params


async def test_connections_open_needs_the_app_token(fake_slack: FakeSlack) -> None:
    refused = await raw_call(fake_slack, "apps.connections.open", fake_slack.bot_token)
    assert refused.json() == {"ok": False, "error": "not_allowed_token_type"}
    wrong = await raw_call(fake_slack, "apps.connections.open", "xapp-other")
    assert wrong.json() == {"ok": False, "error": "invalid_auth"}
    accepted = (await raw_call(fake_slack, "apps.connections.open", fake_slack.app_token)).json()
    assert accepted["ok"] is True
    assert accepted["url"].startswith(fake_slack.base_url.replace("http://", "ws://") + "link/?ticket=")


async def test_form_bodies_with_json_string_fields_are_understood(fake_slack: FakeSlack) -> None:
    blocks = [{"type": "section", "block_id": "b1", "text": {"type": "mrkdwn", "text": "*form*"}}]
    response = await raw_call(
        fake_slack,
        "chat.postMessage",
        fake_slack.bot_token,
        data={"channel": "C0ALERTS", "text": "form", "blocks": json.dumps(blocks)},
    )
    assert response.json()["ok"] is True
    (message,) = fake_slack.channel_messages("C0ALERTS")
    assert message["blocks"][0]["block_id"] == "b1"
    assert message["blocks"][0]["text"]["text"] == "*form*"


async def test_query_parameters_are_arguments_too(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="bye")
    # slack_sdk sends chat.delete as POST with the arguments in the query string
    await slack_client.chat_delete(channel="C0ALERTS", ts=posted["ts"])
    assert fake_slack.calls_to("chat.delete")[0].params == {"channel": "C0ALERTS", "ts": posted["ts"]}
    assert fake_slack.channel_messages("C0ALERTS") == []


async def test_unknown_method(fake_slack: FakeSlack) -> None:
    response = await raw_call(fake_slack, "chat.teleport", fake_slack.bot_token)
    assert response.json() == {"ok": False, "error": "unknown_method"}


async def test_users_info(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.grant_scopes("users:read")  # the bot's manifest does not ask for it
    fake_slack.add_user("U0BOB", "bob", real_name="Bob Builder", email="bob@acme.test")
    user = (await slack_client.users_info(user="U0BOB"))["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U0BOB", "bob", "Bob Builder")
    assert user["profile"]["email"] == "bob@acme.test"
    with pytest.raises(SlackApiError) as missing:
        await slack_client.users_info(user="U0NOBODY")
    assert missing.value.response["error"] == "user_not_found"


async def test_usergroups_users_list(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.add_usergroup("S0OPS", ["U0ALICE", "U0BOB"])
    assert (await slack_client.usergroups_users_list(usergroup="S0OPS"))["users"] == ["U0ALICE", "U0BOB"]
    with pytest.raises(SlackApiError) as missing:
        await slack_client.usergroups_users_list(usergroup="S0NONE")
    assert missing.value.response["error"] == "no_such_subteam"


async def test_conversations_info_and_join(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.grant_scopes("channels:join")  # the bot's manifest does not ask for it
    fake_slack.add_channel("C0OPS", "ops", is_member=False)
    info = (await slack_client.conversations_info(channel="C0OPS"))["channel"]
    assert (info["id"], info["name"], info["is_member"], info["is_private"]) == ("C0OPS", "ops", False, False)
    joined = await slack_client.conversations_join(channel="C0OPS")
    assert joined["channel"]["is_member"] is True
    assert fake_slack.channels["C0OPS"].is_member is True
    again = await slack_client.conversations_join(channel="C0OPS")
    assert again["warning"] == "already_in_channel"


async def test_private_channels_cannot_be_joined(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.grant_scopes("channels:join")
    fake_slack.add_channel("G0SECRET", "secret", is_private=True, is_member=False)
    with pytest.raises(SlackApiError) as refused:
        await slack_client.conversations_join(channel="G0SECRET")
    assert refused.value.response["error"] == "method_not_supported_for_channel_type"


@pytest.mark.parametrize(
    ("prepare", "error"),
    [
        (lambda fake: None, "channel_not_found"),
        (lambda fake: fake.archive_channel("C0ALERTS"), "is_archived"),
        (lambda fake: fake.set_not_member("C0ALERTS"), "not_in_channel"),
    ],
)
async def test_channel_errors(fake_slack: FakeSlack, slack_client: AsyncWebClient, prepare: object, error: str) -> None:
    prepare(fake_slack)  # type: ignore[operator]
    channel = "C0NOWHERE" if error == "channel_not_found" else "C0ALERTS"
    with pytest.raises(SlackApiError) as failed:
        await slack_client.chat_postMessage(channel=channel, text="hello")
    assert failed.value.response["error"] == error
    assert fake_slack.channel_messages("C0ALERTS") == []


async def test_archived_channels_cannot_be_joined(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.grant_scopes("channels:join")
    fake_slack.archive_channel("C0ALERTS")
    with pytest.raises(SlackApiError) as failed:
        await slack_client.conversations_join(channel="C0ALERTS")
    assert failed.value.response["error"] == "is_archived"


async def test_a_fault_applies_the_given_number_of_times(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("chat.postMessage", "channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            await slack_client.chat_postMessage(channel="C0ALERTS", text="x")
        assert failed.value.response["error"] == "channel_not_found"
    assert (await slack_client.chat_postMessage(channel="C0ALERTS", text="x"))["ok"] is True
    assert [c.ok for c in fake_slack.calls_to("chat.postMessage")] == [False, False, True]


async def test_a_permanent_fault_until_cleared(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.grant_scopes("users:read")
    fake_slack.fail("users.info", "fatal_error", times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            await slack_client.users_info(user="U0ALICE")
    fake_slack.clear_faults()
    assert (await slack_client.users_info(user="U0ALICE"))["ok"] is True


async def test_rate_limit_answers_429_with_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail("chat.update", "ratelimited", status=429, retry_after=7)
    response = await raw_call(fake_slack, "chat.update", fake_slack.bot_token, json={})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {"ok": False, "error": "ratelimited"}
    assert fake_slack.calls_to("chat.update")[0].status == 429


async def test_rate_limit_surfaces_in_slack_sdk(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    fake_slack.fail("chat.postMessage", "ratelimited", status=429, retry_after=1)
    with pytest.raises(SlackApiError) as limited:
        await slack_client.chat_postMessage(channel="C0ALERTS", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "1"


async def test_wait_for_a_method_and_for_a_condition(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    await slack_client.auth_test()
    calls = await fake_slack.wait_for("auth.test", timeout=1)
    assert calls[0].method == "auth.test"
    assert await fake_slack.wait_for(lambda: len(fake_slack.calls), timeout=1) == 1
    with pytest.raises(TimeoutError):
        await fake_slack.wait_for("views.open", timeout=0.05)
