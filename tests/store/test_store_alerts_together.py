"""Deliveries recorded together: several per transaction (a storm's recovery wave on one replica), each
caller answered once its own delivery is committed; a batch that fails loses nothing and counts nothing
twice (issue 25)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest

from bot.store import Recorded, Store, alert_groups
from bot.store.alert_groups import ToRecord

from .test_store_alerts import alert


@pytest.fixture(autouse=True)
def several_per_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batching itself, as it works with several deliveries per transaction: the bot records one
    per transaction (ALERTS_PER_TRANSACTION = 1, see bot/store/alert_groups.py for why)."""
    monkeypatch.setattr(alert_groups, "ALERTS_PER_TRANSACTION", 100)


def count_batches(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch the store writes (one transaction each)."""
    sizes: list[int] = []
    record_alerts = store.record_alerts

    async def counted(items: Sequence[ToRecord]) -> list[Recorded]:
        sizes.append(len(items))
        return await record_alerts(items)

    monkeypatch.setattr(store, "record_alerts", counted)
    return sizes


async def test_a_storm_is_recorded_in_a_few_transactions_and_counts_as_one_by_one_would(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = count_batches(store, monkeypatch)
    storm = [alert(n, rule=f"r-{n % 3}") for n in range(60)]
    recorded = await asyncio.gather(*(store.record_alert_together(a, channel="C1") for a in storm))
    assert sum(sizes) == 60 and len(sizes) < 10  # one transaction took the first, the rest came together
    assert [r.outcome for r in recorded] == ["new"] * 60
    # each answer carries its group as the batch left it: the webhook does not read it again
    assert all(r.group is not None and r.group.id == r.group_id for r in recorded)
    assert {r.group.version for r in recorded if r.group is not None} == {20}
    groups = {r.group_id for r in recorded}
    assert len(groups) == 3
    for group_id in groups:  # each group's versions: 1…20, one per alert, the first opened it
        mine = sorted((r for r in recorded if r.group_id == group_id), key=lambda r: r.version)
        assert [r.version for r in mine] == list(range(1, 21))
        assert [r.first for r in mine] == [True] + [False] * 19

    wave = [alert(n, rule=f"r-{n % 3}", recovered=True) for n in range(60)] + storm[:10]  # and 10 retries
    again = await asyncio.gather(*(store.record_alert_together(a, channel="C1") for a in wave))
    assert [r.outcome for r in again] == ["recovered"] * 60 + ["duplicate"] * 10
    for group_id in groups:
        snapshot = await store.alert_group_snapshot(group_id)
        assert snapshot is not None and (snapshot.firing, snapshot.recovered) == (0, 20)


async def test_one_alert_fired_then_recovered_in_one_batch_keeps_its_order(store: Store) -> None:
    fired, recovered = await asyncio.gather(
        store.record_alert_together(alert(1), channel="C1"),
        store.record_alert_together(alert(1, recovered=True), channel="C1"),
    )
    assert (fired.outcome, recovered.outcome) == ("new", "recovered")
    assert recovered.version > fired.version


async def test_a_batch_that_fails_is_written_one_by_one_and_only_the_bad_delivery_fails(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording host-13 fails (every time) after the batch's other rows were written in its transaction:
    the transaction is rolled back whole, each delivery is written again alone, every other one is
    recorded once, and only host-13's caller hears of the failure."""
    sizes = count_batches(store, monkeypatch)
    record = store._record

    async def failing(conn: Any, item: ToRecord) -> Recorded:
        if item.delivered.alert_id == "host-13":
            raise RuntimeError("the database refused host-13")
        return await record(conn, item)

    monkeypatch.setattr(store, "_record", failing)
    first = await store.record_alert_together(alert(0), channel="C1")  # the writer is busy with one
    storm = [alert(n) for n in range(1, 30)]
    results = await asyncio.gather(
        *(store.record_alert_together(a, channel="C1") for a in storm), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert [str(e) for e in failed] == ["the database refused host-13"]
    recorded = [r for r in results if isinstance(r, Recorded)]
    assert [r.outcome for r in recorded] == ["new"] * 28
    assert max(sizes) > 1 and sizes.count(1) >= 29  # a batch was tried, then each of it alone
    snapshot = await store.alert_group_snapshot(first.group_id)
    assert snapshot is not None
    assert (snapshot.firing, snapshot.recovered) == (29, 0)  # host-0 and 28 of the storm, none twice
    assert snapshot.group.version == 29  # the rolled-back batch bumped nothing
    assert sorted(r.version for r in recorded) == list(range(2, 30))


async def test_two_replicas_record_the_same_storm_in_batches_and_each_alert_counts_once(
    open_store: Any, store: Store
) -> None:
    """Batches on two replicas take their rows' locks in one order (the alert key): overlapping batches
    of the same rules wait for each other instead of deadlocking, and each alert is one row."""
    other = await open_store()
    storm = [alert(n, rule=f"r-{n % 5}") for n in range(100)]
    shuffled = random.Random(25).sample(storm, len(storm))
    both = [store.record_alert_together(a, channel="C1") for a in storm]
    both += [other.record_alert_together(a, channel="C1") for a in shuffled]
    recorded = await asyncio.wait_for(asyncio.gather(*both), timeout=60)
    outcomes = [r.outcome for r in recorded]
    assert outcomes.count("new") == 100 and outcomes.count("duplicate") == 100
    for group_id in {r.group_id for r in recorded}:
        snapshot = await store.alert_group_snapshot(group_id)
        assert snapshot is not None and (snapshot.firing, snapshot.group.version) == (20, 20)
