"""Bolt's last-resort error handler: whatever escaped a listener is logged under a
reference id, and the person gets a sentence instead of Slack's generic failure."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from handlers.shared.errors import Doing, describe
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)


def error_handler(replies: Replies, command: str) -> Callable[[Exception, dict[str, Any]], Awaitable[None]]:
    """`command`: the slash command (SLACK_COMMAND), for the sentences that name it."""

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        text = describe(error, Doing(command=command))
        response_url = body.get("response_url") if isinstance(body, dict) else None
        if response_url:
            try:
                await replies.to_response_url(response_url, text)
            except Exception:
                log.exception("could not report an error to the user")

    return on_error
