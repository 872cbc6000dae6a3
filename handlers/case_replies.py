"""Telling people about a case: the link in the message's thread (or the command's channel),
and errors privately to the person, on the surface they came from."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.services import Services
from handlers.case_form import CaseOrigin
from handlers.context import Actor

log = logging.getLogger(__name__)


async def announce(services: Services, origin: CaseOrigin, actor: Actor, text: str) -> None:
    """Post `text` where everyone sees it: the message's thread, or the command's channel.

    When the bot may not post there (not a member), the command's response_url still can,
    and failing that the person alone is told."""
    if origin.channel:
        try:
            await services.slack.chat_postMessage(
                channel=origin.channel, thread_ts=origin.reply_ts, text=text, unfurl_links=False
            )
            return
        except SlackApiError as error:
            log.info("could not post the case link in %s: %s", origin.channel, error.response.get("error"))
    public_url = origin.response_url if origin.kind == "command" else None
    if public_url and await _respond(public_url, text, public=True):
        return
    await tell(services, origin, actor, text)


async def tell(services: Services, origin: CaseOrigin, actor: Actor, text: str) -> None:
    """Only the person sees it: through the response_url, else an ephemeral message."""
    if origin.response_url and await _respond(origin.response_url, text, public=False):
        return
    if origin.channel:
        try:
            await services.slack.chat_postEphemeral(
                channel=origin.channel, user=actor.user_id, text=text, thread_ts=origin.reply_ts
            )
            return
        except SlackApiError as error:
            log.info("could not tell %s in %s: %s", actor.user_id, origin.channel, error.response.get("error"))
    log.warning("could not tell %s: %s", actor.user_id, text)


async def _respond(response_url: str, text: str, *, public: bool) -> bool:
    try:
        response = await AsyncWebhookClient(response_url).send(
            text=text, response_type="in_channel" if public else "ephemeral", replace_original=False
        )
    except Exception:  # an expired or unreachable response_url: try the next surface
        log.info("response_url did not take the message", exc_info=True)
        return False
    return response.status_code == 200
