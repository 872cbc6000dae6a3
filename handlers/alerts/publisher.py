"""The publisher: shows in Slack what the store holds about each alert group, within Slack's limits.

Deliveries only record (handlers.alerts.delivery); this part, one per replica, posts or updates
each group whose stored version is ahead of what Slack shows:
- a new group is posted at once; after that its message is updated at most once every
  ALERT_UPDATE_INTERVAL seconds, however many deliveries arrive, and always with the newest
  state, so the last state lands;
- updates of groups that still fire are paced to ALERT_UPDATES_PER_MINUTE across the replicas (a
  bucket in the Slack limiter's ledger, shared through PostgreSQL like Slack's budgets), leaving the
  rest of `chat.update`'s budget (Slack's Tier 3) for the updates that close an episode, so that the
  final state of a storm lands quickly;
- one replica at a time holds a group (a lease in the store, renewed every few seconds while the
  replica works on the group); a replica that dies loses nothing: the group is still pending, its
  lease runs out within seconds (bot/store/alert_publishing.py LEASE) and another replica (or this
  one, restarted) shows it;
- Slack asking to wait (429) is no failure: the bot's Slack client waits out Retry-After and makes
  the call again (bot/slack_limits.py; started with the server, not by a person's request, the
  publisher's calls have no bounded wait). Any other Slack error is kept on the group (a webhook
  delivery waiting on it is told that Slack refused it) and retried with backoff;
- except a channel Slack refuses (handlers/shared/channels.py: not found, archived, the bot not in
  it…) a second time in a row (the publisher's retry or Kibana's, whichever comes first: a channel
  just made, or the bot invited meanwhile, gets that chance): that is for good. The group is shown
  in ALERT_CHANNEL instead, as a new message whose thread says why (when ALERT_CHANNEL is set and
  is another channel), else nowhere: it closes unshown and is not retried (the rule's next alert
  tries the channel again). Counted in `chatops_alert_channels_refused_total{reason}`, listed by
  `python -m bot check`, and told to Kibana (handlers.alerts.delivery).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.failure_log import FailureLog
from bot.services import Services
from bot.slack_ledger import Ledger, LocalLedger
from bot.slack_limits import Budget
from bot.store.alert_groups import AlertGroup
from bot.store.alert_publishing import LEASE_RENEWAL
from handlers.alerts import adoption
from handlers.alerts.group_message import log_line, render
from handlers.shared.blocks import Block
from handlers.shared.blocks import code as code_span
from handlers.shared.channels import CHANNEL_ERRORS, ChannelRefused, invite
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)
_failures = FailureLog(log)  # a store outage fails every turn: logged once per cause and minute

CONCURRENCY = 32  # groups published at once by one replica (Slack's limits queue them further)
TICK = 1.0  # seconds between looks at the store when nothing wakes the publisher
MAX_BACKOFF = 600.0  # seconds between two attempts of a group Slack keeps refusing
SHUTDOWN_GRACE = 5.0  # seconds a shutdown waits for the messages being posted
OTHER_REPLICAS = 1.0  # seconds between two looks at a group a delivery waits on (another replica may show it)


@dataclass(frozen=True, slots=True)
class Shown:
    state: Literal["shown", "failed", "pending"]
    group: AlertGroup


class Pace:
    """At most `per_minute` turns a minute, evenly spaced, across the replicas: the turns are a bucket of
    the Slack limiter's ledger (shared through PostgreSQL, like Slack's budgets; else this process's)."""

    KEY = "alert publisher: updates of groups that still fire"

    def __init__(self, per_minute: int, ledger: Ledger | None = None) -> None:
        self._budget = Budget(per_second=per_minute / 60.0, burst=1)
        self._ledger: Ledger = ledger or LocalLedger()

    async def take(self) -> float:
        """0 and the turn is taken; else the seconds until the next turn (nothing is taken)."""
        return await self._ledger.take(self.KEY, self._budget, person=False)


