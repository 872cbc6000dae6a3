"""The audit trail is kept AUDIT_RETENTION_DAYS (90 by default): older entries are pruned at start-up
and then once a day, on every replica (deleting is idempotent)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from bot.services import Services

log = logging.getLogger(__name__)

PRUNE_EVERY = timedelta(days=1)


class AuditRetention:
    def __init__(self, services: Services, *, every: timedelta = PRUNE_EVERY) -> None:
        self.services = services
        self.every = every
        self._task: asyncio.Task[None] | None = None

    async def prune_once(self, now: datetime | None = None) -> int:
        days = self.services.settings.audit_retention_days
        before = (now or datetime.now(UTC)) - timedelta(days=days)
        removed = await self.services.store.prune_audit(before)
        if removed:
            log.info("pruned %d audit entries older than %d days", removed, days)
        return removed

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-retention")

    async def _run(self) -> None:
        while True:
            try:
                await self.prune_once()
            except Exception:
                log.exception("could not prune the audit trail; trying again in %s", self.every)
            await asyncio.sleep(self.every.total_seconds())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
