"""The bot's Slack limiter (bot/slack_limits.py, bot/slack_client.py) against the devkit's fake Slack over real HTTP,
with the fake's rate limits on: every call completes, none goes out before a Retry-After has
passed, the 429s Slack sent are the ones the limiter waited out, and a bounded wait becomes a
sentence. Budgets are scaled to one-second windows so that the tests are short; nothing here
asserts on how long anything took."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)

from bot.app import slack_client
from bot.settings import load_settings
from bot.slack_client import LimitedWebClient
from bot.slack_limits import (
    Budget,
    SlackBudgets,
    SlackLimiter,
    SlackRateLimited,
    parse_retry_after,
    reset_max_wait,
    set_max_wait,
    special_budgets,
    tier_budgets,
)
from devkit.fake_slack import FakeSlack, PerSecond, RateLimits, Window, slack_tiers
from handlers import build_catalog
from handlers.shared.errors import Doing, describe

# Slack's tiers with one-second windows: Tier 3 is 50 calls a second, Tier 4 100.
FAST_SLACK = RateLimits(
    tiers=slack_tiers(seconds=1.0),
    post_per_channel=PerSecond(rate=20.0, burst=3),
    post_workspace=Window(200, 1.0),
)
FAST_BOT = SlackBudgets(
    tiers=tier_budgets(window=1.0),
    special=special_budgets(window=1.0),
    post_per_channel=Budget(per_second=20.0, burst=2),
    post_workspace=Budget.per_minute(200, 10, window=1.0),
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as shared:
        yield shared


def client_for(slack: FakeSlack, session: aiohttp.ClientSession, budgets: SlackBudgets) -> LimitedWebClient:
    return LimitedWebClient(
        token=slack.bot_token, base_url=slack.api_url, session=session, limiter=SlackLimiter(budgets)
    )


async def post_and_update(client: LimitedWebClient, posts: int, updates: int) -> None:
    first = await client.chat_postMessage(channel="C0ALERTS", text="to update")
    await asyncio.gather(
        *(client.chat_postMessage(channel="C0ALERTS", text=f"post {i}") for i in range(posts - 1)),
        *(client.chat_update(channel="C0ALERTS", ts=first["ts"], text=f"update {i}") for i in range(updates)),
    )


async def test_within_slacks_budgets_every_call_completes_and_none_is_early(session: aiohttp.ClientSession) -> None:
    async with FakeSlack(rate_limits=FAST_SLACK) as slack:
        client = client_for(slack, session, FAST_BOT)
        await post_and_update(client, posts=40, updates=60)
        stats = slack.rate_limit_stats
        posted = [m["text"] for m in slack.channel_messages("C0ALERTS")]
    assert posted == ["update 59", *[f"post {i}" for i in range(39)]]  # in the order they were asked for
    assert all(call.ok or call.status == 429 for call in slack.calls)
    assert stats.early_calls == 0
    assert sum(1 for call in slack.calls if call.ok) == 100
    # each 429 the fake sent was seen, and waited out, by the limiter
    assert dict(client.limiter.ratelimited) == {m: n for m, n in stats.ratelimited.items() if n}
    assert dict(client.limiter.sent) == dict(stats.calls)


async def test_when_slack_is_stricter_its_429s_are_waited_out(session: aiohttp.ClientSession) -> None:
    """Another app, or a tier lower than documented: Slack refuses what the limiter let through,
    and the limiter waits each Retry-After and sends the call again; the callers just wait."""
    strict = RateLimits(
        tiers={tier: Window(8, 1.0) for tier in (1, 2, 3, 4)},
        post_per_channel=PerSecond(rate=4.0, burst=2),
        post_workspace=Window(200, 1.0),
    )
    async with FakeSlack(rate_limits=strict) as slack:
        client = client_for(slack, session, FAST_BOT)
        await post_and_update(client, posts=10, updates=20)
        stats = slack.rate_limit_stats
    assert stats.total_ratelimited > 0  # the fake is stricter than the limiter's budgets, so it refused some
    assert stats.early_calls == 0
    assert sum(1 for call in slack.calls if call.ok) == 30
    assert dict(client.limiter.ratelimited) == {m: n for m, n in stats.ratelimited.items() if n}


async def test_a_bounded_wait_becomes_a_sentence_and_sends_nothing_early(session: aiohttp.ClientSession) -> None:
    async with FakeSlack(rate_limits=FAST_SLACK) as slack:
        client = client_for(slack, session, FAST_BOT)
        posted = await client.chat_postMessage(channel="C0ALERTS", text="x")
        slack.fail("chat.update", "ratelimited", status=429, retry_after=30)
        answering = set_max_wait(2.0)  # as ChatOpsApp does for every Slack request
        try:
            with pytest.raises(SlackRateLimited) as raised:
                await client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="y")
            sent = len(slack.calls_to("chat.update"))
            with pytest.raises(SlackRateLimited) as again:
                await client.chat_update(channel="C0ALERTS", ts=posted["ts"], text="z")
        finally:
            reset_max_wait(answering)
        assert len(slack.calls_to("chat.update")) == sent == 1  # the second one never went out
        # other methods are not held up by chat.update's Retry-After
        await client.chat_postMessage(channel="C0ALERTS", text="still fine")
    assert str(raised.value) == "Slack is rate limiting chat.update; try again in 30 s."
    assert again.value.method == "chat.update" and 0 < again.value.retry_in <= 30
    # shaped like Slack's own 429, so code that handles Slack's errors handles it
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert describe(raised.value, Doing(command="/kibana", explain=build_catalog().explain)).startswith(
        "Slack is rate limiting chat.update; try again in 30 s."
    )


async def test_a_bounded_caller_behind_a_long_queue_is_told_at_once(session: aiohttp.ClientSession) -> None:
    slow = SlackBudgets(tiers={tier: Budget(per_second=1.0, burst=1) for tier in (1, 2, 3, 4)}, special={})
    async with FakeSlack() as slack:
        client = client_for(slack, session, slow)
        queued = [asyncio.create_task(client.auth_test()) for _ in range(5)]
        await asyncio.sleep(0)
        answering = set_max_wait(1.5)
        try:
            with pytest.raises(SlackRateLimited) as raised:
                await client.auth_test()
        finally:
            reset_max_wait(answering)
        for task in queued:
            task.cancel()
        await asyncio.gather(*queued, return_exceptions=True)
    assert raised.value.method == "auth.test"
    assert raised.value.retry_in > 1.5


def test_slack_sdks_429_retries_are_not_used() -> None:
    assert [type(h) for h in LimitedWebClient(token="xoxb-x").retry_handlers] == [AsyncConnectionErrorRetryHandler]
    client = LimitedWebClient(token="xoxb-x", retry_handlers=[AsyncRateLimitErrorRetryHandler()])
    assert not any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers)
    sibling = client.sibling(token="xoxb-x", team_id="T1")
    assert sibling.limiter is client.limiter
    assert not any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in sibling.retry_handlers)


def test_budgets_never_exceed_the_tier_in_a_window() -> None:
    for calls, burst in ((20, 2), (50, 5), (100, 10), (1, 1)):
        budget = Budget.per_minute(calls, burst)
        assert budget.burst + budget.per_second * 60 <= calls + (1 if calls == 1 else 0)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"Retry-After": "12"}, 12.0), ({"retry-after": ["3"]}, 3.0), ({"Retry-After": "soon"}, 1.0), ({}, 1.0)],
)
def test_retry_after_is_read_like_slack_sends_it(headers: dict[str, object], seconds: float) -> None:
    assert parse_retry_after(headers) == seconds


def test_the_workspace_wide_post_cap_comes_from_the_settings() -> None:
    settings = load_settings(
        slack_bot_token="xoxb-settings", slack_signing_secret="s", slack_posts_per_minute=60, _env_file=None
    )
    client = slack_client(settings)
    assert client.limiter.budgets.post_workspace == Budget.per_minute(60, 10)
    assert load_settings(slack_bot_token="xoxb-settings", _env_file=None).slack_reply_max_wait == 10


async def test_unpaced_calls_still_wait_out_slacks_429s(session: aiohttp.ClientSession) -> None:
    settings = load_settings(slack_bot_token="xoxb-settings", slack_pacing=False, _env_file=None)
    assert slack_client(settings).limiter.budgets == SlackBudgets.unpaced()
    strict = RateLimits(tiers={tier: Window(8, 1.0) for tier in (1, 2, 3, 4)})
    async with FakeSlack(rate_limits=strict) as slack:
        client = client_for(slack, session, SlackBudgets.unpaced())
        first = await client.chat_postMessage(channel="C0ALERTS", text="x")
        await asyncio.gather(*(client.chat_update(channel="C0ALERTS", ts=first["ts"], text=f"{i}") for i in range(12)))
        stats = slack.rate_limit_stats
    assert stats.ratelimited["chat.update"] >= 1  # 12 calls against a window of 8, nothing paced
    assert stats.early_calls == 0
    assert sum(1 for call in slack.calls_to("chat.update") if call.ok) == 12
