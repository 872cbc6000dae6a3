"""The workspace the fake Slack serves: team, channels, users, groups, messages.

Messages are kept per channel as ``ts → message`` in posting order, shaped like the
messages Slack returns (``type``, ``ts``, ``text``, ``blocks``, ``user``, ``bot_id``,
``app_id``, ``team``, ``thread_ts``, ``reply_count``, ``edited``).
"""

from __future__ import annotations

import copy
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from devkit.fake_slack.records import SlackApiFailure


@dataclass
class Channel:
    """A conversation: a public or private channel, a direct message (`is_im`, with `user`) or a group
    direct message (`is_mpim`, between `members`)."""

    id: str
    name: str
    is_private: bool = False
    is_member: bool = True
    is_archived: bool = False
    created: int = field(default_factory=lambda: int(time.time()))
    is_im: bool = False
    is_mpim: bool = False
    user: str | None = None  # a direct message's other person
    members: list[str] = field(default_factory=list)  # its people (a channel's: see `Workspace.members_of`)

    @property
    def read_scope(self) -> str:
        """The scope conversations.info needs for this kind of conversation."""
        if self.is_im:
            return "im:read"
        if self.is_mpim:
            return "mpim:read"
        return "groups:read" if self.is_private else "channels:read"

    @property
    def history_scope(self) -> str:
        """The scope conversations.history needs for this kind of conversation."""
        return self.read_scope.replace(":read", ":history")

    def as_slack(self) -> dict[str, Any]:
        """The `channel` object of conversations.info."""
        if self.is_im:  # Slack's direct-message object: no name, no membership flags
            return {
                "id": self.id,
                "created": self.created,
                "is_archived": self.is_archived,
                "is_im": True,
                "is_org_shared": False,
                "user": self.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_member": self.is_member,
            "name_normalized": self.name,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
        }


class Timestamps:
    """Message timestamps: unique, increasing, Slack-formatted ("1715342584.374249")."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> str:
        now = time.time_ns() // 1000
        self._last = max(now, self._last + 1)
        return f"{self._last // 1_000_000}.{self._last % 1_000_000:06d}"


def block_id() -> str:
    """A Slack-style generated block_id (Slack fills missing ones)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(5))


def normalized(obj: Any) -> Any:
    """A copy as Slack stores it: `emoji: true` on plain_text, `verbatim: false` on mrkdwn."""
    if isinstance(obj, list):
        return [normalized(item) for item in obj]
    if not isinstance(obj, dict):
        return copy.deepcopy(obj)
    out = {key: normalized(value) for key, value in obj.items()}
    if out.get("type") == "plain_text" and isinstance(out.get("text"), str):
        out.setdefault("emoji", True)
    elif out.get("type") == "mrkdwn" and isinstance(out.get("text"), str):
        out.setdefault("verbatim", False)
    return out


def with_block_ids(blocks: list[Any]) -> list[Any]:
    """Blocks as Slack stores them: normalized, every block with a block_id."""
    out: list[Any] = normalized(blocks)
    for block in out:
        if isinstance(block, dict) and "block_id" not in block:
            block["block_id"] = block_id()
    return out


