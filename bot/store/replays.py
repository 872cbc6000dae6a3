"""Recent Slack request signatures: a signed request seen again within the signature window is a replay."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from bot.store.database import Database
from bot.store.schema import slack_replays, utcnow

# Slack's signature window is 5 minutes either side of now: a signature older than twice that can
# no longer be replayed (its timestamp is refused), so its row can go.
REPLAY_WINDOW = timedelta(minutes=5)
PRUNE_EVERY = timedelta(minutes=1)


class ReplaysMixin(Database):
    _replays_pruned_at: datetime | None = None

    async def seen_slack_request(self, signature: str) -> bool:
        """True when this signature was already recorded (a replay); records it otherwise.
        Rows older than the window are pruned now and then."""
        now = utcnow()
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(slack_replays).values(signature=signature, seen_at=now).on_conflict_do_nothing()
            )
        if self._replays_pruned_at is None or now - self._replays_pruned_at >= PRUNE_EVERY:
            self._replays_pruned_at = now
            await self.prune_slack_replays(now - 2 * REPLAY_WINDOW)
        return inserted.rowcount != 1

    async def prune_slack_replays(self, before: datetime) -> int:
        async with self._write() as conn:
            deleted = await conn.execute(delete(slack_replays).where(slack_replays.c.seen_at < before))
            return deleted.rowcount
