"""Alert subscriptions, the per-space polling cursor, and the "already told" Elasticsearch problem."""

from __future__ import annotations

import asyncio

from bot.store import Store


async def test_subscriptions_are_unique_per_channel_and_filter(store: Store) -> None:
    first, created = await store.add_alert_subscription(
        channel="C1", space="ops", kind="tag", value="prod", created_by="U1"
    )
    again, created_again = await store.add_alert_subscription(
        channel="C1", space="ops", kind="tag", value="prod", created_by="U2"
    )
    assert created and not created_again and again.id == first.id
    other, _ = await store.add_alert_subscription(channel="C2", space="ops", kind="all", value="", created_by="U1")
    assert [s.id for s in await store.list_alert_subscriptions(space="ops")] == [first.id, other.id]
    assert [s.id for s in await store.list_alert_subscriptions(channel="C2")] == [other.id]
    assert not await store.remove_alert_subscription(first.id, channel="C2")  # not that channel's
    assert await store.remove_alert_subscription(first.id, channel="C1")
    assert await store.get_alert_subscription(first.id) is None


async def test_the_cursor_only_moves_forward_and_a_space_without_subscriptions_forgets_it(store: Store) -> None:
    subscription, _ = await store.add_alert_subscription(
        channel="C1", space="ops", kind="all", value="", created_by="U1"
    )
    state = await store.start_alert_cursor("ops", cursor_ms=1000, cursor_uuid="")
    assert (state.cursor_ms, state.cursor_uuid) == (1000, "")
    assert (await store.start_alert_cursor("ops", cursor_ms=5, cursor_uuid="")).cursor_ms == 1000  # kept
    assert await store.advance_alert_cursor("ops", cursor_ms=2000, cursor_uuid="b")
    assert not await store.advance_alert_cursor("ops", cursor_ms=2000, cursor_uuid="a")  # behind
    assert not await store.advance_alert_cursor("ops", cursor_ms=1500, cursor_uuid="z")
    assert await store.advance_alert_cursor("ops", cursor_ms=2000, cursor_uuid="c")
    found = await store.alert_poll_state("ops")
    assert found is not None and (found.cursor_ms, found.cursor_uuid) == (2000, "c")
    await store.remove_alert_subscription(subscription.id)
    assert await store.alert_poll_state("ops") is None


async def test_the_cursors_of_many_spaces_move_forward_in_one_go(store: Store) -> None:
    for space in ("a", "b", "c"):
        await store.start_alert_cursor(space, cursor_ms=1000, cursor_uuid="m")
    await store.advance_alert_cursors({"a": (2000, ""), "b": (1000, "a"), "c": (1000, "z"), "unknown": (5, "")})
    states = {s.space: (s.cursor_ms, s.cursor_uuid) for s in await store.alert_poll_states()}
    assert states == {"a": (2000, ""), "b": (1000, "m"), "c": (1000, "z")}  # b was behind: kept; none created
    await store.advance_alert_cursors({"a": (1500, "")})  # never backwards
    await store.advance_alert_cursors({})
    assert {s.space: s.cursor_ms for s in await store.alert_poll_states()}["a"] == 2000


async def test_a_problem_is_told_once_across_callers_and_cleared_once(store: Store) -> None:
    told = await asyncio.gather(*(store.set_alert_problem("ops", "forbidden", "no read") for _ in range(4)))
    assert sorted(told) == [False, False, False, True]
    assert not await store.set_alert_problem("ops", "forbidden", "no read")
    assert await store.set_alert_problem("ops", "unreachable", "down")  # a different problem is news
    state = await store.alert_poll_state("ops")
    assert state is not None and (state.problem, state.problem_text) == ("unreachable", "down")
    cleared = await asyncio.gather(*(store.clear_alert_problem("ops") for _ in range(3)))
    assert [c.problem for c in cleared if c is not None] == ["unreachable"]


async def test_the_configured_subscription_is_one_row_updated_with_the_settings(store: Store) -> None:
    mine, _ = await store.add_alert_subscription(channel="C1", space="ops", kind="tag", value="prod", created_by="U1")
    configured = await store.upsert_config_alert_subscription(channel="C1", space="ops", kind="tag", value="prod")
    assert configured.from_config and await store.get_alert_subscription(mine.id) is None  # gave way
    await store.start_alert_cursor("ops", cursor_ms=1, cursor_uuid="")
    moved = await store.upsert_config_alert_subscription(channel="C1", space="default", kind="all", value="")
    assert moved.id == configured.id and (moved.space, moved.kind) == ("default", "all")
    assert await store.alert_poll_state("ops") is None  # ops has no subscription left
    assert await store.remove_config_alert_subscription()
    assert await store.list_alert_subscriptions() == []
