"""The webhook's budget per token (handlers/alerts/webhook_budget.py), on a clock the test moves."""

from __future__ import annotations

from handlers.alerts.webhook_budget import ADMITTED_GRACE, BOOKING_GRACE, FREE_RETRIES, Refused, WebhookBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budget(clock: Clock, *, rate: float = 2.0, burst: int = 4, bytes_per_second: int = 1000) -> WebhookBudget:
    return WebhookBudget(rate=rate, burst=burst, bytes_per_second=bytes_per_second, clock=clock)


def body(n: int, size: int = 10) -> bytes:
    return f"{n:0{size}d}".encode()


def test_a_burst_goes_through_then_the_rate_holds() -> None:
    clock = Clock()
    webhook = budget(clock)
    assert [webhook.admit("t", body(n)) for n in range(4)] == [None] * 4
    assert webhook.admit("t", body(4)) == Refused("deliveries", 1)  # its turn: in 0.5 s at 2 a second


def test_refused_deliveries_are_booked_one_after_the_other_and_get_in_when_they_come_back() -> None:
    clock = Clock()
    webhook = budget(clock, burst=1)  # 2 a second
    assert webhook.admit("t", body(0)) is None
    refused = [webhook.admit("t", body(n)) for n in range(1, 7)]
    # turns at +0.5, +1.0, +1.5, +2.0, +2.5, +3.0 s: Retry-After in whole seconds, spread, not one herd
    assert [r.retry_after for r in refused if r is not None] == [1, 1, 2, 2, 3, 3]
    assert webhook.admit("t", body(1)) == Refused("booked", 1)  # back too early: still booked
    clock.now += 1.0
    assert webhook.admit("t", body(1)) is None and webhook.admit("t", body(2)) is None
    assert webhook.admit("t", body(99)) == Refused("deliveries", 3)  # a newcomer queues behind the bookings
    clock.now += 2.0
    assert [webhook.admit("t", body(n)) for n in range(3, 7)] == [None] * 4  # every booked one gets in


def test_a_delivery_sent_twice_is_booked_once() -> None:
    clock = Clock()
    webhook = budget(clock, burst=1)
    assert webhook.admit("t", body(0)) is None
    first = webhook.admit("t", body(1))
    again = webhook.admit("t", body(1))
    assert first == Refused("deliveries", 1) and again == Refused("booked", 1)
    assert webhook.admit("t", body(2)) == Refused("deliveries", 1)  # 1.0 s: body(1) did not take two turns


def test_bytes_have_their_own_budget_with_as_many_seconds_of_burst() -> None:
    clock = Clock()
    webhook = budget(clock, rate=100.0, burst=200, bytes_per_second=1000)  # 2 s of burst: 2,000 bytes
    assert webhook.admit("t", body(1, 1500)) is None
    assert webhook.admit("t", body(2, 600)) == Refused("bytes", 1)  # 100 bytes over: 0.1 s
    clock.now += 10.0
    assert webhook.admit("t", body(3, 5000)) is None  # more than the burst goes when the budget is full


def test_each_token_has_its_own_budget() -> None:
    clock = Clock()
    webhook = budget(clock, burst=1)
    assert webhook.admit("one", body(1)) is None
    assert webhook.admit("one", body(2)) is not None
    assert webhook.admit("other", body(3)) is None


def test_a_booking_never_claimed_is_forgotten() -> None:
    clock = Clock()
    webhook = budget(clock, burst=1)
    assert webhook.admit("t", body(0)) is None
    assert webhook.admit("t", body(1)) is not None
    clock.now += BOOKING_GRACE + 10
    assert webhook.admit("t", body(2)) is None
    assert webhook._bookings == {}


def test_a_retry_of_a_delivery_that_got_in_is_not_charged_again() -> None:
    """Kibana retries a 5xx, or an answer it did not wait for, with the same body: its room was taken when
    it got in, so it is let in again (not booked behind the whole wave), FREE_RETRIES times at most."""
    clock = Clock()
    webhook = budget(clock, burst=1)  # 2 a second
    assert webhook.admit("t", body(0)) is None
    assert webhook.admit("t", body(1)) == Refused("deliveries", 1)  # booked at +0.5 s
    clock.now += 1.0
    assert webhook.admit("t", body(1)) is None  # its turn
    assert webhook.admit("t", body(1)) is None  # its retry (say the database was slow): not charged
    assert webhook.admit("t", body(0)) is None  # the first one's retry too
    assert webhook.admit("t", body(2)) is None  # the budget has room: 1.0 s had passed
    assert webhook.admit("t", body(3)) == Refused("deliveries", 1)


def test_a_body_sent_again_and_again_is_charged_once_its_free_retries_are_spent() -> None:
    clock = Clock()
    webhook = budget(clock, rate=1.0, burst=1)
    assert webhook.admit("t", body(0)) is None
    assert [webhook.admit("t", body(0)) for _ in range(FREE_RETRIES)] == [None] * FREE_RETRIES
    assert webhook.admit("t", body(0)) == Refused("deliveries", 1)  # charged: booked behind the first
    clock.now += 1.0
    assert webhook.admit("t", body(0)) is None  # its booking
    assert webhook.admit("t", body(0)) == Refused("deliveries", 1)  # no new free retries
    clock.now += max(ADMITTED_GRACE, BOOKING_GRACE) + 10
    assert webhook.admit("t", body(1)) is None  # forgotten meanwhile: only the newcomer is remembered
    assert list(webhook._admitted.values()) == [(clock.now, 0)]
