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

log = logging.getLogger(__name__)

POST_MESSAGE = "chat.postMessage"

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
    "chat.update": 3,
    # Marketplace and internal (customer-built) apps; since 2025 Slack allows other commercially distributed
    # apps 1 a minute (docs/slack-app.md): their 429s are waited out
    "conversations.history": 3,
    "conversations.info": 3,
    "files.info": 4,
    "usergroups.users.list": 2,
    "views.open": 4,
    "views.update": 4,
}
UNPACED = 1_000_000  # calls a second, and burst, of a budget that never holds a call back
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


class Bucket:
    """One token bucket, with a FIFO queue of callers and a closed-until time (Retry-After)."""

    def __init__(self, budget: Budget, now: float) -> None:
        self.budget = budget
        self.tokens = float(budget.burst)
        self.updated = now
        self.closed_until = 0.0
        self.queue = asyncio.Lock()  # asyncio.Lock wakes its waiters in order: first come, first served
        self.waiting = 0

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.budget.burst), self.tokens + (now - self.updated) * self.budget.per_second)
            self.updated = now

    def wait_for_token(self, now: float, ahead: int = 0) -> float:
        """Seconds until a token is free for a caller with `ahead` callers before it."""
        self._refill(now)
        closed = max(0.0, self.closed_until - now)
        missing = ahead + 1 - self.tokens
        pacing = missing / self.budget.per_second if missing > 0 and self.budget.per_second > 0 else 0.0
        return max(closed, pacing)

    async def take(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        """Wait (queued by the caller) until a token is free and the bucket is open, and take it."""
        while True:
            now = loop.time()
            wait = self.wait_for_token(now)
            if wait <= 0:
                self.tokens -= 1
                return
            if deadline is not None and now + wait > deadline:
                raise TooLong(wait)
            await asyncio.sleep(wait)

    def close_for(self, seconds: float, now: float) -> None:
        self.closed_until = max(self.closed_until, now + seconds)
        self._refill(now)
        self.tokens = min(self.tokens, 0.0)


class SlackLimiter:
    """The buckets of one workspace's Web API calls (one per method; one per channel for posts)."""

    def __init__(self, budgets: SlackBudgets | None = None) -> None:
        self.budgets = budgets or SlackBudgets()
        self._buckets: dict[tuple[str, str | None], Bucket] = {}
        self._workspace_posts: Bucket | None = None
        self.sent: Counter[str] = Counter()  # calls that went out to Slack, by method (retries included)
        self.ratelimited: Counter[str] = Counter()  # 429s Slack answered, by method

    def _loop(self) -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    def bucket(self, method: str, channel: str | None) -> Bucket:
        key = (method, channel if method == POST_MESSAGE else None)
        found = self._buckets.get(key)
        if found is None:
            budget = self.budgets.post_per_channel if method == POST_MESSAGE else self.budgets.for_method(method)
            found = self._buckets[key] = Bucket(budget, self._loop().time())
        return found

    def workspace_posts(self) -> Bucket:
        if self._workspace_posts is None:
            self._workspace_posts = Bucket(self.budgets.post_workspace, self._loop().time())
        return self._workspace_posts

    def estimate(self, method: str, channel: str | None) -> float:
        """Seconds a call queued now would wait (ignoring the time the calls ahead of it take)."""
        now = self._loop().time()
        bucket = self.bucket(method, channel)
        wait = bucket.wait_for_token(now, ahead=bucket.waiting)
        if method == POST_MESSAGE:
            wait = max(wait, self.workspace_posts().wait_for_token(now))
        return wait

    async def call(self, method: str, channel: str | None, send: Any, max_wait: float | None) -> AsyncSlackResponse:
        """Make one Web API call (`send()`) within the limits: queued behind the method's (channel's)
        earlier calls, paced, and made again after Retry-After when Slack answers 429."""
        loop = self._loop()
        started = loop.time()
        deadline = None if max_wait is None else started + max_wait
        bucket = self.bucket(method, channel)
        estimate = self.estimate(method, channel)
        if deadline is not None and started + estimate > deadline:
            raise TooLong(estimate)
        bucket.waiting += 1
        try:
            try:
                if deadline is None:
                    await bucket.queue.acquire()
                else:
                    async with asyncio.timeout(max(0.0, deadline - loop.time())):
                        await bucket.queue.acquire()
            except TimeoutError:
                raise TooLong(self.estimate(method, channel)) from None
        finally:
            bucket.waiting -= 1
        try:
            while True:
                await bucket.take(loop, deadline)
                if method == POST_MESSAGE:
                    await self.workspace_posts().take(loop, deadline)
                metrics.SLACK_API_WAIT_SECONDS.labels(method).observe(loop.time() - started)
                self.sent[method] += 1
                response: AsyncSlackResponse = await send()
                if response.status_code != 429:
                    return response
                retry_after = parse_retry_after(response.headers)
                self.ratelimited[method] += 1
                metrics.SLACK_API_RATELIMITED.labels(method).inc()
                log.info("Slack rate limited %s: waiting the %.1f s it asked for", method, retry_after)
                bucket.close_for(retry_after, loop.time())
                started = loop.time()
        finally:
            bucket.queue.release()


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
