"""The response_url sink.

Every POST is recorded. When the URL was handed out for a message (a button click in
it), `replace_original` / `delete_original` change that message in the store, and an
`in_channel` response posts a new message — what the user would see in Slack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from devkit.fake_slack import block_kit
from devkit.fake_slack.records import ResponseUrlPost

if TYPE_CHECKING:
    from devkit.fake_slack.server import FakeSlack


@dataclass
class ResponseTarget:
    name: str
    channel: str | None
    message_ts: str | None
    user: str | None


def _error(text: str, status: int = 400) -> web.Response:
    return web.Response(status=status, text=text)


def apply(fake: FakeSlack, target: ResponseTarget, body: dict[str, Any]) -> None:
    """What the response does to the conversation."""
    ws = fake.workspace
    raw_text = body.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    blocks = body.get("blocks") if isinstance(body.get("blocks"), list) else None
    original = ws.messages.get(target.channel or "", {}).get(target.message_ts or "")
    if body.get("delete_original") and original is not None and target.channel and target.message_ts:
        del ws.messages[target.channel][target.message_ts]
    elif body.get("replace_original") and original is not None:
        original["text"] = text
        if blocks is not None:
            original["blocks"] = blocks
        else:
            original.pop("blocks", None)
    elif body.get("response_type") == "in_channel" and target.channel in ws.channels:
        thread_ts = body.get("thread_ts")
        ws.post(target.channel, text=text, blocks=blocks, thread_ts=str(thread_ts) if thread_ts else None)
    elif target.channel is not None:
        ws.ephemerals.append(
            {"channel": target.channel, "user": target.user, "ts": ws.timestamps.next(), "text": text}
            | ({"blocks": blocks} if blocks else {})
        )


async def handle_post(fake: FakeSlack, request: web.Request) -> web.Response:
    """POST /response/{name}: Slack answers 200 `ok`, or 4xx with a short error text."""
    target = fake.response_targets.get(request.match_info["name"])
    if target is None:
        return _error("no_service", 404)
    try:
        body = json.loads(await request.text())
    except json.JSONDecodeError:
        return _error("invalid_payload")
    if not isinstance(body, dict):
        return _error("invalid_payload")
    fake.responses.append(
        ResponseUrlPost(target.name, str(request.url), body, channel=target.channel, message_ts=target.message_ts)
    )
    text = body.get("text")
    if isinstance(text, str) and len(text) > block_kit.MESSAGE_TEXT:
        return _error("msg_too_long")
    if "blocks" in body and block_kit.message_problems(body["blocks"]):
        return _error("invalid_blocks")
    if not text and not body.get("blocks") and not body.get("delete_original"):
        return _error("no_text")
    apply(fake, target, body)
    return web.Response(text="ok")
