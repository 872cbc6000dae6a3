"""Closed alert episodes are history: kept ALERT_HISTORY_DAYS after they close, then deleted.

An episode is its group, its alerts (the exactly-once keys of their deliveries) and what its
message shows (kept beside the message for buttons to re-draw it). Kibana re-sends a delivery
within minutes, never weeks later, so keys that old guard nothing; a button on a message whose
episode was deleted still acts on Kibana and puts its receipt in the thread, it only no longer
re-draws the message.

Rows of the release before grouping (one message per alert, no group) are history the same way once
their alert recovered: they are deleted with what their message shows `ALERT_HISTORY_DAYS` after the
recovery. One still firing stays: its recovery may yet come and is then adopted into a group.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.database import Database
from bot.store.schema import alert_claims, alert_groups, alert_message_content, alert_messages

PRUNE_BATCH = 500  # episodes per transaction: a long history goes in short write locks


class AlertHistoryMixin(Database):
    async def prune_alert_history(self, before: datetime, *, batch: int = PRUNE_BATCH) -> int:
        """Delete the episodes that closed before `before` and have nothing left to show, and the
        alerts from before grouping that recovered before it; how many episodes and alerts went."""
        removed = 0
        for prune in (self._prune_alert_batch, self._prune_ungrouped_batch):
            while True:
                gone = await prune(before, batch)
                removed += gone
                if gone < batch:
                    break
        return removed

    async def _prune_alert_batch(self, before: datetime, batch: int) -> int:
        old = (
            select(alert_groups.c.id, alert_groups.c.message_channel, alert_groups.c.ts)
            .where(
                alert_groups.c.closed_at < before,
                alert_groups.c.shown_version >= alert_groups.c.version,  # a button's change not yet shown stays
            )
            .order_by(alert_groups.c.id)
            .limit(batch)
        )
        async with self._write() as conn:
            groups = (await conn.execute(old)).all()
            if not groups:
                return 0
            ids = [g.id for g in groups]
            await _forget_shown(conn, [(g.message_channel, g.ts) for g in groups])
            await conn.execute(delete(alert_messages).where(alert_messages.c.group_id.in_(ids)))
            await conn.execute(delete(alert_claims).where(alert_claims.c.group_id.in_(ids)))
            await conn.execute(delete(alert_groups).where(alert_groups.c.id.in_(ids)))
            return len(ids)

    async def _prune_ungrouped_batch(self, before: datetime, batch: int) -> int:
        old = (
            select(alert_messages.c.id, alert_messages.c.channel, alert_messages.c.ts)
            .where(alert_messages.c.group_id.is_(None), alert_messages.c.recovered_at < before)
            .order_by(alert_messages.c.id)
            .limit(batch)
        )
        async with self._write() as conn:
            rows = (await conn.execute(old)).all()
            if not rows:
                return 0
            await _forget_shown(conn, [(r.channel, r.ts) for r in rows])
            await conn.execute(delete(alert_messages).where(alert_messages.c.id.in_([r.id for r in rows])))
            return len(rows)


async def _forget_shown(conn: AsyncConnection, messages: list[tuple[str | None, str | None]]) -> None:
    """Delete what the messages at these (channel, ts) show; one never posted has neither."""
    posted = [(channel, ts) for channel, ts in messages if channel is not None and ts is not None]
    if posted:
        shown = tuple_(alert_message_content.c.channel, alert_message_content.c.ts)
        await conn.execute(delete(alert_message_content).where(shown.in_(posted)))
