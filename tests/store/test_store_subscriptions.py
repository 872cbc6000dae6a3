"""Health-report subscriptions, their change counter and the one declared in settings."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.store import Store, Subscription

from .conftest import OpenStore


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "channel": "C1",
        "space": "ops",
        "schedule": "every 15m",
        "cron": "*/15 * * * *",
        "timezone": "UTC",
        "on_change": False,
        "created_by": "U1",
    }
    return fields | changes


async def _add(store: Store, **changes: Any) -> Subscription:
    return await store.add_subscription(**_fields(**changes))


async def test_added_subscription_is_listed(store: Store) -> None:
    sub = await _add(store, on_change=True, timezone="Europe/Paris")
    assert sub.id > 0 and sub.on_change and sub.timezone == "Europe/Paris"
    assert not sub.paused and not sub.from_config and sub.last_health is None
    assert sub.created_at.utcoffset() is not None
    assert await store.list_subscriptions() == [sub]
    assert await store.get_subscription(sub.id) == sub
    assert await store.get_subscription(sub.id + 1000) is None


async def test_list_filters_by_channel_and_paused(store: Store) -> None:
    a = await _add(store, channel="C1")
    b = await _add(store, channel="C2")
    c = await _add(store, channel="C1", space="default")
    assert await store.set_subscription_paused(c.id, True, reason="Kibana said 401") is True

    assert [s.id for s in await store.list_subscriptions()] == [a.id, b.id, c.id]
    assert [s.id for s in await store.list_subscriptions(channel="C1")] == [a.id, c.id]
    assert [s.id for s in await store.list_subscriptions(include_paused=False)] == [a.id, b.id]
    paused = await store.get_subscription(c.id)
    assert paused is not None and paused.paused and paused.paused_reason == "Kibana said 401"

    assert await store.set_subscription_paused(c.id, False) is True
    resumed = await store.get_subscription(c.id)
    assert resumed is not None and not resumed.paused and resumed.paused_reason is None
    assert await store.set_subscription_paused(9999, True) is False


async def test_remove_only_in_the_named_channel(store: Store) -> None:
    sub = await _add(store, channel="C1")
    assert await store.remove_subscription(sub.id, channel="C2") is False
    assert await store.remove_subscription(sub.id, channel="C1") is True
    assert await store.remove_subscription(sub.id) is False
    assert await store.list_subscriptions() == []


async def test_version_changes_with_every_change_and_only_then(store: Store) -> None:
    seen = [await store.subscriptions_version()]

    async def changed() -> None:
        version = await store.subscriptions_version()
        assert version not in seen
        seen.append(version)

    async def unchanged() -> None:
        assert await store.subscriptions_version() == seen[-1]

    a = await _add(store)
    await changed()
    b = await _add(store)
    await changed()
    await store.set_subscription_paused(a.id, True)
    await changed()
    await store.set_last_health(a.id, "ok")
    await unchanged()
    await store.remove_subscription(b.id, channel="elsewhere")
    await unchanged()
    await store.remove_subscription(b.id)
    await changed()
    c = await _add(store)  # same count as before the removal, still a new version
    await changed()
    await store.remove_subscription(c.id)
    await changed()
    await store.remove_subscription(c.id)
    await unchanged()


async def test_a_change_on_one_replica_is_seen_by_another(open_store: OpenStore) -> None:
    first, second = await open_store(), await open_store()
    before = await second.subscriptions_version()
    sub = await _add(first)
    assert await second.subscriptions_version() != before
    assert [s.id for s in await second.list_subscriptions()] == [sub.id]


async def test_set_last_health_returns_the_previous_state(store: Store) -> None:
    sub = await _add(store, on_change=True)
    assert await store.set_last_health(sub.id, "ok: 0 failing") is None
    assert await store.set_last_health(sub.id, "warn: 2 failing") == "ok: 0 failing"
    assert await store.set_last_health(sub.id, "warn: 2 failing") == "warn: 2 failing"
    stored = await store.get_subscription(sub.id)
    assert stored is not None and stored.last_health == "warn: 2 failing"


async def test_removing_a_subscription_forgets_its_runs(store: Store) -> None:
    fire = datetime(2025, 1, 1, tzinfo=UTC)
    sub = await _add(store)
    assert await store.claim_runs([sub.id], fire, replica="a") == {sub.id}
    await store.remove_subscription(sub.id)
    assert await store.claim_runs([sub.id], fire, replica="a") == {sub.id}


CONFIG = {
    "channel": "C-HEALTH",
    "space": "default",
    "schedule": "daily 09:00",
    "cron": "0 9 * * *",
    "timezone": "UTC",
}


async def test_config_subscription_is_created_once(store: Store) -> None:
    created = await store.upsert_config_subscription(**CONFIG)
    assert created.from_config and created.config_key == "health" and created.created_by == "config"
    version = await store.subscriptions_version()

    again = await store.upsert_config_subscription(**CONFIG)
    assert again == created
    assert await store.subscriptions_version() == version
    assert await store.list_subscriptions() == [created]


async def test_config_subscription_follows_the_settings(store: Store) -> None:
    created = await store.upsert_config_subscription(**CONFIG)
    version = await store.subscriptions_version()

    moved = await store.upsert_config_subscription(**(CONFIG | {"channel": "C-NEW", "cron": "0 8 * * *"}))
    assert moved.id == created.id
    assert (moved.channel, moved.cron, moved.schedule) == ("C-NEW", "0 8 * * *", "daily 09:00")
    assert await store.subscriptions_version() != version
    assert len(await store.list_subscriptions()) == 1


async def test_config_and_slack_subscriptions_live_side_by_side(store: Store) -> None:
    mine = await _add(store, channel="C-HEALTH")
    config = await store.upsert_config_subscription(**CONFIG)
    assert {s.id for s in await store.list_subscriptions(channel="C-HEALTH")} == {mine.id, config.id}
    assert await store.remove_config_subscription() is True
    assert await store.remove_config_subscription() is False
    assert await store.list_subscriptions() == [mine]


async def test_replicas_starting_together_create_one_config_subscription(replicas: list[Store]) -> None:
    results = await asyncio.gather(*(r.upsert_config_subscription(**CONFIG) for r in replicas))
    assert len({s.id for s in results}) == 1
    assert len(await replicas[0].list_subscriptions()) == 1


async def test_subscriptions_survive_a_restart(open_store: OpenStore) -> None:
    store = await open_store()
    sub = await _add(store, on_change=True)
    config = await store.upsert_config_subscription(**CONFIG)
    await store.set_last_health(sub.id, "ok")
    version = await store.subscriptions_version()
    await store.close()

    reopened = await open_store()
    listed = await reopened.list_subscriptions()
    assert [s.id for s in listed] == [sub.id, config.id]
    assert listed[0].last_health == "ok" and listed[0].on_change
    assert listed[0].created_at == sub.created_at
    assert await reopened.subscriptions_version() == version
    assert (await _add(reopened)).id not in {sub.id, config.id}
