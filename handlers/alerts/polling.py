"""Alerts read from Kibana's alerts-as-data (`.alerts-*`), for the channels that subscribed to them.

Every ALERTS_POLL_INTERVAL seconds, for each space that has alert subscriptions:

- one replica claims the space for this tick (`claim_key`, one key per space and tick slot), so
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
alert) or, after a restart, found a duplicate by the store. A document the bot cannot show as it is
is shown clipped, or skipped, and reported once per cause and hour (handlers.alerts.alert_documents);
one the store keeps refusing is skipped after GIVE_UP_AFTER tries while the store answers: no
document stops the alerts after it.

When Elasticsearch cannot be reached or refuses (401/403), the space's channels are told once, in a
sentence saying what to do; polling that space backs off (doubling up to MAX_BACKOFF) and, once it
works again, the channels are told so and reading resumes where it stopped: nothing is lost.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError

from bot import aio
from bot.alerts_index import (
    AlertChange,
    AlertChanges,
    AlertCursor,
    AlertsIndexError,
    Interest,
    SpaceReading,
    UnreadableAlert,
    client_from_settings,
    search_alert_changes,
)
from bot.alerts_index.positions import SEARCHABLE_WITHIN, Pass, millis
from bot.failure_log import FailureLog
from bot.services import Services
from bot.store import AlertSubscription
from bot.store.alert_groups import Recorded
from handlers.alerts.alert_documents import Reported, cause_of, delivery_of
from handlers.alerts.poll_problems import problem_kind, problem_text
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


def matches(subscription: AlertSubscription, change: AlertChange) -> bool:
    if subscription.kind == "all":
        return True
    if subscription.kind == "rule":
        return change.rule_uuid == subscription.value
    return subscription.value in change.rule_tags


def interest_of(subscriptions: Iterable[AlertSubscription]) -> Interest:
    interest = Interest()
    for s in subscriptions:
        if s.kind == "all":
            interest = interest | Interest.of(everything=True)
        elif s.kind == "rule":
            interest = interest | Interest.of(rule_ids=[s.value])
        else:
            interest = interest | Interest.of(tags=[s.value])
    return interest


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
        self._handed: OrderedDict[tuple[str, str], tuple[object, ...]] = OrderedDict()
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
        """Poll every space with subscriptions once (those this replica claims for the tick at `now`)."""
        now = now or datetime.now(UTC)
        async with self._turn:  # a slow tick is never overlapped by the next one on this replica
            subscriptions = await self.services.store.list_alert_subscriptions()
            spaces: dict[str, list[AlertSubscription]] = {}
            for subscription in subscriptions:
                spaces.setdefault(subscription.space, []).append(subscription)
            for gone in set(self.readings) - set(spaces):
                del self.readings[gone]  # a space without subscriptions starts afresh if it gets some again
            polls = await asyncio.gather(*(self._space(space, subs, now) for space, subs in sorted(spaces.items())))
        return {poll.space: poll for poll in polls}

    async def _space(self, space: str, subscriptions: list[AlertSubscription], now: datetime) -> SpacePoll:
        poll = SpacePoll(space)
        retry_at = self._retry_at.get(space)
        if retry_at is not None and now < retry_at:
            poll.skipped = "backing off"
            return poll
        slot = int(now.timestamp() // self.interval)
        ttl = timedelta(seconds=max(600.0, self.interval * 10))
        store = self.services.store
        if not await store.claim_key(CLAIMS, f"{space}@{slot}", owner=self.services.replica, ttl=ttl):
            poll.skipped = "claimed elsewhere"
            return poll
        await store.release_key(CLAIMS, f"{space}@{slot - 1}")  # keeps one or two rows per space, not one a tick
        poll.polled = True
        state = await store.alert_poll_state(space)
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
            return poll
        self.searches += found.searches
        poll.searches, poll.changes, poll.incomplete = found.searches, len(found.changes), not found.complete
        self._failures.pop(space, None)
        self._retry_at.pop(space, None)
        if state.problem is not None:
            await self._works_again(space, subscriptions)
        newest = await self._hand_on(space, subscriptions, found, poll, reading, current)
        if not poll.incomplete:
            reading.done(now)
        if newest > state.cursor_ms:
            await store.advance_alert_cursor(space, cursor_ms=newest, cursor_uuid="")
        return poll

    async def _read(self, space: str, subscriptions: Sequence[AlertSubscription], current: Pass) -> AlertChanges:
        """The next pages of the pass under way (at most `max_pages`)."""
        after = AlertCursor(timestamp_ms=current.after[0], alert_uuid=current.after[1]) if current.after else None
        return await search_alert_changes(
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
        subscriptions: Sequence[AlertSubscription],
        found: AlertChanges,
        poll: SpacePoll,
        reading: SpaceReading,
        current: Pass,
    ) -> int:
        """Record each changed alert for each channel it matches, in the order read; returns the newest
        `@timestamp` gone through. A failure to record stops there (the pass resumes from it next tick),
        unless the store keeps refusing that one alert while it answers: then it is skipped, reported."""
        newest = 0
        documents: Iterable[AlertChange | UnreadableAlert] = heapq.merge(
            found.changes, found.unreadable, key=lambda d: (d.cursor.timestamp_ms, d.cursor.alert_uuid)
        )
        for document in documents:
            rule = document.rule_uuid
            if isinstance(document, UnreadableAlert):
                poll.unshown += 1
                self._reported(space, document.cause, f"skipped alert document {document.id} in {document.index}")
            elif not await self._change(space, subscriptions, document, poll):
                poll.incomplete = True
                break
            if rule is not None:
                reading.read(rule, document.cursor.timestamp_ms)
            newest = max(newest, document.cursor.timestamp_ms)
            current.after = (document.cursor.timestamp_ms, document.cursor.alert_uuid)
        return newest

    async def _change(
        self, space: str, subscriptions: Sequence[AlertSubscription], change: AlertChange, poll: SpacePoll
    ) -> bool:
        """Hand one alert document on (unless it is what was handed on last); False: try again next tick."""
        remembered = (space, change.alert_uuid)
        shown = change.shown
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
        channels = list(dict.fromkeys(s.channel for s in subscriptions if matches(s, change)))
        if channels and not await self._deliver(delivery, channels, poll):
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

    def _remember(self, key: tuple[str, str], state: tuple[object, ...]) -> None:
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
