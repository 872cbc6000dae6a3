"""Exactly-once keys, run claims and Slack event ids, on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from bot.store import Store

from .conftest import Clock

FIRE = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def test_claim_key_is_true_only_for_the_first_caller(store: Store) -> None:
    assert await store.claim_key("webhook", "delivery-1", owner="r1") is True
    assert await store.claim_key("webhook", "delivery-1", owner="r2") is False
    assert await store.claim_key("webhook", "delivery-1") is False


async def test_claim_keys_are_separate_per_namespace_and_key(store: Store) -> None:
    assert await store.claim_key("webhook", "k")
    assert await store.claim_key("button", "k")
    assert await store.claim_key("webhook", "k2")


async def test_released_key_can_be_claimed_again(store: Store) -> None:
    assert await store.claim_key("button", "click")
    assert await store.release_key("button", "click") is True
    assert await store.release_key("button", "click") is False
    assert await store.claim_key("button", "click") is True


async def test_claim_with_ttl_can_be_claimed_again_once_expired(store: Store, clock: Clock) -> None:
    assert await store.claim_key("button", "b", ttl=timedelta(minutes=1))
    clock.advance(timedelta(seconds=59))
    assert await store.claim_key("button", "b", ttl=timedelta(minutes=1)) is False
    clock.advance(timedelta(seconds=1))
    assert await store.claim_key("button", "b", ttl=timedelta(minutes=1)) is True
    assert await store.claim_key("button", "b", ttl=timedelta(minutes=1)) is False


async def test_claim_without_ttl_never_expires(store: Store, clock: Clock) -> None:
    assert await store.claim_key("webhook", "w")
    clock.advance(timedelta(days=3650))
    assert await store.claim_key("webhook", "w", ttl=timedelta(seconds=1)) is False


async def test_twenty_replicas_claim_one_key_and_exactly_one_wins(replicas: list[Store]) -> None:
    results = await asyncio.gather(
        *(replica.claim_key("webhook", "same", owner=f"r{i}") for i, replica in enumerate(replicas))
    )
    assert results.count(True) == 1


async def test_twenty_replicas_take_over_an_expired_key_exactly_once(replicas: list[Store], clock: Clock) -> None:
    assert await replicas[0].claim_key("lease", "x", ttl=timedelta(seconds=30))
    clock.advance(timedelta(minutes=1))
    results = await asyncio.gather(
        *(replica.claim_key("lease", "x", ttl=timedelta(seconds=30)) for replica in replicas)
    )
    assert results.count(True) == 1


async def test_claim_keys_wins_the_keys_no_one_holds_and_forgets_the_ones_they_replace(
    store: Store, clock: Clock
) -> None:
    minute = timedelta(minutes=1)
    assert await store.claim_key("poll", "b@1", owner="other", ttl=minute)
    won = await store.claim_keys("poll", {"a@1": "a@0", "b@1": "b@0", "c@1": None}, owner="me", ttl=minute)
    assert won == {"a@1", "c@1"}
    assert await store.claim_keys("poll", {}, owner="me") == set()
    assert await store.claim_keys("poll", {"a@1": None}, owner="other", ttl=minute) == set()  # held
    # The next round's keys won: the keys they replace are forgotten in the same transaction.
    assert await store.claim_keys("poll", {"a@2": "a@1", "b@2": "b@1"}, owner="me", ttl=minute) == {"a@2", "b@2"}
    assert await store.claim_key("poll", "a@1", ttl=minute) and await store.claim_key("poll", "b@1", ttl=minute)
    assert await store.claim_keys("poll", {"c@1": None}, owner="other", ttl=minute) == set()
    clock.advance(minute)  # expired: taken over by exactly the next caller
    assert await store.claim_keys("poll", {"c@1": None, "d@1": None}, owner="other", ttl=minute) == {"c@1", "d@1"}
    assert await store.claim_keys("poll", {"c@1": None}, owner="me", ttl=minute) == set()


async def test_twenty_replicas_claim_the_same_keys_and_each_key_is_won_once(replicas: list[Store]) -> None:
    keys = {f"space-{n}@7": f"space-{n}@6" for n in range(10)}
    won = await asyncio.gather(*(replica.claim_keys("poll", keys, owner=f"r{i}") for i, replica in enumerate(replicas)))
    assert sorted(key for keys_won in won for key in keys_won) == sorted(keys)


async def test_claim_runs_once_per_subscription_and_fire_time(store: Store) -> None:
    assert await store.claim_runs([1], FIRE, replica="a") == {1}
    assert await store.claim_runs([1], FIRE, replica="b") == set()
    assert await store.claim_runs([1], FIRE + timedelta(minutes=15), replica="b") == {1}
    assert await store.claim_runs([2], FIRE, replica="b") == {2}


async def test_claim_runs_compares_instants_not_time_zones(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    assert await store.claim_runs([7], FIRE, replica="a") == {7}
    assert await store.claim_runs([7], FIRE.astimezone(paris), replica="b") == set()


async def test_claim_runs_refuses_naive_datetimes(store: Store) -> None:
    with pytest.raises((ValueError, StatementError)):
        await store.claim_runs([1], datetime(2025, 3, 1, 9, 0), replica="a")


async def test_twenty_replicas_claim_one_run_and_exactly_one_wins(replicas: list[Store]) -> None:
    results = await asyncio.gather(
        *(replica.claim_runs([42], FIRE, replica=f"r{i}") for i, replica in enumerate(replicas))
    )
    assert results.count({42}) == 1 and results.count(set()) == len(replicas) - 1


async def test_seen_slack_event_records_the_id_the_first_time(store: Store) -> None:
    assert await store.seen_slack_event("Ev01") is False
    assert await store.seen_slack_event("Ev01") is True
    assert await store.seen_slack_event("Ev02") is False


async def test_prune_claims_forgets_old_runs_and_expired_keys(store: Store, clock: Clock) -> None:
    start = clock.now
    assert await store.claim_runs([1], start - timedelta(days=2), replica="a") == {1}
    assert await store.claim_runs([1], start + timedelta(hours=3), replica="a") == {1}
    assert await store.claim_key("lease", "old", ttl=timedelta(hours=1))
    assert await store.claim_key("webhook", "forever")

    assert await store.prune_claims(start + timedelta(hours=2)) == 2

    assert await store.claim_runs([1], start - timedelta(days=2), replica="b") == {1}
    assert await store.claim_runs([1], start + timedelta(hours=3), replica="b") == set()
    assert await store.release_key("lease", "old") is False
    assert await store.claim_key("webhook", "forever") is False
