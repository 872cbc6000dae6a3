"""Slack's Web API rate limits, kept by the bot before Slack has to say so.

Every Web API call the bot makes goes through one `SlackLimiter` (through `LimitedWebClient` in
bot/slack_client.py, the bot's `AsyncWebClient`; Bolt's per-request clients are copies of it sharing
the limiter):

- **Pacing.** Slack limits each method per app per workspace by tier (Tier 1: 1+ a minute, Tier 2:
  20+, Tier 3: 50+, Tier 4: 100+) and `chat.postMessage` to about one message a second per channel,
  with short bursts, plus a workspace-wide limit. Each method (each channel, for `chat.postMessage`)
  has a token bucket that never lets more than its tier's calls go out in any minute; posts also
  take a token from a workspace-wide bucket.
- **One call at a time per method (per channel).** A bucket's calls go out one after the other,
  first come first served, so when Slack answers 429 no other call of that method (channel) is
  already on its way.
- **Retry-After.** On HTTP 429 (`ratelimited`) the bucket is closed for the `Retry-After` seconds
  Slack sent and the call is made again after them, keeping its place in the queue; the caller
  just waits. slack_sdk's own retry handlers are not given 429s.
- **A bounded wait.** A caller may bound how long it waits (`set_max_wait(seconds)`, for the
  calls made in its context): when the wait would be longer, `SlackRateLimited` is raised at once, a
  `SlackApiError` whose message is a sentence ("Slack is rate limiting chat.update; try again in
  12 s."). Answers to a person use it (`SLACK_REPLY_MAX_WAIT`); alert deliveries and scheduled
  reports wait as long as it takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import metrics
from bot.slack_ledger import Ledger, LocalLedger
from bot.slack_turns import Ticket, Turns

log = logging.getLogger(__name__)

POST_MESSAGE = "chat.postMessage"
WORKSPACE_POSTS = "chat.postMessage *"  # the workspace-wide bucket every post also takes a token from

# Calls a minute, by tier (Slack's "Rate limits" guide: 1+, 20+, 50+, 100+).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

# The tier of every method the bot calls (chat.postMessage aside: it is paced per channel), as each
# method's reference page gives it (docs.slack.dev/reference/methods/<method>, "Rate limits").
# "Special" methods are placed in the tier their page describes (chat.getPermalink: "hundreds of
# requests per minute"). docs/slack-app.md's table lists the same (a test keeps them in step with
# the methods the code calls).
METHOD_TIERS: dict[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,
    "chat.getPermalink": 4,
    "chat.postEphemeral": 4,
    "chat.unfurl": 3,
    "chat.update": 3,
    # Marketplace and internal (customer-built) apps; since 2025 Slack allows other commercially distributed
    # apps 1 a minute (docs/slack-app.md): their 429s are waited out
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.members": 4,
    "files.info": 4,
    "functions.completeError": 3,  # a Workflow Builder step's end (Bolt's complete() and fail())
    "functions.completeSuccess": 3,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
    "views.publish": 4,
    "views.update": 4,
}
UNPACED = 1_000_000  # calls a second, and burst, of a budget that never holds a call back
RESERVE_FROM_BURST = 5  # buckets with at least this burst keep some of it for people (Budget.reserve)
DEFAULT_TIER = 2  # a method not listed above: Slack's most common tier ("most methods allow at least 20")


@dataclass(frozen=True)
class Budget:
    """A token bucket: `burst` calls at once, then `per_second` calls a second."""

    per_second: float
    burst: int = 1

    @classmethod
    def per_minute(cls, calls: int, burst: int, window: float = 60.0) -> Budget:
        """At most `calls` in any `window` seconds, `burst` of them at once: the bucket refills
        (calls - burst) a window, so burst + refill never exceeds `calls` in a window."""
        burst = max(1, min(burst, calls))
        refill = calls - burst if calls > burst else calls
        return cls(per_second=refill / window, burst=burst)

    @property
    def reserve(self) -> int:
        """Tokens background calls leave for people (calls with a bounded wait): a tenth of the burst,
        at least one, for a burst of 5 or more (chat.update's 20: 2). Across replicas this is what puts
        a person's call ahead of another replica's recovery wave; the rate is the same for both. A
        smaller burst (a channel's posts: 2) keeps it all: a reserve would hold every background call
        back a further token after each Retry-After."""
        return 0 if self.burst < RESERVE_FROM_BURST else max(1, self.burst // 10)

    def share(self, fraction: float) -> Budget:
        """`fraction` of this budget (a replica pacing alone while the shared store is down)."""
        return Budget(per_second=self.per_second * fraction, burst=max(1, math.floor(self.burst * fraction)))


def tier_budgets(window: float = 60.0) -> dict[int, Budget]:
    """The default budget of each tier: a burst of a tenth of the tier's calls. Tier 1 (1+ a minute,
    "a small amount of burst behavior is tolerated") bursts 3, so that Socket Mode can reconnect
    (apps.connections.open) a few times in a row without waiting a minute."""
    budgets = {tier: Budget.per_minute(calls, max(1, calls // 10), window) for tier, calls in TIER_PER_MINUTE.items()}
    budgets[1] = Budget(per_second=TIER_PER_MINUTE[1] / window, burst=3)
    return budgets


def special_budgets(window: float = 60.0) -> dict[str, Budget]:
    """Methods whose calls come in waves: the same calls a window as their tier, more of them at once.
    chat.update (Tier 3): the updates that close alert episodes after a storm's recovery wave, 20
    rules recovering together being 20 updates; the alert publisher paces its other updates to less
    than the refill (ALERT_UPDATES_PER_MINUTE), so the burst is there when the wave ends."""
    return {"chat.update": Budget.per_minute(TIER_PER_MINUTE[3], 20, window)}


@dataclass(frozen=True)
class SlackBudgets:
    """What the limiter allows: a budget per tier, the tier of each method, and chat.postMessage's
    per-channel and workspace-wide budgets."""

    tiers: Mapping[int, Budget] = field(default_factory=tier_budgets)
    methods: Mapping[str, int] = field(default_factory=lambda: dict(METHOD_TIERS))
    default_tier: int = DEFAULT_TIER
    post_per_channel: Budget = Budget(per_second=1.0, burst=2)
    post_workspace: Budget = field(default_factory=lambda: Budget.per_minute(300, 10))
    # methods with a budget of their own (special_budgets), instead of their tier's
    special: Mapping[str, Budget] = field(default_factory=lambda: special_budgets())

    def for_method(self, method: str) -> Budget:
        if method in self.special:
            return self.special[method]
        return self.tiers[self.methods.get(method, self.default_tier)]

    @classmethod
    def unpaced(cls) -> SlackBudgets:
        """No pacing: calls still go out in order, one at a time per method (channel), and Slack's
        429s are still waited out."""
        free = Budget(per_second=UNPACED, burst=UNPACED)
        return cls(tiers=dict.fromkeys(TIER_PER_MINUTE, free), post_per_channel=free, post_workspace=free, special={})


class SlackRateLimited(SlackApiError):
    """Waiting for Slack's rate limit would take longer than the caller allows. Shaped like Slack's
    own 429 answer (`response["error"] == "ratelimited"`, a Retry-After header), so code that
    handles Slack's errors handles it; its message is a sentence for the person."""

    def __init__(self, method: str, retry_in: float, response: Any) -> None:
        self.method = method
        self.retry_in = retry_in
        super().__init__(self.sentence(), response)  # type: ignore[no-untyped-call]  # slack_sdk's error

    def sentence(self) -> str:
        return f"Slack is rate limiting {self.method}; try again in {max(1, math.ceil(self.retry_in))} s."

    def __str__(self) -> str:
        return self.sentence()


# How long the calls made in this context may wait for the rate limit (None: as long as it takes).
_max_wait: contextvars.ContextVar[float | None] = contextvars.ContextVar("slack_max_wait", default=None)


def set_max_wait(seconds: float | None) -> contextvars.Token[float | None]:
    """From here on in this context (and in tasks started from it), Web API calls wait at most
    `seconds` for the rate limit, then raise SlackRateLimited; `reset_max_wait` ends it."""
    return _max_wait.set(seconds)


def reset_max_wait(token: contextvars.Token[float | None]) -> None:
    _max_wait.reset(token)


def current_max_wait() -> float | None:
    return _max_wait.get()


class TooLong(Exception):
    def __init__(self, retry_in: float) -> None:
        super().__init__(retry_in)
        self.retry_in = retry_in


class SlackLimiter:
    """The buckets of one workspace's Web API calls (one per method; one per channel for posts, and one
    for the workspace's posts), kept in a ledger (bot/slack_ledger.py: in the process, or shared by the
    replicas through the store), with each bucket's calls taking turns in this replica (bot/slack_turns.py)."""

    def __init__(self, budgets: SlackBudgets | None = None, ledger: Ledger | None = None) -> None:
        self.budgets = budgets or SlackBudgets()
        self.ledger: Ledger = ledger or LocalLedger()
        self._turns: dict[str, Turns] = {}
        self.sent: Counter[str] = Counter()  # calls that went out to Slack, by method (retries included)
        self.ratelimited: Counter[str] = Counter()  # 429s Slack answered, by method

    @staticmethod
    def key(method: str, channel: str | None) -> str:
        """A bucket's name (also its key in the shared ledger)."""
        return f"{method} {channel or '-'}" if method == POST_MESSAGE else method

    def budget(self, method: str) -> Budget:
        return self.budgets.post_per_channel if method == POST_MESSAGE else self.budgets.for_method(method)

    def estimate(self, method: str, channel: str | None, *, person: bool = True) -> float:
        """Seconds a call queued now would wait (ignoring the time the calls ahead of it take)."""
        key = self.key(method, channel)
        turns = self._turns.get(key)
        wait = self.ledger.estimate(key, self.budget(method), turns.ahead(person) if turns else 0)
        if method == POST_MESSAGE:
            wait = max(wait, self.ledger.estimate(WORKSPACE_POSTS, self.budgets.post_workspace, 0))
        return wait

    async def call(self, method: str, channel: str | None, send: Any, max_wait: float | None) -> AsyncSlackResponse:
        """Make one Web API call (`send()`) within the limits: after the bucket's calls before it (people's
        before background ones), paced, and made again after Retry-After when Slack answers 429."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = None if max_wait is None else started + max_wait
        person = max_wait is not None
        estimate = self.estimate(method, channel, person=person)
        if deadline is not None and started + estimate > deadline:
            raise TooLong(estimate)
        key, budget = self.key(method, channel), self.budget(method)
        turns = self._turns.setdefault(key, Turns())
        ticket = turns.join(person)
        turns.notify()  # a background call waiting for its token at the head steps back for a person's
        try:
            while True:
                await self._wait_turn(turns, ticket, key, budget, deadline, (method, channel))
                try:
                    if method == POST_MESSAGE:
                        await self._take(WORKSPACE_POSTS, self.budgets.post_workspace, person, deadline)
                    metrics.SLACK_API_WAIT_SECONDS.labels(method).observe(loop.time() - started)
                    self.sent[method] += 1
                    response: AsyncSlackResponse = await send()
                    if response.status_code != 429:
                        return response
                    retry_after = parse_retry_after(response.headers)
                    self.ratelimited[method] += 1
                    metrics.SLACK_API_RATELIMITED.labels(method).inc()
                    log.info("Slack rate limited %s: waiting the %.1f s it asked for", method, retry_after)
                    await self.ledger.close(key, budget, retry_after)
                    turns.again(ticket)
                    started = loop.time()
                finally:
                    turns.finish()
                    turns.notify()
        finally:
            turns.leave(ticket)
            turns.notify()

    async def _wait_turn(
        self,
        turns: Turns,
        ticket: Ticket,
        key: str,
        budget: Budget,
        deadline: float | None,
        call: tuple[str, str | None],
    ) -> None:
        """Wait until `ticket` is first in its bucket and a token is taken for it; it is then on its way."""
        loop = asyncio.get_running_loop()
        while True:
            changed = turns.changed
            wait: float | None = None
            if turns.first(ticket):
                turns.taking = True
                try:
                    wait = await self.ledger.take(key, budget, person=ticket.person)
                finally:
                    turns.taking = False
                if wait <= 0:
                    turns.start(ticket)
                    return
            now = loop.time()
            timeout = wait
            if deadline is not None:
                if wait is not None and now + wait > deadline:
                    raise TooLong(wait)
                if now >= deadline:
                    raise TooLong(self.estimate(*call, person=ticket.person))
                timeout = deadline - now if wait is None else wait
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await changed.wait()

    async def _take(self, key: str, budget: Budget, person: bool, deadline: float | None) -> None:
        """Take a token of a bucket without turns (the workspace's posts, after a channel's turn)."""
        loop = asyncio.get_running_loop()
        while (wait := await self.ledger.take(key, budget, person=person)) > 0:
            if deadline is not None and loop.time() + wait > deadline:
                raise TooLong(wait)
            await asyncio.sleep(wait)


def parse_retry_after(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """Slack's Retry-After (seconds) from a response's headers; `default` when absent or malformed."""
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                seconds = float(raw)
            except (TypeError, ValueError):
                return default
            return seconds if math.isfinite(seconds) and seconds >= 0 else default
    return default
