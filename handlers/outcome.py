"""Telling people what happened, on the surface the action came from.

- A button on a message in a channel (an alert message): the message is updated in
  place with who did what, and a short receipt goes into its thread.
- A button on an ephemeral message (the rule card) or a modal opened by a command:
  the answer goes back through the command's `response_url`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from bot.services import Services
from handlers.blocks import Block, context
from handlers.context import Actor

log = logging.getLogger(__name__)

STATUS_BLOCK = "chatops_status"
MAX_STATUS_LINES = 5


@dataclass
class Origin:
    """Where an action came from; also travels in a modal's private_metadata."""

    channel: str | None = None
    message_ts: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None
    ephemeral: bool = True

    @classmethod
    def from_action(cls, body: dict[str, Any]) -> Origin:
        container = body.get("container") or {}
        message = body.get("message") or {}
        return cls(
            channel=container.get("channel_id") or (body.get("channel") or {}).get("id"),
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=message.get("thread_ts"),
            response_url=body.get("response_url"),
            ephemeral=bool(container.get("is_ephemeral")) or not message,
        )

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Origin:
        data = json.loads(text or "{}")
        return cls(
            **{k: data[k] for k in ("channel", "message_ts", "thread_ts", "response_url", "ephemeral") if k in data}
        )

    @property
    def in_channel_message(self) -> bool:
        return bool(self.channel and self.message_ts and not self.ephemeral)


# Renders a fresh version of a known message (e.g. an alert message kept in the store).
# Returns the new blocks and text, or None when it does not know that message.
MessageRenderer = Callable[[Services, str, str, list[str]], Awaitable[tuple[list[Block], str] | None]]
RENDERERS: list[MessageRenderer] = []


def status_line(actor: Actor, sentence: str, at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    return f"{actor.mention} {sentence} at {at.strftime('%H:%M')} UTC"


def with_status(blocks: list[Block], line: str) -> list[Block]:
    """The same blocks with `line` added to the status context (newest last, bounded)."""
    lines: list[str] = []
    kept: list[Block] = []
    for block in blocks:
        if block.get("block_id") == STATUS_BLOCK:
            lines = [e.get("text", "") for e in block.get("elements", [])]
        else:
            kept.append(block)
    lines = [*lines, line][-MAX_STATUS_LINES:]
    return [*kept, context(*lines, block_id=STATUS_BLOCK)]


async def report(
    services: Services,
    origin: Origin,
    actor: Actor,
    sentence: str,
    *,
    message_blocks: list[Block] | None = None,
    message_text: str = "",
    ephemeral_blocks: list[Block] | None = None,
) -> None:
    """Show the outcome of a write: in place and in the thread, or back to the person."""
    line = status_line(actor, sentence)
    if origin.in_channel_message:
        assert origin.channel and origin.message_ts
        try:
            await _update_in_place(services, origin, line, message_blocks, message_text)
        except Exception:
            # The Kibana write happened: the thread receipt below still records it.
            log.warning("could not update message %s in %s", origin.message_ts, origin.channel, exc_info=True)
        await services.slack.chat_postMessage(
            channel=origin.channel,
            thread_ts=origin.thread_ts or origin.message_ts,
            text=f"{actor.mention} {sentence}.",
        )
        return
    if origin.response_url:
        webhook = services.webhook(origin.response_url)
        await webhook.send(
            text=f"{actor.mention} {sentence}.",
            blocks=ephemeral_blocks,
            response_type="ephemeral" if ephemeral_blocks else "in_channel",
            replace_original=bool(ephemeral_blocks),
        )
        if ephemeral_blocks:
            await webhook.send(text=f"{actor.mention} {sentence}.", response_type="in_channel", replace_original=False)
        return
    if origin.channel:
        await services.slack.chat_postEphemeral(channel=origin.channel, user=actor.user_id, text=f"You {sentence}.")


async def _update_in_place(
    services: Services, origin: Origin, line: str, blocks: list[Block] | None, text: str
) -> None:
    assert origin.channel and origin.message_ts
    for renderer in RENDERERS:
        fresh = await renderer(services, origin.channel, origin.message_ts, [line])
        if fresh is not None:
            blocks, text = fresh
            break
    else:
        if blocks is None:
            log.info(
                "no way to re-render message %s in %s; posting the receipt only",
                origin.message_ts,
                origin.channel,
            )
            return
        blocks = with_status(blocks, line)
    await services.slack.chat_update(channel=origin.channel, ts=origin.message_ts, blocks=blocks, text=text or line)
