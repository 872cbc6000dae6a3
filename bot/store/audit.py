"""The audit trail: who did what, where, and how Kibana answered."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import delete, select

from bot.store.batches import GroupCommit
from bot.store.errors import store_unreachable
from bot.store.later import LaterMixin
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
    kibana_identity: str | None = None  # the person's Kibana user or key (KIBANA_IDENTITY=person); None: the bot's
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
        kibana_identity=row.kibana_identity,
    )


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
        "kibana_identity": entry.kibana_identity,
    }


class AuditMixin(LaterMixin):
    """Audit entries written in batches (`GroupCommit`): a burst of actions (hundreds of mutes
    answered at once) costs a few transactions instead of one each, which kept the event loop, and
    the Slack acks behind it, busy. `add_audit` returns once its entry is committed, or, when the
    database does not answer, kept to be written once it does (bot/store/later.py); it raises when
    the entry could be neither (StoreUnavailable: too many wait already; or the database refused it)."""

    _audit_writes: GroupCommit[dict[str, Any], None]

    async def add_audit(self, entry: AuditEntry) -> None:
        if "_audit_writes" not in self.__dict__:
            self._audit_writes = GroupCommit("audit-writer", self._insert_audit)
        row = _row(entry)
        await self._write_waiting_first()
        try:
            await self._audit_writes.submit(row)
        except Exception as error:
            if not store_unreachable(error):
                raise
            self._keep("audit entry", lambda conn: conn.execute(audit_log.insert(), [row]))

    async def _insert_audit(self, rows: list[dict[str, Any]]) -> list[None]:
        async with self._write() as conn:
            await conn.execute(audit_log.insert(), rows)
        return [None] * len(rows)

    async def list_audit(
        self,
        *,
        rule_id: str | None = None,
        limit: int = 20,
        spaces: frozenset[str] | None = None,
        action: str | None = None,
    ) -> list[AuditEntry]:
        """The latest entries, newest first; only those about one rule when `rule_id` is given, only those
        in `spaces` when given (None: every space), only those of one `action` when given."""
        query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(limit)
        if rule_id is not None:
            query = query.where(audit_log.c.rule_id == rule_id)
        if action is not None:
            query = query.where(audit_log.c.action == action, audit_log.c.result == "ok")
        if spaces is not None:
            query = query.where(audit_log.c.space.in_(sorted(spaces)))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry(row) for row in rows]

    async def audit_of_actions(
        self, actions: Sequence[str], *, limit: int = 500, user_id: str | None = None
    ) -> list[AuditEntry]:
        """The latest entries that went through ("ok") of `actions`, newest first, by `user_id` when given
        (a person's App Home: what they muted, the cases they opened)."""
        query = (
            select(audit_log)
            .where(audit_log.c.action.in_(list(actions)), audit_log.c.result == "ok")
            .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(limit)
        )
        if user_id is not None:
            query = query.where(audit_log.c.user_id == user_id)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_entry(row) for row in rows]

    async def prune_audit(self, before: datetime) -> int:
        """Delete the entries older than `before` (the retention, AUDIT_RETENTION_DAYS); how many went."""
        async with self._write() as conn:
            deleted = await conn.execute(delete(audit_log).where(audit_log.c.at < before))
            return deleted.rowcount
