"""A fake Slack for tests and demos: Web API, response_url sink, files, Socket Mode.

async with FakeSlack() as slack:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)

Slack's rate limits are off unless asked for: `FakeSlack(rate_limits=True)`, or
`FakeSlack(rate_limits=RateLimits(...))` with budgets of a test's own (see rate_limits.py);
`slack.rate_limit_stats` then has the calls and 429s by method and the early calls.
"""

from devkit.fake_slack.rate_limits import PerSecond, RateLimits, RateLimitStats, Window, slack_tiers
from devkit.fake_slack.records import ApiCall, ResponseUrlPost
from devkit.fake_slack.server import FakeSlack

__all__ = [
    "ApiCall",
    "FakeSlack",
    "PerSecond",
    "RateLimitStats",
    "RateLimits",
    "ResponseUrlPost",
    "Window",
    "slack_tiers",
]
