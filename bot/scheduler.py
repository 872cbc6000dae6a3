"""Scheduled health reports: APScheduler jobs fenced by claims in the store.

One APScheduler job per distinct schedule (cron line + time zone), not per
subscription: when it fires, the job loads the subscriptions on that schedule from the
store, groups them by Kibana space, and for each space

1. claims the (space, schedule, fire time) tick in the store — on several replicas
   only one goes on, so Kibana is asked once per space per tick across all replicas;
2. claims every subscription's (subscription id, fire time) run with `claim_runs` — the
   exactly-once fence: only a winner posts that report;
3. reads the health once (shared, in this process, with any other schedule firing for
   the same space at the same instant) and hands it to each won subscription's poster.

The fire time is the trigger's scheduled time (from APScheduler's submission event),
never `now`, so that every replica claims the same key. Every `poll_seconds` the
scheduler compares `store.subscriptions_version()` with the version it last loaded and
re-syncs its jobs, so a subscription made on any replica is live everywhere within a
poll interval.

This module is core: it knows nothing of Slack. The caller gives it `check(space)`
(returns an outcome with a `summary()` string, never raises for Kibana problems) and
`post(subscription, outcome)` (raises `ChannelUnusable` when the channel cannot take
posts; the subscription is then paused).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot import aio
from bot.failure_log import FailureLog
from bot.kibana.acting import as_bot
from bot.metrics import SCHEDULED_RUNS
from bot.schedule import Schedule
from bot.store import Store, Subscription

log = logging.getLogger(__name__)
_failures = FailureLog(log)  # a store or Kibana outage fails every poll and tick: logged once a minute

POSTED = "posted"
SKIPPED_UNCHANGED = "skipped_unchanged"
LOST_CLAIM = "lost_claim"
PAUSED = "paused"
FAILED = "failed"
OUTCOMES = (POSTED, SKIPPED_UNCHANGED, LOST_CLAIM, PAUSED, FAILED)

TICK_NAMESPACE = "health-tick"
TICK_CLAIM_TTL = timedelta(days=1)  # the fire time is in the key: a day only lets old rows be pruned
KEEP_CLAIMS = timedelta(days=2)
PRUNE_EVERY = timedelta(hours=1)
JOB_PREFIX = "health:"


class Report(Protocol):
    def summary(self) -> str:
        """What --on-change compares: the overall status and sub-states (or the failure)."""
        ...


R = TypeVar("R", bound=Report)


class ChannelUnusable(Exception):
    """The channel cannot take the report (archived, gone, bot not a member): pause, do not retry."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, order=True)
class Group:
    """Subscriptions sharing one schedule; one APScheduler job fires for all of them."""

    cron: str
    timezone: str

    @property
    def job_id(self) -> str:
        return f"{JOB_PREFIX}{self.timezone}|{self.cron}"

    def trigger(self) -> CronTrigger:
        return Schedule(text=self.cron, cron=self.cron, timezone=self.timezone).trigger()

    @classmethod
    def of(cls, subscription: Subscription) -> Group:
        return cls(subscription.cron, subscription.timezone)


