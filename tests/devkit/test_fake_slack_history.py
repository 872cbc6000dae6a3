"""The fake Slack keeps message metadata as Slack does (chat.postMessage `metadata`) and serves
conversations.history: newest first, `oldest`/`latest`, `limit`, cursor pages, metadata only with
`include_all_metadata`, the `*:history` scope of the conversation's kind, conversation ids only."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack

METADATA = {"event_type": "kibana_chatops_alert_group", "event_payload": {"group": 7, "episode": "2025-03-04"}}


async def test_metadata_is_kept_and_returned_only_with_include_all_metadata(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="alert", metadata=METADATA)
    assert posted["message"]["metadata"] == METADATA
    plain = await slack_client.conversations_history(channel="C0ALERTS")
    assert [("metadata" in m, m["ts"]) for m in plain["messages"]] == [(False, posted["ts"])]
    full = await slack_client.conversations_history(channel="C0ALERTS", include_all_metadata=True)
    assert full["messages"][0]["metadata"] == METADATA
    assert full["has_more"] is False


@pytest.mark.parametrize(
    ("metadata", "error"),
    [('{"event_type": ', "invalid_metadata_format"), ({"event_type": "x"}, "invalid_metadata_schema")],
)
async def test_malformed_metadata_is_refused(slack_client: AsyncWebClient, metadata: object, error: str) -> None:
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_postMessage(channel="C0ALERTS", text="x", metadata=metadata)  # type: ignore[arg-type]
    assert refused.value.response["error"] == error


async def test_history_is_newest_first_in_pages_from_oldest(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    posted = [(await slack_client.chat_postMessage(channel="C0ALERTS", text=f"m{n}"))["ts"] for n in range(7)]
    await slack_client.chat_postMessage(channel="C0ALERTS", text="reply", thread_ts=posted[0])  # not top-level
    seen: list[str] = []
    cursor = None
    while True:
        page = await slack_client.conversations_history(channel="C0ALERTS", oldest=posted[1], limit=2, cursor=cursor)
        assert len(page["messages"]) <= 2
        seen += [m["text"] for m in page["messages"]]
        if not page["has_more"]:
            break
        cursor = page["response_metadata"]["next_cursor"]
    assert seen == ["m6", "m5", "m4", "m3", "m2"]  # `oldest` itself is left out (not inclusive)
    latest = await slack_client.conversations_history(channel="C0ALERTS", latest=posted[2], inclusive=True)
    assert [m["text"] for m in latest["messages"]] == ["m2", "m1", "m0"]


async def test_history_needs_the_scope_of_the_kind_an_id_and_membership(fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0OUT", "outside", is_member=False)
    fake_slack.add_channel("G0SECRET", "secret", is_private=True)
    client = AsyncWebClient(token=fake_slack.bot_token, base_url=fake_slack.api_url)
    for channel, error in [("#alerts", "channel_not_found"), ("C0OUT", "not_in_channel")]:
        with pytest.raises(SlackApiError) as refused:
            await client.conversations_history(channel=channel)
        assert refused.value.response["error"] == error
    fake_slack.bot_scopes.revoke("groups:history")
    assert (await client.conversations_history(channel="C0ALERTS"))["ok"] is True
    with pytest.raises(SlackApiError) as missing:
        await client.conversations_history(channel="G0SECRET")
    assert (missing.value.response["error"], missing.value.response["needed"]) == ("missing_scope", "groups:history")
