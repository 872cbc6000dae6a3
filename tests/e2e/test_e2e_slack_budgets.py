"""Replicas share Slack's budgets (issue 25 item 7), and people go ahead of background work (issue 30 item 4).

Two bot runtimes on one PostgreSQL schema against the fake Slack with its rate limits on (windows of 2 s,
and the bots' budgets scaled to the same windows): together they stay within a method's budget as the
fake counts it, a Retry-After one of them is given holds the other back, and when PostgreSQL is down
each paces itself at half of every budget and their calls still go. A person's click during a recovery
wave updates their message ahead of the wave's queued updates; when even so it cannot go within their
wait, they are told the message will catch up, and it does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot import metrics, slack_ledger
from bot.slack_client import LimitedWebClient
from bot.slack_ledger import LocalLedger, SharedLedger
from bot.slack_limits import Budget, SlackBudgets, SlackLimiter, special_budgets, tier_budgets
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack, RateLimits, Window, slack_tiers
from devkit.harness import RunningBot, running_bot
from devkit.slack_driver import SlackDriver
from handlers.alerting.target import Target
from handlers.alerts import delivery
from tests.database_outage import DatabaseProxy
from tests.databases import TEST_DATABASE_URL, postgres_schema

from .conftest import SIGNING_SECRET, make_settings
from .databases import database_url
from .test_e2e_alert_groups import settled, storm
from .test_e2e_alerts_webhook import accepted, all_text, deliver, kibana_sends, top_level

__all__ = ["database_url"]  # the fixture, parametrized over SQLite and PostgreSQL

needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL is not set"),
]

WINDOW = 2.0  # seconds: Slack's minute, scaled down
# Slack's tiers in 2 s windows (Tier 3: 50 calls in any 2 s) …
SLACK = RateLimits(tiers=slack_tiers(seconds=WINDOW))
# … and the bots' budgets for the same windows (chat.update: 20 at once, then 30 more a window).
BOTS = SlackBudgets(tiers=tier_budgets(window=WINDOW), special=special_budgets(window=WINDOW))
UPDATE_CALLS = 50  # chat.update's calls a window, as the fake counts them


def limiter_of(bot: RunningBot, budgets: SlackBudgets) -> SlackLimiter:
    """The bot's limiter, paced for the scaled-down windows (its buckets are made at the first call)."""
    client = bot.runtime.services.slack
    assert isinstance(client, LimitedWebClient)
    client.limiter.budgets = budgets
    return client.limiter


@asynccontextmanager
async def two_replicas(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, url: str, **overrides: Any
) -> AsyncIterator[list[RunningBot]]:
    settings = make_settings(kibana, slack, tmp_path, database_url=url, **overrides)
    async with running_bot(settings) as one, running_bot(settings) as two:
        yield [one, two]


async def updates(bots: list[RunningBot], ts: str, each: int) -> None:
    """`each` chat.update calls from every replica, all at once (background calls: no bounded wait)."""
    await asyncio.gather(
        *(
            bot.runtime.services.slack.chat_update(channel="C0ALERTS", ts=ts, text=f"{bot.url} update {i}")
            for bot in bots
            for i in range(each)
        )
    )


async def closed_in_store(url: str, key: str) -> None:
    """Wait (bounded) until the shared bucket `key` is closed by a Retry-After, as the database says."""
    engine = create_async_engine(url)
    try:
        for _ in range(200):
            async with engine.connect() as conn:
                closed = (
                    await conn.execute(
                        text("SELECT closed_until > clock_timestamp() FROM slack_budgets WHERE key = :key"),
                        {"key": key},
                    )
                ).scalar_one_or_none()
            if closed:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"the bucket {key} was never closed in the store")
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "shared",
    [pytest.param(True, marks=needs_postgres, id="shared"), pytest.param(False, marks=needs_postgres, id="each-alone")],
)
async def test_two_replicas_together_keep_within_a_methods_budget(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, shared: bool
) -> None:
    async with postgres_schema("budgets") as url, two_replicas(kibana, slack, tmp_path, url) as bots:
        limiters = [limiter_of(bot, BOTS) for bot in bots]
        assert all(isinstance(limiter.ledger, SharedLedger) for limiter in limiters)
        if not shared:  # as before: each replica keeps its own buckets
            for limiter in limiters:
                limiter.ledger = LocalLedger()
        posted = await bots[0].runtime.services.slack.chat_postMessage(channel="C0ALERTS", text="to update")
        stats = slack.limit_rates(SLACK)
        await updates(bots, posted["ts"], each=60)  # 120 updates: 2.4 windows' worth
    made = [limiter.sent["chat.update"] for limiter in limiters]
    assert all(n >= 60 for n in made)  # both replicas took part, each update went out
    if shared:
        # together within the budget in every window as the fake counted them: it refused none
        assert stats.calls["chat.update"] == 120
        assert stats.ratelimited["chat.update"] == 0
        assert stats.early_calls == 0
    else:
        # the bug this fixes: each spent the whole budget, and Slack refused what was over
        assert stats.ratelimited["chat.update"] > 0


