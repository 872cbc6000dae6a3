"""Bolt's last-resort error handler: whatever escaped a listener is logged under a
reference id, and the person gets a sentence instead of Slack's generic failure."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.services import Services
from handlers.errors import describe

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        text = describe(error)
        response_url = body.get("response_url") if isinstance(body, dict) else None
        if response_url:
            try:
                await AsyncWebhookClient(response_url).send(
                    text=text, response_type="ephemeral", replace_original=False
                )
            except Exception:
                log.exception("could not report an error to the user")
