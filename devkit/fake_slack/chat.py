"""chat.* and conversations.* methods over the workspace's message store."""

from __future__ import annotations

import base64
import copy
from decimal import Decimal, InvalidOperation
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


def message_metadata(params: dict[str, Any]) -> dict[str, Any] | None:
    """chat.postMessage's `metadata`: `{"event_type": "…", "event_payload": {…}}`, as an object or JSON."""
    metadata = json_argument(params, "metadata", "invalid_metadata_format")
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise SlackApiFailure("invalid_metadata_format")
    event_type, payload = metadata.get("event_type"), metadata.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise SlackApiFailure("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": copy.deepcopy(payload)}


async def post_message(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    required(params, "channel")
    channel = fake.workspace.writable(params["channel"])
    text, blocks = message_content(params)
    metadata = message_metadata(params)
    extra = {"metadata": metadata} if metadata is not None else None
    message = fake.workspace.post(channel.id, text=text, blocks=blocks, thread_ts=_thread_ts(params), extra=extra)
    return {"ok": True, "channel": channel.id, "ts": message["ts"], "message": copy.deepcopy(message)}


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


def _flag(value: object) -> bool:
    return value in (True, 1, "1", "true", "True")


def _ts(value: object, error: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SlackApiFailure(error) from None


async def conversations_history(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    """A conversation's top-level messages (and thread broadcasts), newest first: between `oldest` and
    `latest` (both excluded unless `inclusive`), `limit` a page (default 100, at most 999), the next page
    by `cursor` (Slack's form: base64 of "next_ts:<ts>"). Messages carry their `metadata` only with
    `include_all_metadata`. Takes a conversation id only (a #name is channel_not_found), needs the
    `*:history` scope of the conversation's kind, and the bot in the channel."""
    required(params, "channel")
    if params["channel"] not in fake.workspace.channels:
        raise SlackApiFailure("channel_not_found")
    channel = fake.workspace.channel(params["channel"])
    fake.bot_scopes.require(channel.history_scope)
    if not channel.is_member:
        raise SlackApiFailure("not_in_channel")
    oldest, latest = _ts(params.get("oldest"), "invalid_ts_oldest"), _ts(params.get("latest"), "invalid_ts_latest")
    inclusive = up_to_latest = _flag(params.get("inclusive"))
    cursor = params.get("cursor")
    if cursor:  # the next page starts at the cursor's message
        try:
            latest, up_to_latest = Decimal(base64.b64decode(str(cursor)).decode().removeprefix("next_ts:")), True
        except (ValueError, InvalidOperation):
            raise SlackApiFailure("invalid_cursor") from None
    try:
        limit = min(int(params.get("limit") or 100), 999)
    except ValueError:
        raise SlackApiFailure("invalid_limit") from None
    if limit < 1:
        raise SlackApiFailure("invalid_limit")

    def within(ts: Decimal) -> bool:
        after = oldest is None or ts > oldest or (inclusive and ts == oldest)
        before = latest is None or ts < latest or (up_to_latest and ts == latest)
        return after and before

    found = [m for m in reversed(fake.workspace.channel_messages(channel.id)) if within(Decimal(m["ts"]))]
    page, more = found[:limit], found[limit:]
    with_metadata = _flag(params.get("include_all_metadata"))
    messages = [{k: copy.deepcopy(v) for k, v in m.items() if with_metadata or k != "metadata"} for m in page]
    body: dict[str, Any] = {
        "ok": True,
        "messages": messages,
        "has_more": bool(more),
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    if more:
        body["response_metadata"] = {"next_cursor": base64.b64encode(f"next_ts:{more[0]['ts']}".encode()).decode()}
    return body


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


async def conversations_members(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    """A conversation's members (the bot among them when it is one), `limit` a page (default 100, at
    most 1000), the next page by `cursor`; needs the `*:read` scope of the conversation's kind."""
    required(params, "channel")
    channel = fake.workspace.channel(params["channel"])
    fake.bot_scopes.require(channel.read_scope)
    members = fake.workspace.members_of(channel)
    try:
        limit = min(int(params.get("limit") or 100), 1000)
        start = (
            int(base64.b64decode(str(params["cursor"])).decode().removeprefix("members:"))
            if params.get("cursor")
            else 0
        )
    except ValueError:
        raise SlackApiFailure("invalid_cursor") from None
    if limit < 1:
        raise SlackApiFailure("invalid_limit")
    page, rest = members[start : start + limit], members[start + limit :]
    cursor = base64.b64encode(f"members:{start + limit}".encode()).decode() if rest else ""
    return {"ok": True, "members": page, "response_metadata": {"next_cursor": cursor}}


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.postEphemeral": post_ephemeral,
    "chat.update": update,
    "chat.delete": delete,
    "chat.getPermalink": get_permalink,
    "conversations.history": conversations_history,
    "conversations.info": conversations_info,
    "conversations.join": conversations_join,
    "conversations.members": conversations_members,
}
