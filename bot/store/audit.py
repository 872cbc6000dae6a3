"""The audit trail: who did what, where, and how Kibana answered."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import delete, select

from bot.store.database import Database
from bot.store.schema import audit_log, utcnow

log = logging.getLogger(__name__)

AuditResult = Literal["ok", "error", "refused"]

TARGET_LIMIT = 255  # characters of `target` kept (a forged value or a long alert id is cut, with "…")
DETAIL_LIMIT = 1000


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    user_id: str
    user_name: str
    team: str
    channel: str | None
    action: str  # e.g. "mute", "disable", "case", "apm config set"
    target: str  # what it acted on: rule id, "rule/alert", case id, service …
    space: str
    result: AuditResult  # "refused": the access policy said no
    kibana_status: int | None = None
    detail: str = ""
    rule_id: str | None = None  # set for actions on a rule or its alerts (audit rule <id>)
    at: datetime = field(default_factory=utcnow)
    id: int | None = None  # assigned by the store


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        at=row.at,
        user_id=row.user_id,
        user_name=row.user_name,
        team=row.team,
        channel=row.channel,
        action=row.action,
        target=row.target,
        rule_id=row.rule_id,
        space=row.space,
        result=cast(AuditResult, row.result),
        kibana_status=row.kibana_status,
        detail=row.detail,
    )


def _retrieved(written: asyncio.Future[None]) -> None:
    if not written.cancelled() and written.exception() is not None:
        log.debug("audit entry not written: %r", written.exception())


def _row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "user_id": entry.user_id,
        "user_name": entry.user_name,
        "team": entry.team,
        "channel": entry.channel,
        "action": entry.action,
        "target": _bounded(entry.target, TARGET_LIMIT),
        "rule_id": entry.rule_id,
        "space": entry.space,
        "result": entry.result,
        "kibana_status": entry.kibana_status,
        "detail": _bounded(entry.detail, DETAIL_LIMIT),
    }


class AuditMixin(Database):
    """Audit entries written in batches: the entries that arrive while a write is under way go
    in the next transaction, together (one executemany). A burst of actions
    (hundreds of mutes answered at once) then costs a few transactions instead of one each,
    which kept the event loop, and the Slack acks behind it, busy. `add_audit` still returns
    only once its entry is committed, and raises when it could not be written."""

    _audit_queue: list[tuple[dict[str, Any], asyncio.Future[None]]]
    _audit_writer: asyncio.Task[None] | None

    async def add_audit(self, entry: AuditEntry) -> None:
        if "_audit_queue" not in self.__dict__:
            self._audit_queue, self._audit_writer = [], None
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        written.add_done_callback(_retrieved)  # a cancelled caller's failure is logged, not left unretrieved
        self._audit_queue.append((_row(entry), written))
        if self._audit_writer is None or self._audit_writer.done():
            self._audit_writer = asyncio.create_task(self._write_audit_batches(), name="audit-writer")
        # shielded: a caller that is cancelled leaves its entry to be written all the same
        await asyncio.shield(written)

    async def _write_audit_batches(self) -> None:
        batch: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        try:
            while self._audit_queue:
                batch, self._audit_queue = self._audit_queue, []
                await self._write_audit_batch(batch)
        except BaseException as stopped:  # cancelled (shutdown): nobody waits forever
            for _, written in batch + self._audit_queue:
                if not written.done():
                    written.set_exception(RuntimeError(f"the audit writer stopped: {stopped!r}"))
            self._audit_queue = []
            raise

    async def _write_audit_batch(self, batch: list[tuple[dict[str, Any], asyncio.Future[None]]]) -> None:
        try:
            await self._insert_audit([row for row, _ in batch])
        except Exception:  # one entry that cannot be written must not take the others with it
            for row, written in batch:
                try:
                    await self._insert_audit([row])
                except Exception as error:
                    written.set_exception(error)
                else:
                    written.set_result(None)
            return
        for _, written in batch:
            written.set_result(None)

    async def _insert_audit(self, rows: list[dict[str, Any]]) -> None:
        async with self._write() as conn:
            await conn.execute(audit_log.insert(), rows)

    async def list_audit(self, *, rule_id: str | None = None, limit: int = 20) -> list[AuditEntry]:
        """The latest entries, newest first; only those about one rule when `rule_id` is given."""
        query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        if rule_id is not None:
            query = query.where(audit_log.c.rule_id == rule_id)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry(row) for row in rows]

    async def prune_audit(self, before: datetime) -> int:
        """Delete the entries older than `before` (the retention, AUDIT_RETENTION_DAYS); how many went."""
        async with self._write() as conn:
            deleted = await conn.execute(delete(audit_log).where(audit_log.c.at < before))
            return deleted.rowcount
