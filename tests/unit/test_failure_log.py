"""FailureLog: a failure logged once per cause and interval, with a count, and once when it recovers."""

from __future__ import annotations

import logging

import pytest

from bot.failure_log import FailureLog


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_cause_is_logged_once_per_interval_then_when_it_recovers(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    failures = FailureLog(logging.getLogger("test.failures"), interval=60, clock=clock)
    caplog.set_level(logging.INFO, logger="test.failures")
    logged = []
    for _ in range(120):  # a tick every second for two minutes
        logged.append(failures.failed("poll", "the poll failed", error=ConnectionRefusedError("refused")))
        clock.now += 1
    assert logged.count(True) == 2
    first, again = caplog.records
    assert first.exc_info is not None  # the traceback, once
    assert again.exc_info is None
    assert "still failing: 61 times in 60 s, 59 not logged" in again.getMessage()
    assert "ConnectionRefusedError: refused" in again.getMessage()

    failures.recovered("poll", "the poll works again")
    assert caplog.records[-1].getMessage() == "the poll works again (after 120 failure(s))"
    assert not failures.failing("poll")
    failures.recovered("poll")  # nothing failed since: nothing to say
    assert len(caplog.records) == 3


def test_causes_and_error_types_are_counted_apart(caplog: pytest.LogCaptureFixture) -> None:
    failures = FailureLog(logging.getLogger("test.failures"), interval=60, clock=Clock())
    caplog.set_level(logging.INFO, logger="test.failures")
    for _ in range(5):
        failures.failed("poll", "the poll failed", error=ConnectionRefusedError())
        failures.failed("poll", "the poll failed", error=TimeoutError())
        failures.failed("publish", "publishing failed", error=ConnectionRefusedError())
    assert len(caplog.records) == 3
