"""The webhook's budget per token: how many deliveries, and how many bytes of body, one bearer token may
send a second (ALERT_WEBHOOK_RATE, ALERT_WEBHOOK_BURST, ALERT_WEBHOOK_BYTES_PER_SECOND).

A delivery beyond it is answered 429 with Retry-After. Kibana's Webhook connector runs the action again
at Retry-After (behaviours.md: it retries 429 and 5xx, any other 4xx is final), but only a few times, so
the refused delivery is *booked*: it is given the first time the budget has room for it, that room is
kept for it, and when the same body comes back then it is taken. Later deliveries queue behind the
bookings instead of taking their room, so a storm is spread over time at the budget's pace and every
alert of it gets through on its second run. A delivery that got in is remembered: when the same body
comes back (Kibana's retry of a 5xx, or of an answer it did not wait for: a survivor replica behind on
its records) it is let in again without being charged, at most FREE_RETRIES times, for its room was
taken when it first got in; charging it again would book it behind the whole wave and, past Kibana's
few attempts, lose it. One token (a rule gone wild, a leaked token) cannot take the
process from Slack's requests and the other alerts: 50,000 alerts from one token took 722 s with a p99
of 6.2 s before (issue 30). The replica's backlog (handlers/alerts/backlog.py) books deliveries the same
way while a delivery let in would wait too long for its record: the wave is spread at the pace the
replica records, whatever the budget allows.

The pace is GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): bursts of
ALERT_WEBHOOK_BURST deliveries, and as many seconds' worth of bytes, go through at once. Each replica
keeps its own budget; bookings are kept BOOKING_GRACE seconds past their time, at most MAX_BOOKINGS, and
the deliveries let in ADMITTED_GRACE seconds, at most MAX_ADMITTED.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings
from handlers.alerts.backlog import Backlog

MAX_BOOKINGS = 100_000  # deliveries waiting for their turn, per process (a few MB at most)
BOOKING_GRACE = 600.0  # seconds a booking is kept past its time (Kibana gave up on it, or sent it elsewhere)
# Deliveries let in that are remembered, so that Kibana's retries of them are not charged again: a wave of
# 10,000 recoveries is 10,000 digests (a few MB). Kibana's connector makes at most a few attempts of one
# action, minutes apart at most; a body sent again more than FREE_RETRIES times is charged as a new one.
MAX_ADMITTED = 100_000
ADMITTED_GRACE = 600.0
FREE_RETRIES = 4


@dataclass
class Pace:
    """One budget as GCRA: each unit uses `increment` seconds of it, `window` seconds may be used ahead."""

    increment: float
    window: float
    tat: float = float("-inf")  # the theoretical arrival time: when the budget is back to full

    def earliest(self, now: float, units: float) -> float:
        """When `units` fit (now, or later); more than the window fits when the budget is full."""
        return max(now, self.tat + self._cost(units) - self.window)

    def take(self, at: float, units: float) -> None:
        self.tat = max(self.tat, at) + self._cost(units)

    def _cost(self, units: float) -> float:
        return min(units * self.increment, self.window)


@dataclass(frozen=True)
class Refused:
    """Over budget: why ("deliveries", "bytes", "backlog": this replica is behind on its records, or
    "booked": it came back before its time) and the whole seconds to wait (Retry-After, at least 1)."""

    over: str
    retry_after: int


class WebhookBudget:
    """The budgets of every token seen, by a key naming the token (never the token itself)."""

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        bytes_per_second: int,
        backlog: Backlog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.backlog = backlog  # the replica's deliveries waiting for their record (None: not asked)
        self.burst = burst
        self.bytes_per_second = bytes_per_second
        self.burst_seconds = burst / rate
        self._clock = clock
        self._paces: dict[str, tuple[Pace, Pace]] = {}
        self._bookings: dict[tuple[str, bytes], float] = {}  # (token key, body digest) -> its time
        # (token key, body digest) -> when it got in, and how many of its retries got in free since
        self._admitted: dict[tuple[str, bytes], tuple[float, int]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, backlog: Backlog | None = None) -> WebhookBudget:
        return cls(
            rate=settings.alert_webhook_rate,
            burst=settings.alert_webhook_burst,
            bytes_per_second=settings.alert_webhook_bytes_per_second,
            backlog=backlog,
        )

    def _of(self, key: str) -> tuple[Pace, Pace]:
        found = self._paces.get(key)
        if found is None:
            found = (
                Pace(1 / self.rate, self.burst_seconds),
                Pace(1 / self.bytes_per_second, max(self.burst_seconds, 1.0)),
            )
            self._paces[key] = found
        return found

    def admit(self, key: str, body: bytes) -> Refused | None:
        """None when `body` may be delivered now; else how long to wait (the delivery is booked then)."""
        now = self._clock()
        self._forget_expired(now)
        booking = (key, hashlib.blake2b(body, digest_size=16).digest())
        if self._retry_of_admitted(booking, now):
            return None  # its room was taken when it first got in
        booked = self._bookings.get(booking)
        if booked is not None:
            if now >= booked - 0.001:
                del self._bookings[booking]
                self._remember(booking, now)
                return None  # its room was taken when it was booked
            return Refused("booked", _seconds(booked - now))
        deliveries, body_bytes = self._of(key)
        by_count, by_size = deliveries.earliest(now, 1), body_bytes.earliest(now, len(body))
        token_at = max(by_count, by_size)
        by_backlog = self.backlog.earliest(now) if self.backlog is not None else now
        at = max(token_at, by_backlog)
        over = "bytes" if by_size > by_count else "deliveries"
        if by_backlog > token_at:
            over = "backlog"
        if at > now and len(self._bookings) >= MAX_BOOKINGS:
            return Refused(over, _seconds(at - now))  # not booked: too many wait already
        # the token is charged at its own turn: a booking the backlog pushed later does not hold the token's
        # next deliveries back (the backlog lets them in once its queue has room)
        deliveries.take(token_at, 1)
        body_bytes.take(token_at, len(body))
        if self.backlog is not None and at > now:
            self.backlog.book(at)
        if at <= now:
            self._remember(booking, now)
            return None
        self._bookings[booking] = at
        return Refused(over, _seconds(at - now))

    def _retry_of_admitted(self, booking: tuple[str, bytes], now: float) -> bool:
        found = self._admitted.get(booking)
        if found is None:
            return False
        admitted_at, retries = found
        if retries >= FREE_RETRIES:
            return False  # sent again and again: charged like any other until it is forgotten
        self._admitted[booking] = (admitted_at, retries + 1)
        return True

    def _remember(self, booking: tuple[str, bytes], now: float) -> None:
        if booking in self._admitted:
            return  # its free retries are spent: they are not given again
        if len(self._admitted) >= MAX_ADMITTED:
            del self._admitted[next(iter(self._admitted))]  # the oldest
        self._admitted[booking] = (now, 0)

    def _forget_expired(self, now: float) -> None:
        while self._bookings:
            first = next(iter(self._bookings))
            if self._bookings[first] + BOOKING_GRACE >= now:
                break
            del self._bookings[first]
        while self._admitted:  # in the order they got in
            oldest = next(iter(self._admitted))
            if self._admitted[oldest][0] + ADMITTED_GRACE >= now:
                break
            del self._admitted[oldest]


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait - 1e-6))  # not a whole second more for a rounding error
