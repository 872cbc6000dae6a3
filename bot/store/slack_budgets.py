"""Slack's rate-limit buckets in the database, shared by every replica (PostgreSQL only).

Each bucket is one row: its tokens as of `updated`, and `closed_until` (a Retry-After). Taking a token
is one statement, atomic under any number of concurrent takers: the row's lock orders them, and each
one refills the bucket from the time passed since the last and takes a token only if one is free.
Times are the database's (`clock_timestamp()`), never a replica's.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from bot.store.database import Database

# The bucket refilled to now; the same expression in every statement (`b` is the row).
_REFILLED = "least(:burst, b.tokens + :rate * greatest(0, extract(epoch from clock_timestamp() - b.updated)::float8))"

# Takes a token when the bucket is open and, once refilled, holds 1 + :reserve tokens (a background call
# leaves :reserve for people). The first CTE reads the row as the statement started, for the wait when
# nothing is taken (PostgreSQL: every part of one statement sees the same snapshot, but the UPDATE
# re-reads a row another taker changed meanwhile, so it never takes a token that is gone).
_TAKE = text(
    f"""
    WITH seen AS (
        SELECT {_REFILLED} AS tokens,
               greatest(0, extract(epoch from b.closed_until - clock_timestamp())::float8) AS closed_for
        FROM slack_budgets AS b WHERE b.key = :key
    ), taken AS (
        UPDATE slack_budgets AS b
        SET tokens = {_REFILLED} - 1, updated = greatest(b.updated, clock_timestamp())
        WHERE b.key = :key
          AND (b.closed_until IS NULL OR b.closed_until <= clock_timestamp())
          AND {_REFILLED} >= 1 + :reserve
        RETURNING b.tokens
    )
    SELECT (SELECT tokens FROM taken) AS left_after, seen.tokens, seen.closed_for FROM seen
    """  # noqa: S608 - a constant expression; every value is a bound parameter
)

_NEW = text(
    "INSERT INTO slack_budgets (key, tokens, updated) VALUES (:key, :burst, clock_timestamp()) "
    "ON CONFLICT (key) DO NOTHING"
)

# Retry-After: the bucket is closed until then for every replica, and holds no token when it opens.
_CLOSE = text(
    f"""
    INSERT INTO slack_budgets AS b (key, tokens, updated, closed_until)
    VALUES (:key, 0, clock_timestamp(), clock_timestamp() + make_interval(secs => :seconds))
    ON CONFLICT (key) DO UPDATE SET
        tokens = least(0, {_REFILLED}),
        updated = greatest(b.updated, clock_timestamp()),
        closed_until = greatest(b.closed_until, excluded.closed_until)
    RETURNING greatest(0, extract(epoch from b.closed_until - clock_timestamp())::float8) AS closed_for
    """  # noqa: S608 - a constant expression; every value is a bound parameter
)


@dataclass(frozen=True, slots=True)
class BucketState:
    """What a bucket held once a replica had tried to take a token from it."""

    taken: bool
    tokens: float  # after the attempt (refilled to the database's now)
    closed_for: float  # seconds until Retry-After has passed (0: open)


class SlackBudgetsMixin(Database):
    async def take_slack_token(self, key: str, *, burst: int, per_second: float, reserve: float) -> BucketState:
        """Take one token from bucket `key` if it is open and holds 1 + `reserve` (one statement)."""
        values = {"key": key, "burst": float(burst), "rate": per_second, "reserve": reserve}
        for _ in range(2):  # a new key: made full, then taken from
            async with self._write() as conn:
                row = (await conn.execute(_TAKE, values)).one_or_none()
                if row is None:
                    await conn.execute(_NEW, values)
                    continue
            if row.left_after is not None:
                return BucketState(taken=True, tokens=float(row.left_after), closed_for=0.0)
            return BucketState(taken=False, tokens=float(row.tokens), closed_for=float(row.closed_for))
        raise RuntimeError(f"the Slack budget {key!r} could not be made")  # a concurrent DELETE

    async def close_slack_budget(self, key: str, seconds: float, *, burst: int, per_second: float) -> float:
        """Close bucket `key` for `seconds` (Slack's Retry-After), for every replica; returns how long it
        is closed for (longer, when another replica was given a later Retry-After)."""
        values = {"key": key, "seconds": seconds, "burst": float(burst), "rate": per_second}
        async with self._write() as conn:
            closed_for = (await conn.execute(_CLOSE, values)).scalar_one()
        return float(closed_for)