class HealthScheduler(Generic[R]):
    """One per replica. `start()` in the running loop, `close()` at shutdown."""

    def __init__(
        self,
        store: Store,
        *,
        check: Callable[[str], Awaitable[R]],
        post: Callable[[Subscription, R], Awaitable[None]],
        replica: str,
        poll_seconds: float = 30.0,
        misfire_grace_seconds: int = 60,
        post_concurrency: int = 16,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.replica = replica
        self.poll_seconds = poll_seconds
        self.misfire_grace_seconds = misfire_grace_seconds
        self.clock = clock
        self.apscheduler = AsyncIOScheduler(timezone=UTC)
        self._check = check
        self._post = post
        self._post_slots = asyncio.Semaphore(post_concurrency)
        self._version: str | None = None
        self._submitted: dict[str, datetime] = {}
        self._checks: dict[tuple[str, datetime], asyncio.Task[R]] = {}
        self._poller: asyncio.Task[None] | None = None
        self._last_prune: datetime | None = None
        self._sync_lock = asyncio.Lock()

    # ---- lifecycle --------------------------------------------------------------------
    async def start(self) -> None:
        self.apscheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self.apscheduler.start()
        await self.sync()
        self._poller = asyncio.create_task(self._poll(), name="health-subscriptions-poll")

    async def close(self) -> None:
        poller, self._poller = self._poller, None
        await aio.cancel(poller)
        if self.apscheduler.running:
            self.apscheduler.shutdown(wait=False)
        for task in self._checks.values():
            task.cancel()
        self._checks.clear()

    # ---- jobs follow the store ----------------------------------------------------------
    def groups(self) -> set[Group]:
        """The schedules this replica currently has a job for."""
        return {job.kwargs["group"] for job in self.apscheduler.get_jobs() if job.id.startswith(JOB_PREFIX)}

    async def sync(self) -> set[Group]:
        """Make the jobs match the store's unpaused subscriptions; returns the groups."""
        async with self._sync_lock:
            version = await self.store.subscriptions_version()  # read first: a later change re-syncs
            wanted = {Group.of(s) for s in await self.store.list_subscriptions(include_paused=False)}
            have = self.groups()
            for group in have - wanted:
                self.apscheduler.remove_job(group.job_id)
            for group in sorted(wanted - have):
                self.apscheduler.add_job(
                    self._run_job,
                    trigger=group.trigger(),
                    id=group.job_id,
                    name=f"health reports {group.cron} ({group.timezone})",
                    kwargs={"group": group},
                    coalesce=True,
                    misfire_grace_time=self.misfire_grace_seconds,
                    max_instances=1,
                    replace_existing=True,
                )
            self._version = version
            if wanted != have:
                log.info("health report schedules: %d (version %s)", len(wanted), version)
            return wanted

    async def sync_if_changed(self) -> bool:
        if await self.store.subscriptions_version() == self._version:
            return False
        await self.sync()
        return True

    async def _poll(self) -> None:
        while True:  # runs until close() cancels it
            await asyncio.sleep(self.poll_seconds)
            try:
                await self.sync_if_changed()
                await self._prune()
            except Exception as error:
                _failures.failed(
                    "subscriptions refresh",
                    "could not refresh health-report subscriptions; trying again every %.0f s",
                    self.poll_seconds,
                    error=error,
                )
                continue
            _failures.recovered("subscriptions refresh", "health-report subscriptions refresh again")

    async def _prune(self) -> None:
        now = self.clock()
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return
        self._last_prune = now
        await self.store.prune_claims(now - KEEP_CLAIMS)

    # ---- firing -----------------------------------------------------------------------
    def _on_submitted(self, event: JobSubmissionEvent) -> None:
        # Dispatched right after the job's task is created and before it runs (same loop).
        if event.job_id.startswith(JOB_PREFIX) and event.scheduled_run_times:
            self._submitted[event.job_id] = event.scheduled_run_times[-1]

    async def _run_job(self, group: Group) -> dict[int, str]:
        fire = self._submitted.pop(group.job_id, None) or self._latest_fire_time(group)
        try:
            # The bot's own work: APScheduler runs a job in the context its timer was set in, which is
            # a person's request when their `health subscribe` added the job (KIBANA_IDENTITY=person).
            with as_bot():
                results = await self.tick(group, fire)
        except Exception as error:  # APScheduler would log a traceback for every tick of every schedule
            _failures.failed("health report tick", "health reports due at %s were not posted", fire, error=error)
            return {}
        _failures.recovered("health report tick", "health reports are posted again")
        return results

    def _latest_fire_time(self, group: Group) -> datetime:
        """The last fire time up to now (used only if the submission event was not seen)."""
        now = self.clock()
        trigger = group.trigger()
        moment = trigger.get_next_fire_time(None, now - timedelta(seconds=self.misfire_grace_seconds + 1))
        latest = now
        for _ in range(100):  # schedules are >= 1 minute apart: a few fire times in the window at most
            if moment is None or moment > now:
                break
            latest = moment
            moment = trigger.get_next_fire_time(moment, moment)
        return latest

    async def tick(self, group: Group, fire_time: datetime) -> dict[int, str]:
        """One fire time of one schedule: subscription id -> outcome (see OUTCOMES)."""
        if fire_time.tzinfo is None:
            raise ValueError("fire_time must be timezone-aware")
        fire = fire_time.astimezone(UTC)
        subscriptions = [s for s in await self.store.list_subscriptions(include_paused=False) if Group.of(s) == group]
        by_space: dict[str, list[Subscription]] = defaultdict(list)
        for subscription in subscriptions:
            by_space[subscription.space].append(subscription)
        results: dict[int, str] = {}
        parts = await asyncio.gather(*(self._tick_space(space, group, fire, subs) for space, subs in by_space.items()))
        for part in parts:
            results.update(part)
        for outcome in results.values():
            SCHEDULED_RUNS.labels(outcome).inc()
        self._forget_checks(before=fire - timedelta(hours=1))
        return results

    async def _tick_space(
        self, space: str, group: Group, fire: datetime, subscriptions: list[Subscription]
    ) -> dict[int, str]:
        key = f"{space}|{group.timezone}|{group.cron}@{fire.isoformat()}"
        if not await self.store.claim_key(TICK_NAMESPACE, key, owner=self.replica, ttl=TICK_CLAIM_TTL):
            return dict.fromkeys((s.id for s in subscriptions), LOST_CLAIM)
        won = await self.store.claim_runs([s.id for s in subscriptions], fire, replica=self.replica)
        results = {s.id: LOST_CLAIM for s in subscriptions if s.id not in won}
        mine = [s for s in subscriptions if s.id in won]
        if not mine:
            return results
        try:
            outcome = await self._check_once(space, fire)
        except Exception as error:
            _failures.failed(
                f"health check {space}",
                "health check for space %s failed; %d report(s) not posted",
                space,
                len(mine),
                error=error,
            )
            return results | dict.fromkeys((s.id for s in mine), FAILED)
        delivered = await asyncio.gather(*(self._deliver(s, outcome) for s in mine))
        return results | dict(zip((s.id for s in mine), delivered, strict=True))

    def _check_once(self, space: str, fire: datetime) -> asyncio.Task[R]:
        """One health read per (space, fire time) in this process, shared by every schedule."""
        task = self._checks.get((space, fire))
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = asyncio.ensure_future(self._check(space))
            self._checks[(space, fire)] = task
        return task

    def _forget_checks(self, *, before: datetime) -> None:
        for key in [k for k, task in self._checks.items() if k[1] < before and task.done()]:
            del self._checks[key]

    async def _deliver(self, subscription: Subscription, outcome: R) -> str:
        previous: str | None = None
        if subscription.on_change:
            summary = outcome.summary()
            previous = await self.store.set_last_health(subscription.id, summary)
            if previous == summary:
                return SKIPPED_UNCHANGED
        try:
            async with self._post_slots:
                await self._post(subscription, outcome)
        except ChannelUnusable as unusable:
            log.warning(
                "health subscription %d paused: cannot post to channel %s (%s)",
                subscription.id,
                subscription.channel,
                unusable.reason,
            )
            await self.store.set_subscription_paused(subscription.id, True, reason=unusable.reason)
            return PAUSED
        except Exception as error:
            _failures.failed(
                "health report post",
                "health report for subscription %d could not be posted",
                subscription.id,
                error=error,
            )
            if subscription.on_change:  # not seen by the channel: the next run must post it
                await self.store.set_last_health(subscription.id, previous or "")
            return FAILED
        return POSTED


def count(results: Iterable[str]) -> dict[str, int]:
    """Outcomes tallied: {"posted": 3, "lost_claim": 1, …}."""
    tally: dict[str, int] = defaultdict(int)
    for outcome in results:
        tally[outcome] += 1
    return dict(tally)
