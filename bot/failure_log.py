"""Failures logged once per cause and interval, not once per poll, tick or request.

A loop that fails on every turn while a dependency is down (the alert poller, the health
scheduler, the alert publisher, the replay check of every Slack request) wrote a traceback each
time: 108 tracebacks and 7,672 lines in 80 s of a PostgreSQL outage. `FailureLog` writes the first
failure of a cause with its traceback, then at most one line per interval saying how many more
there were, and one line when the cause stops failing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_INTERVAL = 60.0  # seconds between two lines about the same cause
REMEMBERED = 10_000  # causes kept at most (one per client address, say); the quiet ones are forgotten first


@dataclass
class _Cause:
    first_at: float
    logged_at: float
    failures: int = 1
    unlogged: int = 0


class FailureLog:
    """`failed(cause, …)` on every failure, `recovered(cause)` on every success; a cause is a short
    name of what failed ("replay check", "alert poller tick"), kept apart by the error's type.
    `often(cause, …)` logs an event that may come in floods (a refused client, a webhook over its
    budget) the same way, as a warning without a traceback."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = DEFAULT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self._clock = clock
        self._causes: dict[tuple[str, str], _Cause] = {}

    def failed(
        self, cause: str, message: str, *args: object, error: BaseException | None = None, level: int = logging.ERROR
    ) -> bool:
        """Log this failure if it is the first of its cause, or the first for an interval; True when
        it was logged. The first line carries the traceback; later ones name the error and count."""
        key = (cause, type(error).__name__ if error is not None else "")
        now = self._clock()
        seen = self._causes.get(key)
        if seen is None:
            if len(self._causes) >= REMEMBERED:
                self._causes = {k: c for k, c in self._causes.items() if now - c.logged_at < self.interval}
            self._causes[key] = _Cause(first_at=now, logged_at=now)
            self.logger.log(level, message, *args, exc_info=error)
            return True
        seen.failures += 1
        if now - seen.logged_at < self.interval:
            seen.unlogged += 1
            return False
        since = now - seen.first_at
        more: tuple[str, ...]
        if error is None:  # an event, not a failure (a refused client, a webhook over its budget)
            tail, more = " (%d times in %.0f s, %d not logged one by one)", ()
        else:
            tail, more = " (still failing: %d times in %.0f s, %d not logged; last error: %s)", (_short(error),)
        self.logger.log(level, message + tail, *args, seen.failures, since, seen.unlogged, *more)
        seen.logged_at, seen.unlogged = now, 0
        return True

    def often(self, cause: str, message: str, *args: object) -> bool:
        """A warning about `cause`, at most once per interval, saying how many were left out."""
        return self.failed(cause, message, *args, level=logging.WARNING)

    def recovered(self, cause: str, message: str = "", *args: object) -> None:
        """The cause works again: one line (when it had failed) saying after how many failures."""
        gone = [key for key in self._causes if key[0] == cause]
        if not gone:
            return
        failures = sum(self._causes.pop(key).failures for key in gone)
        text = message or f"{cause}: working again"
        self.logger.warning(text + " (after %d failure(s))", *args, failures)

    def failing(self, cause: str) -> bool:
        return any(key[0] == cause for key in self._causes)


def _short(error: BaseException | None) -> str:
    if error is None:
        return "-"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__
