"""Where Slack's rate-limit tokens are kept: in the process, or in the database the replicas share.

The limiter (bot/slack_limits.py) asks a ledger for a token of a bucket (a method; a method and channel
for chat.postMessage; the workspace's posts) and tells it Slack's Retry-After. Two ledgers:

- `LocalLedger`: token buckets in this process (a SQLite or in-memory bot is one replica).
- `SharedLedger`: one row per bucket in PostgreSQL (bot/store/slack_budgets.py), so N replicas together
  spend one budget, not N, and a Retry-After one of them is given holds every replica back. Taking a
  token is one atomic statement timed by the database's clock.

  **A store outage does not stop Slack calls.** When the store does not answer (an error, or no answer
  within STORE_TIMEOUT), the replica paces itself in the process at `share` of every budget
  (SLACK_REPLICAS: 1/N), tries the store again every RETRY_STORE seconds, logs once when the outage
  starts and once when it ends, and shows it in `chatops_slack_budgets_shared` (0 while alone) and
  `chatops_slack_calls_paced_alone_total`.

Background calls leave a few tokens of the larger buckets (`Budget.reserve`: 2 of chat.update's burst of 20)
to people (calls with a bounded wait), so a person's call finds a token at once even while another
replica's recovery wave spends the rest of the budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from bot import metrics

if TYPE_CHECKING:
    from bot.slack_limits import Budget
    from bot.store.slack_budgets import BucketState

log = logging.getLogger(__name__)

STORE_TIMEOUT = 2.0  # seconds a token may wait for the store before the replica paces alone
RETRY_STORE = 5.0  # seconds between two tries of a store that failed
MIN_WAIT = 0.01  # seconds: a token another replica took just before; look again soon, not at once


class Ledger(Protocol):
    async def take(self, key: str, budget: Budget, *, person: bool) -> float:
        """0.0 when a token was taken; else the seconds until one may be free (nothing was taken).
        A background call (`person` false) leaves `budget.reserve` tokens for people."""

    async def close(self, key: str, budget: Budget, seconds: float) -> None:
        """Slack answered 429 with Retry-After `seconds`: no call of the bucket before they pass."""

    def estimate(self, key: str, budget: Budget, ahead: int) -> float:
        """Seconds a call with `ahead` calls before it would wait, as far as this replica knows."""


@dataclass
class _Bucket:
    tokens: float
    updated: float
    closed_until: float = 0.0


def _reserve(budget: Budget, person: bool) -> float:
    return 0.0 if person else float(budget.reserve)


class LocalLedger:
    """Token buckets in this process, timed by the event loop's clock."""

    def __init__(self) -> None:
        self._buckets: dict[str, _Bucket] = {}

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _bucket(self, key: str, budget: Budget, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(tokens=float(budget.burst), updated=now)
        elif now > bucket.updated:
            bucket.tokens = min(float(budget.burst), bucket.tokens + (now - bucket.updated) * budget.per_second)
            bucket.updated = now
        return bucket

    @staticmethod
    def _wait(bucket: _Bucket, budget: Budget, now: float, needed: float) -> float:
        closed = max(0.0, bucket.closed_until - now)
        missing = needed - bucket.tokens
        pacing = missing / budget.per_second if missing > 0 and budget.per_second > 0 else 0.0
        return max(closed, pacing)

    async def take(self, key: str, budget: Budget, *, person: bool) -> float:
        now = self._now()
        bucket = self._bucket(key, budget, now)
        wait = self._wait(bucket, budget, now, 1 + _reserve(budget, person))
        if wait <= 0:
            bucket.tokens -= 1
        return wait

    async def close(self, key: str, budget: Budget, seconds: float) -> None:
        now = self._now()
        bucket = self._bucket(key, budget, now)
        bucket.closed_until = max(bucket.closed_until, now + seconds)
        bucket.tokens = min(bucket.tokens, 0.0)

    def estimate(self, key: str, budget: Budget, ahead: int) -> float:
        now = self._now()
        return self._wait(self._bucket(key, budget, now), budget, now, ahead + 1)

    def mirror(self, key: str, budget: Budget, tokens: float, closed_for: float) -> None:
        """Hold what the shared bucket held when the store last answered (for `estimate`)."""
        now = self._now()
        self._buckets[key] = _Bucket(tokens=tokens, updated=now, closed_until=now + closed_for)


class SharedBuckets(Protocol):
    """The store's side (bot/store/slack_budgets.py)."""

    async def take_slack_token(self, key: str, *, burst: int, per_second: float, reserve: float) -> BucketState: ...

    async def close_slack_budget(self, key: str, seconds: float, *, burst: int, per_second: float) -> float: ...


class SharedLedger:
    """Token buckets in the store the replicas share; `share` of each budget, in the process, while the
    store does not answer."""

    def __init__(self, store: SharedBuckets, *, share: float) -> None:
        self._store = store
        self.share = share
        self._seen = LocalLedger()  # the shared buckets as the store last showed them
        self._alone = LocalLedger()  # pacing during a store outage
        self._outage_since: float | None = None  # time.monotonic() when the store stopped answering
        self._next_try = 0.0
        self._alone_calls = 0
        metrics.SLACK_BUDGETS_SHARED.set(1)

    @property
    def alone(self) -> bool:
        """True while the store does not answer and this replica paces itself."""
        return self._outage_since is not None

    def _store_worth_trying(self) -> bool:
        return self._outage_since is None or time.monotonic() >= self._next_try

    async def take(self, key: str, budget: Budget, *, person: bool) -> float:
        if self._store_worth_trying():
            try:
                async with asyncio.timeout(STORE_TIMEOUT):
                    state = await self._store.take_slack_token(
                        key, burst=budget.burst, per_second=budget.per_second, reserve=_reserve(budget, person)
                    )
            except Exception as error:  # any failure of the store: pace alone, never stop calling Slack
                self._lost(error)
            else:
                self._back()
                self._seen.mirror(key, budget, state.tokens, state.closed_for)
                if state.taken:
                    return 0.0
                missing = 1 + _reserve(budget, person) - state.tokens
                pacing = missing / budget.per_second if missing > 0 and budget.per_second > 0 else 0.0
                return max(state.closed_for, pacing, MIN_WAIT)
        wait = await self._alone.take(key, budget.share(self.share), person=person)
        if wait <= 0:
            self._alone_calls += 1
            metrics.SLACK_CALLS_PACED_ALONE.inc()
        return wait

    async def close(self, key: str, budget: Budget, seconds: float) -> None:
        # kept here too: should the store fail now, this replica still waits Retry-After out
        await self._alone.close(key, budget.share(self.share), seconds)
        await self._seen.close(key, budget, seconds)
        if not self._store_worth_trying():
            return
        try:
            async with asyncio.timeout(STORE_TIMEOUT):
                closed_for = await self._store.close_slack_budget(
                    key, seconds, burst=budget.burst, per_second=budget.per_second
                )
        except Exception as error:
            self._lost(error)
        else:
            self._back()
            if closed_for > seconds:  # another replica was given a later Retry-After
                await self._seen.close(key, budget, closed_for)

    def estimate(self, key: str, budget: Budget, ahead: int) -> float:
        if self.alone:
            return self._alone.estimate(key, budget.share(self.share), ahead)
        return self._seen.estimate(key, budget, ahead)

    def _lost(self, error: Exception) -> None:
        now = time.monotonic()
        self._next_try = now + RETRY_STORE
        if self._outage_since is not None:
            return
        self._outage_since = now
        self._alone_calls = 0
        metrics.SLACK_BUDGETS_SHARED.set(0)
        reason = type(error).__name__ if isinstance(error, TimeoutError) else _first_line(error)
        log.warning(
            "Slack budgets: the database did not answer (%s); this replica paces its Slack calls on its own, "
            "at %.0f%% of each budget, until it answers again",
            reason,
            self.share * 100,
        )

    def _back(self) -> None:
        if self._outage_since is None:
            return
        lasted = time.monotonic() - self._outage_since
        self._outage_since = None
        metrics.SLACK_BUDGETS_SHARED.set(1)
        log.warning(
            "Slack budgets: the database answers again after %.0f s; %d Slack calls were paced by this replica alone",
            lasted,
            self._alone_calls,
        )


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
