"""Bolt's last-resort error handler: whatever escaped a listener is logged under a
reference id, and the person gets a sentence instead of Slack's generic failure."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.context.async_context import AsyncBoltContext

from handlers.shared.errors import Doing, Explain, describe
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)


def error_handler(
    replies: Replies, command: str, explain: Explain
) -> Callable[[Exception, AsyncBoltContext], Awaitable[None]]:
    """`command`: the slash command (SLACK_COMMAND), for the sentences that name it; `explain`: the
    features' sentences for Kibana's errors (the catalog's)."""

    async def on_error(error: Exception, context: AsyncBoltContext) -> None:
        text = describe(error, Doing(command=command, explain=explain))
        response_url = context.response_url  # Bolt's, read from the request it failed on
        if response_url:
            try:
                await replies.to_response_url(response_url, text)
            except Exception:
                log.exception("could not report an error to the user")

    return on_error
