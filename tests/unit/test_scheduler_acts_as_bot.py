"""Scheduled health reports are the bot's own work: with KIBANA_IDENTITY=person they carry the bot's
credential, even when the job was added (and APScheduler's timer set) inside a person's request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.credentials import PersonKey
from bot.kibana.acting import Acting, acting, acting_for
from bot.scheduler import HealthScheduler
from bot.store import Store, Subscription
from tests.unit.test_scheduler_ticks import FakeOutcome, subscribe


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ticks.db'}")
    yield opened
    await opened.close()


async def test_a_job_added_in_a_persons_request_runs_as_the_bot(store: Store) -> None:
    seen: list[Acting | None] = []

    async def check(space: str) -> FakeOutcome:
        seen.append(acting())
        return FakeOutcome(space, "ok")

    async def post(subscription: Subscription, outcome: FakeOutcome) -> None:
        seen.append(acting())

    scheduler = HealthScheduler(store, check=check, post=post, replica="r1")
    alice = PersonKey(team_id="T1", user_id="U1", api_key=SecretStr("a2V5OnNlY3JldA=="), key_id="key")
    try:
        await subscribe(store, "every 15m")
        with acting_for("U1", alice):  # `health subscribe`: the job is added inside Alice's request
            [group] = await scheduler.sync()
            assert acting() is not None
            await scheduler._run_job(group)  # as APScheduler runs it, in the context its timer was set in
    finally:
        await scheduler.close()
    assert seen == [None, None]  # the health read and the post: the bot's credential
