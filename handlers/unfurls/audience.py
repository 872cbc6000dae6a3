"""Who sees an unfurl, and whether all of them may see what it shows.

Slack shows an unfurl to everyone in the conversation, so a card shows only what its weakest member
may see under the access policy: every member (but the bot) must have the viewer role in that channel
for the link's space. Members come from `conversations.members`, read in pages up to MAX_MEMBERS; a
channel with more, or whose members cannot be read, gets no unfurl (it cannot be known who would see
it). A link still being typed (`source: composer`) is seen by its writer alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.access import Role, Scope
from bot.services import Services

log = logging.getLogger(__name__)

MAX_MEMBERS = 500  # people a card may be shown to (conversations.members, 5 pages of 100 at most)
PAGE = 100
COMPOSER = "COMPOSER"


@dataclass(frozen=True)
class SeeingLinks:
    """The permission an unfurl needs of everyone who will see it (the access policy's Permission)."""

    name: str = "unfurl"
    role: Role = Role.VIEWER
    doing: str = "see Kibana links unfurled"
    scope: Scope = Scope.SPACE


SEEING = SeeingLinks()


async def audience(services: Services, channel: str, sharer: str) -> list[str] | None:
    """Everyone who would see an unfurl in `channel` (the bot left out); None when it cannot be known."""
    if channel == COMPOSER:
        return [sharer]
    members: list[str] = []
    cursor = ""
    for _ in range(MAX_MEMBERS // PAGE):
        try:
            answer = await services.slack.conversations_members(channel=channel, limit=PAGE, cursor=cursor or None)
        except Exception as error:
            log.info("no unfurl in %s: its members could not be read (%s)", channel, error)
            return None
        members.extend(str(m) for m in answer.get("members") or [])
        cursor = (answer.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            bot = (await services.bot_user.ask(services.slack)).get("user_id")
            return [m for m in dict.fromkeys(members) if m != bot]
    log.info("no unfurl in %s: more than %d members", channel, MAX_MEMBERS)
    return None


async def all_may_see(services: Services, people: list[str], channel: str | None, space: str) -> bool:
    """Whether every one of `people` has the viewer role in `channel` for `space`."""
    where = None if channel == COMPOSER else channel
    for person in people:
        if await services.access.check(person, where, SEEING, space) is not None:
            return False
    return True
