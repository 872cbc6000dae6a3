"""Cases linked to Slack threads (issue 28): one link per thread and case, one replica at a time
holding a link's lease, thread sync switched once, and the bot's own changes noted and consumed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.store import Store

from .conftest import OpenStore


async def link(store: Store, case_id: str = "c1") -> int:
    made, new = await store.link_case_to_thread(
        team="T1", channel="C1", thread_ts="1.0", case_id=case_id, space="default", owner="cases", seen=3
    )
    assert new
    return made.id


async def test_a_case_is_linked_to_a_thread_once(open_store: OpenStore) -> None:
    store = await open_store()
    first = await link(store)
    again, new = await store.link_case_to_thread(
        team="T1", channel="C1", thread_ts="1.0", case_id="c1", space="default", owner="cases", seen=9
    )
    assert not new and again.id == first and again.seen == 3  # the first link is kept
    [shown] = await store.case_links_of_thread("C1", "1.0")
    assert (shown.case_id, shown.card_ts, shown.syncing) == ("c1", None, False)
    await store.set_case_card(first, "2.0")
    assert (await store.case_link(first)).card_ts == "2.0"  # type: ignore[union-attr]


async def test_one_replica_at_a_time_holds_a_links_lease(open_store: OpenStore) -> None:
    a, b = await open_store(), await open_store()
    link_id = await link(a)
    held = await asyncio.gather(*(s.lease_case_link(link_id, name, hold=timedelta(seconds=60)) for s, name in
                                  ((a, "replica-a"), (b, "replica-b"))))  # fmt: skip
    winners = [h for h in held if h is not None]
    assert len(winners) == 1
    owner = "replica-a" if held[0] is not None else "replica-b"
    other = "replica-b" if owner == "replica-a" else "replica-a"
    await a.release_case_link(link_id, other, seen=99)  # not its lease: nothing changes
    assert await b.lease_case_link(link_id, other, hold=timedelta(seconds=60)) is None
    await a.release_case_link(link_id, owner, seen=5)
    taken = await b.lease_case_link(link_id, other, hold=timedelta(seconds=60))
    assert taken is not None and taken.seen == 5
    await b.release_case_link(link_id, other, seen=None)  # given back as it was
    assert (await a.case_link(link_id)).seen == 5  # type: ignore[union-attr]


async def test_an_expired_lease_can_be_taken(open_store: OpenStore) -> None:
    store = await open_store()
    link_id = await link(store)
    assert await store.lease_case_link(link_id, "dead", hold=timedelta(seconds=-1)) is not None
    assert await store.lease_case_link(link_id, "alive", hold=timedelta(seconds=60)) is not None


async def test_thread_sync_is_switched_once(open_store: OpenStore) -> None:
    store = await open_store()
    link_id = await link(store)
    assert await store.set_thread_sync(link_id, True)
    assert not await store.set_thread_sync(link_id, True)  # a double click
    assert await store.set_thread_sync(link_id, False)


async def test_the_bots_own_changes_are_consumed_once(open_store: OpenStore) -> None:
    store = await open_store()
    await store.note_echo("c1", "status", "closed")
    await store.note_echo("c1", "comment", "comment-1")
    assert not await store.take_echo("c1", "status", "open")
    assert not await store.take_echo("c2", "status", "closed")
    assert await store.take_echo("c1", "status", "closed")
    assert not await store.take_echo("c1", "status", "closed")  # once
    assert await store.take_echo("c1", "comment", "comment-1")


async def test_links_remember_who_made_them_for_their_home(open_store: OpenStore) -> None:
    store = await open_store()
    common = {"team": "T1", "space": "default", "owner": "cases"}
    first, _ = await store.link_case_to_thread(
        channel="C1", thread_ts="1.0", case_id="c1", by="U0ALICE", title="Checkout " + "x" * 300, **common
    )
    await store.link_case_to_thread(channel="C1", thread_ts="2.0", case_id="c2", by="U0BOB", title="Disk", **common)
    later, _ = await store.link_case_to_thread(channel="C2", thread_ts="3.0", case_id="c3", by="U0ALICE", **common)
    again, new = await store.link_case_to_thread(
        channel="C1", thread_ts="1.0", case_id="c1", by="U0BOB", title="Other", **common
    )
    assert not new and again.linked_by == "U0ALICE"  # the first link, and who made it, are kept
    mine = await store.case_links_by("U0ALICE")
    assert [(link.case_id, link.linked_by) for link in mine] == [("c3", "U0ALICE"), ("c1", "U0ALICE")]  # newest first
    assert mine[1].title == "Checkout " + "x" * 246 and mine[0].title is None  # clipped to the column; none given
    assert [link.case_id for link in await store.case_links_by("U0ALICE", limit=1)] == [later.case_id]
    assert await store.case_links_by("U0CAROL") == []
    assert first.id != later.id
