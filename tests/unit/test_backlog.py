"""The webhook's backlog (handlers/alerts/backlog.py): deliveries let in and not yet recorded, the pace
measured while the replica is busy, and the bookings made through the webhook's budget while a delivery
would wait too long for its record."""

from __future__ import annotations

import pytest

from handlers.alerts import backlog as backlog_module
from handlers.alerts.backlog import BUSY, SLOWEST, UNKNOWN, Backlog, Ticket
from handlers.alerts.webhook_budget import Refused, WebhookBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budget(clock: Clock, backlog: Backlog) -> WebhookBudget:
    # the token's budget far above what the test sends: only the backlog refuses
    return WebhookBudget(rate=10_000.0, burst=10_000, bytes_per_second=10**9, backlog=backlog, clock=clock)


def body(n: int) -> bytes:
    return f"delivery-{n}".encode()


def busy_at(backlog: Backlog, clock: Clock, per_second: float, records: int = 60) -> list[Ticket]:
    """The replica, busy, records `records` deliveries at `per_second`; the queue it leaves behind."""
    queue = [backlog.enter() for _ in range(records + BUSY)]
    for ticket in queue[:records]:
        clock.now += 1 / per_second
        ticket.done()
    return queue[records:]


def test_the_pace_is_what_the_replica_records_while_busy() -> None:
    clock = Clock()
    backlog = Backlog(clock=clock)
    assert backlog.pace(clock.now) == UNKNOWN  # nothing measured yet
    left = busy_at(backlog, clock, per_second=10.0)
    assert backlog.pace(clock.now) == pytest.approx(10.0, rel=0.05)
    for ticket in left:
        clock.now += 0.1
        ticket.done()
        ticket.done()  # once only
    assert backlog.waiting == 0
    measured = backlog.pace(clock.now)
    for _ in range(50):  # records while the queue is short say nothing of the pace: deliveries came slowly
        clock.now += 1.0
        backlog.enter().done()
    assert backlog.pace(clock.now) == measured


def test_a_busy_replica_that_records_nothing_is_taken_as_slow_as_that(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backlog_module, "STALL", 0.4)
    clock = Clock()
    backlog = Backlog(clock=clock)
    for _ in range(BUSY + 1):
        backlog.enter()
    clock.now += 0.3
    assert backlog.pace(clock.now) == UNKNOWN  # the first record may be slow to come: not a stall yet
    clock.now += 0.2
    assert backlog.pace(clock.now) == pytest.approx(2.0)  # nothing recorded for 0.5 s
    clock.now += 60.0
    assert backlog.pace(clock.now) == SLOWEST


def test_a_storm_whose_first_records_are_slow_to_come_is_let_in() -> None:
    """Stop 34's CI: 100 deliveries at once on a loaded machine, the first record 0.8 s after they began
    to arrive, then about 25 a second. Taking that first wait as the pace (1.25 a second) booked most of
    the storm; the replica recorded it all in about 5 s."""
    clock = Clock()
    backlog = Backlog(clock=clock)
    webhook = budget(clock, backlog)
    queue: list[Ticket] = []
    for n in range(100):  # arriving over 0.8 s, nothing recorded yet
        clock.now += 0.008
        assert webhook.admit("t", body(n)) is None, n
        queue.append(backlog.enter())
    for ticket in queue:
        clock.now += 0.04
        ticket.done()
    assert backlog.waiting == 0
    assert backlog.pace(clock.now) == pytest.approx(25.0, rel=0.05)  # what it records, measured once it did


def test_a_replica_behind_books_the_next_deliveries_at_its_pace_and_takes_them_back_on_their_time() -> None:
    clock = Clock()
    backlog = Backlog(most_wait=2.0, clock=clock)
    webhook = budget(clock, backlog)
    busy_at(backlog, clock, per_second=10.0)  # BUSY left waiting, about 10 a second
    admitted = 0
    while webhook.admit("t", body(admitted)) is None:
        backlog.enter()
        admitted += 1
    assert 15 <= admitted <= 16  # 2 s of work, the queue included
    refused = [webhook.admit("t", body(n)) for n in range(admitted + 1, admitted + 21)]
    assert all(r is not None and r.over == "backlog" for r in refused)
    waits = [r.retry_after for r in refused if r is not None]
    assert waits == sorted(waits) and waits[0] == 1 and waits[-1] in (2, 3)  # about 0.1 s apart, from now
    booked = admitted + 15  # about 1.6 s out
    assert webhook.admit("t", body(booked)) == Refused("booked", 2)  # back too early
    clock.now += 2.0
    assert webhook.admit("t", body(booked)) is None  # on its time: let in, whatever the queue


def test_a_delivery_is_let_in_whenever_the_queue_has_room_even_with_bookings_waiting() -> None:
    """Bookings spaced by a pace that was too slow must not keep deliveries arriving that slowly."""
    clock = Clock()
    backlog = Backlog(most_wait=1.0, clock=clock)
    webhook = budget(clock, backlog)
    queue = busy_at(backlog, clock, per_second=5.0)  # BUSY waiting: 0.8 s of work at 5 a second
    assert webhook.admit("t", body(0)) is None
    queue.append(backlog.enter())  # 1.0 s of work: full
    booked = [webhook.admit("t", body(n)) for n in range(1, 11)]
    assert all(r is not None and r.over == "backlog" for r in booked)  # booked up to 2 s out
    for ticket in queue:
        ticket.done()  # the queue emptied faster than the pace said
    assert backlog.waiting == 0
    assert webhook.admit("t", body(99)) is None


def test_the_most_wait_is_read_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    backlog = Backlog(clock=clock)
    busy_at(backlog, clock, per_second=10.0)
    assert backlog.earliest(clock.now) == clock.now  # 10 s of room
    monkeypatch.setattr(backlog_module, "MOST_WAIT", 0.1)
    assert backlog.earliest(clock.now) > clock.now
