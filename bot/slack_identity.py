"""Who the bot is in Slack, from the one `auth.test` the process makes.

Bolt's single-workspace authorization (`OneAuthTest`, bot/request_context.py) asks Slack through
`BotUser.ask` before the first request is handled, however many requests arrive at once; whatever
names the bot to a person (`/invite @name`) reads that answer here instead of asking again.
"""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse


class BotUser:
    """The bot's Slack user, as `auth.test` describes it (unknown until Slack has answered)."""

    def __init__(self) -> None:
        self.answer: AsyncSlackResponse | None = None
        self._asking = asyncio.Lock()

    async def ask(self, client: AsyncWebClient) -> AsyncSlackResponse:
        """Slack's answer to `auth.test`, asked once: callers that come while it is asked wait for it."""
        if self.answer is None:
            async with self._asking:
                if self.answer is None:
                    self.answer = await client.auth_test()
        return self.answer

    @property
    def name(self) -> str | None:
        """The bot user's name (auth.test's `user`), the one `/invite @name` takes; None until Slack said."""
        name = self.answer.get("user") if self.answer is not None else None
        return str(name) if name else None
