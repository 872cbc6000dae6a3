"""The running bot's Slack calls go through its limiter, Bolt's own included (the per-request
`client` behind listeners and `say`, and Bolt's auth.test), against the fake Slack with its rate
limits on; a person whose answer would wait too long for Slack's rate limit is told so."""

from __future__ import annotations

from pathlib import Path

from bot.slack_client import LimitedWebClient
from devkit.fake_kibana import FakeKibana
from devkit.fake_slack import FakeSlack, RateLimits, Window, slack_tiers
from devkit.harness import running_bot
from devkit.slack_driver import SlackDriver
from tests.e2e.conftest import SIGNING_SECRET, make_settings


async def test_bolts_calls_go_through_the_limiter_and_slacks_429_is_waited_out(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    # views.open: one call per 2 s window; the bot's own budget for it (Tier 4) is far larger, so the
    # second form's views.open is refused by Slack, waited out (Retry-After) and sent again.
    tiers = {**slack_tiers(), 4: Window(1, 2.0)}
    slack.limit_rates(RateLimits(tiers=tiers))
    slack.trigger_ttl = 10.0
    settings = make_settings(kibana, slack, tmp_path)
    async with running_bot(settings) as bot:
        client = bot.runtime.services.slack
        assert isinstance(client, LimitedWebClient)
        assert bot.runtime.app.client is client
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        for title in ("First incident", "Second incident"):
            response = await driver.post(driver.slash_command(f"case {title}"))
            assert response.status_code == 200
        opened = await slack.wait_for(lambda: [c for c in slack.calls_to("views.open") if c.ok][1:], timeout=15)
        limiter = client.limiter
    assert len(opened) == 1
    stats = slack.rate_limit_stats
    assert stats.ratelimited["views.open"] >= 1
    assert stats.early_calls == 0
    assert limiter.ratelimited["views.open"] == stats.ratelimited["views.open"]
    assert limiter.sent["views.open"] == len(slack.calls_to("views.open"))
    # Bolt's single-workspace authorization (auth.test, made by Bolt itself) went through it too
    assert limiter.sent["auth.test"] == len(slack.calls_to("auth.test")) >= 1


async def test_a_person_is_told_when_slack_rate_limits_their_answer(
    kibana: FakeKibana, slack: FakeSlack, tmp_path: Path
) -> None:
    settings = make_settings(kibana, slack, tmp_path, slack_reply_max_wait=2)
    async with running_bot(settings) as bot:
        driver = SlackDriver(signing_secret=SIGNING_SECRET, events_url=bot.events_url, fake_slack=slack)
        slack.fail("views.open", "ratelimited", status=429, retry_after=45)
        before = len(slack.responses)
        response = await driver.post(driver.slash_command("case Checkout is slow"))
        assert response.status_code == 200
        await slack.wait_for(lambda: len(slack.responses) > before, timeout=10)
        [answer] = slack.responses[before:]
    assert answer.body["response_type"] == "ephemeral"
    assert "Slack is rate limiting views.open; try again in 45 s." in answer.body["text"]
    assert len(slack.calls_to("views.open")) == 1  # nothing was sent again before Retry-After
