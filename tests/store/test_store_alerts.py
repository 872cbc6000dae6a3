"""Alert message locations: one Slack post per alert, one recovery reply."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta

from bot.store import Store

from .conftest import Clock

ALERT = {"space": "ops", "rule_id": "r-1", "alert_id": "host-a"}


async def test_first_claim_posts_and_later_deliveries_do_not(store: Store) -> None:
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1") is True
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1") is False


async def test_message_location_is_recorded_and_found(store: Store) -> None:
    assert await store.get_alert_message(**ALERT) is None
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")

    pending = await store.get_alert_message(**ALERT, alert_uuid="u1")
    assert pending is not None and pending.ts is None and pending.posted_at is None

    await store.set_alert_message_ts(**ALERT, alert_uuid="u1", channel="C1", ts="1700000000.000100")
    message = await store.get_alert_message(**ALERT, alert_uuid="u1")
    assert message is not None
    assert (message.channel, message.ts, message.alert_uuid) == ("C1", "1700000000.000100", "u1")
    assert message.claimed_at.tzinfo is UTC and message.posted_at is not None
    assert message.recovered_at is None


async def test_without_uuid_the_newest_message_of_the_alert_is_found(store: Store, clock: Clock) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="old", channel="C1")
    await store.set_alert_message_ts(**ALERT, alert_uuid="old", channel="C1", ts="1.1")
    clock.advance(timedelta(hours=1))
    await store.claim_alert_message(**ALERT, alert_uuid="new", channel="C2")
    await store.set_alert_message_ts(**ALERT, alert_uuid="new", channel="C2", ts="2.2")

    newest = await store.get_alert_message(**ALERT)
    assert newest is not None and (newest.alert_uuid, newest.ts) == ("new", "2.2")
    older = await store.get_alert_message(**ALERT, alert_uuid="old")
    assert older is not None and older.ts == "1.1"
    assert await store.get_alert_message(space="other", rule_id="r-1", alert_id="host-a") is None


async def test_a_new_uuid_of_the_same_alert_gets_its_own_message(store: Store) -> None:
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    assert await store.claim_alert_message(**ALERT, alert_uuid="u2", channel="C1")


async def test_recovered_is_marked_only_once(store: Store) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    await store.set_alert_message_ts(**ALERT, alert_uuid="u1", channel="C1", ts="1.1")

    assert await store.mark_alert_recovered(**ALERT, alert_uuid="u1") is True
    assert await store.mark_alert_recovered(**ALERT, alert_uuid="u1") is False
    assert await store.mark_alert_recovered(**ALERT) is False
    message = await store.get_alert_message(**ALERT)
    assert message is not None and message.recovered_at is not None


async def test_recovered_without_uuid_marks_the_newest(store: Store, clock: Clock) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="old", channel="C1")
    clock.advance(timedelta(minutes=1))
    await store.claim_alert_message(**ALERT, alert_uuid="new", channel="C1")

    assert await store.mark_alert_recovered(**ALERT) is True
    new = await store.get_alert_message(**ALERT, alert_uuid="new")
    old = await store.get_alert_message(**ALERT, alert_uuid="old")
    assert new is not None and new.recovered_at is not None
    assert old is not None and old.recovered_at is None


async def test_recovered_of_an_unknown_alert_is_false(store: Store) -> None:
    assert await store.mark_alert_recovered(**ALERT, alert_uuid="nope") is False


async def test_released_claim_lets_the_next_delivery_post(store: Store) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    assert await store.release_alert_message(**ALERT, alert_uuid="u1") is True
    assert await store.get_alert_message(**ALERT) is None
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1") is True


async def test_a_posted_message_is_never_released(store: Store) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    await store.set_alert_message_ts(**ALERT, alert_uuid="u1", channel="C1", ts="1.1")
    assert await store.release_alert_message(**ALERT, alert_uuid="u1") is False
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1") is False


async def test_a_stale_claim_without_a_post_is_taken_over_once(store: Store, clock: Clock) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    clock.advance(timedelta(minutes=4))
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C2") is False
    clock.advance(timedelta(minutes=1))
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C2") is True
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C2") is False
    message = await store.get_alert_message(**ALERT)
    assert message is not None and message.channel == "C2"


async def test_a_posted_message_is_never_taken_over(store: Store, clock: Clock) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    await store.set_alert_message_ts(**ALERT, alert_uuid="u1", channel="C1", ts="1.1")
    clock.advance(timedelta(days=1))
    assert await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1") is False


async def test_twenty_replicas_claim_one_alert_and_exactly_one_posts(replicas: list[Store]) -> None:
    results = await asyncio.gather(*(r.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1") for r in replicas))
    assert results.count(True) == 1


async def test_twenty_replicas_mark_one_recovery_exactly_once(replicas: list[Store]) -> None:
    await replicas[0].claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    results = await asyncio.gather(*(r.mark_alert_recovered(**ALERT, alert_uuid="u1") for r in replicas))
    assert results.count(True) == 1


# ---- what an alert message shows, and its status lines ---------------------------------


async def test_alert_content_is_saved_found_and_replaced(store: Store) -> None:
    assert await store.get_alert_content(channel="C1", ts="1.1") is None
    await store.save_alert_content(channel="C1", ts="1.1", content='{"v": 1}')
    saved = await store.get_alert_content(channel="C1", ts="1.1")
    assert saved is not None
    assert (saved.content, saved.status_lines) == ('{"v": 1}', ())
    assert saved.updated_at.tzinfo is UTC

    await store.add_alert_status_lines(channel="C1", ts="1.1", lines=["a"])
    await store.save_alert_content(channel="C1", ts="1.1", content='{"v": 2}')
    replaced = await store.get_alert_content(channel="C1", ts="1.1")
    assert replaced is not None and replaced.content == '{"v": 2}'
    assert replaced.status_lines == ("a",)  # replacing the content keeps the status lines
    assert await store.get_alert_content(channel="C1", ts="2.2") is None
    assert await store.get_alert_content(channel="C2", ts="1.1") is None


async def test_status_lines_are_appended_and_bounded(store: Store) -> None:
    assert await store.add_alert_status_lines(channel="C1", ts="1.1", lines=["x"]) is None
    await store.save_alert_content(channel="C1", ts="1.1", content="{}")
    first = await store.add_alert_status_lines(channel="C1", ts="1.1", lines=["one"])
    assert first is not None and first.status_lines == ("one",)
    for n in range(2, 8):
        await store.add_alert_status_lines(channel="C1", ts="1.1", lines=[f"line {n}"], keep=5)
    found = await store.get_alert_content(channel="C1", ts="1.1")
    assert found is not None
    assert found.status_lines == ("line 3", "line 4", "line 5", "line 6", "line 7")


async def test_twenty_replicas_add_status_lines_and_none_is_lost(replicas: list[Store]) -> None:
    await replicas[0].save_alert_content(channel="C1", ts="1.1", content="{}")
    await asyncio.gather(
        *(r.add_alert_status_lines(channel="C1", ts="1.1", lines=[f"by {n}"], keep=50) for n, r in enumerate(replicas))
    )
    found = await replicas[0].get_alert_content(channel="C1", ts="1.1")
    assert found is not None and sorted(found.status_lines) == sorted(f"by {n}" for n in range(20))


async def test_a_cleared_recovery_can_be_marked_again(store: Store) -> None:
    await store.claim_alert_message(**ALERT, alert_uuid="u1", channel="C1")
    assert await store.clear_alert_recovered(**ALERT, alert_uuid="u1") is False
    assert await store.mark_alert_recovered(**ALERT, alert_uuid="u1") is True
    assert await store.clear_alert_recovered(**ALERT, alert_uuid="u1") is True
    message = await store.get_alert_message(**ALERT, alert_uuid="u1")
    assert message is not None and message.recovered_at is None
    assert await store.mark_alert_recovered(**ALERT, alert_uuid="u1") is True
    assert await store.mark_alert_recovered(**ALERT, alert_uuid="u1") is False
