"""Kept history is pruned at start-up and then once a day, on every replica (deleting is idempotent).

A feature that keeps history subclasses `DailyPruning` with what it keeps and for how long.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot import aio
from bot.services import Services

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(days=1)


class DailyPruning:
    """Runs `prune_once` when the server starts, then every `every` (a failure is logged, not fatal)."""

    what = "history"  # for the log: what is pruned

    def __init__(self, services: Services, *, every: timedelta = PRUNE_EVERY) -> None:
        self.services = services
        self.every = every
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self, now: datetime | None = None) -> int:
        """Delete what is older than the retention at `now` (default: now); how much went."""
        raise NotImplementedError

    @staticmethod
    def cutoff(days: int, now: datetime | None) -> datetime:
        return (now or datetime.now(UTC)) - timedelta(days=days)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"prune-{self.what.replace(' ', '-')}")

    async def _run(self) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:
                log.exception("could not prune the %s; trying again in %s", self.what, self.every)
            await asyncio.sleep(self.every.total_seconds())

    async def close(self) -> None:
        task, self._task = self._task, None
        await aio.cancel(task)
