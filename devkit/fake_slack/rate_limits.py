"""Slack's Web API rate limits, as the fake enforces them when a test turns them on.

Off by default. `FakeSlack(rate_limits=True)` (or `RateLimits(...)` with budgets of its own), or
`fake.limit_rates(...)` / `fake.unlimit_rates()` at any time, turns them on and off.

- Every method has a tier window (Slack's "Rate limits" guide: Tier 1 1 call a minute, Tier 2 20,
  Tier 3 50, Tier 4 100; the tier of each method from its reference page): at most that many
  calls in any window of `seconds`, per method (the fake is one app in one workspace).
- `chat.postMessage` is limited per channel (a token bucket: about 1 a second with a short burst)
  and across the workspace (a window).
- Over a limit, the answer is Slack's: HTTP 429, `Retry-After: <whole seconds>` and
  `{"ok": false, "error": "ratelimited"}`. A refused call does not count against the limit.
- What it saw, for tests and benchmarks (`fake.rate_limit_stats`): calls by method, 429s sent by
  method, and *early calls*: calls of a method (of a method in a channel, for chat.postMessage)
  that arrived while a Retry-After the fake had sent for it had not yet passed. Those are
  refused again, with what is left of the wait.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

POST_MESSAGE = "chat.postMessage"

# Slack's tiers: calls a minute.
TIER_CALLS = {1: 1, 2: 20, 3: 50, 4: 100}

# The tier on each method's reference page (docs.slack.dev/reference/methods/<method>).
SLACK_METHOD_TIERS: dict[str, int] = {
    "apps.connections.open": 1,
    "auth.test": 4,
    "chat.delete": 3,
    "chat.getPermalink": 4,
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.history": 3,  # Marketplace and internal apps; 1 a minute for other distributed apps (2025)
    "conversations.info": 3,
    "conversations.join": 3,
    "files.completeUploadExternal": 4,
    "files.getUploadURLExternal": 4,
    "files.info": 4,
    "usergroups.users.list": 2,
    "users.info": 4,
    "views.open": 4,
    "views.publish": 4,
    "views.push": 4,
    "views.update": 4,
}


@dataclass(frozen=True)
class Window:
    """At most `calls` calls in any `seconds`."""

    calls: int
    seconds: float = 60.0


@dataclass(frozen=True)
class PerSecond:
    """A token bucket: `burst` calls at once, refilled at `rate` calls a second."""

    rate: float = 1.0
    burst: int = 3


def slack_tiers(seconds: float = 60.0, scale: float = 1.0) -> dict[int, Window]:
    """Slack's tier windows; `scale` multiplies the calls (and `seconds` shortens the window) for tests."""
    return {tier: Window(max(1, round(calls * scale)), seconds) for tier, calls in TIER_CALLS.items()}


@dataclass(frozen=True)
class RateLimits:
    """The budgets the fake enforces. The defaults are Slack's documented ones; Slack does not publish
    chat.postMessage's workspace-wide limit, so `post_workspace` is an assumption (300 a minute)."""

    tiers: dict[int, Window] = field(default_factory=slack_tiers)
    methods: dict[str, int] = field(default_factory=lambda: dict(SLACK_METHOD_TIERS))
    default_tier: int = 2
    post_per_channel: PerSecond = PerSecond(rate=1.0, burst=3)
    post_workspace: Window = Window(300, 60.0)
    exempt: frozenset[str] = frozenset()  # methods never limited

    def window(self, method: str) -> Window:
        return self.tiers[self.methods.get(method, self.default_tier)]


@dataclass
class EarlyCall:
    """A call that came before the Retry-After the fake had sent for it had passed."""

    method: str
    channel: str | None
    at: float
    open_at: float


@dataclass
class RateLimitStats:
    calls: Counter[str] = field(default_factory=Counter)  # every call that reached the limits, by method
    ratelimited: Counter[str] = field(default_factory=Counter)  # 429s sent, by method
    early: list[EarlyCall] = field(default_factory=list)

    @property
    def early_calls(self) -> int:
        return len(self.early)

    @property
    def total_ratelimited(self) -> int:
        return sum(self.ratelimited.values())


class _Bucket:
    def __init__(self, budget: PerSecond, now: float) -> None:
        self.budget = budget
        self.tokens = float(budget.burst)
        self.updated = now

    def wait(self, now: float) -> float:
        self.tokens = min(float(self.budget.burst), self.tokens + (now - self.updated) * self.budget.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.budget.rate

    def take(self) -> None:
        self.tokens -= 1


class _Log:
    def __init__(self, window: Window) -> None:
        self.window = window
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.times and self.times[0] <= now - self.window.seconds:
            self.times.popleft()
        if len(self.times) < self.window.calls:
            return 0.0
        return self.times[0] + self.window.seconds - now

    def take(self, now: float) -> None:
        self.times.append(now)


class RateLimiter:
    """The fake's side of Slack's rate limits: admits a call or says how long to wait."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.stats = RateLimitStats()
        self._methods: dict[str, _Log] = {}
        self._channels: dict[str, _Bucket] = {}
        self._workspace_posts = _Log(limits.post_workspace)
        self._open_at: dict[tuple[str, str | None], float] = {}

    def admit(self, method: str, channel: str | None) -> int | None:
        """None when the call may go on, else the Retry-After (whole seconds) to answer with."""
        if method in self.limits.exempt:
            return None
        now = self.clock()
        key = (method, channel if method == POST_MESSAGE else None)
        self.stats.calls[method] += 1
        open_at = self._open_at.get(key, 0.0)
        if now < open_at:
            # refused with what is left of the wait, which the refusal does not extend (a second client
            # of the app, another replica, that was never told would otherwise keep the window shut)
            self.stats.early.append(EarlyCall(method, key[1], now, open_at))
            self.stats.ratelimited[method] += 1
            return max(1, math.ceil(open_at - now))
        if method == POST_MESSAGE:
            bucket = self._channels.get(channel or "")
            if bucket is None:
                bucket = self._channels[channel or ""] = _Bucket(self.limits.post_per_channel, now)
            wait = max(bucket.wait(now), self._workspace_posts.wait(now))
            if wait > 0:
                return self._refuse(method, key, wait, now)
            bucket.take()
            self._workspace_posts.take(now)
            return None
        log = self._methods.get(method)
        if log is None:
            log = self._methods[method] = _Log(self.limits.window(method))
        wait = log.wait(now)
        if wait > 0:
            return self._refuse(method, key, wait, now)
        log.take(now)
        return None

    def _refuse(self, method: str, key: tuple[str, str | None], wait: float, now: float) -> int:
        seconds = max(1, math.ceil(wait))  # Slack's Retry-After is whole seconds
        self._open_at[key] = max(self._open_at.get(key, 0.0), now + seconds)
        self.stats.ratelimited[method] += 1
        return seconds
