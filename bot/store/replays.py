"""Recent Slack request signatures: a signed request seen again within the signature window is a replay."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete

from bot.failure_log import FailureLog
from bot.store.batches import GroupCommit
from bot.store.database import Database
from bot.store.schema import slack_replays, utcnow

# Slack's signature window is 5 minutes either side of now: a signature older than twice that can
# no longer be replayed (its timestamp is refused), so its row can go.
REPLAY_WINDOW = timedelta(minutes=5)
PRUNE_EVERY = timedelta(minutes=1)
log = logging.getLogger(__name__)
_failures = FailureLog(log)


class ReplaysMixin(Database):
    _replays_pruned_at: datetime | None = None
    _replay_writes: GroupCommit[str, bool]

    async def seen_slack_request(self, signature: str) -> bool:
        """True when this signature was already recorded (a replay); records it otherwise.

        Every Slack request waits on this before it is acknowledged, so the signatures of requests
        arriving together are recorded in one transaction (`GroupCommit`). Rows older than the
        window are pruned now and then."""
        if "_replay_writes" not in self.__dict__:
            self._replay_writes = GroupCommit("replay-writer", self._record_signatures)
        seen = await self._replay_writes.submit(signature)
        now = utcnow()
        if self._replays_pruned_at is None or now - self._replays_pruned_at >= PRUNE_EVERY:
            self._replays_pruned_at = now
            try:  # the signature is recorded: a failed prune is tried again in a minute
                await self.prune_slack_replays(now - 2 * REPLAY_WINDOW)
            except Exception as error:
                _failures.failed("prune", "could not prune old Slack request signatures", error=error)
        return seen

    async def _record_signatures(self, signatures: list[str]) -> list[bool]:
        """Insert the signatures not recorded yet; for each, whether it was seen before (in the
        store, or earlier in this same batch)."""
        now = utcnow()
        fresh = list(dict.fromkeys(signatures))
        record = self._insert(slack_replays).on_conflict_do_nothing().returning(slack_replays.c.signature)
        async with self._write() as conn:
            inserted = await conn.execute(record, [{"signature": s, "seen_at": now} for s in fresh])
            new = {row.signature for row in inserted}
        seen: list[bool] = []
        for signature in signatures:
            seen.append(signature not in new)
            new.discard(signature)  # the same signature twice in one batch: the second is a replay
        return seen

    async def prune_slack_replays(self, before: datetime) -> int:
        async with self._write() as conn:
            deleted = await conn.execute(delete(slack_replays).where(slack_replays.c.seen_at < before))
            return deleted.rowcount
