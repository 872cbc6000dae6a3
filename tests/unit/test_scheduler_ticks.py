"""The scheduler's tick, driven with explicit fire times (a controllable clock): reports per
fire time, exactly-once claims, --on-change transitions, one health read per space, pausing,
and a restart keeping the subscriptions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.metrics import REGISTRY
from bot.schedule import parse_schedule
from bot.scheduler import (
    FAILED,
    LOST_CLAIM,
    PAUSED,
    POSTED,
    SKIPPED_UNCHANGED,
    ChannelUnusable,
    Group,
    HealthScheduler,
    count,
)
from bot.store import Store, Subscription

START = datetime(2026, 1, 5, 10, 7, tzinfo=UTC)


@dataclass
class FakeOutcome:
    space: str
    state: str

    def summary(self) -> str:
        return self.state


@dataclass
class World:
    """What the scheduler sees: a health per space (settable), and what it posted where."""

    states: dict[str, str] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    posts: list[tuple[int, str, str]] = field(default_factory=list)  # (subscription, channel, state)
    unusable: dict[str, str] = field(default_factory=dict)  # channel -> reason
    broken: set[str] = field(default_factory=set)  # channels whose post raises an unexpected error

    async def check(self, space: str) -> FakeOutcome:
        self.checks.append(space)
        return FakeOutcome(space, self.states.get(space, "ok"))

    async def post(self, subscription: Subscription, outcome: FakeOutcome) -> None:
        if subscription.channel in self.unusable:
            raise ChannelUnusable(self.unusable[subscription.channel])
        if subscription.channel in self.broken:
            raise RuntimeError("boom")
        self.posts.append((subscription.id, subscription.channel, outcome.state))


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ticks.db'}")
    yield opened
    await opened.close()


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def scheduler(store: Store, world: World) -> AsyncIterator[HealthScheduler[FakeOutcome]]:
    made = HealthScheduler(store, check=world.check, post=world.post, replica="r1")
    yield made
    await made.close()


async def subscribe(
    store: Store, text: str, *, channel: str = "C1", space: str = "default", on_change: bool = False
) -> Subscription:
    schedule = parse_schedule(text)
    return await store.add_subscription(
        channel=channel,
        space=space,
        schedule=schedule.text,
        cron=schedule.cron,
        timezone=schedule.timezone,
        on_change=on_change,
        created_by="U1",
    )


def runs(outcome: str) -> float:
    return REGISTRY.get_sample_value("chatops_scheduled_runs_total", {"outcome": outcome}) or 0.0


async def test_the_job_fires_at_the_schedule_times(store: Store, scheduler: HealthScheduler[FakeOutcome]) -> None:
    await subscribe(store, "every 15m")
    await subscribe(store, "daily 09:00 Europe/Paris", channel="C2")
    groups = await scheduler.sync()
    assert groups == {Group("*/15 * * * *", "UTC"), Group("0 9 * * *", "Europe/Paris")}
    jobs = {job.id: job for job in scheduler.apscheduler.get_jobs()}
    quarter = jobs["health:UTC|*/15 * * * *"].trigger
    fire = quarter.get_next_fire_time(None, START)
    assert fire == datetime(2026, 1, 5, 10, 15, tzinfo=UTC)
    assert quarter.get_next_fire_time(fire, fire) == datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
    paris = jobs["health:Europe/Paris|0 9 * * *"].trigger
    spring = datetime(2026, 3, 28, 12, tzinfo=UTC)
    first = paris.get_next_fire_time(None, spring)
    assert [first.astimezone(UTC), paris.get_next_fire_time(first, first).astimezone(UTC)] == [
        datetime(2026, 3, 29, 7, 0, tzinfo=UTC),  # 09:00 CEST on the day clocks go forward
        datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
    ]
    for job in jobs.values():
        assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, 60, 1)
        assert job.trigger.jitter is None


async def test_one_report_per_fire_time_and_never_twice(
    store: Store, scheduler: HealthScheduler[FakeOutcome], world: World
) -> None:
    subscription = await subscribe(store, "every 15m")
    [group] = await scheduler.sync()
    times = parse_schedule("every 15m").next_fire_times(START, 4)
    for fire in times:
        assert await scheduler.tick(group, fire) == {subscription.id: POSTED}
    assert world.posts == [(subscription.id, "C1", "ok")] * 4
    assert await scheduler.tick(group, times[1]) == {subscription.id: LOST_CLAIM}  # a second run of a slot
    assert len(world.posts) == 4


async def test_a_second_replica_loses_every_claim(
    store: Store, scheduler: HealthScheduler[FakeOutcome], world: World
) -> None:
    subscription = await subscribe(store, "every 5m")
    other_world = World()
    other = HealthScheduler(store, check=other_world.check, post=other_world.post, replica="r2")
    [group] = await scheduler.sync()
    for fire in parse_schedule("every 5m").next_fire_times(START, 3):
        assert await scheduler.tick(group, fire) == {subscription.id: POSTED}
        assert await other.tick(group, fire) == {subscription.id: LOST_CLAIM}
    assert len(world.posts) == 3
    assert other_world.posts == [] and other_world.checks == []  # the loser did not even ask Kibana


async def test_on_change_posts_only_transitions(
    store: Store, scheduler: HealthScheduler[FakeOutcome], world: World
) -> None:
    watcher = await subscribe(store, "every 15m", channel="CWATCH", on_change=True)
    always = await subscribe(store, "every 15m", channel="CALWAYS")
    [group] = await scheduler.sync()
    sequence = ["ok", "warn", "warn", "unreachable:503", "ok"]
    results = []
    before = runs(SKIPPED_UNCHANGED)
    for fire, state in zip(parse_schedule("every 15m").next_fire_times(START, 5), sequence, strict=True):
        world.states["default"] = state
        results.append(await scheduler.tick(group, fire))
    assert [r[watcher.id] for r in results] == [POSTED, POSTED, SKIPPED_UNCHANGED, POSTED, POSTED]
    assert [state for sub, _, state in world.posts if sub == watcher.id] == ["ok", "warn", "unreachable:503", "ok"]
    assert [state for sub, _, state in world.posts if sub == always.id] == sequence  # 5 posts
    assert len(world.checks) == 5  # one health read per tick, for both channels
    assert runs(SKIPPED_UNCHANGED) == before + 1


async def test_two_hundred_channels_one_health_read_per_tick(
    store: Store, scheduler: HealthScheduler[FakeOutcome], world: World
) -> None:
    for n in range(200):
        await subscribe(store, "every 5m", channel=f"C{n:03d}")
    await subscribe(store, "every 10m", channel="COTHER")  # another schedule firing at :10 and :20 too
    five, ten = Group("*/5 * * * *", "UTC"), Group("*/10 * * * *", "UTC")
    assert await scheduler.sync() == {five, ten}
    for fire in parse_schedule("every 5m").next_fire_times(START, 3):  # 10:10, 10:15, 10:20
        results = await scheduler.tick(five, fire)
        if fire.minute % 10 == 0:  # both jobs fire
            results |= await scheduler.tick(ten, fire)
        assert count(results.values()) == {POSTED: 201 if fire.minute % 10 == 0 else 200}
    assert world.checks == ["default"] * 3
    assert len(world.posts) == 200 * 3 + 2


async def test_one_health_read_per_space(store: Store, scheduler: HealthScheduler[FakeOutcome], world: World) -> None:
    for n in range(5):
        await subscribe(store, "every 5m", channel=f"CA{n}", space="default")
        await subscribe(store, "every 5m", channel=f"CB{n}", space="ops")
    world.states = {"default": "ok", "ops": "warn"}
    [group] = await scheduler.sync()
    await scheduler.tick(group, datetime(2026, 1, 5, 10, 10, tzinfo=UTC))
    assert sorted(world.checks) == ["default", "ops"]
    assert {(channel[:2], state) for _, channel, state in world.posts} == {("CA", "ok"), ("CB", "warn")}


async def test_an_unusable_channel_pauses_the_subscription(
    store: Store, scheduler: HealthScheduler[FakeOutcome], world: World
) -> None:
    gone = await subscribe(store, "every 5m", channel="CGONE")
    fine = await subscribe(store, "every 5m", channel="CFINE")
    world.unusable["CGONE"] = "the channel is archived (is_archived)"
    [group] = await scheduler.sync()
    times = parse_schedule("every 5m").next_fire_times(START, 2)
    before = runs(PAUSED)
    assert await scheduler.tick(group, times[0]) == {gone.id: PAUSED, fine.id: POSTED}
    stored = await store.get_subscription(gone.id)
    assert stored is not None and stored.paused and stored.paused_reason == "the channel is archived (is_archived)"
    assert await scheduler.tick(group, times[1]) == {fine.id: POSTED}  # not retried
    assert runs(PAUSED) == before + 1
    await store.remove_subscription(fine.id)
    assert await scheduler.sync() == set()  # only a paused subscription left: no job
    assert scheduler.apscheduler.get_jobs() == []


async def test_a_failed_post_is_posted_at_the_next_fire_time_with_on_change(
    store: Store, scheduler: HealthScheduler[FakeOutcome], world: World
) -> None:
    watcher = await subscribe(store, "every 5m", channel="CFLAKY", on_change=True)
    [group] = await scheduler.sync()
    times = parse_schedule("every 5m").next_fire_times(START, 3)
    world.broken.add("CFLAKY")
    assert await scheduler.tick(group, times[0]) == {watcher.id: FAILED}
    world.broken.clear()
    assert await scheduler.tick(group, times[1]) == {watcher.id: POSTED}  # same state, never seen: posted
    assert await scheduler.tick(group, times[2]) == {watcher.id: SKIPPED_UNCHANGED}


async def test_restart_keeps_subscriptions(tmp_path: Path, world: World) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}"
    store = await Store.open(url)
    first = HealthScheduler(store, check=world.check, post=world.post, replica="r1", poll_seconds=3600)
    await first.start()
    kept = await subscribe(store, "every 15m")
    await subscribe(store, "daily 09:00 Europe/Paris", channel="C2", on_change=True)
    await first.sync()
    before = {job.id: job.next_run_time for job in first.apscheduler.get_jobs()}
    await first.close()
    await store.close()

    store = await Store.open(url)
    second = HealthScheduler(store, check=world.check, post=world.post, replica="r1-restarted", poll_seconds=3600)
    try:
        await second.start()
        after = {job.id: job.next_run_time for job in second.apscheduler.get_jobs()}
        assert after == before and len(after) == 2
        group = Group("*/15 * * * *", "UTC")
        assert await second.tick(group, datetime(2026, 1, 5, 10, 15, tzinfo=UTC)) == {kept.id: POSTED}
    finally:
        await second.close()
        await store.close()


async def test_metrics_count_each_outcome(store: Store, scheduler: HealthScheduler[FakeOutcome]) -> None:
    subscription = await subscribe(store, "every 5m")
    [group] = await scheduler.sync()
    fire = datetime(2026, 1, 5, 10, 10, tzinfo=UTC)
    posted, lost = runs(POSTED), runs(LOST_CLAIM)
    assert await scheduler.tick(group, fire) == {subscription.id: POSTED}
    assert await scheduler.tick(group, fire) == {subscription.id: LOST_CLAIM}
    assert (runs(POSTED), runs(LOST_CLAIM)) == (posted + 1, lost + 1)


async def test_naive_fire_times_are_refused(scheduler: HealthScheduler[FakeOutcome]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await scheduler.tick(Group("*/5 * * * *", "UTC"), datetime(2026, 1, 5, 10, 10))
