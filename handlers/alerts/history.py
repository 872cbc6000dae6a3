"""Closed alert episodes are kept ALERT_HISTORY_DAYS (30 by default) after they close: older ones
are pruned at start-up and then once a day, on every replica (`bot.store.alert_history` says what
an episode is and what a button on its message still does once it is gone)."""

from __future__ import annotations

import logging
from datetime import datetime

from handlers.shared.retention import DailyPruning

log = logging.getLogger(__name__)


class AlertHistoryRetention(DailyPruning):
    what = "alert history"

    async def prune_once(self, now: datetime | None = None) -> int:
        days = self.services.settings.alert_history_days
        removed = await self.services.store.prune_alert_history(self.cutoff(days, now))
        if removed:
            log.info("pruned %d alert episodes closed more than %d days ago", removed, days)
        return removed
