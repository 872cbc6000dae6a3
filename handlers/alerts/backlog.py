"""The webhook's backlog: deliveries let in and not yet recorded, and how fast this replica records them.

A replica that records fewer deliveries a second than it lets in (the survivor of two in a recovery
wave, a database slowed down) builds a queue; past RECORD_WITHIN seconds a delivery is answered 503, and
Kibana's connector, after a few such attempts, gives the alert up. So the webhook's budget
(handlers/alerts/webhook_budget.py) also asks the backlog: while a delivery let in now would wait more
than MOST_WAIT seconds for its record, it is answered 429 and booked for when the backlog will have room
for it, one booking after the other at the pace the replica records, as the budget per token books its
refusals. Kibana runs the action again at Retry-After and the booked delivery gets in then: a wave the
replica cannot take at once is spread over as long as the replica needs, and no attempt is spent
waiting in a queue.

The pace is measured while the replica is busy (at least BUSY deliveries waiting), and only then: what
it records a second when work waits is what it can record. A pace measured while the queue is short
would be the pace deliveries arrive at, and bookings spaced by it would keep them arriving that slowly.
For the same reason a delivery is let in whenever the queue itself has room, bookings or not. Until a
busy spell is measured the pace is taken as UNKNOWN; a busy replica that has recorded nothing for more
than STALL seconds (a database that stopped answering) is taken as slow as that, down to SLOWEST. A
shorter wait for the first record says nothing of the pace: while a storm arrives, its first records
wait for the arrivals to be read (on a loaded machine, a good part of a second), and a replica that
would record them all within seconds must not book them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

MOST_WAIT = 10.0  # seconds a delivery let in may wait for its record (RECORD_WITHIN is 40, Kibana's 60)
BUSY = 4  # deliveries waiting: the replica works flat out, and its pace is measured
UNKNOWN = 100.0  # deliveries a second assumed before a busy spell was measured (ALERT_WEBHOOK_RATE's default)
SLOWEST = 1.0  # deliveries a second at least
SMOOTHING = 0.1  # the weight of each new interval between two records in the pace
STALL = 2.0  # seconds busy without a record: the database has stopped, not started slowly


class Ticket:
    """One delivery in the backlog: `done` once it is recorded (or failed), once."""

    __slots__ = ("_backlog", "_done")

    def __init__(self, backlog: Backlog) -> None:
        self._backlog = backlog
        self._done = False

    def done(self) -> None:
        if not self._done:
            self._done = True
            self._backlog._recorded()


class Backlog:
    def __init__(self, *, most_wait: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._most_wait = most_wait  # None: MOST_WAIT
        self.waiting = 0  # deliveries let in and not yet recorded
        self._clock = clock
        self._interval = 1 / UNKNOWN  # seconds between two records while busy (smoothed)
        self._last_record = float("-inf")  # when the last delivery was recorded
        self._busy_since = float("-inf")  # when the queue last became busy
        self._booked_until = float("-inf")  # the last booking's time

    def enter(self) -> Ticket:
        if self.waiting + 1 == BUSY:
            self._busy_since = self._clock()
        self.waiting += 1
        return Ticket(self)

    def _recorded(self) -> None:
        now = self._clock()
        if self.waiting >= BUSY:  # work waited: the interval since the last record is the replica's pace
            since = now - max(self._last_record, self._busy_since)
            self._interval += SMOOTHING * (since - self._interval)
        self.waiting -= 1
        self._last_record = now

    def pace(self, now: float) -> float:
        """Deliveries this replica records a second, as measured while it was busy."""
        interval = self._interval
        stalled = now - max(self._last_record, self._busy_since)
        if self.waiting >= BUSY and stalled > STALL:  # nothing recorded for a while, work waiting: that slow
            interval = max(interval, stalled)
        return max(SLOWEST, 1 / interval) if interval > 0 else UNKNOWN

    def earliest(self, now: float) -> float:
        """When one more delivery would wait at most `most_wait` for its record: now, while the queue has
        room; else the turn after the last booking, from when the queue will have room."""
        most_wait = MOST_WAIT if self._most_wait is None else self._most_wait
        pace = self.pace(now)
        if (self.waiting + 1) / pace <= most_wait + 1e-6:
            return now
        room_at = now + (self.waiting + 1) / pace - most_wait
        return max(room_at, self._booked_until + 1 / pace)

    def book(self, at: float) -> None:
        """A delivery was booked for `at` (by the backlog or by the budget per token): the next booking
        comes after it."""
        self._booked_until = max(self._booked_until, at)
