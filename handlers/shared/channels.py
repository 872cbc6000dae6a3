"""Slack's channel errors, in one table, and whether the bot can post what a channel subscribes to.

`CHANNEL_ERRORS` is every error Slack gives when the channel, not the message, is the trouble: what
it means, and whether inviting the bot puts it right. The reply helper (handlers/shared/replies.py)
raises `ChannelRefused` for them, naming the bot as `auth.test` does (`/invite @name`); the error
sentences (handlers/shared/errors.py) and the health reports (paused on such a channel) read the same
table.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelError:
    what: str  # what Slack's error means, as a clause
    invite: bool  # inviting the bot to the channel puts it right


CHANNEL_ERRORS: Mapping[str, ChannelError] = {
    "channel_not_found": ChannelError("the channel was not found (deleted, or private without the bot)", True),
    "not_in_channel": ChannelError("the bot is not a member of the channel", True),
    "is_archived": ChannelError("the channel is archived", False),
    "restricted_action": ChannelError("the workspace does not let the bot post in the channel", False),
}


def invite(bot: str | None) -> str:
    """How to invite the bot: `/invite @name`, with its name from `auth.test` (None: not known yet)."""
    return f"`/invite @{bot}`" if bot else "`/invite` and the bot's name"


def what_to_do(code: str, bot: str | None) -> str | None:
    """What a person does about a channel error (None for another error)."""
    error = CHANNEL_ERRORS.get(code)
    if error is None:
        return None
    if error.invite:
        return f"Invite the bot to the channel ({invite(bot)}) and try again."
    return f"{error.what.capitalize()}; use another channel."


class ChannelRefused(SlackApiError):
    """Slack refused a post (an update, an ephemeral message) because of the channel (`CHANNEL_ERRORS`);
    `bot` is the bot's name, for the invite hint. Slack's answer is kept (`response["error"]`)."""

    def __init__(self, refused: SlackApiError, bot: str | None) -> None:
        self.code = str(refused.response.get("error", ""))
        self.bot = bot
        super().__init__(f"Slack refused it: {CHANNEL_ERRORS[self.code].what}", refused.response)  # type: ignore[no-untyped-call]  # slack_sdk's error


async def channel_problem(
    client: AsyncWebClient, channel: str, what: str, *, direct: bool, bot: str | None
) -> str | None:
    """Why the bot could not post `what` ("reports", "alerts") in `channel`, as a sentence for the
    user; None when it can. `direct`: a direct message may subscribe. `bot`: the bot's name."""
    then = f"Invite the bot first ({invite(bot)}), then subscribe again."
    try:
        answer = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        code = str(error.response.get("error", ""))
        if code == "channel_not_found":
            return f"I cannot see this channel, so I could not post {what} here. {then}"
        log.warning("conversations.info for %s failed (%s); assuming the bot can post", channel, code)
        return None
    info: dict[str, Any] = answer.get("channel") or {}
    is_direct = bool(info.get("is_im") or info.get("is_mpim"))
    if is_direct and not direct:
        return f"{what.capitalize()} go to channels, never to a direct message; subscribe from a channel."
    if info.get("is_archived"):
        return "This channel is archived; subscribe a channel that is in use."
    if info.get("is_member") is False and not info.get("is_im"):
        return f"I am not a member of this channel, so I could not post {what} here. {then}"
    return None
