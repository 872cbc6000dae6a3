"""Kibana → thread: what people do to a linked case in Kibana is posted into its Slack thread.

Every CASE_SYNC_INTERVAL seconds (an APScheduler interval job, as the health reports use), for each
case linked within the last CASE_SYNC_DAYS days, the replica that wins the link's lease (a
conditional update in the store, so replicas never read one case at once) reads the case's new user
actions — `GET /api/cases/{id}/user_actions/_find`, oldest first, 100 a page, from where the link
got to (`seen`) — and posts each comment, status, severity and assignee change into the thread:

- once each, across replicas and restarts: a user action is claimed (per link and action id) before
  it is posted, and `seen` moves past it;
- never what the bot did itself: its own comments (thread sync) and its own status and severity
  changes (the card) are noted as echoes when made, and consumed here instead of being posted;
- edits and deletions of comments in Kibana are not posted (only new comments).

A case deleted in Kibana is unlinked, and its thread told so. Reading is the bot's own work: it
uses the bot's credential.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.errors import SlackApiError

from bot.failure_log import FailureLog
from bot.kibana.acting import as_bot
from bot.kibana.errors import KibanaError, KibanaNotFound
from bot.kibana.models.case_activity import ACTIVITY_PAGE, CaseUserAction
from bot.services import Services
from bot.store import CaseLink
from bot.store.schema import utcnow
from handlers.cases.card import SEVERITIES, STATUSES
from handlers.cases.linking import redraw_card
from handlers.shared.blocks import clip, escape
from handlers.shared.replies import Replies
from handlers.shared.words import count as counted

log = logging.getLogger(__name__)
_failures = FailureLog(log)

CLAIMS = "case-activity"
MAX_READ = 10_000  # Kibana pages through at most this many user actions (page × perPage)
PAGES_PER_ROUND = 10  # a case with more new activity than this continues at the next round
COMMENT_SHOWN = 2500  # characters of a Kibana comment shown in the thread


@dataclass
class Progress:
    seen: int
    redraw: bool = False  # the status or severity changed: the card shows the case as it is now
    posted: int = 0


class CaseActivity:
    """The job bringing linked cases' Kibana activity into their threads (`Runtime.part(CaseActivity)`)."""

    def __init__(self, services: Services, replies: Replies) -> None:
        self.services = services
        self.replies = replies
        self.scheduler: AsyncIOScheduler | None = None
        self._round = asyncio.Lock()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=max(60, 2 * self.services.settings.case_sync_interval))

    async def start(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        every = IntervalTrigger(seconds=self.services.settings.case_sync_interval, timezone="UTC")
        self.scheduler.add_job(self.read_all, every, id="case-activity", max_instances=1, coalesce=True)
        self.scheduler.start()

    async def close(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def read_all(self) -> int:
        """One round over the linked cases: how many user actions it posted."""
        async with self._round:
            try:
                return await self._read_all()
            except Exception as error:
                _failures.failed("case activity", "could not bring the linked cases' Kibana activity in", error=error)
                return 0

    async def _read_all(self) -> int:
        days = self.services.settings.case_sync_days
        store = self.services.store
        since = utcnow() - timedelta(days=days)
        await store.forget_echoes(since)
        posted = 0
        for link in await store.case_links_to_read(since):
            held = await store.lease_case_link(link.id, self.services.replica, hold=self.lease)
            if held is None:
                continue  # another replica reads this case now
            progress = Progress(held.seen)
            try:
                with as_bot():
                    await self._read(held, progress)
            except KibanaNotFound:
                await self._gone(held)
                continue
            except KibanaError as error:
                log.info("case %s: its activity could not be read: %s", held.case_id, error)
            finally:
                await store.release_case_link(held.id, self.services.replica, seen=progress.seen)
            posted += progress.posted
        return posted

    async def _read(self, link: CaseLink, progress: Progress) -> None:
        kibana = self.services.kibana
        for _ in range(PAGES_PER_ROUND):
            if progress.seen >= MAX_READ:
                log.warning("case %s: more than %d user actions; the rest are not read", link.case_id, MAX_READ)
                break
            number = progress.seen // ACTIVITY_PAGE + 1
            page = await kibana.find_case_activity(link.case_id, page=number, space=link.space)
            fresh = page.user_actions[progress.seen % ACTIVITY_PAGE :]
            for action in fresh:
                await self._tell(link, action, progress)
                progress.seen += 1
            if not fresh or len(page.user_actions) < ACTIVITY_PAGE:
                break
        if progress.redraw:
            await redraw_card(self.services, self.replies, link, await kibana.get_case(link.case_id, space=link.space))

    async def _tell(self, link: CaseLink, action: CaseUserAction, progress: Progress) -> None:
        store = self.services.store
        if action.type in ("status", "severity"):
            progress.redraw = True
        if await self._echo(link, action):
            return
        text = describe(action)
        if text is None:
            return
        ttl = timedelta(days=self.services.settings.case_sync_days + 1)
        if not await store.claim_key(CLAIMS, f"{link.id}:{action.id}", owner=self.services.replica, ttl=ttl):
            return  # posted already (by this replica before a restart, or by another)
        try:
            await self.replies.post(link.channel, text, thread_ts=link.thread_ts)
        except SlackApiError as error:
            log.warning("case %s: could not post its activity in %s: %s", link.case_id, link.channel, error)
            return
        progress.posted += 1

    async def _echo(self, link: CaseLink, action: CaseUserAction) -> bool:
        """True when the bot made this change itself (noted when it did)."""
        store = self.services.store
        if action.type == "comment" and action.comment_id:
            return await store.take_echo(link.case_id, "comment", action.comment_id)
        if action.type in ("status", "severity"):
            return await store.take_echo(link.case_id, action.type, str(action.payload.get(action.type, "")))
        return False

    async def _gone(self, link: CaseLink) -> None:
        await self.services.store.unlink_case(link.id)
        try:
            await self.replies.post(
                link.channel,
                "This thread's Kibana case no longer exists (it was deleted in Kibana): its activity is no longer "
                "posted here, and replies are no longer added to it.",
                thread_ts=link.thread_ts,
            )
        except SlackApiError as error:
            log.info("case %s is gone; its thread could not be told: %s", link.case_id, error)


def _who(action: CaseUserAction) -> str:
    user = action.created_by
    return f"*{escape(clip(user.full_name or user.username or 'Someone', 80))}*"


def describe(action: CaseUserAction) -> str | None:
    """The thread's line for a user action; None for what is not posted (edits, deletions, others)."""
    who, payload = _who(action), action.payload
    if action.type == "comment" and action.action == "create":
        comment: dict[str, Any] = payload.get("comment") or {}
        if comment.get("type") == "user":
            said = escape(clip(str(comment.get("comment", "")), COMMENT_SHOWN)).replace("\n", "\n>")
            return f":speech_balloon: {who} commented on the case in Kibana:\n>{said}"
        if comment.get("type") == "alert":
            alerts = comment.get("alertId")
            n = len(alerts) if isinstance(alerts, list) else 1
            return f":paperclip: {who} attached {counted(n, 'alert')} to the case in Kibana."
        return None
    if action.type == "status":
        status = str(payload.get("status", ""))
        if status == "closed":
            return f":white_check_mark: {who} closed the case in Kibana."
        shown = STATUSES.get(status, escape(status))
        return f":arrows_counterclockwise: {who} set the case's status to *{shown}* in Kibana."
    if action.type == "severity":
        severity = str(payload.get("severity", ""))
        level = SEVERITIES.get(severity, escape(severity))
        return f":rotating_light: {who} set the case's severity to *{level}* in Kibana."
    if action.type == "assignees" and action.action in ("add", "delete"):
        people = payload.get("assignees")
        n = len(people) if isinstance(people, list) else 0
        if action.action == "add":
            return f":bust_in_silhouette: {who} assigned {counted(n, 'person', 'people')} to the case in Kibana."
        return f":bust_in_silhouette: {who} unassigned {counted(n, 'person', 'people')} from the case in Kibana."
    return None
