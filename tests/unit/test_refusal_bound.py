"""bot/refusal_bound.py on a clock the test moves: per person and minute, and the count carried over."""

from __future__ import annotations

from bot.refusal_bound import WINDOW, Admission, RefusalBound


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_the_first_of_a_minute_are_recorded_the_rest_counted_and_the_next_says_how_many() -> None:
    clock = Clock()
    bound = RefusalBound(clock)
    answers = [bound.admit("U1", 3) for _ in range(10)]
    assert [a.record for a in answers] == [True] * 3 + [False] * 7
    assert [a.first_over for a in answers].count(True) == 1 and answers[3].first_over
    clock.now += WINDOW
    assert bound.admit("U1", 3) == Admission(True, earlier=7)
    assert bound.admit("U1", 3) == Admission(True, earlier=0)


def test_each_person_has_a_bound_of_their_own() -> None:
    bound = RefusalBound(Clock())
    assert [bound.admit("U1", 1).record for _ in range(3)] == [True, False, False]
    assert bound.admit("U2", 1).record


def test_zero_records_every_refusal() -> None:
    bound = RefusalBound(Clock())
    assert all(bound.admit("U1", 0) == Admission(True) for _ in range(100))


def test_an_unrecorded_count_survives_a_quiet_minute() -> None:
    clock = Clock()
    bound = RefusalBound(clock)
    bound.admit("U1", 1)
    bound.admit("U1", 1)  # counted
    clock.now += 5 * WINDOW
    assert bound.admit("U1", 1) == Admission(True, earlier=1)
