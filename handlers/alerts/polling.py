"""Alerts read from Kibana's alerts-as-data (`.alerts-*`), for the channels that subscribed to them.

Every ALERTS_POLL_INTERVAL seconds, for each space that has alert subscriptions:

- one replica claims the space for this tick (`claim_keys`, one key per space and tick slot), so
  the replicas share the work instead of repeating it;
- it makes one search for all the space's subscriptions together (the union of their rules, tags
  or "everything"), of the documents new to it (`bot.alerts_index.positions`: per rule, those
  after the newest run of it read, since Kibana stamps every document of a run with the run's
  start and writes them at its end; for other rules, runs that started lately; untracked alerts by
  `kibana.alert.end`, since untracking changes nothing else), paging with `search_after` in pages
  of ALERTS_PAGE_SIZE, at most MAX_PAGES a tick: the rest of that pass follows next tick;
- each alert document that changed becomes the `AlertDelivery` the webhook would have parsed and
  is recorded through the delivery path (`Intake.record`, which the publisher then shows in Slack,
  retrying what Slack refuses) for each subscribed channel it matches. That is the webhook's own
  path, keyed on (space, rule, alert id, alert uuid): an alert that arrives by webhook and by
  polling, or is read twice, is posted once; a recovery or an untracking updates its message;
- the space's watermark in the store (the newest `@timestamp` read) moves on, never backwards:
  after a restart, or on another replica, reading starts from it (less the longest rule run).

What is read again is recognised (this replica remembers the state it last handed on for each
alert) or, after a restart, found a duplicate by the store. Most documents a tick reads are alerts
written again unchanged by their rule's next run: each is compared by its uuid and what a message
shows of it (`AlertDocument.quick`, straight from the `_source`) before anything else, and only a
document that differs is read into a model, matched to its channels (`SubscribedChannels`) and
handed on. The store is asked a bounded number of times a tick, not per space: one transaction
claims the spaces, one read gives their watermarks, one transaction moves them on.

A document the bot cannot show as it is is shown clipped, or skipped, and reported once per cause
and hour (handlers.alerts.alert_documents); one the store keeps refusing is skipped after
GIVE_UP_AFTER tries while the store answers: no document stops the alerts after it.

When Elasticsearch cannot be reached or refuses (401/403), the space's channels are told once, in a
sentence saying what to do; polling that space backs off (doubling up to MAX_BACKOFF) and, once it
works again, the channels are told so and reading resumes where it stopped: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError

from bot import aio
from bot.alerts_index import (
    AlertChange,
    AlertCursor,
    AlertDocument,
    AlertDocuments,
    AlertsIndexError,
    Shown,
    SpaceReading,
    UnreadableAlert,
    client_from_settings,
    search_alert_documents,
)
from bot.alerts_index.positions import SEARCHABLE_WITHIN, Pass, millis
from bot.failure_log import FailureLog
from bot.services import Services
from bot.store import AlertPollState, AlertSubscription
from bot.store.alert_groups import Recorded
from handlers.alerts.alert_documents import Reported, cause_of, delivery_of
from handlers.alerts.card_facts import with_window_titles
from handlers.alerts.poll_problems import problem_kind, problem_text
from handlers.alerts.subscribed_channels import SubscribedChannels, interest_of
from handlers.alerts.webhook import AlertDelivery
from handlers.shared.replies import Replies

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

log = logging.getLogger(__name__)
_failure_log = FailureLog(log)  # a store outage fails every turn: logged once per cause and minute

CLAIMS = "alerts-poll"
MAX_PAGES = 10  # per space and tick; the rest of the pass follows on the next tick
MAX_BACKOFF = timedelta(minutes=5)
TELL_TRANSIENT_AFTER = 3  # unreachable / 5xx: tell the channels after this many failed polls in a row
REMEMBERED_ALERTS = 200_000  # alert states remembered to recognise documents read again
GIVE_UP_AFTER = 5  # ticks in a row the store refuses one alert (while it answers) before it is skipped


class Recording(Protocol):
    """The poller's way into the delivery path (`Intake.record`): the alert is recorded (exactly once per
    subscribed channel, keyed on space, rule, alert id and alert uuid, with `fan_out`) and the publisher
    shows it when Slack allows; the poller does not wait for Slack."""

    async def record(self, delivery: AlertDelivery, channel: str, *, fan_out: bool = False) -> Recorded: ...


@dataclass
class SpacePoll:
    """What one tick did in one space."""

    space: str
    polled: bool = False
    skipped: str = ""  # why it was not polled: "claimed elsewhere", "backing off"
    searches: int = 0
    changes: int = 0  # alert documents read
    handed_on: int = 0  # (alert, channel) pairs recorded
    outcomes: dict[str, int] = field(default_factory=dict)  # the store's: new, changed, recovered, duplicate, …
    problem: str | None = None  # the Elasticsearch problem, when the search failed
    incomplete: bool = False  # stopped early (more pages, or a delivery that failed to be recorded)
    clipped: int = 0  # alert documents shown clipped to what the bot keeps
    unshown: int = 0  # alert documents that could not be shown (reported, never blocking)


class AlertPoller:
    """The poller of one replica; `tick(now)` is one round (tests and benchmarks call it directly)."""

    def __init__(
        self,
        services: Services,
        intake: Recording,
        replies: Replies,
        *,
        es: AsyncElasticsearch | None = None,
        interval: float | None = None,
        page_size: int | None = None,
        max_pages: int = MAX_PAGES,
        overlap: timedelta = SEARCHABLE_WITHIN,
    ) -> None:
        settings = services.settings
        self.services = services
        self.intake = intake
        self.replies = replies
        self.interval = interval if interval is not None else settings.alerts_poll_interval
        self.page_size = page_size if page_size is not None else settings.alerts_page_size
        self.max_pages = max_pages
        self.overlap = overlap  # a write is searchable within this (refresh interval, clocks of Kibana's nodes)
        self.searches = 0  # Elasticsearch searches made, in all
        self.paused = False  # True: the background loop does not tick (tests drive `tick` themselves)
        self._es = es
        self._own_es = es is None
        self._handed: OrderedDict[tuple[str, str], Shown] = OrderedDict()  # (space, alert uuid) -> shown last
        self._window_titles: dict[tuple[str, str], str] = {}  # (space, maintenance window id) -> its title
        self.readings: dict[str, SpaceReading] = {}  # where this replica reads each space from
        self._strikes: dict[tuple[str, str], int] = {}  # (space, alert uuid) -> ticks in a row the store refused it
        self._reported = Reported()
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, datetime] = {}
        self._turn = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self._es is not None or self.services.settings.elasticsearch_url is not None

    @property
    def es(self) -> AsyncElasticsearch:
        if self._es is None:
            self._es = client_from_settings(self.services.settings)
        return self._es

    # ---- the background loop --------------------------------------------------------------
    async def start(self) -> None:
        if not self.enabled or self._task is not None:
            return
        self._task = asyncio.create_task(self._loop(), name="alerts-poller")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.paused:
                continue
            try:
                await self.tick()
            except Exception as error:  # a store hiccup: log (once a minute), try again next tick
                _failure_log.failed("tick", "alert polling: the tick failed", error=error)
            else:
                _failure_log.recovered("tick", "alert polling: ticks work again")

    async def close(self) -> None:
        task, self._task = self._task, None
        await aio.cancel(task)
        if self._es is not None and self._own_es:
            await self._es.close()
            self._es = None

    # ---- one tick -----------------------------------------------------------------------
    async def tick(self, now: datetime | None = None) -> dict[str, SpacePoll]:
        """Poll every space with subscriptions once (those this replica claims for the tick at `now`).

        The store is asked a bounded number of times a tick, whatever the number of spaces: one
        transaction claims the spaces (and forgets this replica's claims of the tick before), one read
        gives their positions, one transaction moves the watermarks of the spaces read."""
        now = now or datetime.now(UTC)
        store = self.services.store
        async with self._turn:  # a slow tick is never overlapped by the next one on this replica
            subscriptions = await store.list_alert_subscriptions()
            spaces: dict[str, list[AlertSubscription]] = {}
            for subscription in subscriptions:
                spaces.setdefault(subscription.space, []).append(subscription)
            for gone in set(self.readings) - set(spaces):
                del self.readings[gone]  # a space without subscriptions starts afresh if it gets some again
            polls = {space: SpacePoll(space) for space in sorted(spaces)}
            due = []
            for space, poll in polls.items():
                retry_at = self._retry_at.get(space)
                if retry_at is not None and now < retry_at:
                    poll.skipped = "backing off"
                else:
                    due.append(space)
            slot = int(now.timestamp() // self.interval)
            ttl = timedelta(seconds=max(600.0, self.interval * 10))
            # The tick before's claims are forgotten: one or two rows per space, not one a tick.
            keys: dict[str, str | None] = {f"{space}@{slot}": f"{space}@{slot - 1}" for space in due}
            won = await store.claim_keys(CLAIMS, keys, owner=self.services.replica, ttl=ttl) if due else set()
            for space in due:
                if f"{space}@{slot}" not in won:
                    polls[space].skipped = "claimed elsewhere"
            claimed = [space for space in due if f"{space}@{slot}" in won]
            states = {state.space: state for state in await store.alert_poll_states()} if claimed else {}
            done = await asyncio.gather(
                *(self._space(polls[space], spaces[space], states.get(space), now) for space in claimed),
                return_exceptions=True,
            )
            moved = {
                space: (newest, "") for space, newest in zip(claimed, done, strict=True) if isinstance(newest, int)
            }
            await store.advance_alert_cursors(moved)
            for failed in done:
                if isinstance(failed, BaseException):
                    raise failed  # a store hiccup: the tick fails (logged), the spaces read are kept
        return polls

    async def _space(
        self, poll: SpacePoll, subscriptions: list[AlertSubscription], state: AlertPollState | None, now: datetime
    ) -> int | None:
        """Read one space this replica claimed; returns its new watermark, or None when it stays."""
        space = poll.space
        poll.polled = True
        store = self.services.store
        floor = millis(min(s.created_at for s in subscriptions) - self.overlap)  # nothing from before subscribing
        if state is None or state.cursor_ms is None:
            state = await store.start_alert_cursor(space, cursor_ms=floor, cursor_uuid="")
        assert state.cursor_ms is not None
        reading = self.readings.setdefault(space, SpaceReading(searchable_within=self.overlap))
        current = reading.pass_from(state.cursor_ms, floor, now)
        try:
            found = await self._read(space, subscriptions, current)
        except AlertsIndexError as error:
            self.searches += 1
            poll.searches = 1
            poll.problem = problem_kind(error)
            await self._failed(space, subscriptions, error, now)
            return None
        self.searches += found.searches
        poll.searches, poll.changes, poll.incomplete = found.searches, len(found.documents), not found.complete
        self._failures.pop(space, None)
        self._retry_at.pop(space, None)
        if state.problem is not None:
            await self._works_again(space, subscriptions)
        newest = await self._hand_on(space, SubscribedChannels(subscriptions), found, poll, reading, current)
        if not poll.incomplete:
            reading.done(now)
        return newest if newest > state.cursor_ms else None

    async def _read(self, space: str, subscriptions: Sequence[AlertSubscription], current: Pass) -> AlertDocuments:
        """The next pages of the pass under way (at most `max_pages`)."""
        after = AlertCursor(timestamp_ms=current.after[0], alert_uuid=current.after[1]) if current.after else None
        return await search_alert_documents(
            self.es,
            space=space,
            interest=interest_of(subscriptions),
            cursor=after,
            read_from=current.read_from,
            page_size=self.page_size,
            max_pages=self.max_pages,
            url=str(self.services.settings.elasticsearch_url or ""),
        )

    async def _hand_on(
        self,
        space: str,
        channels: SubscribedChannels,
        found: AlertDocuments,
        poll: SpacePoll,
        reading: SpaceReading,
        current: Pass,
    ) -> int:
        """Record each changed alert for each channel it matches, in the order read; returns the newest
        `@timestamp` gone through. A failure to record stops there (the pass resumes from it next tick),
        unless the store keeps refusing that one alert while it answers: then it is skipped, reported.

        A document whose `quick()` (uuid, rule, what a message shows) is what was handed on last for
        that alert is gone through without being read into a model: most documents of a rule run are
        the alert written again unchanged."""
        handed = self._handed
        runs: dict[str, int] = {}  # rule -> the newest run of it gone through (documents come oldest first)
        last: AlertDocument | None = None
        for document in found.documents:
            quick = document.quick()  # (alert uuid, rule uuid, what a message shows) or None
            if quick is not None and handed.get((space, quick[0])) == quick:
                runs[quick[1]] = document.timestamp_ms
                last = document
                continue
            change = document.change()
            if isinstance(change, UnreadableAlert):
                poll.unshown += 1
                self._reported(space, change.cause, f"skipped alert document {change.id} in {change.index}")
                rule_read = change.rule_uuid
            else:
                if not await self._change(space, channels, change, poll, quick or change.shown):
                    poll.incomplete = True
                    break
                rule_read = change.rule_uuid
            if rule_read is not None:
                runs[rule_read] = document.timestamp_ms
            last = document
        for rule, started_ms in runs.items():
            reading.read(rule, started_ms)
        if last is None:
            return 0
        current.after = (last.timestamp_ms, last.alert_uuid)
        return last.timestamp_ms

    async def _change(
        self, space: str, channels: SubscribedChannels, change: AlertChange, poll: SpacePoll, shown: Shown
    ) -> bool:
        """Hand one alert document on (unless `shown` is what was handed on last); False: try again next tick."""
        remembered = (space, change.alert_uuid)
        if self._handed.get(remembered) == shown:
            return True
        try:
            delivery, clipped = delivery_of(change, space)
        except ValidationError as error:
            poll.unshown += 1
            self._reported(space, cause_of(error), f"skipped alert {change.alert_uuid} of rule {change.rule_uuid}")
            self._remember(remembered, shown)
            return True
        for cause in clipped:
            self._reported(space, cause, f"alert {change.alert_uuid} of rule {change.rule_uuid} shown clipped")
        poll.clipped += bool(clipped)
        to = channels.of(change)
        if to and delivery.facts is not None and delivery.facts.maintenance_window_ids:
            delivery.facts = await with_window_titles(self.services, delivery.facts, space, self._window_titles)
        if to and not await self._deliver(delivery, to, poll):
            strikes = self._strikes.get(remembered, 0) + 1
            if strikes < GIVE_UP_AFTER or not await self.services.store.ping():
                self._strikes[remembered] = strikes
                return False
            poll.unshown += 1
            what = f"skipped alert {change.alert_uuid} of rule {change.rule_uuid}"
            self._reported(space, f"the store refused it {GIVE_UP_AFTER} times", what)
        self._strikes.pop(remembered, None)
        self._remember(remembered, shown)
        return True

    async def _deliver(self, delivery: AlertDelivery, channels: list[str], poll: SpacePoll) -> bool:
        for channel in channels:
            try:
                recorded = await self.intake.record(delivery, channel, fan_out=True)  # each subscribed channel
            except Exception as error:
                _failure_log.failed(
                    "deliver",
                    "alert polling: failed on alert %s of rule %s (space %s)",
                    delivery.alert_id,
                    delivery.rule_id,
                    delivery.space,
                    error=error,
                )
                return False
            poll.handed_on += 1
            poll.outcomes[recorded.outcome] = poll.outcomes.get(recorded.outcome, 0) + 1
        return True

    def _remember(self, key: tuple[str, str], state: Shown) -> None:
        self._handed[key] = state
        self._handed.move_to_end(key)
        while len(self._handed) > REMEMBERED_ALERTS:
            self._handed.popitem(last=False)

    # ---- when Elasticsearch fails --------------------------------------------------------
    async def _failed(
        self, space: str, subscriptions: Sequence[AlertSubscription], error: AlertsIndexError, now: datetime
    ) -> None:
        failures = self._failures.get(space, 0) + 1
        self._failures[space] = failures
        wait = min(timedelta(seconds=self.interval * 2 ** min(failures, 16)), MAX_BACKOFF)
        self._retry_at[space] = now + wait
        kind = problem_kind(error)
        log.warning(
            "alert polling: space %s: %s (failure %d; next try in %.0f s)",
            space,
            error.sentence,
            failures,
            wait.total_seconds(),
        )
        transient = kind in ("unreachable", "unavailable")
        if transient and failures < TELL_TRANSIENT_AFTER:
            return
        if not await self.services.store.set_alert_problem(space, kind, error.sentence):
            return  # the channels were told already (by this replica or another)
        text = problem_text(space, kind, error.sentence, self.services.settings.slack_command)
        await self._tell(subscriptions, text)

    async def _works_again(self, space: str, subscriptions: Sequence[AlertSubscription]) -> None:
        cleared = await self.services.store.clear_alert_problem(space)
        if cleared is None:
            return
        text = (
            f":white_check_mark: Reading alerts from Elasticsearch works again (space `{space}`). "
            "Alerts from while it failed follow here."
        )
        await self._tell(subscriptions, text)

    async def _tell(self, subscriptions: Sequence[AlertSubscription], text: str) -> None:
        for channel in dict.fromkeys(s.channel for s in subscriptions):
            try:
                await self.replies.post(channel, text)
            except SlackApiError as error:
                log.warning("alert polling: could not tell %s: %s", channel, error.response.get("error"))
            except Exception as error:  # aiohttp errors, timeouts
                log.warning("alert polling: could not tell %s: %s", channel, type(error).__name__)
