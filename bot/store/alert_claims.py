"""Who is on an alert episode ("I'm on it"): one claim per alert group, held exactly once across replicas.

The row is keyed by the group, so two first claims race on its primary key (one INSERT wins), and a
take-over is a conditional UPDATE naming the holder the person saw (one wins, the other is told who
holds it now). A group is one episode: a new episode is a new group, unclaimed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import String, cast, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.database import Database
from bot.store.schema import alert_claims, alert_groups, alert_messages, claim_keys, utcnow

ClaimOutcome = Literal["claimed", "taken_over", "already_yours", "held"]
REMINDER_KEYS = "alert_claim_reminder"  # claim_keys namespace: one reminder per episode


@dataclass(frozen=True)
class AlertClaim:
    group_id: int
    user_id: str
    claimed_at: datetime
    taken_from: str | None = None
    kibana_ack: tuple[str, ...] = ()  # Security alert ids acknowledged in Kibana with the claim


@dataclass(frozen=True)
class Claimed:
    """What a claim did: `claimed`, `taken_over` (from `claim.taken_from`), `already_yours`, or `held`
    (someone else claimed it since the message was drawn: nothing changed); `claim` is who holds it now."""

    outcome: ClaimOutcome
    claim: AlertClaim | None


@dataclass(frozen=True)
class HeldClaim:
    """An open episode a person is on, with where its message is (for their App Home)."""

    group_id: int
    space: str
    rule_id: str
    rule_name: str
    alert_ids: tuple[str, ...]  # its alerts still firing, at most ALERTS_NAMED of them, oldest first
    firing: int  # how many are firing
    channel: str | None  # the channel id Slack posted the message in (None: not posted yet)
    ts: str | None
    claimed_at: datetime


ALERTS_NAMED = 3


def _claim(row: Any) -> AlertClaim:
    acked = tuple(json.loads(row.kibana_ack)) if row.kibana_ack else ()
    return AlertClaim(row.group_id, row.user_id, row.claimed_at, row.taken_from, acked)


async def claim_of(conn: AsyncConnection, group_id: int) -> AlertClaim | None:
    row = (await conn.execute(select(alert_claims).where(alert_claims.c.group_id == group_id))).first()
    return _claim(row) if row is not None else None


class AlertClaimsMixin(Database):
    async def alert_group_claim(self, group_id: int) -> AlertClaim | None:
        async with self._read() as conn:
            return await claim_of(conn, group_id)

    async def claim_alert_group(self, group_id: int, user_id: str, *, shown_holder: str | None) -> Claimed:
        """`user_id` is on the episode. `shown_holder`: who the message showed on it when they clicked
        (None: nobody). Taking over needs the holder to still be that person: a click on a message drawn
        before someone else claimed it changes nothing (`held`)."""
        now = utcnow()
        async with self._write() as conn:
            if shown_holder is not None and shown_holder != user_id:
                taken = await conn.execute(
                    update(alert_claims)
                    .where(alert_claims.c.group_id == group_id, alert_claims.c.user_id == shown_holder)
                    .values(user_id=user_id, claimed_at=now, taken_from=shown_holder)
                )
                if taken.rowcount == 1:
                    row = (await conn.execute(select(alert_claims).where(alert_claims.c.group_id == group_id))).one()
                    return Claimed("taken_over", _claim(row))
            inserted = await conn.execute(
                self._insert(alert_claims)
                .values(group_id=group_id, user_id=user_id, claimed_at=now, taken_from=None)
                .on_conflict_do_nothing()
            )
            row = (await conn.execute(select(alert_claims).where(alert_claims.c.group_id == group_id))).one()
        claim = _claim(row)
        if inserted.rowcount == 1:
            return Claimed("claimed", claim)
        return Claimed("already_yours" if claim.user_id == user_id else "held", claim)

    async def unclaim_alert_group(self, group_id: int, user_id: str) -> AlertClaim | None:
        """`user_id` lets go of the episode: the claim they held, or None when they hold none."""
        async with self._write() as conn:
            row = (
                await conn.execute(
                    delete(alert_claims)
                    .where(alert_claims.c.group_id == group_id, alert_claims.c.user_id == user_id)
                    .returning(*alert_claims.c)
                )
            ).first()
        return _claim(row) if row is not None else None

    async def claims_held_by(self, user_id: str, *, limit: int = 20) -> list[HeldClaim]:
        """The open episodes `user_id` is on, newest claim first (at most `limit`)."""
        query = (
            select(alert_claims.c.group_id, alert_claims.c.claimed_at, alert_groups)
            .join(alert_groups, alert_groups.c.id == alert_claims.c.group_id)
            .where(alert_claims.c.user_id == user_id, alert_groups.c.closed_at.is_(None))
            .order_by(alert_claims.c.claimed_at.desc(), alert_claims.c.group_id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            groups = (await conn.execute(query)).all()
            ids = [row.group_id for row in groups]
            alerts = (
                await conn.execute(
                    select(alert_messages.c.group_id, alert_messages.c.alert_id)
                    .where(alert_messages.c.group_id.in_(ids), alert_messages.c.recovered_at.is_(None))
                    .order_by(alert_messages.c.id)
                )
            ).all()
        firing: dict[int, list[str]] = {}
        for alert in alerts:
            firing.setdefault(alert.group_id, []).append(alert.alert_id)
        return [
            HeldClaim(
                group_id=row.group_id,
                space=row.space,
                rule_id=row.rule_id,
                rule_name=row.rule_name,
                alert_ids=tuple(firing.get(row.group_id, [])[:ALERTS_NAMED]),
                firing=len(firing.get(row.group_id, [])),
                channel=row.message_channel,
                ts=row.ts,
                claimed_at=row.claimed_at,
            )
            for row in groups
        ]

    async def note_claim_kibana_ack(self, group_id: int, user_id: str, alert_ids: list[str]) -> None:
        """Which Security alerts Kibana acknowledged for `user_id`'s claim (set back to open on release)."""
        async with self._write() as conn:
            await conn.execute(
                update(alert_claims)
                .where(alert_claims.c.group_id == group_id, alert_claims.c.user_id == user_id)
                .values(kibana_ack=json.dumps(alert_ids))
            )

    async def open_alert_group_in(self, *, channel: str, rule_id: str, space: str) -> int | None:
        """The open episode of `rule_id` in `space` whose message is in `channel` (a channel id): its group id."""
        query = (
            select(alert_groups.c.id)
            .where(
                alert_groups.c.message_channel == channel,
                alert_groups.c.rule_id == rule_id,
                alert_groups.c.space == space,
                alert_groups.c.closed_at.is_(None),
            )
            .order_by(alert_groups.c.id.desc())
            .limit(1)
        )
        async with self._read() as conn:
            found = (await conn.execute(query)).scalar()
        return int(found) if found is not None else None

    async def mark_alert_group_changed(self, group_id: int) -> None:
        """The message of the group must be shown again (the publisher's next pass draws it)."""
        async with self._write() as conn:
            await conn.execute(
                update(alert_groups)
                .where(alert_groups.c.id == group_id)
                .values(version=alert_groups.c.version + 1, updated_at=utcnow())
            )

    async def unclaimed_alert_groups(self, *, started_before: datetime, limit: int = 50) -> list[int]:
        """Open, posted episodes with an alert still firing, started before `started_before`, that nobody
        has claimed and nobody has been reminded of: the ids of their groups, oldest first."""
        firing = exists().where(alert_messages.c.group_id == alert_groups.c.id, alert_messages.c.recovered_at.is_(None))
        claimed = exists().where(alert_claims.c.group_id == alert_groups.c.id)
        reminded = exists().where(
            claim_keys.c.namespace == REMINDER_KEYS, claim_keys.c.key == cast(alert_groups.c.id, String)
        )
        query = (
            select(alert_groups.c.id)
            .where(
                alert_groups.c.closed_at.is_(None),
                alert_groups.c.ts.is_not(None),
                alert_groups.c.started_at <= started_before,
                firing,
                ~claimed,
                ~reminded,
            )
            .order_by(alert_groups.c.started_at, alert_groups.c.id)
            .limit(limit)
        )
        async with self._read() as conn:
            return [int(i) for i in (await conn.execute(query)).scalars()]
