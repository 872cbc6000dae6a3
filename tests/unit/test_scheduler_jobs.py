"""The scheduler under a running APScheduler: a job run claims its *scheduled* fire time (not
`now`), and subscriptions changed through another replica's store are picked up by polling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.schedule import parse_schedule
from bot.scheduler import HealthScheduler
from bot.store import Store, Subscription


@dataclass
class Outcome:
    state: str = "ok"

    def summary(self) -> str:
        return self.state


class Recorder:
    def __init__(self) -> None:
        self.posts: list[int] = []
        self.posted = asyncio.Event()

    async def check(self, space: str) -> Outcome:
        return Outcome()

    async def post(self, subscription: Subscription, outcome: Outcome) -> None:
        self.posts.append(subscription.id)
        self.posted.set()


@pytest.fixture
async def store_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'jobs.db'}"


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = await Store.open(store_url)
    yield opened
    await opened.close()


async def add(store: Store, text: str, channel: str = "C1") -> Subscription:
    schedule = parse_schedule(text)
    return await store.add_subscription(
        channel=channel,
        space="default",
        schedule=schedule.text,
        cron=schedule.cron,
        timezone=schedule.timezone,
        on_change=False,
        created_by="U1",
    )


async def wait_until(condition: object, seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_a_job_run_claims_its_scheduled_fire_time(store: Store) -> None:
    recorder = Recorder()
    scheduler = HealthScheduler(store, check=recorder.check, post=recorder.post, replica="r1", poll_seconds=3600)
    far = datetime.now(UTC) + timedelta(hours=12)  # no real fire time near now: only the one we set
    subscription = await add(store, f"daily {far:%H:%M}")
    await scheduler.start()
    try:
        [job] = scheduler.apscheduler.get_jobs()
        # Pretend the trigger's time has come: a scheduled time 3 s ago (inside the misfire grace),
        # with microseconds, so that a claim on `now` could not match it by accident.
        scheduled = datetime.now(UTC).replace(microsecond=123456) - timedelta(seconds=3)
        job.modify(next_run_time=scheduled)
        scheduler.apscheduler.wakeup()
        await asyncio.wait_for(recorder.posted.wait(), timeout=3)
        assert recorder.posts == [subscription.id]
        taken = await store.claim_runs([subscription.id], scheduled, replica="other")
        assert taken == set()  # taken: that exact time
        assert await store.claim_runs([subscription.id], scheduled + timedelta(seconds=1), replica="other")
        [job] = scheduler.apscheduler.get_jobs()
        assert job.next_run_time == far.replace(second=0, microsecond=0)  # back on the cron
    finally:
        await scheduler.close()


async def test_a_missed_fire_time_beyond_the_grace_is_not_posted(store: Store) -> None:
    recorder = Recorder()
    scheduler = HealthScheduler(store, check=recorder.check, post=recorder.post, replica="r1", poll_seconds=3600)
    far = datetime.now(UTC) + timedelta(hours=12)  # no real fire time near now, only the missed one
    await add(store, f"daily {far:%H:%M}")
    await scheduler.start()
    try:
        [job] = scheduler.apscheduler.get_jobs()
        job.modify(next_run_time=datetime.now(UTC) - timedelta(seconds=120))  # two minutes late
        scheduler.apscheduler.wakeup()
        await wait_until(lambda: scheduler.apscheduler.get_jobs()[0].next_run_time > datetime.now(UTC))
        await asyncio.sleep(0.2)
        assert recorder.posts == []
    finally:
        await scheduler.close()


async def test_changes_made_on_another_replica_are_polled(store: Store, store_url: str) -> None:
    recorder = Recorder()
    scheduler = HealthScheduler(store, check=recorder.check, post=recorder.post, replica="r1", poll_seconds=0.05)
    other = await Store.open(store_url)  # another replica's connection to the same database
    await scheduler.start()
    try:
        assert scheduler.groups() == set()
        added = await add(other, "every 15m")
        await wait_until(lambda: {g.cron for g in scheduler.groups()} == {"*/15 * * * *"})
        paris = await add(other, "daily 09:00 Europe/Paris", channel="C2")
        await wait_until(lambda: len(scheduler.groups()) == 2)
        await other.set_subscription_paused(added.id, True, reason="the channel is archived")
        await wait_until(lambda: {g.cron for g in scheduler.groups()} == {"0 9 * * *"})
        await other.remove_subscription(paris.id)
        await wait_until(lambda: scheduler.groups() == set())
    finally:
        await scheduler.close()
        await other.close()


async def test_sync_if_changed_reads_the_version(store: Store) -> None:
    recorder = Recorder()
    scheduler = HealthScheduler(store, check=recorder.check, post=recorder.post, replica="r1")
    await scheduler.sync()
    assert not await scheduler.sync_if_changed()
    await add(store, "every 1h")
    assert await scheduler.sync_if_changed()
    assert [job.id for job in scheduler.apscheduler.get_jobs()] == ["health:UTC|0 * * * *"]
    assert not await scheduler.sync_if_changed()
