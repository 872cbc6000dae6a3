"""What an alert message shows, kept beside it, and the status lines buttons added to it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from bot.store.database import Database
from bot.store.schema import alert_message_content, alert_messages, utcnow


@dataclass(frozen=True, slots=True)
class AlertContent:
    """What an alert message shows (JSON owned by the handler) and its status lines, oldest first."""

    channel: str
    ts: str
    content: str
    status_lines: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """Which alert a stored alert row is: what a short reference in a menu stands for."""

    space: str
    rule_id: str
    alert_id: str
    alert_uuid: str


class AlertsMixin(Database):
    async def stored_alert(self, row_id: int) -> StoredAlert | None:
        """The alert of the alert row `row_id` (a group message's menu option names it), if still kept."""
        columns = (
            alert_messages.c.space,
            alert_messages.c.rule_id,
            alert_messages.c.alert_id,
            alert_messages.c.alert_uuid,
        )
        async with self._read() as conn:
            row = (await conn.execute(select(*columns).where(alert_messages.c.id == row_id))).first()
        return StoredAlert(row.space, row.rule_id, row.alert_id, row.alert_uuid) if row is not None else None

    async def save_alert_content(self, *, channel: str, ts: str, content: str) -> None:
        """Keep what the message at (channel, ts) shows; its status lines are left as they are."""
        now = utcnow()
        insert = self._insert(alert_message_content).values(
            channel=channel, ts=ts, content=content, status_lines="[]", updated_at=now
        )
        async with self._write() as conn:
            await conn.execute(
                insert.on_conflict_do_update(
                    index_elements=[alert_message_content.c.channel, alert_message_content.c.ts],
                    set_={"content": content, "updated_at": now},
                )
            )

    async def get_alert_content(self, *, channel: str, ts: str) -> AlertContent | None:
        query = select(alert_message_content).where(
            alert_message_content.c.channel == channel, alert_message_content.c.ts == ts
        )
        async with self._read() as conn:
            row = (await conn.execute(query)).first()
        return _content(row) if row is not None else None

    async def add_alert_status_lines(
        self, *, channel: str, ts: str, lines: Sequence[str], keep: int = 10
    ) -> AlertContent | None:
        """Append `lines` (keeping the newest `keep`) and return the updated content; None when unknown."""
        where = (alert_message_content.c.channel == channel, alert_message_content.c.ts == ts)
        async with self._write() as conn:
            row = (await conn.execute(select(alert_message_content).where(*where).with_for_update())).first()
            if row is None:
                return None
            kept = [*json.loads(row.status_lines), *lines][-keep:] if keep > 0 else []
            now = utcnow()
            await conn.execute(
                update(alert_message_content).where(*where).values(status_lines=json.dumps(kept), updated_at=now)
            )
        return AlertContent(channel=channel, ts=ts, content=row.content, status_lines=tuple(kept), updated_at=now)


def _content(row: Any) -> AlertContent:
    return AlertContent(
        channel=row.channel,
        ts=row.ts,
        content=row.content,
        status_lines=tuple(json.loads(row.status_lines)),
        updated_at=row.updated_at,
    )
