"""Telling people what happened, on the surface the action came from.

- A button on a message in a channel (an alert message): the message is updated in
  place with who did what, and a short receipt goes into its thread.
- A button on an ephemeral message (the rule card) or a modal opened by a command:
  the answer goes back through the command's `response_url`.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import Field
from slack_sdk.errors import SlackApiError

from bot.kibana.acting import kibana_identity
from bot.slack_limits import SlackRateLimited, reset_max_wait, set_max_wait
from handlers.shared.blocks import Block, escape
from handlers.shared.codec import Packed
from handlers.shared.context import Actor
from handlers.shared.interaction import Interaction
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

STATUS_BLOCK = "chatops_status"
MAX_STATUS_LINES = 5


class Origin(Packed):
    """Where an action came from; also travels in a modal's private_metadata."""

    channel: str | None = Field(None, alias="c", max_length=40)
    message_ts: str | None = Field(None, alias="m", max_length=40)
    thread_ts: str | None = Field(None, alias="t", max_length=40)
    response_url: str | None = Field(None, alias="u", max_length=1000)
    ephemeral: bool = Field(True, alias="e")

    @classmethod
    def of(cls, interaction: Interaction) -> Origin:
        return cls(
            channel=interaction.channel,  # the channel the access check used
            message_ts=interaction.message_ts,
            thread_ts=interaction.thread_ts,
            response_url=interaction.response_url,
            ephemeral=interaction.ephemeral,
        )

    @property
    def in_channel_message(self) -> bool:
        return bool(self.channel and self.message_ts and not self.ephemeral)


@dataclass(frozen=True)
class Done:
    """A write that happened. The feature that made it says what it did (a kind of its own); the
    renderers of messages that show what it changed read the kinds they know."""


# Renders a fresh version of a message a feature knows (an alert message kept in the store) after
# `done`, with `new_lines` added to its status: (channel, ts, new_lines, done) → (blocks, text), or
# None when it does not know that message.
MessageRenderer = Callable[[str, str, list[str], Done | None], Awaitable[tuple[list[Block], str] | None]]


def as_whom() -> str:
    """ " (in Kibana: `alice`)" when the write was made with a person's own key; "" with the bot's."""
    who = kibana_identity()
    return f" (in Kibana: {escape(who)})" if who else ""


def status_line(actor: Actor, sentence: str, at: datetime | None = None) -> str:
    at = at or datetime.now(UTC)
    return f"{actor.mention} {sentence} at {at.strftime('%H:%M')} UTC"


class Outcomes:
    """Shows the outcome of a write. The renderers come from every feature, once all are registered."""

    def __init__(self, replies: Replies, *, inflight: set[asyncio.Task[object]] | None = None) -> None:
        self.replies = replies
        self._renderers: tuple[MessageRenderer, ...] = ()
        # message updates made once Slack allows: with the listeners' work, which shutdown waits for (bounded)
        self._catching_up: set[asyncio.Task[object]] = inflight if inflight is not None else set()

    def use_renderers(self, renderers: Iterable[MessageRenderer]) -> None:
        self._renderers = tuple(renderers)

    async def report(
        self,
        origin: Origin,
        actor: Actor,
        sentence: str,
        *,
        ephemeral_blocks: list[Block] | None = None,
        done: Done | None = None,
    ) -> None:
        """Show the outcome of a write: in place and in the thread, or back to the person. With
        KIBANA_IDENTITY=person, it also says whom Kibana saw (the person's Kibana user, or their key)."""
        sentence += as_whom()
        line = status_line(actor, sentence)
        replies = self.replies
        if origin.in_channel_message:
            assert origin.channel and origin.message_ts
            limited: SlackRateLimited | None = None
            try:
                await self._update_in_place(origin, line, done)
            except SlackRateLimited as error:
                # Even ahead of the background's updates (a recovery wave), the update could not go
                # within the person's wait: it is made later, and the person is told so.
                limited = error
                self._catch_up(origin.channel, origin.message_ts, line)
            except Exception:
                # The Kibana write happened: the thread receipt below still records it.
                log.warning("could not update message %s in %s", origin.message_ts, origin.channel, exc_info=True)
            receipt = f"{actor.mention} {sentence}."
            await replies.post(origin.channel, receipt, thread_ts=origin.thread_ts or origin.message_ts)
            if limited is not None:
                await self._tell_catching_up(origin.channel, actor, sentence, limited)
            return
        if origin.response_url:
            await replies.to_response_url(
                origin.response_url,
                f"{actor.mention} {sentence}.",
                blocks=ephemeral_blocks,
                public=not ephemeral_blocks,
                replace=bool(ephemeral_blocks),
            )
            if ephemeral_blocks:
                await replies.to_response_url(origin.response_url, f"{actor.mention} {sentence}.", public=True)
            return
        if origin.channel:
            await replies.ephemeral(origin.channel, actor.user_id, f"You {sentence}.")

    def _catch_up(self, channel: str, ts: str, line: str) -> None:
        """Update the message from what the store holds once Slack allows, waiting as long as it takes
        (a background call: it goes after people's)."""

        async def update_later() -> None:
            unbounded = set_max_wait(None)
            try:
                for renderer in self._renderers:
                    fresh = await renderer(channel, ts, [], None)
                    if fresh is not None:
                        blocks, text = fresh
                        await self.replies.update(channel, ts, text or line, blocks=blocks)
                        return
            except Exception:
                log.warning("could not update message %s in %s after the rate limit", ts, channel, exc_info=True)
            finally:
                reset_max_wait(unbounded)

        task = asyncio.create_task(update_later(), name=f"catch-up {channel} {ts}")
        self._catching_up.add(task)
        task.add_done_callback(self._catching_up.discard)

    async def _tell_catching_up(self, channel: str, actor: Actor, sentence: str, limited: SlackRateLimited) -> None:
        text = (
            f"Done: you {sentence}. Slack is rate limiting message updates, so the message will catch up "
            f"(in about {max(1, math.ceil(limited.retry_in))} s)."
        )
        try:
            await self.replies.ephemeral(channel, actor.user_id, text)
        except SlackApiError as error:
            log.info("could not tell %s the message will catch up: %s", actor.user_id, error.response.get("error"))

    async def redraw(self, channel: str, ts: str, done: Done | None, line: str | None = None) -> bool:
        """Re-render a message a feature knows after `done` happened without a click on it (a mute that
        ended at its time), with `line` added to its status; False when no feature knows it."""
        for renderer in self._renderers:
            fresh = await renderer(channel, ts, [line] if line else [], done)
            if fresh is not None:
                blocks, text = fresh
                await self.replies.update(channel, ts, text or line or "", blocks=blocks)
                return True
        return False

    async def _update_in_place(self, origin: Origin, line: str, done: Done | None) -> None:
        """Re-render the message from what the bot stored about it. The blocks a click carries came
        from the client, so they are never posted back: a message no feature knows gets only the
        thread receipt."""
        assert origin.channel and origin.message_ts
        for renderer in self._renderers:
            fresh = await renderer(origin.channel, origin.message_ts, [line], done)
            if fresh is not None:
                blocks, text = fresh
                await self.replies.update(origin.channel, origin.message_ts, text or line, blocks=blocks)
                return
        log.info("no way to re-render message %s in %s; posting the receipt only", origin.message_ts, origin.channel)
