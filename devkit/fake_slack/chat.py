"""chat.* and conversations.* methods over the workspace's message store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devkit.fake_slack import block_kit
from devkit.fake_slack.records import SlackApiFailure
from devkit.fake_slack.web_api import Handler, json_argument, required

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack


def message_content(params: dict[str, Any], *, need_content: bool = True) -> tuple[str, list[Any] | None]:
    """`text` and `blocks` of a post/update, checked against Slack's limits."""
    blocks = json_argument(params, "blocks", "invalid_blocks_format")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackApiFailure("invalid_blocks_format")
    text = params.get("text")
    text = text if isinstance(text, str) else ""
    if need_content and not text and not blocks and not params.get("attachments"):
        raise SlackApiFailure("no_text")
    if len(text) > block_kit.MESSAGE_TEXT:
        raise SlackApiFailure("msg_too_long")
    if blocks is not None:
        problems = block_kit.message_problems(blocks)
        if problems:
            raise SlackApiFailure("invalid_blocks", messages=problems)
    return text, blocks


def _thread_ts(params: dict[str, Any]) -> str | None:
    value = params.get("thread_ts")
    return str(value) if value not in (None, "") else None


async def post_message(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel")
    channel = fake.workspace.writable(params["channel"])
    text, blocks = message_content(params)
    message = fake.workspace.post(channel.id, text=text, blocks=blocks, thread_ts=_thread_ts(params))
    return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": dict(message)}


async def post_ephemeral(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel", "user")
    channel = fake.workspace.writable(params["channel"])
    if params["user"] not in fake.workspace.users:
        raise SlackApiFailure("user_not_found")
    text, blocks = message_content(params)
    ts = fake.workspace.timestamps.next()
    ephemeral: dict[str, Any] = {
        "channel": channel.id,
        "user": params["user"],
        "ts": ts,
        "text": text,
        "thread_ts": _thread_ts(params),
    }
    if blocks:
        ephemeral["blocks"] = blocks
    fake.workspace.ephemerals.append(ephemeral)
    return {"ok": True, "message_ts": ts}


async def update(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel", "ts")
    channel = fake.workspace.channel(params["channel"])
    if channel.is_archived:
        raise SlackApiFailure("is_archived")
    _text, blocks = message_content(params, need_content=False)
    raw_text = params.get("text") if isinstance(params.get("text"), str) else None
    message = fake.workspace.update(channel.id, str(params["ts"]), text=raw_text, blocks=blocks)
    return {"ok": True, "channel": channel.id, "ts": message["ts"], "text": message["text"], "message": dict(message)}


async def delete(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel", "ts")
    channel = fake.workspace.channel(params["channel"])
    fake.workspace.delete(channel.id, str(params["ts"]))
    return {"ok": True, "channel": channel.id, "ts": str(params["ts"])}


async def get_permalink(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel", "message_ts")
    channel = fake.workspace.channel(params["channel"])
    link = fake.workspace.permalink(channel.id, str(params["message_ts"]))
    return {"ok": True, "channel": channel.id, "permalink": link}


async def conversations_info(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel")
    channel = fake.workspace.channel(params["channel"])
    fake.bot_scopes.require(channel.read_scope)
    return {"ok": True, "channel": channel.as_slack()}


async def conversations_join(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel")
    channel = fake.workspace.channel(params["channel"])
    if channel.is_archived:
        raise SlackApiFailure("is_archived")
    if channel.is_private:
        raise SlackApiFailure("method_not_supported_for_channel_type")
    already = channel.is_member
    channel.is_member = True
    body: dict[str, Any] = {"ok": True, "channel": channel.as_slack()}
    if already:
        body["warning"] = "already_in_channel"
        body["response_metadata"] = {"warnings": ["already_in_channel"]}
    return body


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
}
