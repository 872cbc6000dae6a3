"""Claims of alert episodes ("I'm on it") on both backends: twenty replicas claiming at once make one claim,
a take-over needs the holder the person saw, a release only by the holder, and the reminder's query
leaves out claimed, reminded, recovered and unposted episodes."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from bot.store import Delivered, Store
from bot.store.alert_claims import REMINDER_KEYS

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def delivered(rule: str = "r1", *, recovered: bool = False) -> Delivered:
    return Delivered(
        space="default",
        rule_id=rule,
        alert_id="host-1",
        alert_uuid=f"u-{rule}",
        rule_name="CPU high",
        tags=(),
        action_group="recovered" if recovered else "threshold met",
        reason="",
        date=T0,
        recovered=recovered,
    )


async def posted_group(store: Store, rule: str = "r1") -> int:
    recorded = await store.record_alert(delivered(rule), channel="C0ALERTS")
    await store.alert_group_posted(recorded.group_id, channel="C0ALERTS", ts=f"1.{rule[-1]}")
    return recorded.group_id


async def test_twenty_replicas_claiming_at_once_make_one_claim(store: Store, replicas: list[Store]) -> None:
    group = await posted_group(store)
    users = [f"U0USER{n:03d}" for n in range(20)]
    results = await asyncio.gather(
        *(r.claim_alert_group(group, user, shown_holder=None) for r, user in zip(replicas, users, strict=True))
    )
    winners = [r for r in results if r.outcome == "claimed"]
    assert len(winners) == 1
    holder = winners[0].claim
    assert holder is not None
    assert all(r.outcome == "held" and r.claim == holder for r in results if r is not winners[0])
    assert await store.alert_group_claim(group) == holder


async def test_a_take_over_needs_the_holder_the_person_saw(store: Store, replicas: list[Store]) -> None:
    group = await posted_group(store)
    await store.claim_alert_group(group, "U0ALICE", shown_holder=None)
    # Twenty people saw Alice on it and take it over at once: one of them has it, from Alice.
    results = await asyncio.gather(
        *(r.claim_alert_group(group, f"U0USER{n:03d}", shown_holder="U0ALICE") for n, r in enumerate(replicas))
    )
    taken = [r for r in results if r.outcome == "taken_over"]
    assert len(taken) == 1 and taken[0].claim is not None and taken[0].claim.taken_from == "U0ALICE"
    assert sum(r.outcome == "held" for r in results) == 19
    now = await store.alert_group_claim(group)
    assert now is not None and now.user_id == taken[0].claim.user_id
    assert (await store.claim_alert_group(group, now.user_id, shown_holder=now.user_id)).outcome == "already_yours"


async def test_only_the_holder_releases(store: Store) -> None:
    group = await posted_group(store)
    await store.claim_alert_group(group, "U0ALICE", shown_holder=None)
    await store.note_claim_kibana_ack(group, "U0ALICE", ["u-r1"])
    assert await store.unclaim_alert_group(group, "U0BOB0001") is None
    released = await store.unclaim_alert_group(group, "U0ALICE")
    assert released is not None and released.user_id == "U0ALICE" and released.kibana_ack == ("u-r1",)
    assert await store.alert_group_claim(group) is None
    assert (await store.claim_alert_group(group, "U0BOB0001", shown_holder="U0ALICE")).outcome == "claimed"


async def test_the_snapshot_shows_the_claim_and_a_new_episode_is_unclaimed(store: Store) -> None:
    group = await posted_group(store)
    await store.claim_alert_group(group, "U0ALICE", shown_holder=None)
    snapshot = await store.alert_group_snapshot(group)
    assert snapshot is not None and snapshot.claim is not None and snapshot.claim.user_id == "U0ALICE"
    await store.record_alert(delivered(recovered=True), channel="C0ALERTS")
    again = await store.record_alert(
        dataclasses.replace(delivered(), alert_uuid="u-next", date=T0 + timedelta(hours=1)),
        channel="C0ALERTS",
    )
    assert again.group_id != group
    fresh = await store.alert_group_snapshot(again.group_id)
    assert fresh is not None and fresh.claim is None


async def test_the_reminders_query_finds_only_unclaimed_unreminded_firing_posted_episodes(store: Store) -> None:
    due = await posted_group(store, "r1")
    claimed = await posted_group(store, "r2")
    await store.claim_alert_group(claimed, "U0ALICE", shown_holder=None)
    reminded = await posted_group(store, "r3")
    assert await store.claim_key(REMINDER_KEYS, str(reminded))
    await store.record_alert(delivered("r4"), channel="C0ALERTS")  # not posted yet
    over = await posted_group(store, "r5")
    await store.record_alert(delivered("r5", recovered=True), channel="C0ALERTS")
    assert await store.unclaimed_alert_groups(started_before=T0 - timedelta(seconds=1)) == []
    found = await store.unclaimed_alert_groups(started_before=T0 + timedelta(minutes=5))
    assert found == [due], (found, over)


async def test_the_claims_a_person_holds_newest_first_with_their_message_and_bounded(store: Store) -> None:
    first, second, others = (
        await posted_group(store, "r1"),
        await posted_group(store, "r2"),
        await posted_group(store, "r3"),
    )
    await store.claim_alert_group(first, "U0ALICE", shown_holder=None)
    await store.claim_alert_group(second, "U0ALICE", shown_holder=None)
    await store.claim_alert_group(others, "U0BOB", shown_holder=None)
    held = await store.claims_held_by("U0ALICE")
    assert [h.group_id for h in held] == [second, first]  # newest claim first, Bob's left out
    assert (held[1].space, held[1].rule_id, held[1].rule_name) == ("default", "r1", "CPU high")
    assert (held[1].channel, held[1].ts, held[1].alert_ids, held[1].firing) == ("C0ALERTS", "1.1", ("host-1",), 1)
    assert [h.group_id for h in await store.claims_held_by("U0ALICE", limit=1)] == [second]
    await store.unclaim_alert_group(second, "U0ALICE")
    assert [h.group_id for h in await store.claims_held_by("U0ALICE")] == [first]
    assert await store.claims_held_by("U0CAROL") == []


async def test_a_timed_mute_is_listed_for_whoever_made_it_until_undone(store: Store) -> None:
    ends = T0 + timedelta(hours=1)
    common = {"how": "bot", "remind_before": None, "channel": None, "thread_ts": None}
    await store.record_timed_mute(
        space="default", rule_id="r1", alert_id="a", ends_at=ends, created_by="U0ALICE", **common
    )
    await store.record_timed_mute(
        space="default", rule_id="r2", alert_id=None, ends_at=None, created_by="U0BOB", **common
    )
    [mine] = await store.timed_mutes_by("U0ALICE")
    assert (mine.rule_id, mine.alert_id, mine.ends_at) == ("r1", "a", ends)
    await store.forget_timed_mutes(space="default", rule_id="r1", alert_id="a")
    assert await store.timed_mutes_by("U0ALICE") == []
    assert [m.rule_id for m in await store.timed_mutes_by("U0BOB")] == ["r2"]
