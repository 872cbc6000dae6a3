"""People's Slack calls go ahead of background ones within a replica (bot/slack_turns.py), and a replica whose
shared ledger's store fails paces alone, says so once, and shares again when the store is back
(bot/slack_ledger.py). Against the devkit's fake Slack over real HTTP; nothing asserts on durations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot import metrics, slack_ledger
from bot.app import slack_ledger as ledger_for
from bot.settings import load_settings
from bot.slack_client import LimitedWebClient
from bot.slack_ledger import LocalLedger, SharedLedger
from bot.slack_limits import Budget, SlackBudgets, SlackLimiter, reset_max_wait, set_max_wait, tier_budgets
from bot.store.slack_budgets import BucketState
from devkit.fake_slack import FakeSlack

# chat.update: 5 a second, one at a time
SLOW_UPDATES = SlackBudgets(tiers=tier_budgets(window=1.0), special={"chat.update": Budget(per_second=5.0, burst=1)})


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as shared:
        yield shared


async def test_a_persons_call_goes_before_the_queued_background_calls(session: aiohttp.ClientSession) -> None:
    async with FakeSlack() as slack:
        slack.add_channel("C0ALERTS", "alerts")
        client = LimitedWebClient(
            token=slack.bot_token, base_url=slack.api_url, session=session, limiter=SlackLimiter(SLOW_UPDATES)
        )
        posted = await client.chat_postMessage(channel="C0ALERTS", text="to update")
        wave = [
            asyncio.create_task(client.chat_update(channel="C0ALERTS", ts=posted["ts"], text=f"wave {i}"))
            for i in range(10)
        ]
        await slack.wait_for("chat.update", count=2)
        person = set_max_wait(3.0)  # as ChatOpsApp does for a click
        try:
            await client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="the person's")
        finally:
            reset_max_wait(person)
        await asyncio.gather(*wave)
        texts = [call.params["text"] for call in slack.calls_to("chat.update")]
    at = texts.index("the person's")
    # it went next, or after the one already on its way: at least 6 of the wave's 10 went after it
    assert len(texts) - 1 - at >= 6
    assert [t for t in texts if t != "the person's"] == [f"wave {i}" for i in range(10)]  # the wave kept its order


async def test_a_person_is_not_refused_for_the_background_calls_queued_before_them() -> None:
    limiter = SlackLimiter(SLOW_UPDATES)
    sent: list[str] = []

    async def send(text: str) -> object:
        sent.append(text)
        return type("Answer", (), {"status_code": 200, "headers": {}})()

    wave = [
        asyncio.create_task(limiter.call("chat.update", None, lambda i=i: send(f"wave {i}"), None)) for i in range(30)
    ]
    await asyncio.sleep(0)  # the wave queues: 30 calls at 5 a second, 6 s of background work
    assert limiter.estimate("chat.update", None, person=False) > 5
    assert limiter.estimate("chat.update", None, person=True) < 1  # people count only the people before them
    await limiter.call("chat.update", None, lambda: send("person"), 1.0)  # within its 1 s bound
    for task in wave:
        task.cancel()
    await asyncio.gather(*wave, return_exceptions=True)
    assert sent.index("person") <= 2


class FailingStore:
    """The shared ledger's store, failing while `down`."""

    def __init__(self) -> None:
        self.down = False
        self.takes = 0

    async def take_slack_token(self, key: str, *, burst: int, per_second: float, reserve: float) -> BucketState:
        self.takes += 1
        if self.down:
            raise OSError("connection refused")
        return BucketState(taken=True, tokens=float(burst - 1), closed_for=0.0)

    async def close_slack_budget(self, key: str, seconds: float, *, burst: int, per_second: float) -> float:
        if self.down:
            raise OSError("connection refused")
        return seconds


async def test_a_store_outage_paces_alone_logs_once_and_shares_again(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slack_ledger, "RETRY_STORE", 0.5)
    store = FailingStore()
    ledger = SharedLedger(store, share=0.5)
    budget = Budget(per_second=1000.0, burst=10)
    alone_before = metrics.REGISTRY.get_sample_value("chatops_slack_calls_paced_alone_total") or 0.0
    with caplog.at_level(logging.INFO, logger="bot.slack_ledger"):
        assert await ledger.take("chat.update", budget, person=False) == 0.0
        store.down = True
        waits = [await ledger.take("chat.update", budget, person=False) for _ in range(20)]
        assert ledger.alone and metrics.REGISTRY.get_sample_value("chatops_slack_budgets_shared") == 0
        tries_while_down = store.takes
        await ledger.close("chat.update", budget, 0.01)  # a 429 while alone: still waited out in the replica
        assert ledger.estimate("chat.update", budget, 0) > 0
        store.down = False
        await asyncio.sleep(0.55)  # past RETRY_STORE
        assert await ledger.take("chat.update", budget, person=False) == 0.0
    lines = [r.getMessage() for r in caplog.records]
    assert all(w < 1 for w in waits)  # paced at half the budget, in the process: the calls still go
    assert tries_while_down == 2  # the store was tried once, not for every call of the outage
    assert sum("did not answer" in line for line in lines) == 1
    assert sum("answers again after" in line for line in lines) == 1
    assert not ledger.alone and metrics.REGISTRY.get_sample_value("chatops_slack_budgets_shared") == 1
    alone = (metrics.REGISTRY.get_sample_value("chatops_slack_calls_paced_alone_total") or 0.0) - alone_before
    assert alone == sum(1 for w in waits if w == 0)


def test_only_a_postgresql_store_shares_the_budgets() -> None:
    settings = load_settings(slack_bot_token="xoxb-settings", _env_file=None)
    assert isinstance(ledger_for(settings, None), LocalLedger)
    unpaced = load_settings(slack_bot_token="xoxb-settings", slack_pacing=False, _env_file=None)

    class Postgres:
        dialect = "postgresql"

    assert isinstance(ledger_for(settings, Postgres()), SharedLedger)  # type: ignore[arg-type]
    assert isinstance(ledger_for(unpaced, Postgres()), LocalLedger)  # type: ignore[arg-type]
    assert ledger_for(settings, Postgres()).share == 0.5  # type: ignore[arg-type, attr-defined]
