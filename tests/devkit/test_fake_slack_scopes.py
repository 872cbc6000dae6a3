"""The fake Slack's scopes: the bot token has exactly the scopes of the repository's manifest.json,
and every method it serves answers `missing_scope` (with `needed` and `provided`, as Slack does)
when the token lacks the method's scope; conversations.info tells direct messages and group
direct messages apart, each needing its own scope."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack
from devkit.fake_slack.scopes import METHOD_SCOPES

MANIFEST = Path(__file__).parents[2] / "manifest.json"
READ_SCOPES = ["chat:write", "channels:read", "groups:read", "im:read", "mpim:read"]


def manifest_bot_scopes() -> list[str]:
    return list(json.loads(MANIFEST.read_text())["oauth_config"]["scopes"]["bot"])


@pytest.fixture
async def reader() -> AsyncIterator[FakeSlack]:
    """A fake whose bot may read every kind of conversation."""
    async with FakeSlack(scopes=READ_SCOPES) as fake:
        yield fake


def client_of(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)


async def test_the_bot_token_has_exactly_the_manifests_scopes(fake_slack: FakeSlack) -> None:
    assert fake_slack.scopes == manifest_bot_scopes()
    answer = await client_of(fake_slack).auth_test()
    assert answer.headers["x-oauth-scopes"] == ",".join(manifest_bot_scopes())  # what Bolt reads the scopes from


async def test_a_method_the_manifest_has_no_scope_for_answers_missing_scope(fake_slack: FakeSlack) -> None:
    assert "channels:join" not in manifest_bot_scopes()
    with pytest.raises(SlackApiError) as refused:
        await client_of(fake_slack).conversations_join(channel="C0ALERTS")
    assert refused.value.response.status_code == 200
    assert refused.value.response.data == {
        "ok": False,
        "error": "missing_scope",
        "needed": "channels:join",
        "provided": ",".join(manifest_bot_scopes()),
    }
    assert refused.value.response.headers["x-accepted-oauth-scopes"] == "channels:join"


async def test_a_refused_call_does_nothing(fake_slack: FakeSlack) -> None:
    fake_slack.revoke_scopes("chat:write")
    with pytest.raises(SlackApiError) as refused:
        await client_of(fake_slack).chat_postMessage(channel="C0ALERTS", text="hello")
    assert (refused.value.response["error"], refused.value.response["needed"]) == ("missing_scope", "chat:write")
    assert "chat:write" not in refused.value.response["provided"].split(",")
    assert fake_slack.channel_messages("C0ALERTS") == []
    fake_slack.grant_scopes("chat:write")
    assert (await client_of(fake_slack).chat_postMessage(channel="C0ALERTS", text="hello"))["ok"] is True


async def test_every_method_the_fake_serves_has_its_scope(fake_slack: FakeSlack) -> None:
    assert set(METHOD_SCOPES) == set(fake_slack.handlers)


async def test_without_any_token_no_scope_is_told(fake_slack: FakeSlack) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{fake_slack.api_url}users.info", data={"user": "U0ALICE"})
    assert answer.json() == {"ok": False, "error": "not_authed"}
    assert "x-oauth-scopes" not in answer.headers


async def test_conversations_info_reports_a_direct_message(reader: FakeSlack) -> None:
    reader.add_direct_message("D0ALICE", "U0ALICE")
    info = (await client_of(reader).conversations_info(channel="D0ALICE"))["channel"]
    assert info["is_im"] is True and info["user"] == "U0ALICE"
    assert "name" not in info and "is_member" not in info  # as Slack's direct-message object


async def test_conversations_info_reports_a_group_direct_message(reader: FakeSlack) -> None:
    reader.add_user("U0BOB", "bob")
    reader.add_group_direct_message("G0TRIO", ["U0ALICE", "U0BOB"])
    info = (await client_of(reader).conversations_info(channel="G0TRIO"))["channel"]
    assert (info["is_mpim"], info["is_im"], info["is_private"], info["is_channel"]) == (True, False, True, False)
    assert info["name"] == "mpdm-alice--bob-1"


@pytest.mark.parametrize(
    ("make", "scope"),
    [
        (lambda fake: fake.add_direct_message("D0X", "U0ALICE"), "im:read"),
        (lambda fake: fake.add_group_direct_message("D0X", ["U0ALICE"]), "mpim:read"),
        (lambda fake: fake.add_channel("D0X", "secret", is_private=True), "groups:read"),
        (lambda fake: fake.add_channel("D0X", "public"), "channels:read"),
    ],
)
async def test_conversations_info_needs_the_scope_of_the_conversations_kind(
    reader: FakeSlack, make: object, scope: str
) -> None:
    make(reader)  # type: ignore[operator]
    reader.revoke_scopes(scope)
    with pytest.raises(SlackApiError) as refused:
        await client_of(reader).conversations_info(channel="D0X")
    assert (refused.value.response["error"], refused.value.response["needed"]) == ("missing_scope", scope)
    assert refused.value.response["provided"] == ",".join(s for s in READ_SCOPES if s != scope)


async def test_a_direct_message_between_two_people_is_not_the_bots_to_see(reader: FakeSlack) -> None:
    reader.add_user("U0BOB", "bob")
    reader.add_direct_message("D0PEOPLE", "U0BOB", with_bot=False)
    for call in (
        client_of(reader).conversations_info(channel="D0PEOPLE"),
        client_of(reader).chat_postMessage(channel="D0PEOPLE", text="hello"),
    ):
        with pytest.raises(SlackApiError) as refused:
            await call
        assert refused.value.response["error"] == "channel_not_found"


async def test_the_bot_posts_in_its_own_direct_message(reader: FakeSlack) -> None:
    reader.add_direct_message("D0ALICE", "U0ALICE")
    await client_of(reader).chat_postMessage(channel="D0ALICE", text="hello")
    assert [m["text"] for m in reader.channel_messages("D0ALICE")] == ["hello"]
