"""One Slack interaction — a button or menu click, a message shortcut, a modal submission — parsed
once, here, into what the guard and the features use: who acts and in which channel, where they
are answered privately, the value the bot packed, and where it came from.

Bolt's request context already holds the ids it knows (the user, the team, `channel.id`, the
response_url — the first of a modal's `response_urls`); the rest is read from the payload here.
Nothing else in `handlers` reads a raw interaction payload.

The one channel rule: an interaction acts in `channel.id`, else in `container.channel_id`. A
payload naming two different channels contradicts itself: it is `conflicting`, and the guard
refuses it (and audits it as forged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from handlers.shared.context import Actor
from handlers.shared.replies import Surface


@dataclass(frozen=True)
class Message:
    """The message a click or a message shortcut came from (as the client sent it)."""

    ts: str | None = None
    thread_ts: str | None = None
    text: str = ""
    author: str | None = None
    files: tuple[str, ...] = ()  # the names of its files


@dataclass(frozen=True)
class Interaction:
    """What the guard and the features know of one interaction: who, where, the value, the origin."""

    actor: Actor  # who, in which team, and the one channel they act in (what the access policy reads)
    conflict: str | None = None  # "channel C1 ≠ container C2": the payload names two different channels
    response_url: str | None = None  # where the person is answered privately (the first of a modal's)
    action_id: str | None = None  # the button or menu that was used
    callback_id: str | None = None  # the message shortcut's, or the submitted modal's
    value: str | None = None  # the element's value (or chosen option's), or the modal's private_metadata
    message: Message | None = None  # the message clicked on, or the shortcut's
    ephemeral: bool = True  # the click came from an ephemeral message, or from no message
    trigger_id: str | None = None  # opens a modal, within 3 s
    view_id: str | None = None  # the modal submitted, or the one a click happened in
    view: dict[str, Any] | None = None  # the submitted modal: its `state` is what the form readers read

    @classmethod
    def parse(cls, body: Mapping[str, Any], context: AsyncBoltContext) -> Interaction:
        """`body` as Bolt hands it to a listener, with the `context` Bolt built from it."""
        named = _text(context.channel_id)
        container = _mapping(body.get("container"))
        contained = _text(container.get("channel_id"))
        user = _mapping(body.get("user"))
        actor = Actor(
            user_id=_text(context.user_id) or "",
            user_name=_text(user.get("username")) or _text(user.get("name")) or "",
            team_id=_text(context.team_id),
            channel_id=named or contained,
        )
        conflict = f"channel {named} ≠ container {contained}" if named and contained and named != contained else None
        raw_message = body.get("message")
        view = body.get("view")
        view = view if isinstance(view, dict) else {}
        submitted = body.get("type") == "view_submission"
        action = _first(body.get("actions"))
        chosen = action.get("selected_option")
        element = chosen.get("value") if isinstance(chosen, Mapping) else action.get("value")
        value = view.get("private_metadata") if submitted else element
        return cls(
            actor=actor,
            conflict=conflict,
            response_url=_text(context.response_url),
            action_id=_text(action.get("action_id")),
            callback_id=_text(body.get("callback_id")) or _text(view.get("callback_id")),
            value=_text(value),
            message=_message(raw_message, container.get("message_ts") or body.get("message_ts")),
            ephemeral=bool(container.get("is_ephemeral")) or not (isinstance(raw_message, Mapping) and raw_message),
            trigger_id=_text(body.get("trigger_id")),
            view_id=_text(view.get("id")),
            view=view if submitted else None,
        )

    @property
    def channel(self) -> str | None:
        """The one channel this interaction acts in (none for a modal: it says where it was opened)."""
        return self.actor.channel_id

    @property
    def message_ts(self) -> str | None:
        return self.message.ts if self.message else None

    @property
    def thread_ts(self) -> str | None:
        return self.message.thread_ts if self.message else None

    @property
    def surface(self) -> Surface:
        """Where the person who acted can be answered privately."""
        return Surface(user=self.actor.user_id, channel=self.actor.channel_id, response_url=self.response_url)

    @property
    def form(self) -> dict[str, Any]:
        """The submitted modal, for the form readers (empty for anything else)."""
        return self.view or {}

    def in_channel(self, channel_id: str | None) -> Interaction:
        """The same interaction, its person acting in `channel_id` (where a modal was opened from)."""
        return replace(self, actor=self.actor.in_channel(channel_id))


def _message(raw: object, ts: object) -> Message | None:
    if not isinstance(raw, Mapping):
        return Message(ts=_text(ts)) if _text(ts) else None
    text = raw.get("text")
    return Message(
        ts=_text(ts) or _text(raw.get("ts")),
        thread_ts=_text(raw.get("thread_ts")),
        text=text if isinstance(text, str) else "",
        author=_text(raw.get("user")),
        files=_file_names(raw.get("files")),
    )


def _file_names(raw: object) -> tuple[str, ...]:
    files = raw if isinstance(raw, list) else []
    names = (_text(f.get("name")) or _text(f.get("title")) for f in files if isinstance(f, Mapping))
    return tuple(name for name in names if name)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first(value: object) -> Mapping[str, Any]:
    return _mapping(value[0]) if isinstance(value, list) and value else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
