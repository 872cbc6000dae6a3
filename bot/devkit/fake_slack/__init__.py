"""A fake Slack for tests and demos: Web API, response_url sink, files, Socket Mode.

async with FakeSlack() as slack:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
"""

from bot.devkit.fake_slack.records import ApiCall, ResponseUrlPost
from bot.devkit.fake_slack.server import FakeSlack

__all__ = ["ApiCall", "FakeSlack", "ResponseUrlPost"]
