"""Alert groups: every delivery counted once in its rule's episode, and who publishes it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, bindparam, text

from bot.store import Delivered, Store
from bot.store.database import make_engine

T0 = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def alert(n: int, *, rule: str = "r-1", recovered: bool = False, reason: str = "CPU 97%") -> Delivered:
    return Delivered(
        space="ops",
        rule_id=rule,
        alert_id=f"host-{n}",
        alert_uuid=f"u-{rule}-{n}",
        rule_name="CPU high",
        tags=("prod",),
        action_group="recovered" if recovered else "threshold met",
        reason=reason,
        date=T0 + timedelta(minutes=n),
        recovered=recovered,
    )


async def test_the_first_alert_opens_a_group_and_more_join_it(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    assert (first.outcome, first.version, first.first) == ("new", 1, True)
    second = await store.record_alert(alert(2), channel="C1")
    assert (second.outcome, second.group_id, second.version, second.first) == ("new", first.group_id, 2, False)
    other_rule = await store.record_alert(alert(1, rule="r-2"), channel="C1")
    other_channel = await store.record_alert(alert(3), channel="C2")
    assert len({first.group_id, other_rule.group_id, other_channel.group_id}) == 3
    snapshot = await store.alert_group_snapshot(first.group_id)
    assert snapshot is not None
    assert (snapshot.firing, snapshot.recovered, snapshot.total) == (2, 0, 2)
    assert [a.alert_id for a in snapshot.newest] == ["host-2", "host-1"]
    assert [a.alert_id for a in snapshot.joined] == ["host-1", "host-2"]
    assert snapshot.group.rule_name == "CPU high" and snapshot.group.tags == ("prod",)


async def test_the_same_delivery_again_is_a_duplicate_and_counts_once(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    again = await store.record_alert(alert(1), channel="C1")
    elsewhere = await store.record_alert(alert(1), channel="C9")  # the key has no channel: same alert
    assert again.outcome == elsewhere.outcome == "duplicate"
    assert again.group_id == elsewhere.group_id == first.group_id and again.version == 1
    snapshot = await store.alert_group_snapshot(first.group_id)
    assert snapshot is not None and (snapshot.firing, snapshot.recovered) == (1, 0)


async def test_a_subscribed_channel_gets_its_own_copy_but_not_where_the_webhook_posted(store: Store) -> None:
    webhook = await store.record_alert(alert(1), channel="#alerts")
    await store.alert_group_posted(webhook.group_id, channel="C0ALERTS", ts="1.1")  # Slack named the id
    same_channel = await store.record_alert(alert(1), channel="C0ALERTS", fan_out=True)
    assert (same_channel.outcome, same_channel.group_id) == ("duplicate", webhook.group_id)
    other = await store.record_alert(alert(1), channel="C0DB", fan_out=True)
    assert other.outcome == "new" and other.group_id != webhook.group_id and other.first
    again = await store.record_alert(alert(1), channel="C0DB", fan_out=True)
    assert (again.outcome, again.group_id) == ("duplicate", other.group_id)
    recovered = await store.record_alert(alert(1, recovered=True), channel="C0DB", fan_out=True)
    assert (recovered.outcome, recovered.group_id) == ("recovered", other.group_id)
    shown = [await store.alert_group_snapshot(g) for g in (webhook.group_id, other.group_id)]
    # one alert row per channel showing it
    assert [(s.firing, s.recovered) for s in shown if s is not None] == [(1, 0), (0, 1)]


async def test_a_new_reason_is_a_change_and_a_recovery_counts_as_recovered(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    changed = await store.record_alert(alert(1, reason="CPU 99%"), channel="C1")
    assert (changed.outcome, changed.version) == ("changed", 2)
    recovered = await store.record_alert(replace(alert(1, recovered=True), reason="back to 40%"), channel="C1")
    assert (recovered.outcome, recovered.version, recovered.recovered) == ("recovered", 3, True)
    late = await store.record_alert(alert(1, reason="late retry"), channel="C1")
    assert (late.outcome, late.version) == ("duplicate", 3)
    snapshot = await store.alert_group_snapshot(first.group_id)
    assert snapshot is not None and (snapshot.firing, snapshot.recovered) == (0, 1)
    [gone] = snapshot.left
    assert gone.recovery_reason == "back to 40%" and gone.reason == "CPU 99%"


async def test_a_recovery_never_seen_opens_a_group_of_one_recovered_alert(store: Store) -> None:
    recorded = await store.record_alert(alert(1, recovered=True), channel="C1")
    assert (recorded.outcome, recorded.first, recorded.recovered) == ("recovered_new", True, True)
    snapshot = await store.alert_group_snapshot(recorded.group_id)
    assert snapshot is not None and (snapshot.firing, snapshot.recovered) == (0, 1)


async def test_publishing_shows_a_version_and_a_closed_episode_makes_way_for_a_new_one(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    assert await store.due_alert_groups() == [first.group_id]
    assert await store.lease_alert_group(first.group_id, owner="a")
    assert not await store.lease_alert_group(first.group_id, owner="b")  # one publisher at a time
    assert await store.due_alert_groups() == []  # leased
    await store.alert_group_posted(first.group_id, channel="C1ID", ts="1.1")
    soon = datetime.now(UTC) + timedelta(seconds=60)
    assert not await store.alert_group_shown(
        first.group_id, owner="a", version=1, logged_version=1, next_due=soon, close=False
    )
    group = await store.alert_group_at(channel="C1ID", ts="1.1")
    assert group is not None and group.id == first.group_id and not group.pending

    await store.record_alert(alert(1, recovered=True), channel="C1", debounce=timedelta(seconds=30))
    assert await store.due_alert_groups() == []  # the debounce: not yet…
    closing = await store.alert_group(first.group_id)
    assert closing is not None and closing.shown_at is not None
    assert closing.due_at == closing.shown_at + timedelta(seconds=30)  # …but no more than 30 s after the last update
    assert await store.lease_alert_group(first.group_id, owner="a")
    assert await store.alert_group_shown(
        first.group_id, owner="a", version=2, logged_version=2, next_due=datetime.now(UTC), close=True
    )
    reopened = await store.record_alert(alert(2), channel="C1")
    assert reopened.group_id != first.group_id and reopened.first


async def test_a_change_during_publishing_keeps_the_episode_open(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    await store.record_alert(alert(1, recovered=True), channel="C1")
    assert await store.lease_alert_group(first.group_id, owner="a")
    await store.change_alert_group(first.group_id, rule_enabled=False)  # a button, while version 2 is shown
    now = datetime.now(UTC)
    assert not await store.alert_group_shown(
        first.group_id, owner="a", version=2, logged_version=2, next_due=now, close=True
    )
    group = await store.alert_group(first.group_id)
    assert group is not None and group.closed_at is None and group.pending and group.version == 3


async def test_a_new_alert_after_every_alert_recovered_opens_the_next_episode(store: Store) -> None:
    """The old episode's last update waits for the debounce; a new alert meanwhile does not join it
    (and inherit what its buttons changed): the old group closes, still to be shown, and a new one opens."""
    first = await store.record_alert(alert(1), channel="C1")
    await store.change_alert_group(first.group_id, rule_muted_all=True)  # Mute all, in the first episode
    await store.record_alert(alert(1, recovered=True), channel="C1", debounce=timedelta(seconds=30))
    assert await store.lease_alert_group(first.group_id, owner="a")  # being shown, even
    second = await store.record_alert(alert(2), channel="C1")
    assert (second.outcome, second.first) == ("new", True) and second.group_id != first.group_id
    old, new = await store.alert_group(first.group_id), await store.alert_group(second.group_id)
    assert old is not None and new is not None
    assert old.closed_at is not None and old.pending and old.rule_muted_all  # its last state is still shown
    assert new.closed_at is None and not new.rule_muted_all and new.rule_enabled
    assert not await store.alert_group_shown(
        first.group_id, owner="a", version=old.version, logged_version=old.version, next_due=T0, close=True
    )  # closed already: the publisher's close changes nothing
    third = await store.record_alert(alert(3), channel="C1")  # the new episode fires: alerts join it
    assert (third.group_id, third.first) == (second.group_id, False)


async def test_a_failure_is_kept_until_a_delivery_asks_again(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    assert await store.lease_alert_group(first.group_id, owner="a")
    later = datetime.now(UTC) + timedelta(minutes=5)
    await store.postpone_alert_group(first.group_id, owner="a", retry_at=later, failure="channel_not_found")
    group = await store.alert_group(first.group_id)
    assert group is not None and (group.failure, group.failures) == ("channel_not_found", 1)
    assert await store.due_alert_groups() == []  # backing off
    assert await store.retry_alert_group(first.group_id) is True
    assert await store.retry_alert_group(first.group_id) is False  # no failure left to retry
    assert await store.due_alert_groups() == [first.group_id]


async def test_a_rate_limit_wait_is_not_a_failure(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    assert await store.lease_alert_group(first.group_id, owner="a")
    await store.postpone_alert_group(first.group_id, owner="a", retry_at=datetime.now(UTC))
    group = await store.alert_group(first.group_id)
    assert group is not None and (group.failure, group.failures, group.pending) == (None, 0, True)


async def test_a_button_change_is_stored_and_makes_the_group_pending(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    await store.record_alert(alert(2), channel="C1")
    await store.change_alert_group(first.group_id, rule_muted_all=True, muted_alert=("host-1", True))
    snapshot = await store.alert_group_snapshot(first.group_id)
    assert snapshot is not None and snapshot.group.rule_muted_all and snapshot.group.version == 3
    assert {a.alert_id: a.muted for a in snapshot.newest} == {"host-1": True, "host-2": False}


async def test_twenty_replicas_record_one_storm_and_each_alert_counts_once(replicas: list[Store]) -> None:
    storm = [alert(n) for n in range(30)]
    recorded = await asyncio.gather(*(r.record_alert(a, channel="C1") for a in storm for r in replicas[:5]))
    assert sorted(r.outcome for r in recorded).count("new") == 30
    assert len({r.group_id for r in recorded}) == 1  # one group, whichever replica opened it
    snapshot = await replicas[0].alert_group_snapshot(recorded[0].group_id)
    assert snapshot is not None and snapshot.group.version == 30
    assert (snapshot.firing, snapshot.recovered) == (30, 0)


async def test_twenty_replicas_lease_one_group_and_exactly_one_wins(replicas: list[Store]) -> None:
    first = await replicas[0].record_alert(alert(1), channel="C1")
    won = await asyncio.gather(*(r.lease_alert_group(first.group_id, owner=f"r{n}") for n, r in enumerate(replicas)))
    assert won.count(True) == 1


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


async def closed_episode(store: Store, rule: str, ts: str) -> int:
    """An episode of one alert of `rule`, posted at (C1ID, ts), recovered and closed."""
    group = (await store.record_alert(alert(1, rule=rule), channel="C1")).group_id
    assert await store.lease_alert_group(group, owner="a")
    await store.alert_group_posted(group, channel="C1ID", ts=ts)
    await store.save_alert_content(channel="C1ID", ts=ts, content=f'{{"group": {group}}}')
    await store.alert_group_shown(group, owner="a", version=1, logged_version=1, next_due=T0, close=False)
    await store.record_alert(alert(1, rule=rule, recovered=True), channel="C1")
    assert await store.lease_alert_group(group, owner="a")
    assert await store.alert_group_shown(group, owner="a", version=2, logged_version=2, next_due=T0, close=True)
    return group


async def test_closed_episodes_are_pruned_in_batches_with_their_keys_and_content(store: Store) -> None:
    closed = [await closed_episode(store, f"r-{n}", f"1.{n}") for n in range(5)]
    changed = await closed_episode(store, "r-changed", "2.1")
    await store.change_alert_group(changed, rule_muted_all=True)  # a button's change Slack does not show yet
    still_open = (await store.record_alert(alert(1, rule="r-open"), channel="C1")).group_id

    assert await store.prune_alert_history(datetime.now(UTC) - timedelta(minutes=1)) == 0  # closed after that
    assert await store.prune_alert_history(datetime.now(UTC) + timedelta(minutes=1), batch=2) == 5
    for n, group in enumerate(closed):
        assert await store.alert_group(group) is None
        assert await store.get_alert_content(channel="C1ID", ts=f"1.{n}") is None
    assert await store.alert_group(changed) is not None
    assert await store.get_alert_content(channel="C1ID", ts="2.1") is not None
    assert await store.alert_group(still_open) is not None
    # the alert's keys went with it: the same alert again, much later, is a new episode's first alert
    again = await store.record_alert(alert(1, rule="r-0"), channel="C1")
    assert again.outcome == "new" and again.first and again.group_id not in closed


async def test_alerts_from_before_grouping_are_pruned_once_recovered(store_url: str, store: Store) -> None:
    """Rows the release before grouping wrote (no group): history once their alert recovered."""
    long_ago = T0 - timedelta(days=40)
    insert = text(
        "INSERT INTO alert_messages (space, rule_id, alert_id, alert_uuid, channel, ts, claimed_at, posted_at,"
        " recovered_at, muted)"
        " VALUES ('ops', 'r-old', :alert_id, :alert_uuid, 'C1ID', :ts, :at, :at, :recovered, false)"
    ).bindparams(bindparam("at", type_=DateTime(timezone=True)), bindparam("recovered", type_=DateTime(timezone=True)))
    engine = make_engine(store_url)
    try:
        async with engine.begin() as conn:
            for n, recovered in enumerate((long_ago, long_ago, None)):
                row = {"alert_id": f"host-{n}", "alert_uuid": f"u-old-{n}", "ts": f"9.{n}"}
                await conn.execute(insert, row | {"at": long_ago, "recovered": recovered})
    finally:
        await engine.dispose()
    for n in range(3):
        await store.save_alert_content(channel="C1ID", ts=f"9.{n}", content="{}")
    group = await closed_episode(store, "r-new", "1.0")

    assert await store.prune_alert_history(T0 - timedelta(days=50)) == 0  # they recovered after that
    assert await store.prune_alert_history(T0, batch=1) == 2  # the two recovered ones, one batch each
    assert await store.get_alert_content(channel="C1ID", ts="9.0") is None
    assert await store.get_alert_content(channel="C1ID", ts="9.1") is None
    assert await store.get_alert_content(channel="C1ID", ts="9.2") is not None  # still firing: its message stays
    assert await store.alert_group(group) is not None  # closed just now, after T0
    # the firing one is still known: its recovery is that alert's, not a new one
    recovery = replace(alert(2, rule="r-old"), alert_id="host-2", alert_uuid="u-old-2", recovered=True)
    assert (await store.record_alert(recovery, channel="C1")).outcome == "recovered"


async def test_a_publisher_keeps_its_leases_by_renewing_them_and_a_dead_ones_run_out(store: Store) -> None:
    """A replica renews the leases of the groups it works on (however long Slack makes it wait); one that
    died stops renewing, and its groups are another replica's once the lease runs out."""
    first = await store.record_alert(alert(1), channel="C1")
    second = await store.record_alert(alert(1, rule="r-2"), channel="C1")
    assert await store.lease_alert_group(first.group_id, owner="alive", lease=timedelta(seconds=-1))
    assert await store.lease_alert_group(second.group_id, owner="dead", lease=timedelta(seconds=-1))
    assert await store.renew_alert_group_leases([first.group_id, second.group_id], owner="alive") == 1
    assert await store.renew_alert_group_leases([], owner="alive") == 0
    assert not await store.lease_alert_group(first.group_id, owner="other")  # renewed: still the live one's
    assert await store.due_alert_groups() == [second.group_id]  # the dead one's lease ran out
    assert await store.lease_alert_group(second.group_id, owner="other")
    assert await store.renew_alert_group_leases([second.group_id], owner="dead") == 0  # too late: taken over


