"""A channel Slack refuses for good: the group goes to ALERT_CHANNEL or closes unshown, and the store
lists the channels refused lately (for `python -m bot check`). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Delivered, Store

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def alert(n: int, *, rule: str = "r-1") -> Delivered:
    return Delivered(
        space="ops",
        rule_id=rule,
        alert_id=f"host-{n}",
        alert_uuid=f"u-{rule}-{n}",
        rule_name="CPU high",
        tags=("prod",),
        action_group="threshold met",
        reason="CPU 97%\ufffd",
        date=T0 + timedelta(minutes=n),
        recovered=False,
    )


async def test_refused_with_somewhere_else_to_go_the_group_is_due_again_as_a_new_message(store: Store) -> None:
    first = await store.record_alert(alert(1), channel="#gone")
    assert await store.lease_alert_group(first.group_id, owner="a")
    await store.alert_group_posted(first.group_id, channel="C0GONE", ts="1.1")  # posted, then archived
    await store.refuse_alert_group(first.group_id, owner="b", error="is_archived", elsewhere=True)  # not its lease
    untouched = await store.alert_group(first.group_id)
    assert untouched is not None and untouched.refused is None
    await store.refuse_alert_group(first.group_id, owner="a", error="is_archived", elsewhere=True)
    group = await store.alert_group(first.group_id)
    assert group is not None
    assert (group.refused, group.failure, group.ts, group.message_channel, group.closed_at) == (
        "is_archived",
        None,
        None,
        None,
        None,
    )
    assert group.refused_at is not None and group.pending
    assert await store.due_alert_groups() == [first.group_id]
    again = await store.record_alert(alert(2), channel="#gone")  # the rule's next alert joins it
    assert again.group_id == first.group_id


async def test_refused_with_nowhere_to_go_the_group_closes_unshown_and_the_next_alert_tries_again(
    store: Store,
) -> None:
    first = await store.record_alert(alert(1), channel="#gone")
    assert await store.lease_alert_group(first.group_id, owner="a")
    await store.refuse_alert_group(first.group_id, owner="a", error="channel_not_found", elsewhere=False)
    group = await store.alert_group(first.group_id)
    assert group is not None
    assert (group.refused, group.failure, group.ts, group.pending) == (
        "channel_not_found",
        "channel_not_found",
        None,
        False,
    )
    assert group.closed_at is not None
    assert await store.due_alert_groups() == []  # not retried
    duplicate = await store.record_alert(alert(1), channel="#gone")
    assert (duplicate.outcome, duplicate.group_id) == ("duplicate", first.group_id)
    fresh = await store.record_alert(alert(2), channel="#gone")
    assert fresh.group_id != first.group_id and fresh.first


async def test_the_channels_refused_lately_are_listed_with_how_many_rules_and_whether_shown(store: Store) -> None:
    groups = [
        (await store.record_alert(alert(1, rule=rule), channel=channel)).group_id
        for rule, channel in (("r-1", "#gone"), ("r-2", "#gone"), ("r-3", "C0ARCH"), ("r-4", "C0OK"))
    ]
    for group_id, error, elsewhere in (
        (groups[0], "channel_not_found", True),
        (groups[1], "channel_not_found", False),
        (groups[2], "is_archived", True),
    ):
        assert await store.lease_alert_group(group_id, owner="a")
        await store.refuse_alert_group(group_id, owner="a", error=error, elsewhere=elsewhere)
    since = datetime.now(UTC) - timedelta(hours=1)
    refused = await store.refused_alert_channels(since)
    assert [(r.channel, r.reason, r.rules, r.groups, r.unshown) for r in sorted(refused, key=lambda r: r.channel)] == [
        ("#gone", "channel_not_found", 2, 2, 1),
        ("C0ARCH", "is_archived", 1, 1, 0),
    ]
    assert all(since <= r.last_at <= datetime.now(UTC) for r in refused)
    assert await store.refused_alert_channels(datetime.now(UTC) + timedelta(minutes=1)) == []