@dataclass
class Workspace:
    team_id: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    app_id: str
    channels: dict[str, Channel] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    timestamps: Timestamps = field(default_factory=Timestamps)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # ---- directory -------------------------------------------------------------------
    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False, is_member: bool = True) -> Channel:
        channel = Channel(channel_id, name, is_private=is_private, is_member=is_member)
        self.channels[channel_id] = channel
        self.messages.setdefault(channel_id, {})
        return channel

    def add_direct_message(self, channel_id: str, user: str, *, with_bot: bool = True) -> Channel:
        """A direct message with `user`: the bot's own (`with_bot`), or one between two people."""
        channel = Channel(channel_id, "", is_private=True, is_member=with_bot, is_im=True, user=user)
        self.channels[channel_id] = channel
        self.messages.setdefault(channel_id, {})
        return channel

    def add_group_direct_message(self, channel_id: str, users: list[str], *, is_member: bool = True) -> Channel:
        names = [str(self.users.get(user, {}).get("name", user.lower())) for user in users]
        name = f"mpdm-{'--'.join(names)}-1"
        channel = Channel(channel_id, name, is_private=True, is_member=is_member, is_mpim=True, members=list(users))
        self.channels[channel_id] = channel
        self.messages.setdefault(channel_id, {})
        return channel

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        is_bot: bool = False,
        is_admin: bool = False,
        tz: str = "Europe/Amsterdam",
        deleted: bool = False,
    ) -> dict[str, Any]:
        real = real_name or name.title()
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real,
            "tz": tz,
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "profile": {
                "real_name": real,
                "display_name": name,
                "real_name_normalized": real,
                "display_name_normalized": name,
                "email": email or f"{name}@example.com",
                "team": self.team_id,
            },
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> list[str]:
        self.usergroups[group_id] = list(user_ids)
        return self.usergroups[group_id]

    def channel(self, channel_id: object) -> Channel:
        """The channel a call names (id or `#name`), or Slack's channel_not_found. The bot sees no
        direct message (group direct message) it is not part of."""
        found: Channel | None = None
        if isinstance(channel_id, str):
            found = self.channels.get(channel_id)
            name = channel_id.removeprefix("#")
            if found is None and name:
                found = next((c for c in self.channels.values() if c.name == name and not c.is_im), None)
        if found is None or ((found.is_im or found.is_mpim) and not found.is_member):
            raise SlackApiFailure("channel_not_found")
        return found

    def members_of(self, channel: Channel) -> list[str]:
        """Who is in a conversation: its people, and the bot when it is a member (a direct message: the
        person and the bot)."""
        people = [channel.user] if channel.is_im and channel.user else list(channel.members)
        if channel.is_member and self.bot_user_id not in people:
            people.append(self.bot_user_id)
        return people

    def writable(self, channel_id: object) -> Channel:
        channel = self.channel(channel_id)
        if channel.is_archived:
            raise SlackApiFailure("is_archived")
        if not channel.is_member:
            raise SlackApiFailure("not_in_channel")
        return channel

    # ---- messages --------------------------------------------------------------------
    def message(self, channel_id: str, ts: object) -> dict[str, Any]:
        found = self.messages.get(channel_id, {}).get(str(ts))
        if found is None:
            raise SlackApiFailure("message_not_found")
        return found

    def post(
        self,
        channel_id: str,
        *,
        text: str,
        blocks: list[Any] | None,
        thread_ts: str | None,
        user: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a new message (by the bot unless `user` says otherwise)."""
        ts = self.timestamps.next()
        message: dict[str, Any] = {"type": "message", "ts": ts, "text": text}
        if user is None:
            message.update(user=self.bot_user_id, bot_id=self.bot_id, app_id=self.app_id)
        else:
            message["user"] = user
        message["team"] = self.team_id
        if blocks:
            message["blocks"] = with_block_ids(blocks)
        message.update(extra or {})
        if thread_ts:
            parent = self.message(channel_id, thread_ts)
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            parent["latest_reply"] = ts
            message["thread_ts"] = parent["ts"]
            message["parent_user_id"] = parent.get("user")
        self.messages.setdefault(channel_id, {})[ts] = message
        return message

    def update(self, channel_id: str, ts: str, *, text: str | None, blocks: list[Any] | None) -> dict[str, Any]:
        message = self.message(channel_id, ts)
        if message.get("bot_id") != self.bot_id:
            raise SlackApiFailure("cant_update_message")
        if text is not None:
            message["text"] = text
        if blocks is not None:
            if blocks:
                message["blocks"] = with_block_ids(blocks)
            else:
                message.pop("blocks", None)
        message["edited"] = {"user": self.bot_user_id, "ts": self.timestamps.next()}
        return message

    def delete(self, channel_id: str, ts: str) -> None:
        message = self.message(channel_id, ts)
        if message.get("bot_id") != self.bot_id:
            raise SlackApiFailure("cant_delete_message")
        del self.messages[channel_id][ts]

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Top-level messages (and thread broadcasts) of a channel, oldest first."""
        return [m for m in self.messages.get(channel_id, {}).values() if m.get("thread_ts") in (None, m["ts"])]

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """A thread: its parent then its replies, oldest first."""
        return [m for m in self.messages.get(channel_id, {}).values() if m["ts"] == ts or m.get("thread_ts") == ts]

    def permalink(self, channel_id: str, ts: str) -> str:
        message = self.message(channel_id, ts)
        link = f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"
