"""Exactly-once keys: the first caller wins, every later caller (on any replica) loses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from bot.store.database import Database
from bot.store.schema import claim_keys, subscription_runs, utcnow


class ClaimsMixin(Database):
    async def claim_key(self, namespace: str, key: str, *, owner: str = "", ttl: timedelta | None = None) -> bool:
        """True only for the first caller of (namespace, key).

        Without `ttl` the claim holds for ever; with it, the key can be claimed again
        once the ttl has passed (exactly one of the callers then wins again).
        """
        now = utcnow()
        expires_at = now + ttl if ttl is not None else None
        async with self._write() as conn:
            inserted = await conn.execute(
                self._insert(claim_keys)
                .values(namespace=namespace, key=key, owner=owner, claimed_at=now, expires_at=expires_at)
                .on_conflict_do_nothing()
            )
            if inserted.rowcount == 1:
                return True
            taken_over = await conn.execute(
                update(claim_keys)
                .where(
                    claim_keys.c.namespace == namespace,
                    claim_keys.c.key == key,
                    claim_keys.c.expires_at.is_not(None),
                    claim_keys.c.expires_at <= now,
                )
                .values(owner=owner, claimed_at=now, expires_at=expires_at)
            )
            return taken_over.rowcount == 1

    async def claim_keys(
        self,
        namespace: str,
        keys: Mapping[str, str | None],
        *,
        owner: str = "",
        ttl: timedelta | None = None,
    ) -> set[str]:
        """`claim_key` for many keys in one transaction: the keys this caller won. Each key may name
        the key it replaces (`keys[key]`, e.g. the previous round's claim), forgotten in the same
        transaction when the key is won. Keys are inserted in order, so callers claiming the same
        keys wait on each other, never deadlock."""
        wanted = sorted(keys)
        if not wanted:
            return set()
        now = utcnow()
        expires_at = now + ttl if ttl is not None else None
        rows = [
            {"namespace": namespace, "key": key, "owner": owner, "claimed_at": now, "expires_at": expires_at}
            for key in wanted
        ]
        c = claim_keys.c
        async with self._write() as conn:
            inserted = await conn.execute(self._insert(claim_keys).on_conflict_do_nothing().returning(c.key), rows)
            won = {row.key for row in inserted}
            taken = [key for key in wanted if key not in won]
            if taken:
                taken_over = await conn.execute(
                    update(claim_keys)
                    .where(
                        c.namespace == namespace,
                        c.key.in_(taken),
                        c.expires_at.is_not(None),
                        c.expires_at <= now,
                    )
                    .values(owner=owner, claimed_at=now, expires_at=expires_at)
                    .returning(c.key)
                )
                won.update(row.key for row in taken_over)
            replaced = sorted({old for key in won if (old := keys[key]) is not None and old not in keys})
            if replaced:
                await conn.execute(delete(claim_keys).where(c.namespace == namespace, c.key.in_(replaced)))
        return won

    async def release_key(self, namespace: str, key: str) -> bool:
        """Forget a claim (e.g. the guarded action failed and may be tried again)."""
        async with self._write() as conn:
            deleted = await conn.execute(
                delete(claim_keys).where(claim_keys.c.namespace == namespace, claim_keys.c.key == key)
            )
            return deleted.rowcount == 1

    async def claim_runs(self, subscription_ids: list[int], fire_time: datetime, *, replica: str) -> set[int]:
        """The runs of these subscriptions at `fire_time` that this caller won (exactly one replica
        wins each (subscription, fire time), and posts that report), claimed in one transaction.

        One write per tick instead of one per subscription (a tick of 1,000 subscriptions
        spent most of its time committing 1,000 single-row transactions). Rows are inserted
        in id order, so replicas claiming the same tick wait on each other, never deadlock."""
        won: set[int] = set()
        if not subscription_ids:
            return won
        claimed_at = utcnow()
        rows = [
            {"subscription_id": n, "fire_time": fire_time, "replica": replica, "claimed_at": claimed_at}
            for n in sorted(set(subscription_ids))
        ]
        # One statement for every row (SQLAlchemy sends them as multi-row INSERTs, in this order):
        # building an INSERT per subscription cost a 1,000-subscription tick a tenth of its time.
        claim = self._insert(subscription_runs).on_conflict_do_nothing().returning(subscription_runs.c.subscription_id)
        async with self._write() as conn:
            inserted = await conn.execute(claim, rows)
            won.update(row.subscription_id for row in inserted)
        return won

    async def prune_claims(self, before: datetime) -> int:
        """Delete run claims fired before `before` and keys that expired before it."""
        async with self._write() as conn:
            runs = await conn.execute(delete(subscription_runs).where(subscription_runs.c.fire_time < before))
            keys = await conn.execute(
                delete(claim_keys).where(claim_keys.c.expires_at.is_not(None), claim_keys.c.expires_at < before)
            )
            return runs.rowcount + keys.rowcount