@pytest.mark.parametrize("_", [pytest.param(None, marks=needs_postgres, id="postgresql")])
async def test_a_retry_after_given_to_one_replica_holds_the_other_back(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, _: None
) -> None:
    # Slack is stricter than the bots' budgets (another app, or a lower tier): 10 chat.update calls a window
    strict = RateLimits(tiers={**slack_tiers(seconds=WINDOW), 3: Window(10, WINDOW)})
    async with postgres_schema("budgets") as url, two_replicas(kibana, slack, tmp_path, url) as (first, second):
        limiters = [limiter_of(bot, BOTS) for bot in (first, second)]
        posted = await first.runtime.services.slack.chat_postMessage(channel="C0ALERTS", text="to update")
        stats = slack.limit_rates(strict)
        # the first replica spends the window and is refused: it waits out Retry-After, and records it
        wave = asyncio.create_task(updates([first], posted["ts"], each=12))
        await slack.wait_for(lambda: stats.ratelimited["chat.update"] >= 1, timeout=10)
        await closed_in_store(url, "chat.update")  # the first replica recorded Retry-After for all
        # the second replica's calls, made meanwhile, wait for the same Retry-After
        await updates([second], posted["ts"], each=3)
        await wave
    assert limiters[1].sent["chat.update"] == 3
    assert stats.early_calls == 0  # no call of either replica came before Retry-After had passed
    assert stats.ratelimited["chat.update"] == 1  # the one refusal; no replica was refused after it
    assert stats.calls["chat.update"] == 12 + 3 + 1  # both replicas' calls, and the refused one made again


@pytest.mark.parametrize("_", [pytest.param(None, marks=needs_postgres, id="postgresql")])
async def test_when_postgresql_is_down_each_replica_paces_alone_and_slack_calls_still_go(
    kibana: FakeKibana,
    slack: FakeSlack,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    _: None,
) -> None:
    monkeypatch.setattr(slack_ledger, "RETRY_STORE", 0.5)  # seconds between tries of the store
    alone_before = metrics.REGISTRY.get_sample_value("chatops_slack_calls_paced_alone_total") or 0.0
    async with (
        postgres_schema("budgets") as url,
        DatabaseProxy(url) as database,
        two_replicas(kibana, slack, tmp_path, database.url, slack_replicas=2) as bots,
    ):
        limiters = [limiter_of(bot, BOTS) for bot in bots]
        posted = await bots[0].runtime.services.slack.chat_postMessage(channel="C0ALERTS", text="to update")
        stats = slack.limit_rates(SLACK)
        await database.cut()
        with caplog.at_level(logging.INFO, logger="bot.slack_ledger"):
            await updates(bots, posted["ts"], each=40)  # 80 updates, while PostgreSQL refuses connections
            shared_during = metrics.REGISTRY.get_sample_value("chatops_slack_budgets_shared")
            alone = [isinstance(lim.ledger, SharedLedger) and lim.ledger.alone for lim in limiters]
            await database.restore()
            await asyncio.sleep(0.6)  # past RETRY_STORE: the next call tries the store again
            await updates(bots, posted["ts"], each=1)
        outage_lines = [r.getMessage() for r in caplog.records if "did not answer" in r.getMessage()]
        back_lines = [r.getMessage() for r in caplog.records if "answers again after" in r.getMessage()]
        shared_after = [isinstance(lim.ledger, SharedLedger) and not lim.ledger.alone for lim in limiters]
    alone_calls = (metrics.REGISTRY.get_sample_value("chatops_slack_calls_paced_alone_total") or 0.0) - alone_before
    assert alone == [True, True] and shared_during == 0
    assert alone_calls == 80  # every call of the outage was paced in the replica, none was dropped
    # each at half of every budget: together still within Slack's, so no 429
    assert stats.calls["chat.update"] == 82
    assert stats.ratelimited["chat.update"] == 0 and stats.early_calls == 0
    assert len(outage_lines) == 2  # once per replica and outage, not once per call
    assert all("50% of each budget" in line for line in outage_lines)
    assert len(back_lines) == 2 and shared_after == [True, True]
    assert metrics.REGISTRY.get_sample_value("chatops_slack_budgets_shared") == 1


# ---- people ahead of background work ---------------------------------------------------------------------

