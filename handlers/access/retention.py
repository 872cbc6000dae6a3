"""The audit trail is kept AUDIT_RETENTION_DAYS (90 by default): older entries are pruned at start-up
and then once a day, on every replica (`handlers.shared.retention`)."""

from __future__ import annotations

import logging
from datetime import datetime

from handlers.shared.retention import DailyPruning

log = logging.getLogger(__name__)


class AuditRetention(DailyPruning):
    what = "audit trail"

    async def prune_once(self, now: datetime | None = None) -> int:
        days = self.services.settings.audit_retention_days
        removed = await self.services.store.prune_audit(self.cutoff(days, now))
        if removed:
            log.info("pruned %d audit entries older than %d days", removed, days)
        return removed
