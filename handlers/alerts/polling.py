"""Alerts read from Kibana's alerts-as-data (`.alerts-*`), for the channels that subscribed to them.

Every ALERTS_POLL_INTERVAL seconds, for each space that has alert subscriptions:

- one replica claims the space for this tick (`claim_key`, one key per space and tick slot), so
  the replicas share the work instead of repeating it;
- it makes one search for all the space's subscriptions together (the union of their rules, tags
  or "everything"), from the space's cursor in the store, paging with `search_after` (pages of
  ALERTS_PAGE_SIZE, at most MAX_PAGES a tick: the rest follows next tick);
- each alert document that changed becomes the `AlertDelivery` the webhook would have parsed and
  is recorded through the delivery path (`Intake.record`, which the publisher then shows in Slack,
  retrying what Slack refuses) for each subscribed channel it matches. That is the webhook's own
  path, keyed on (space, rule, alert id, alert uuid): an alert that arrives by webhook and by
  polling, or is read twice, is posted once; a recovery updates its message;
- the cursor moves on (never backwards) once the alerts before it went through.

The search starts OVERLAP before the stored cursor: Elasticsearch makes a write searchable up to
a second later (the refresh interval), so a document written just before the cursor may only show
up on a later search. What is read again is recognised (this replica remembers the state it last
handed on for each alert) or, after a restart, found a duplicate by the store.

When Elasticsearch cannot be reached or refuses (401/403), the space's channels are told once, in a
sentence saying what to do; polling that space backs off (doubling up to MAX_BACKOFF) and, once it
works again, the channels are told so and the cursor resumes where it stopped: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from slack_sdk.errors import SlackApiError

from bot import aio
from bot.alerts_index import (
    AlertChange,
    AlertChanges,
    AlertCursor,
    AlertsIndexError,
    AlertsIndexForbidden,
    AlertsIndexUnauthorized,
    AlertsIndexUnavailable,
    AlertsIndexUnreachable,
    Interest,
    client_from_settings,
    search_alert_changes,
)
from bot.services import Services
from bot.store import AlertSubscription
from bot.store.alert_groups import Recorded
from handlers.alerts.webhook import AlertDelivery
from handlers.shared.replies import Replies

if TYPE_CHECKING:
    from elasticsearch import AsyncElasticsearch

log = logging.getLogger(__name__)

CLAIMS = "alerts-poll"
OVERLAP = timedelta(seconds=5)  # Elasticsearch's refresh interval is 1 s; a margin for clock skew too
MAX_PAGES = 10  # per space and tick; the rest follows on the next tick
MAX_BACKOFF = timedelta(minutes=5)
TELL_TRANSIENT_AFTER = 3  # unreachable / 5xx: tell the channels after this many failed polls in a row
REMEMBERED_ALERTS = 200_000  # alert states remembered to recognise documents read again


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


def problem_kind(error: AlertsIndexError) -> str:
    if isinstance(error, AlertsIndexUnauthorized):
        return "unauthorized"
    if isinstance(error, AlertsIndexForbidden):
        return "forbidden"
    if isinstance(error, AlertsIndexUnreachable):
        return "unreachable"
    if isinstance(error, AlertsIndexUnavailable):
        return "unavailable"
    return "rejected"


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


def delivery_of(change: AlertChange, space: str) -> AlertDelivery:
    """The delivery the webhook connector would have sent for this alert document."""
    finished = change.finished
    reason = change.reason or ""
    if change.untracked and not reason:
        reason = "The alert is no longer tracked (its rule was disabled or deleted, or the alert was untracked)."
    return AlertDelivery(
        rule_id=change.rule_uuid,
        rule_name=change.rule_name,
        space_id=space,
        alert_id=change.instance_id,
        alert_uuid=change.alert_uuid,
        action_group=("recovered" if finished else change.action_group or "active"),
        state="recovered" if finished else "active",
        reason=reason,
        tags=list(change.rule_tags),
        date=(change.end if finished and change.end else change.start or change.timestamp),
    )


def _key(cursor: AlertCursor) -> tuple[int, str]:
    return cursor.timestamp_ms, cursor.alert_uuid


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
        overlap: timedelta = OVERLAP,
    ) -> None:
        settings = services.settings
        self.services = services
        self.intake = intake
        self.replies = replies
        self.interval = interval if interval is not None else settings.alerts_poll_interval
        self.page_size = page_size if page_size is not None else settings.alerts_page_size
        self.max_pages = max_pages
        self.overlap = overlap
        self.searches = 0  # Elasticsearch searches made, in all
        self.paused = False  # True: the background loop does not tick (tests drive `tick` themselves)
        self._es = es
        self._own_es = es is None
        self._handed: OrderedDict[tuple[str, str], tuple[object, ...]] = OrderedDict()
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
            except Exception:  # a store hiccup: log, try again next tick
                log.exception("alert polling: the tick failed")

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
        if state is None or state.cursor_ms is None:
            start = min(s.created_at for s in subscriptions) - self.overlap
            state = await store.start_alert_cursor(space, cursor_ms=int(start.timestamp() * 1000), cursor_uuid="")
        assert state.cursor_ms is not None
        stored = AlertCursor(timestamp_ms=state.cursor_ms, alert_uuid=state.cursor_uuid or "")
        since = AlertCursor(timestamp_ms=stored.timestamp_ms - int(self.overlap.total_seconds() * 1000), alert_uuid="")
        try:
            found = await self._read(space, subscriptions, since, stored)
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
        done = await self._hand_on(space, subscriptions, found.changes, poll)
        if _key(done) > _key(stored):
            await store.advance_alert_cursor(space, cursor_ms=done.timestamp_ms, cursor_uuid=done.alert_uuid)
        return poll

    async def _read(
        self, space: str, subscriptions: Sequence[AlertSubscription], since: AlertCursor, stored: AlertCursor
    ) -> AlertChanges:
        """The changes from `since` on, page by page: at most `max_pages` pages past the stored cursor
        (the pages of the overlap, read again, do not count, so a busy overlap never stalls the cursor)."""
        found = AlertChanges(cursor=since)
        fresh_pages = 0
        while fresh_pages < self.max_pages:
            page = await search_alert_changes(
                self.es,
                space=space,
                interest=interest_of(subscriptions),
                cursor=found.cursor,
                page_size=self.page_size,
                max_pages=1,
                url=str(self.services.settings.elasticsearch_url or ""),
            )
            found.searches += page.searches
            found.changes.extend(page.changes)
            found.cursor = page.cursor
            if page.complete:
                return found
            if page.cursor is not None and _key(page.cursor) > _key(stored):
                fresh_pages += 1
        found.complete = False
        return found

    async def _hand_on(
        self, space: str, subscriptions: Sequence[AlertSubscription], changes: list[AlertChange], poll: SpacePoll
    ) -> AlertCursor:
        """Record each changed alert for each channel it matches, oldest first; returns the cursor after
        the last alert that went through (a failure to record stops there: the next tick tries again)."""
        done = AlertCursor(timestamp_ms=0, alert_uuid="")
        for change in changes:
            remembered = (space, change.alert_uuid)
            shown = change.shown
            if self._handed.get(remembered) != shown:
                channels = list(dict.fromkeys(s.channel for s in subscriptions if matches(s, change)))
                if channels and not await self._deliver(delivery_of(change, space), channels, poll):
                    poll.incomplete = True
                    break
                self._remember(remembered, shown)
            if _key(change.cursor) > _key(done):
                done = change.cursor
        return done

    async def _deliver(self, delivery: AlertDelivery, channels: list[str], poll: SpacePoll) -> bool:
        for channel in channels:
            try:
                recorded = await self.intake.record(delivery, channel, fan_out=True)  # each subscribed channel
            except Exception:
                log.exception(
                    "alert polling: failed on alert %s of rule %s (space %s)",
                    delivery.alert_id,
                    delivery.rule_id,
                    delivery.space,
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


def problem_text(space: str, kind: str, sentence: str, slash: str) -> str:
    """One message for the channel: what happened, what to do, and that nothing will be lost."""
    what = {
        "forbidden": "Elasticsearch refuses to let me read Kibana's alerts",
        "unauthorized": "Elasticsearch rejects my credentials",
        "unreachable": "I cannot reach Elasticsearch",
        "unavailable": "Elasticsearch is failing",
        "rejected": "Elasticsearch refuses my alert search",
    }[kind]
    todo = {
        "forbidden": "An admin of the bot should grant its API key `read` on `.alerts-*`.",
        "unauthorized": "An admin of the bot should check ELASTICSEARCH_API_KEY (KIBANA_API_KEY when it is unset).",
        "unreachable": "An admin of the bot should check ELASTICSEARCH_URL and that Elasticsearch is up.",
        "unavailable": "It usually passes; if it lasts, an admin should look at the cluster's health.",
        "rejected": "An admin of the bot should run `python -m bot check` and look at the bot's log.",
    }[kind]
    return (
        f":warning: {what}, so alerts of space `{space}` are not reaching this channel: {sentence}. {todo} "
        f"I keep trying and will post the alerts I missed once it works (`{slash} alerts subscriptions` "
        "shows the state)."
    )
