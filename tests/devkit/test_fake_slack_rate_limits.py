"""The fake Slack's rate limits: off by default; when a test turns them on, Slack's answers over a
limit (429, Retry-After in whole seconds, `ratelimited`), per method and per channel for
chat.postMessage, and the counts a test reads (calls, 429s, early calls)."""

from __future__ import annotations

from typing import Any

import aiohttp

from devkit.fake_slack import FakeSlack, PerSecond, RateLimits, Window, slack_tiers


async def call(session: aiohttp.ClientSession, slack: FakeSlack, method: str, **args: Any) -> tuple[int, Any, Any]:
    async with session.post(
        f"{slack.api_url}{method}", json=args, headers={"Authorization": f"Bearer {slack.bot_token}"}
    ) as response:
        return response.status, response.headers.get("Retry-After"), await response.json()


async def test_off_by_default() -> None:
    async with FakeSlack() as slack, aiohttp.ClientSession() as session:
        answers = [await call(session, slack, "auth.test") for _ in range(120)]
        assert {status for status, _, _ in answers} == {200}
        assert slack.rate_limit_stats.calls == {}


async def test_a_tier_window_then_slacks_429() -> None:
    async with FakeSlack(rate_limits=True) as slack, aiohttp.ClientSession() as session:
        answers = [await call(session, slack, "auth.test") for _ in range(101)]  # auth.test: Tier 4, 100 a minute
        assert [status for status, _, _ in answers[:100]] == [200] * 100
        status, retry_after, body = answers[100]
        assert status == 429
        assert body == {"ok": False, "error": "ratelimited"}
        assert retry_after is not None and retry_after.isdigit() and 1 <= int(retry_after) <= 60
        stats = slack.rate_limit_stats
        assert stats.calls["auth.test"] == 101
        assert stats.ratelimited["auth.test"] == 1
        assert stats.early_calls == 0


async def test_calls_before_retry_after_are_early_and_refused_again() -> None:
    limits = RateLimits(tiers=slack_tiers(seconds=30.0))
    async with FakeSlack(rate_limits=limits) as slack, aiohttp.ClientSession() as session:
        for _ in range(20):  # usergroups.users.list: Tier 2, 20 in the window
            assert (await call(session, slack, "usergroups.users.list", usergroup="S1"))[0] == 200
        refused = await call(session, slack, "usergroups.users.list", usergroup="S1")
        early = await call(session, slack, "usergroups.users.list", usergroup="S1")
        other = await call(session, slack, "auth.test")
    assert refused[0] == 429 and early[0] == 429
    assert int(early[1]) <= int(refused[1])
    assert other[0] == 200  # limits are per method
    stats = slack.rate_limit_stats
    assert stats.ratelimited["usergroups.users.list"] == 2
    assert stats.early_calls == 1
    assert stats.early[0].method == "usergroups.users.list"


async def test_post_message_is_limited_per_channel_with_a_burst() -> None:
    limits = RateLimits(post_per_channel=PerSecond(rate=0.1, burst=3), post_workspace=Window(100, 60.0))
    async with FakeSlack(rate_limits=limits) as slack, aiohttp.ClientSession() as session:
        slack.add_channel("C0OTHER", "other")
        first = [await call(session, slack, "chat.postMessage", channel="C0ALERTS", text=f"m{i}") for i in range(4)]
        elsewhere = await call(session, slack, "chat.postMessage", channel="C0OTHER", text="x")
        again = await call(session, slack, "chat.postMessage", channel="C0ALERTS", text="early")
    assert [status for status, _, _ in first] == [200, 200, 200, 429]
    assert first[3][2] == {"ok": False, "error": "ratelimited"}
    assert elsewhere[0] == 200
    assert again[0] == 429
    assert [m["text"] for m in slack.channel_messages("C0ALERTS")] == ["m0", "m1", "m2"]
    stats = slack.rate_limit_stats
    assert stats.calls["chat.postMessage"] == 6
    assert stats.ratelimited["chat.postMessage"] == 2
    assert [(e.method, e.channel) for e in stats.early] == [("chat.postMessage", "C0ALERTS")]


async def test_the_workspace_wide_post_limit() -> None:
    limits = RateLimits(post_per_channel=PerSecond(rate=10, burst=10), post_workspace=Window(3, 60.0))
    async with FakeSlack(rate_limits=limits) as slack, aiohttp.ClientSession() as session:
        for channel in ("C1", "C2", "C3", "C4"):
            slack.add_channel(channel, channel.lower())
        channels = ("C1", "C2", "C3", "C4")
        answers = [await call(session, slack, "chat.postMessage", channel=c, text="x") for c in channels]
    assert [status for status, _, _ in answers] == [200, 200, 200, 429]


async def test_limits_can_be_turned_on_and_off() -> None:
    async with FakeSlack() as slack, aiohttp.ClientSession() as session:
        stats = slack.limit_rates(RateLimits(tiers={tier: Window(1, 60.0) for tier in (1, 2, 3, 4)}))
        assert (await call(session, slack, "auth.test"))[0] == 200
        assert (await call(session, slack, "auth.test"))[0] == 429
        assert stats.ratelimited["auth.test"] == 1
        slack.unlimit_rates()
        assert (await call(session, slack, "auth.test"))[0] == 200
