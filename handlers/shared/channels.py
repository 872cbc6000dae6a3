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

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_limits import SlackRateLimited
from bot.slack_scopes import lacks_scope

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
    user; None when it can. `direct`: a direct message may subscribe. `bot`: the bot's name.

    Only Slack's description of the conversation counts as permission: when Slack refuses to
    describe it (a missing scope, a token of the wrong kind, any other error), the answer is a
    sentence saying so, never a subscription; so is no answer at all (Slack unreachable, a timeout)."""
    try:
        answer = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        return _not_described(error, channel, what, direct=direct, bot=bot)
    except (aiohttp.ClientError, TimeoutError, OSError) as error:  # no answer at all: not a yes either
        log.warning("conversations.info for %s got no answer (%s); not subscribing it", channel, type(error).__name__)
        return (
            "Slack did not answer when I checked this channel, so nothing was subscribed. Try again in a "
            "minute; if it keeps failing, an admin can look at the bot's log."
        )
    info: dict[str, Any] = answer.get("channel") or {}
    is_direct = bool(info.get("is_im") or info.get("is_mpim"))
    if is_direct and not direct:
        return _direct_refused(what)
    if info.get("is_archived"):
        return "This channel is archived; subscribe a channel that is in use."
    if info.get("is_member") is False and not info.get("is_im"):
        return f"I am not a member of this channel, so I could not post {what} here. {_invite_then(bot)}"
    return None


def _direct_refused(what: str) -> str:
    return f"{what.capitalize()} go to channels, never to a direct message; subscribe from a channel."


def _invite_then(bot: str | None) -> str:
    return f"Invite the bot first ({invite(bot)}), then subscribe again."


def _not_described(error: SlackApiError, channel: str, what: str, *, direct: bool, bot: str | None) -> str:
    """The sentence for Slack's refusal to describe the conversation."""
    code = str(error.response.get("error", ""))
    nothing = "so nothing was subscribed"
    if isinstance(error, SlackRateLimited):
        return f"{error.sentence()} Nothing was subscribed."
    lacking = lacks_scope(error.response)
    if lacking is not None:
        log.warning("conversations.info for %s refused: %s", channel, lacking)
        return f"I could not check this conversation, {nothing}: {lacking}."
    if code == "channel_not_found":
        if channel.startswith("D"):  # a direct message the bot is not part of (ids of DMs start with D)
            if not direct:
                return _direct_refused(what)
            return (
                f"I cannot post {what} in a direct message between people; subscribe from a channel, or from "
                "your direct message with me."
            )
        return f"I cannot see this channel, so I could not post {what} here. {_invite_then(bot)}"
    log.warning("conversations.info for %s failed (%s); not subscribing it", channel, code)
    return (
        f"I could not check this channel (Slack answered {code or 'with an error'}), {nothing}. Try again; "
        "if it keeps failing, an admin can look at the bot's log."
    )
