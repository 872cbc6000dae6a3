"""The fake's message store, kept up to date by chat.* calls made with slack_sdk."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack import FakeSlack

SECTION = {"type": "section", "block_id": "alert", "text": {"type": "mrkdwn", "text": "*CPU high*"}}
# Slack stores text objects completed: mrkdwn gets `verbatim: false`, plain_text `emoji: true`
SECTION_STORED = {
    "type": "section",
    "block_id": "alert",
    "text": {"type": "mrkdwn", "text": "*CPU high*", "verbatim": False},
}


async def test_post_message_is_stored_as_the_bot(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    answer = await slack_client.chat_postMessage(channel="C0ALERTS", text="CPU high", blocks=[SECTION])
    assert answer["channel"] == "C0ALERTS"
    stored = fake_slack.message("C0ALERTS", answer["ts"])
    assert stored is not None
    assert stored["text"] == "CPU high"
    assert stored["blocks"] == [SECTION_STORED]
    assert (stored["user"], stored["bot_id"], stored["app_id"]) == ("U0BOT", "B0BOT", "A0001")
    assert answer["message"]["ts"] == answer["ts"]


async def test_channel_can_be_named(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    answer = await slack_client.chat_postMessage(channel="#alerts", text="by name")
    assert answer["channel"] == "C0ALERTS"


async def test_text_objects_are_completed_like_slack_does(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    header = {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "Rule r1"}}
    explicit = {"type": "header", "block_id": "h2", "text": {"type": "plain_text", "text": "x", "emoji": False}}
    answer = await slack_client.chat_postMessage(channel="C0ALERTS", text="x", blocks=[header, explicit])
    stored = fake_slack.message("C0ALERTS", answer["ts"])["blocks"]  # type: ignore[index]
    assert stored[0]["text"] == {"type": "plain_text", "text": "Rule r1", "emoji": True}
    assert stored[1]["text"]["emoji"] is False
    assert header["text"] == {"type": "plain_text", "text": "Rule r1"}  # the caller's dict is untouched


async def test_missing_block_ids_are_filled_in(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    answer = await slack_client.chat_postMessage(channel="C0ALERTS", text="x", blocks=[{"type": "divider"}])
    (block,) = fake_slack.message("C0ALERTS", answer["ts"])["blocks"]  # type: ignore[index]
    assert block["type"] == "divider"
    assert isinstance(block["block_id"], str) and block["block_id"]


async def test_timestamps_are_unique_and_ordered(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    stamps = [(await slack_client.chat_postMessage(channel="C0ALERTS", text=str(i)))["ts"] for i in range(5)]
    assert len(set(stamps)) == 5
    assert stamps == sorted(stamps, key=float)
    assert [m["text"] for m in fake_slack.channel_messages("C0ALERTS")] == ["0", "1", "2", "3", "4"]


async def test_empty_message_is_refused(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused, pytest.warns(UserWarning, match="text"):
        await slack_client.chat_postMessage(channel="C0ALERTS", text="")
    assert refused.value.response["error"] == "no_text"


async def test_thread_replies(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    parent = await slack_client.chat_postMessage(channel="C0ALERTS", text="alert")
    first = await slack_client.chat_postMessage(channel="C0ALERTS", text="muted by alice", thread_ts=parent["ts"])
    await slack_client.chat_postMessage(channel="C0ALERTS", text="unmuted", thread_ts=parent["ts"])
    thread = fake_slack.thread("C0ALERTS", parent["ts"])
    assert [m["text"] for m in thread] == ["alert", "muted by alice", "unmuted"]
    assert thread[0]["reply_count"] == 2
    assert thread[0]["thread_ts"] == parent["ts"]
    assert thread[1]["thread_ts"] == parent["ts"]
    assert first["message"]["thread_ts"] == parent["ts"]
    # replies are not top-level channel messages
    assert [m["text"] for m in fake_slack.channel_messages("C0ALERTS")] == ["alert"]


async def test_reply_to_an_unknown_parent(slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as refused:
        await slack_client.chat_postMessage(channel="C0ALERTS", text="x", thread_ts="1.000001")
    assert refused.value.response["error"] == "message_not_found"


async def test_update_replaces_text_and_blocks_and_marks_edited(
    fake_slack: FakeSlack, slack_client: AsyncWebClient
) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="firing", blocks=[SECTION])
    new_blocks = [{"type": "section", "block_id": "alert", "text": {"type": "mrkdwn", "text": "muted"}}]
    answer = await slack_client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="muted", blocks=new_blocks)
    assert answer["ts"] == posted["ts"]
    stored = fake_slack.message("C0ALERTS", posted["ts"])
    assert stored is not None
    assert stored["text"] == "muted"
    assert stored["blocks"][0]["text"] == {"type": "mrkdwn", "text": "muted", "verbatim": False}
    assert stored["edited"]["user"] == "U0BOT"
    assert len(fake_slack.channel_messages("C0ALERTS")) == 1


async def test_update_of_unknown_or_foreign_messages(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as missing:
        await slack_client.chat_update(channel="C0ALERTS", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"
    human = fake_slack.post_as_user("C0ALERTS", "my own words")
    with pytest.raises(SlackApiError) as foreign:
        await slack_client.chat_update(channel="C0ALERTS", ts=human["ts"], text="x")
    assert foreign.value.response["error"] == "cant_update_message"


async def test_delete(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    posted = await slack_client.chat_postMessage(channel="C0ALERTS", text="oops")
    await slack_client.chat_delete(channel="C0ALERTS", ts=posted["ts"])
    assert fake_slack.message("C0ALERTS", posted["ts"]) is None
    with pytest.raises(SlackApiError) as again:
        await slack_client.chat_delete(channel="C0ALERTS", ts=posted["ts"])
    assert again.value.response["error"] == "message_not_found"


async def test_post_ephemeral(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    answer = await slack_client.chat_postEphemeral(channel="C0ALERTS", user="U0ALICE", text="only you")
    assert answer["message_ts"]
    assert fake_slack.ephemerals == [
        {"channel": "C0ALERTS", "user": "U0ALICE", "ts": answer["message_ts"], "text": "only you", "thread_ts": None}
    ]
    assert fake_slack.channel_messages("C0ALERTS") == []
    with pytest.raises(SlackApiError) as unknown:
        await slack_client.chat_postEphemeral(channel="C0ALERTS", user="U0NOBODY", text="x")
    assert unknown.value.response["error"] == "user_not_found"


async def test_get_permalink(fake_slack: FakeSlack, slack_client: AsyncWebClient) -> None:
    parent = await slack_client.chat_postMessage(channel="C0ALERTS", text="alert")
    reply = await slack_client.chat_postMessage(channel="C0ALERTS", text="r", thread_ts=parent["ts"])
    link = (await slack_client.chat_getPermalink(channel="C0ALERTS", message_ts=parent["ts"]))["permalink"]
    assert link == f"https://acme.slack.com/archives/C0ALERTS/p{parent['ts'].replace('.', '')}"
    reply_link = (await slack_client.chat_getPermalink(channel="C0ALERTS", message_ts=reply["ts"]))["permalink"]
    assert reply_link.endswith(f"?thread_ts={parent['ts']}&cid=C0ALERTS")
    with pytest.raises(SlackApiError) as missing:
        await slack_client.chat_getPermalink(channel="C0ALERTS", message_ts="1.000001")
    assert missing.value.response["error"] == "message_not_found"