async def test_a_storm_of_writers_waiting_on_postgresql_leaves_connections_for_reads(
    store: Store, store_url: str
) -> None:
    """Writers queue in the process (at most POSTGRESQL_WRITERS at once), so that a storm of deliveries held
    up in the database (here: by another replica's lock on their group) cannot take every connection of the
    pool, and a read (the publisher, a delivery waiting for Slack) still gets one at once."""
    if store.dialect != "postgresql":
        return  # SQLite: one writer at a time already (test_bench_load_fixes)
    first = await store.record_alert(alert(0), channel="C1")
    other = make_engine(store_url)  # another replica, holding the group's row
    try:
        async with other.connect() as conn, conn.begin():
            await conn.execute(text("SELECT id FROM alert_groups WHERE id = :id FOR UPDATE"), {"id": first.group_id})
            storm = [asyncio.create_task(store.record_alert(alert(n), channel="C1")) for n in range(1, 31)]
            await asyncio.sleep(0.5)  # every writer that got a connection is now waiting on the lock
            group = await asyncio.wait_for(store.alert_group(first.group_id), timeout=20)  # not the pool's 30 s
            assert group is not None and group.version == 1
            assert not any(task.done() for task in storm)  # …while the storm still waits
        recorded = await asyncio.gather(*storm)
    finally:
        await other.dispose()
    assert {r.group_id for r in recorded} == {first.group_id}
    assert (await store.alert_group(first.group_id)).version == 31  # type: ignore[union-attr]


async def test_the_alerts_of_a_group_firing_and_recovered_oldest_first_bounded(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="C1")
    for n in (2, 3):
        await store.record_alert(alert(n), channel="C1")
    await store.record_alert(alert(2, recovered=True), channel="C1")
    await store.record_alert(alert(1, rule="r-2"), channel="C1")  # another rule: another group
    every = await store.alerts_of_group(first.group_id, limit=1000)
    assert [(a.alert_id, a.alert_uuid, a.rule_id, a.space) for a in every] == [
        ("host-1", "u-r-1-1", "r-1", "ops"),
        ("host-2", "u-r-1-2", "r-1", "ops"),
        ("host-3", "u-r-1-3", "r-1", "ops"),
    ]
    assert [a.alert_id for a in await store.alerts_of_group(first.group_id, limit=2)] == ["host-1", "host-2"]
    assert await store.alerts_of_group(first.group_id + 1000, limit=10) == []