class Publisher:
    """One per replica: `start()` once the loop runs, `close()` at shutdown, `wake()` after a record."""

    def __init__(self, services: Services, replies: Replies) -> None:
        settings = services.settings
        self._services = services
        self._replies = replies
        self._store = services.store
        self._adoption = adoption.Adoption(services.slack, services.store)
        self._owner = services.replica
        self._interval = timedelta(seconds=settings.alert_update_interval)
        limiter = getattr(services.slack, "limiter", None)  # the bot's LimitedWebClient (bot/slack_client.py)
        self._pace = Pace(settings.alert_updates_per_minute, limiter.ledger if limiter is not None else None)
        self._wake = asyncio.Event()
        self._watchers: dict[int, set[asyncio.Future[None]]] = {}  # deliveries waiting on a group
        self._active: dict[int, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._renew_task: asyncio.Task[None] | None = None

    # ---- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="alert publisher")
        if self._renew_task is None:
            self._renew_task = asyncio.create_task(self._renew(), name="alert publisher leases")

    async def close(self) -> None:
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
            self._loop_task = None
        active = list(self._active.values())
        if active:
            _, late = await asyncio.wait(active, timeout=SHUTDOWN_GRACE)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._renew_task is not None:  # last: the groups still being shown above keep their leases
            self._renew_task.cancel()
            await asyncio.gather(self._renew_task, return_exceptions=True)
            self._renew_task = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        tick = min(TICK, self._interval.total_seconds() / 2)
        while True:
            try:
                await self._round()
            except Exception as error:
                _failures.failed("round", "alert publisher: reading the store failed; trying again", error=error)
            else:
                _failures.recovered("round", "alert publisher: reading the store works again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), tick)
            self._wake.clear()

    async def _renew(self) -> None:
        """Keep the leases of the groups this replica works on (a post waiting out Slack's limits too)."""
        while True:
            await asyncio.sleep(LEASE_RENEWAL.total_seconds())
            try:
                await self._store.renew_alert_group_leases(list(self._active), owner=self._owner)
            except Exception:
                log.exception("alert publisher: renewing its leases failed; trying again")

    async def _round(self) -> None:
        room = CONCURRENCY - len(self._active)
        if room <= 0:
            return
        for group_id in await self._store.due_alert_groups(limit=CONCURRENCY * 2):
            if room <= 0:
                break
            if group_id in self._active:
                continue
            if not await self._store.lease_alert_group(group_id, owner=self._owner):
                continue  # another replica has it
            task = asyncio.create_task(self._publish(group_id), name=f"alert group {group_id}")
            self._active[group_id] = task
            task.add_done_callback(functools.partial(self._done, group_id))
            room -= 1

    def _done(self, group_id: int, _task: asyncio.Task[None]) -> None:
        self._active.pop(group_id, None)
        self.wake()

    # ---- one group ------------------------------------------------------------------------

    async def _publish(self, group_id: int) -> None:
        try:
            await self._show(group_id)
        except asyncio.CancelledError:
            await asyncio.shield(self._store.release_alert_group(group_id, owner=self._owner))
            raise
        except ChannelRefused as refused:
            await self._refused(group_id, refused.code)
        except SlackApiError as error:
            await self._failed(group_id, str(error.response.get("error", "error")))
        except (ClientError, TimeoutError) as error:
            await self._failed(group_id, f"Slack could not be reached ({type(error).__name__})")
        except Exception as error:
            _failures.failed("show", "alert publisher: failed to show alert group %s", group_id, error=error)
            await self._failed(group_id, "the bot failed to show the alerts; see its log")
        finally:
            for watcher in self._watchers.pop(group_id, set()):
                if not watcher.done():
                    watcher.set_result(None)

    async def _failed(self, group_id: int, failure: str) -> None:
        group = await self._store.alert_group(group_id)
        failures = group.failures if group is not None else 0
        wait = min(MAX_BACKOFF, 5.0 * 2**failures)
        log.error(
            "alert publisher: Slack refused the message of rule %s (space %s) in %s: %s; trying again in %.0f s",
            group.rule_id if group else "?",
            group.space if group else "?",
            group.channel if group else "?",
            failure,
            wait,
        )
        await self._retry(group_id, failure, wait)

    async def _refused(self, group_id: int, code: str) -> None:
        """Slack refused the channel: a first time is retried like any failure, a second is for good."""
        group = await self._store.alert_group(group_id)
        if group is None:
            return
        if group.refused is None and group.failures == 0:
            await self._failed(group_id, code)
            return
        elsewhere = self._instead(group) if group.refused is None else None
        if group.refused is None:
            metrics.ALERT_CHANNELS_REFUSED.labels(code).inc()
        with contextlib.suppress(Exception):  # the bot's name, for `/invite @name` in what Kibana and Slack are told
            await self._services.bot_user.ask(self._services.slack)
        log.error(
            "alert publisher: Slack refuses %s for good (%s); alerts of rule %s (space %s) there %s",
            group.message_channel or group.channel,
            code,
            group.rule_id,
            group.space,
            f"go to ALERT_CHANNEL {elsewhere}" if elsewhere else "are not shown",
        )
        await self._store.refuse_alert_group(group_id, owner=self._owner, error=code, elsewhere=elsewhere is not None)
        if elsewhere:
            self.wake()

    def _instead(self, group: AlertGroup) -> str | None:
        """Where the group goes once Slack refused its channel for good: ALERT_CHANNEL, unless that is it."""
        fallback = self._services.settings.alert_channel
        return fallback if fallback and fallback not in (group.channel, group.message_channel) else None

    def _target(self, group: AlertGroup) -> str | None:
        """Where the group's message is posted: its channel, or where it goes instead (None: nowhere)."""
        if group.refused is None:
            return group.channel
        if group.closed_at is not None:
            return None  # closed unshown when Slack refused it
        return self._instead(group)

    async def _retry(self, group_id: int, failure: str | None, wait: float) -> None:
        retry_at = datetime.now(UTC) + timedelta(seconds=wait)
        await self._store.postpone_alert_group(group_id, owner=self._owner, retry_at=retry_at, failure=failure)

    async def _show(self, group_id: int) -> None:
        store, replies = self._store, self._replies
        snapshot = await store.alert_group_snapshot(group_id)
        if snapshot is None or not snapshot.group.pending:
            await store.release_alert_group(group_id, owner=self._owner)
            return
        first_post = snapshot.group.ts is None
        if not first_post and snapshot.firing > 0 and (wait := await self._pace.take()) > 0:
            # a progress update whose turn has not come: later, with the newest state (a recovery that
            # closes the episode brings it forward: bot/store/alert_groups.py)
            await self._retry(group_id, None, wait)
            return
        group = snapshot.group
        if group.ts is None or group.message_channel is None:
            target = self._target(group)
            if target is None:  # Slack refused its channel for good, and it has nowhere else to go
                await store.refuse_alert_group(group_id, owner=self._owner, error=group.refused or "", elsewhere=False)
                return
            blocks, text = render(self._services, snapshot)
            channel, ts = await self._post(group, target, text, blocks)
            await store.save_alert_content(channel=channel, ts=ts, content=json.dumps({"group": group_id}))
            if group.refused is not None:
                await replies.post(channel, self._why_here(group), thread_ts=ts)
        else:
            channel, ts = group.message_channel, group.ts
            stored = await store.get_alert_content(channel=channel, ts=ts)
            blocks, text = render(self._services, snapshot, stored.status_lines if stored else ())
            await replies.update(channel, ts, text, blocks=blocks)
        line = log_line(snapshot, first_post=first_post)
        if line is not None:
            await replies.post(channel, line, thread_ts=ts)
        closed = await store.alert_group_shown(
            group_id,
            owner=self._owner,
            version=group.version,
            logged_version=group.version,
            next_due=datetime.now(UTC) + self._interval,
            close=snapshot.firing == 0,
        )
        if closed:
            log.info("alert group %s: every alert of rule %s recovered; the episode is closed", group_id, group.rule_id)

    async def _post(self, group: AlertGroup, target: str, text: str, blocks: list[Block]) -> tuple[str, str]:
        """Post the group's message (channel id, ts), exactly once: the start of the post is recorded
        first; a group whose earlier post may have reached Slack (started, no ts recorded) adopts that
        message, updated to the newest state, when Slack has it (handlers/alerts/adoption.py)."""
        store = self._store
        started = await store.alert_group_posting(group.id, owner=self._owner)
        found = await self._adoption.posted_before(group, target, started) if started is not None else None
        if found is not None:
            channel, ts = found
            await store.alert_group_posted(group.id, channel=channel, ts=ts)
            await self._replies.update(channel, ts, text, blocks=blocks)
            return channel, ts
        try:
            answer = await self._replies.post(target, text, blocks=blocks, metadata=adoption.metadata(group))
        except SlackApiError:  # Slack answered: the message is not there (a lost answer is no SlackApiError)
            await store.alert_group_not_posted(group.id)
            raise
        channel, ts = str(answer["channel"]), str(answer["ts"])
        await store.alert_group_posted(group.id, channel=channel, ts=ts)
        return channel, ts

    def _why_here(self, group: AlertGroup) -> str:
        """The first line in the thread of a message shown in ALERT_CHANNEL because Slack refused its channel."""
        code = group.refused or ""
        known = CHANNEL_ERRORS.get(code)
        why = f"{known.what} (`{code}`)" if known else f"`{code}`"
        fix = "name another channel (`channel` in the Kibana connector's body, or subscribe another channel)"
        if known is None or known.invite:
            fix = f"invite me there ({invite(self._services.bot_user.name)}), or {fix}"
        return (
            f":warning: These alerts are for {code_span(group.channel)}, where Slack refuses to let me post: {why}. "
            f"They come here (ALERT_CHANNEL) instead. To fix it, {fix}."
        )

    # ---- for the deliveries -------------------------------------------------------------------

    async def shown(self, group_id: int, version: int, *, within: float) -> Shown:
        """Wait (at most `within` seconds) until Slack shows `version` of the group, or it failed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            group = await self._store.alert_group(group_id)
            assert group is not None, f"alert group {group_id} vanished"
            if group.shown_version >= version and group.ts is not None:
                return Shown("shown", group)
            if group.failure is not None:
                return Shown("failed", group)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Shown("pending", group)
            watcher = loop.create_future()
            self._watchers.setdefault(group_id, set()).add(watcher)
            try:  # woken when this replica tried the group; another replica may show it: look again now and then
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(watcher, min(remaining, OTHER_REPLICAS))
            finally:
                self._watchers.get(group_id, set()).discard(watcher)
