"""A log line per cause at most once per interval, saying how many were left out: a flood of refusals
(a slow client, a webhook over its budget) is a few lines, not one per request."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

EVERY = 60.0  # seconds
REMEMBERED = 10_000  # causes kept at most (one per client address, say); the oldest are forgotten


class ThrottledLog:
    def __init__(
        self, logger: logging.Logger, *, every: float = EVERY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._log = logger
        self._every = every
        self._clock = clock
        self._last: dict[str, tuple[float, int]] = {}

    def warning(self, cause: str, message: str, *args: object) -> bool:
        """Log `message % args` unless `cause` was logged less than `every` seconds ago; True if logged."""
        now = self._clock()
        last, quiet = self._last.get(cause, (now - self._every, 0))
        if now - last < self._every:
            self._last[cause] = (last, quiet + 1)
            return False
        if len(self._last) >= REMEMBERED:
            self._last = {k: v for k, v in self._last.items() if now - v[0] < self._every}
        self._last[cause] = (now, 0)
        more = f" ({quiet} more like it since the last such line)" if quiet else ""
        self._log.warning(message + more, *args)
        return True
