"""Whether the bot can post what a channel subscribes to, asked of Slack before subscribing it."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

INVITE = "Invite the bot first (`/invite @Kibana ChatOps`), then subscribe again."


async def channel_problem(client: AsyncWebClient, channel: str, what: str, *, direct: bool) -> str | None:
    """Why the bot could not post `what` ("reports", "alerts") in `channel`, as a sentence for the
    user; None when it can. `direct`: a direct message may subscribe."""
    try:
        answer = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        code = str(error.response.get("error", ""))
        if code == "channel_not_found":
            return f"I cannot see this channel, so I could not post {what} here. {INVITE}"
        log.warning("conversations.info for %s failed (%s); assuming the bot can post", channel, code)
        return None
    info: dict[str, Any] = answer.get("channel") or {}
    is_direct = bool(info.get("is_im") or info.get("is_mpim"))
    if is_direct and not direct:
        return f"{what.capitalize()} go to channels, never to a direct message; subscribe from a channel."
    if info.get("is_archived"):
        return "This channel is archived; subscribe a channel that is in use."
    if info.get("is_member") is False and not info.get("is_im"):
        return f"I am not a member of this channel, so I could not post {what} here. {INVITE}"
    return None