RULES = 24
# Posts are not what this test is about: quick; and chat.update too while the alerts fire …
QUICK = SlackBudgets(
    tiers=tier_budgets(window=WINDOW),
    special={"chat.update": Budget(per_second=100.0, burst=20)},
    post_per_channel=Budget(per_second=50.0, burst=20),
    post_workspace=Budget(per_second=100.0, burst=50),
)
# … then 3 a second for the recovery wave, no burst
WAVE = dataclasses.replace(QUICK, special={"chat.update": Budget(per_second=3.0, burst=1)})


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery, "WAIT_FOR_SLACK", 0.2)  # deliveries answer 202 without waiting for Slack


def muted_all(rule: str) -> str:
    return f"muted all alerts of rule `{rule}`"


async def test_a_persons_click_updates_their_message_ahead_of_a_recovery_wave(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, database_url: str, quick: None
) -> None:
    settings = make_settings(kibana, slack, tmp_path, database_url=database_url, slack_reply_max_wait=5)
    kibana.add_rule(id="r0", name="Rule r0")
    async with running_bot(settings) as bot:
        limiter = limiter_of(bot, QUICK)
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        firing = [body for n in range(RULES) for body in storm(f"r{n}", range(2))]
        assert accepted(await kibana_sends(bot, firing))
        shown = await settled(slack, "C0ALERTS", {f"r{n}": (2, 0) for n in range(RULES)})
        await asyncio.sleep(0.5)  # nothing more to show
        before = len(slack.calls_to("chat.update"))

        # the recovery wave: 24 episodes close at once, 24 updates queue at 3 a second
        limiter.budgets = WAVE
        recovered = [body for n in range(RULES) for body in storm(f"r{n}", range(2), recovered=True)]
        assert accepted(await kibana_sends(bot, recovered))
        await slack.wait_for("chat.update", count=before + 3, timeout=10)
        clicked_at = len(slack.calls_to("chat.update"))
        rule = Target(rule_id="r0", space="default").pack()
        response = await driver.post(driver.block_action("rule_mute_all", rule, message=shown["r0"]))
        assert response.status_code == 200

        def persons_update() -> int | None:
            calls = slack.calls_to("chat.update")
            return next((n for n, c in enumerate(calls) if muted_all("r0") in str(c.params) and c.ok), None)

        at = await slack.wait_for(lambda: persons_update() is not None and persons_update(), timeout=10)
        await settled(slack, "C0ALERTS", {f"r{n}": (0, 2) for n in range(RULES)})  # the wave lands in full
        wave_updates = len(slack.calls_to("chat.update")) - before
    assert kibana.rule("r0")["mute_all"] is True
    # the person's update went ahead of the wave's queued updates: at least 10 of them went after it (without
    # people first, it went after all 24, or the person was told Slack is rate limiting)
    assert at >= clicked_at
    assert wave_updates - (at - before) >= 10
    told = [e.get("text", "") for e in slack.ephemerals]
    assert not any("rate limiting" in text for text in told)


async def test_when_the_update_cannot_go_in_time_the_person_is_told_and_the_message_catches_up(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path, quick: None
) -> None:
    settings = make_settings(kibana, slack, tmp_path, slack_reply_max_wait=1)
    kibana.add_rule(id="r1", name="Rule r1")
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        assert (await deliver(bot, storm("r1", range(1))[0])).status_code == 200
        [message] = top_level(slack)
        # Slack refuses the next chat.update and asks for 3 s: longer than the person's wait
        slack.fail("chat.update", "ratelimited", status=429, retry_after=3)
        rule = Target(rule_id="r1", space="default").pack()
        response = await driver.post(driver.block_action("rule_mute_all", rule, message=message))
        assert response.status_code == 200

        def told() -> list[str]:
            return [e["text"] for e in slack.ephemerals if "catch up" in e.get("text", "")]

        [sentence] = await slack.wait_for(told, timeout=10)
        refused = [c for c in slack.calls_to("chat.update") if c.status == 429]
        caught_up = await slack.wait_for(
            lambda: muted_all("r1") in all_text(slack.message("C0ALERTS", message["ts"]) or {}), timeout=15
        )
        receipts = [m["text"] for m in slack.thread("C0ALERTS", message["ts"]) if m["ts"] != message["ts"]]
    assert kibana.rule("r1")["mute_all"] is True
    assert re.fullmatch(
        r"Done: you muted all alerts of rule `r1`\. Slack is rate limiting message updates, so the message "
        r"will catch up \(in about \d+ s\)\.",
        sentence,
    )
    assert len(refused) == 1
    assert caught_up
    assert any(muted_all("r1") in text for text in receipts)  # the thread receipt, as always
