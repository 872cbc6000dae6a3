"""Exactly once at the crash boundary: a group's message that Slack took but the store never recorded.

The publisher records that a post starts before it calls Slack (bot/store/alert_publishing.py,
`post_started_at`), and the message carries the group's id and episode in its `metadata`
(`{"event_type": "kibana_chatops_alert_group", "event_payload": {"group": …, "episode": …}}`). A replica
that dies after Slack took the post, before the store recorded its `ts` (or a post whose answer was lost
on the way), leaves the group with a post started and no ts. Before posting such a group again, the
publisher looks for its message in the channel's recent history (conversations.history with
`include_all_metadata`, from a minute before the first attempt started, newest first, a bounded number of
pages) and adopts its ts instead of posting a second message.

conversations.history needs `channels:history` (public channels) or `groups:history` (private ones).
Without them (an app installed from an older manifest), Slack answers `missing_scope` and the group is
posted as before, possibly twice: said once in the log, and by `python -m bot check`. Its rate limit is
Tier 3 for Marketplace and internal apps; Slack allows commercially distributed apps outside the
Marketplace one call a minute and 15 messages a page (2025); the bot's Slack client waits out the 429s.
The lookup happens only for a group whose post was interrupted, so it is rare.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack_scopes import lacks_scope
from bot.store import Store
from bot.store.alert_groups import AlertGroup

log = logging.getLogger(__name__)

EVENT_TYPE = "kibana_chatops_alert_group"
PAGE = 100  # messages a page (Slack gives distributed non-Marketplace apps at most 15)
PAGES = 10  # pages read at most: the message was posted within moments of the attempt's start
CLOCK_SKEW = timedelta(minutes=1)  # the replica's clock against Slack's, for `oldest`
CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


def metadata(group: AlertGroup) -> dict[str, Any]:
    """The `metadata` of a group's message: which group, which episode."""
    return {"event_type": EVENT_TYPE, "event_payload": {"group": group.id, "episode": group.started_at.isoformat()}}


def is_message_of(message: dict[str, Any], group: AlertGroup) -> bool:
    return message.get("metadata") == metadata(group)


class Adoption:
    """One per publisher: finds a group's message posted by an attempt that recorded no ts."""

    def __init__(self, slack: AsyncWebClient, store: Store) -> None:
        self._slack = slack
        self._store = store
        self._told_scope = False  # the missing history scope is logged once

    async def posted_before(self, group: AlertGroup, target: str, since: datetime) -> tuple[str, str] | None:
        """(channel id, ts) of the group's message in `target` (where the attempt started at `since`
        posted it), or None when it is not there, or could not be looked for (then it is posted again)."""
        channel = target if CHANNEL_ID.fullmatch(target) else await self._store.channel_id_of(target)
        if channel is None:
            log.warning(
                "alert group %s: a post to %s may have reached Slack; no channel id is known for it to look, "
                "so it is posted again",
                group.id,
                target,
            )
            return None
        oldest = f"{(since - CLOCK_SKEW).timestamp():.6f}"
        cursor: str | None = None
        for _ in range(PAGES):
            try:
                answer = await self._slack.conversations_history(
                    channel=channel, oldest=oldest, limit=PAGE, include_all_metadata=True, cursor=cursor
                )
            except SlackApiError as error:
                self._could_not_look(group, channel, error)
                return None
            for message in answer.get("messages") or []:
                if isinstance(message, dict) and is_message_of(message, group):
                    log.info("alert group %s: its message was in Slack already (%s); adopted", group.id, message["ts"])
                    return channel, str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not answer.get("has_more") or cursor is None:
                return None
        log.warning("alert group %s: not found in %s pages of %s's history; posted again", group.id, PAGES, channel)
        return None

    def _could_not_look(self, group: AlertGroup, channel: str, error: SlackApiError) -> None:
        lacking = lacks_scope(error.response)
        if lacking is None:
            log.warning(
                "alert group %s: Slack refused reading %s's history (%s); posted again, maybe twice",
                group.id,
                channel,
                error.response.get("error"),
            )
        elif not self._told_scope:
            self._told_scope = True
            log.warning(
                "alert messages whose post was interrupted (a replica died, an answer was lost) are posted "
                "again, maybe twice: %s",
                lacking,
            )
