"""Thread → case: while a linked case's thread is synced, its new replies become case comments.

Replies arrive as Events API `message` events (`message.channels`, `message.groups`). A reply in a
synced thread is added to the case as a user comment that names its author and links the reply;
edits (`message_changed`), deletions (`message_deleted`), the bot's own messages and other subtypes
are left alone (the card says so). Slack retries an event it thinks was missed: the bot's event
de-duplication (bot/request_context.py) skips a repeated `event_id`, and each reply is also claimed
per link, so it is added once even when a repeat gets through.

Adding the comment is the bot's own work (its credential), done under the link's lease, so that the
activity reader cannot read the new comment before the bot has noted it as its own.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.kibana.acting import as_bot
from bot.kibana.errors import KibanaError
from bot.services import Services
from bot.store import CaseLink
from handlers.cases.linking import note_own_comment
from handlers.shared.blocks import clip
from handlers.shared.feature import Listener

log = logging.getLogger(__name__)

CLAIMS = "case-thread-reply"
SYNCED_SUBTYPES = (None, "thread_broadcast", "file_share")  # a new reply; anything else is not mirrored
COMMENT_LIMIT = 30_000  # Kibana's limit of a user comment
LEASE_WAIT = 5.0  # seconds to wait for the activity reader to let go of the case
LEASE_HOLD = timedelta(seconds=30)


def message_listener(services: Services) -> Listener:
    async def on_message(event: dict[str, Any]) -> None:
        services.track_current_task()
        reply = _reply(event)
        if reply is None:
            return
        channel, thread_ts, ts, user, text = reply
        links = [link for link in await services.store.case_links_of_thread(channel, thread_ts) if link.syncing]
        if not links:
            return
        author = await _author(services, user)
        where = await _permalink(services, channel, ts)
        for link in links:
            try:
                await _add(services, link, ts, text, author, user, where)
            except KibanaError as error:
                log.warning("case %s: the reply %s could not be added: %s", link.case_id, ts, error)

    return on_message


def _reply(event: dict[str, Any]) -> tuple[str, str, str, str, str] | None:
    """(channel, thread, ts, user, text) of a person's new reply in a thread; None for anything else."""
    if event.get("subtype") not in SYNCED_SUBTYPES or event.get("bot_id"):
        return None
    channel, thread_ts, ts, user = (event.get(k) for k in ("channel", "thread_ts", "ts", "user"))
    if not all(isinstance(v, str) and v for v in (channel, thread_ts, ts, user)) or thread_ts == ts:
        return None
    text = event.get("text")
    files = [f.get("name") for f in event.get("files") or [] if isinstance(f, dict) and f.get("name")]
    said = text if isinstance(text, str) else ""
    if files:
        said += ("\n" if said else "") + "Files: " + ", ".join(str(name) for name in files)
    return str(channel), str(thread_ts), str(ts), str(user), said


async def _add(services: Services, link: CaseLink, ts: str, text: str, author: str, user: str, where: str) -> None:
    ttl = timedelta(days=services.settings.case_sync_days + 1)
    if not await services.store.claim_key(CLAIMS, f"{link.id}:{ts}", owner=services.replica, ttl=ttl):
        return  # added already (a repeated event)
    by = f"— {author} (Slack user {user}) in Slack" + (f": {where}" if where else "")
    comment = f"{clip(text, COMMENT_LIMIT - len(by) - 2)}\n\n{by}"
    holder = f"{services.replica}:reply:{ts}"
    await _hold(services, link, holder)
    try:
        with as_bot():
            case = await services.kibana.add_case_comment(link.case_id, comment, owner=link.owner, space=link.space)
        await note_own_comment(services, case, comment)
    except BaseException:
        await services.store.release_key(CLAIMS, f"{link.id}:{ts}")
        raise
    finally:
        await services.store.release_case_link(link.id, holder, seen=None)


async def _hold(services: Services, link: CaseLink, holder: str) -> None:
    """Wait (bounded) for the link's lease; without it, add the comment anyway."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEASE_WAIT
    while await services.store.lease_case_link(link.id, holder, hold=LEASE_HOLD) is None:
        if loop.time() > deadline:
            log.info("case %s: the activity reader holds it; adding the reply without waiting more", link.case_id)
            return
        await asyncio.sleep(0.2)


async def _author(services: Services, user: str) -> str:
    try:
        answer = await services.slack.users_info(user=user)
    except SlackApiError as error:
        log.info("users.info %s: %s", user, error.response.get("error"))
        return user
    found = answer.get("user") or {}
    profile = found.get("profile") or {}
    name = profile.get("display_name") or profile.get("real_name") or found.get("real_name") or found.get("name")
    return f"@{name}" if isinstance(name, str) and name else user


async def _permalink(services: Services, channel: str, ts: str) -> str:
    try:
        answer = await services.slack.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as error:
        log.info("no permalink for %s/%s: %s", channel, ts, error.response.get("error"))
        return ""
    link = answer.get("permalink")
    return link if isinstance(link, str) else ""
