"""Bolt's last-resort error handler names the slash command the bot is configured with (SLACK_COMMAND)."""

from __future__ import annotations

from typing import Any, cast

from slack_bolt.context.async_context import AsyncBoltContext

from handlers import build_catalog
from handlers.shared.grammar import UsageError
from handlers.shared.last_resort import error_handler
from handlers.shared.replies import Replies


class Told:
    """In the reply helper's place: keeps what it would post to a response_url."""

    def __init__(self) -> None:
        self.told: list[str] = []

    async def to_response_url(self, url: str, text: str, **_: Any) -> None:
        self.told.append(text)


async def test_the_last_resort_names_slack_command() -> None:
    replies = Told()
    on_error = error_handler(cast(Replies, replies), "/ops", build_catalog().explain)
    await on_error(
        UsageError("That is not a command I know."), AsyncBoltContext({"response_url": "https://hooks.slack.com/x"})
    )
    [text] = replies.told
    assert "Try `/ops help`." in text and "/kibana" not in text
