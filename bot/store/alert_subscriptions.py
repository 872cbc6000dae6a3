"""Alert subscriptions (which channel gets which alerts of a space, read from alerts-as-data) and,
per space, the polling cursor and the Elasticsearch problem the channels were last told about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BigInteger, String, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.database import Database, check_caps
from bot.store.schema import alert_poll_spaces, alert_subscriptions, utcnow

AlertFilterKind = Literal["rule", "tag", "all"]
CONFIG_CREATOR = "config"
_CAP_LOCK = 0x6B63_6173  # "kcas": alert subscriptions are added one at a time (their caps hold)


@dataclass(frozen=True, slots=True)
class AlertSubscription:
    id: int
    channel: str
    space: str
    kind: AlertFilterKind
    value: str  # the rule id or the tag; "" for all
    created_by: str  # Slack user id, or "config"
    config_key: str | None
    created_at: datetime

    @property
    def from_config(self) -> bool:
        return self.config_key is not None


@dataclass(frozen=True, slots=True)
class AlertPollState:
    space: str
    cursor_ms: int | None  # the sort values of the last alert document read (@timestamp, uuid)
    cursor_uuid: str | None
    problem: str | None  # the Elasticsearch problem the channels were told about ("403", "unreachable", …)
    problem_text: str | None
    problem_since: datetime | None


def _subscription(row: Any) -> AlertSubscription:
    return AlertSubscription(
        id=row.id,
        channel=row.channel,
        space=row.space,
        kind=row.kind,
        value=row.value,
        created_by=row.created_by,
        config_key=row.config_key,
        created_at=row.created_at,
    )


def _state(row: Any) -> AlertPollState:
    return AlertPollState(row.space, row.cursor_ms, row.cursor_uuid, row.problem, row.problem_text, row.problem_since)


class AlertSubscriptionsMixin(Database):
    # ---- subscriptions ------------------------------------------------------------------
    async def add_alert_subscription(
        self,
        *,
        channel: str,
        space: str,
        kind: AlertFilterKind,
        value: str,
        created_by: str,
        max_per_channel: int | None = None,
        max_in_all: int | None = None,
    ) -> tuple[AlertSubscription, bool]:
        """The subscription, and whether it is new (the same filter twice in a channel is one). A new one
        beyond `max_per_channel` in its channel or `max_in_all` in all raises SubscriptionLimitReached;
        the caps are checked in the transaction that adds it, one subscriber at a time, so they hold
        however many subscribe at once, on every replica."""
        same = select(alert_subscriptions).where(
            alert_subscriptions.c.channel == channel,
            alert_subscriptions.c.space == space,
            alert_subscriptions.c.kind == kind,
            alert_subscriptions.c.value == value,
        )
        async with self._write() as conn:
            await self._one_at_a_time(conn, _CAP_LOCK)
            existing = (await conn.execute(same)).first()
            if existing is not None:
                return _subscription(existing), False
            await check_caps(conn, alert_subscriptions, channel, max_per_channel, max_in_all)
            inserted = await conn.execute(
                self._insert(alert_subscriptions)
                .values(
                    channel=channel, space=space, kind=kind, value=value, created_by=created_by, created_at=utcnow()
                )
                .on_conflict_do_nothing()
            )
            row = (await conn.execute(same)).one()
        return _subscription(row), inserted.rowcount == 1

    async def get_alert_subscription(self, subscription_id: int) -> AlertSubscription | None:
        async with self._read() as conn:
            row = (
                await conn.execute(select(alert_subscriptions).where(alert_subscriptions.c.id == subscription_id))
            ).first()
        return _subscription(row) if row is not None else None

    async def list_alert_subscriptions(
        self, *, channel: str | None = None, space: str | None = None
    ) -> list[AlertSubscription]:
        """Alert subscriptions, oldest first; only one channel's or one space's when given."""
        query = select(alert_subscriptions).order_by(alert_subscriptions.c.id)
        if channel is not None:
            query = query.where(alert_subscriptions.c.channel == channel)
        if space is not None:
            query = query.where(alert_subscriptions.c.space == space)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return [_subscription(row) for row in rows]

    async def remove_alert_subscription(self, subscription_id: int, *, channel: str | None = None) -> bool:
        """Delete one subscription (only if it belongs to `channel`, when given); True if it did.
        A space left without subscriptions forgets its cursor: a later subscription starts from then."""
        where = [alert_subscriptions.c.id == subscription_id]
        if channel is not None:
            where.append(alert_subscriptions.c.channel == channel)
        async with self._write() as conn:
            deleted = (
                await conn.execute(delete(alert_subscriptions).where(*where).returning(alert_subscriptions.c.space))
            ).all()
            if not deleted:
                return False
            await self._forget_unwatched_spaces(conn, {row.space for row in deleted})
        return True

    async def _forget_unwatched_spaces(self, conn: AsyncConnection, spaces: set[str]) -> None:
        watched = select(alert_subscriptions.c.space).where(alert_subscriptions.c.space.in_(spaces))
        await conn.execute(
            delete(alert_poll_spaces).where(
                alert_poll_spaces.c.space.in_(spaces), alert_poll_spaces.c.space.not_in(watched)
            )
        )

    async def upsert_config_alert_subscription(
        self, *, channel: str, space: str, kind: AlertFilterKind, value: str, key: str = "alerts"
    ) -> AlertSubscription:
        """The subscription declared in settings: created once, updated when settings change (one row
        per `key`, whichever replica comes first)."""
        fields = {"channel": channel, "space": space, "kind": kind, "value": value}
        async with self._write() as conn:
            # A user's identical subscription in that channel gives way to the declared one.
            await conn.execute(
                delete(alert_subscriptions).where(
                    *(alert_subscriptions.c[name] == v for name, v in fields.items()),
                    alert_subscriptions.c.config_key.is_(None),
                )
            )
            inserted = await conn.execute(
                self._insert(alert_subscriptions)
                .values(**fields, created_by=CONFIG_CREATOR, config_key=key, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=[alert_subscriptions.c.config_key])
            )
            if inserted.rowcount != 1:
                before = (
                    await conn.execute(
                        select(alert_subscriptions.c.space).where(alert_subscriptions.c.config_key == key)
                    )
                ).scalar_one()
                differs = or_(*(alert_subscriptions.c[name] != v for name, v in fields.items()))
                await conn.execute(
                    update(alert_subscriptions)
                    .where(alert_subscriptions.c.config_key == key, differs)
                    .values(**fields, created_at=utcnow())
                )
                await self._forget_unwatched_spaces(conn, {before})
            row = (await conn.execute(select(alert_subscriptions).where(alert_subscriptions.c.config_key == key))).one()
        return _subscription(row)

    async def remove_config_alert_subscription(self, key: str = "alerts") -> bool:
        async with self._read() as conn:
            found = (
                await conn.execute(select(alert_subscriptions.c.id).where(alert_subscriptions.c.config_key == key))
            ).scalar()
        return found is not None and await self.remove_alert_subscription(int(found))

    # ---- polling state per space ----------------------------------------------------------
    async def alert_poll_state(self, space: str) -> AlertPollState | None:
        async with self._read() as conn:
            row = (await conn.execute(select(alert_poll_spaces).where(alert_poll_spaces.c.space == space))).first()
        return _state(row) if row is not None else None

    async def alert_poll_states(self) -> list[AlertPollState]:
        async with self._read() as conn:
            rows = (await conn.execute(select(alert_poll_spaces).order_by(alert_poll_spaces.c.space))).all()
        return [_state(row) for row in rows]

    async def start_alert_cursor(self, space: str, *, cursor_ms: int, cursor_uuid: str) -> AlertPollState:
        """The space's state, created with this cursor when it has none (the first replica wins)."""
        async with self._write() as conn:
            await conn.execute(
                self._insert(alert_poll_spaces)
                .values(space=space, cursor_ms=cursor_ms, cursor_uuid=cursor_uuid, updated_at=utcnow())
                .on_conflict_do_nothing()
            )
            await conn.execute(
                update(alert_poll_spaces)
                .where(alert_poll_spaces.c.space == space, alert_poll_spaces.c.cursor_ms.is_(None))
                .values(cursor_ms=cursor_ms, cursor_uuid=cursor_uuid, updated_at=utcnow())
            )
            row = (await conn.execute(select(alert_poll_spaces).where(alert_poll_spaces.c.space == space))).one()
        return _state(row)

    async def advance_alert_cursor(self, space: str, *, cursor_ms: int, cursor_uuid: str) -> bool:
        """Move the space's cursor forward to (cursor_ms, cursor_uuid); never backwards (a slower
        replica's older cursor loses). True when it moved."""
        c = alert_poll_spaces.c
        behind = or_(
            c.cursor_ms.is_(None),
            c.cursor_ms < cursor_ms,
            and_(c.cursor_ms == cursor_ms, func.coalesce(c.cursor_uuid, "") < cursor_uuid),
        )
        async with self._write() as conn:
            moved = await conn.execute(
                update(alert_poll_spaces)
                .where(c.space == space, behind)
                .values(cursor_ms=cursor_ms, cursor_uuid=cursor_uuid, updated_at=utcnow())
            )
        return moved.rowcount == 1

    async def advance_alert_cursors(self, cursors: Mapping[str, tuple[int, str]]) -> None:
        """`advance_alert_cursor` for many spaces (space -> (cursor_ms, cursor_uuid)) in one
        transaction: each moves forward, never backwards."""
        if not cursors:
            return
        c = alert_poll_spaces.c
        at, uuid = bindparam("b_ms", type_=BigInteger()), bindparam("b_uuid", type_=String())
        behind = or_(
            c.cursor_ms.is_(None), c.cursor_ms < at, and_(c.cursor_ms == at, func.coalesce(c.cursor_uuid, "") < uuid)
        )
        move = (
            update(alert_poll_spaces)
            .where(c.space == bindparam("b_space"), behind)
            .values(cursor_ms=at, cursor_uuid=uuid, updated_at=bindparam("b_updated_at"))
        )
        now = utcnow()
        rows = [
            {"b_space": space, "b_ms": ms, "b_uuid": after, "b_updated_at": now}
            for space, (ms, after) in sorted(cursors.items())
        ]
        async with self._write() as conn:
            await conn.execute(move, rows)

    async def set_alert_problem(self, space: str, problem: str, text: str) -> bool:
        """Record that reading the space's alerts fails with `problem`; True only for the first caller
        to record this problem (that one tells the channels), on any replica."""
        c = alert_poll_spaces.c
        now = utcnow()
        async with self._write() as conn:
            await conn.execute(
                self._insert(alert_poll_spaces).values(space=space, updated_at=now).on_conflict_do_nothing()
            )
            changed = await conn.execute(
                update(alert_poll_spaces)
                .where(c.space == space, or_(c.problem.is_(None), c.problem != problem))
                .values(problem=problem, problem_text=text, problem_since=now, updated_at=now)
            )
        return changed.rowcount == 1

    async def clear_alert_problem(self, space: str) -> AlertPollState | None:
        """Forget the space's problem; returns the state as it was when this caller cleared it (the one
        that tells the channels it recovered), None when there was none to clear."""
        c = alert_poll_spaces.c
        async with self._write() as conn:
            row = (await conn.execute(select(alert_poll_spaces).where(c.space == space))).first()
            if row is None or row.problem is None:
                return None
            cleared = await conn.execute(
                update(alert_poll_spaces)
                .where(c.space == space, c.problem == row.problem)
                .values(problem=None, problem_text=None, problem_since=None, updated_at=utcnow())
            )
        return _state(row) if cleared.rowcount == 1 else None
