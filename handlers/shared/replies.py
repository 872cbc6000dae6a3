"""Every way the bot answers in Slack, through one helper on the shared aiohttp session.

- `to_response_url`: a reply through a command's or an interaction's `response_url`
  (ephemeral or in the channel, new or replacing the original);
- `post`, `update`, `ephemeral`: the Web API (a message, in a thread or not; an edit; a
  message only one person sees) — every Web API post of the bot, so that each unfurls as
  `UNFURL_LINKS` says, and a channel Slack refuses (handlers/shared/channels.py) raises `ChannelRefused`, whose
  hint names the bot as `auth.test` does;
- `privately` / `publicly`: the person's answer on the best surface they have, falling back
  to the next one when Slack refuses (an expired response_url, a channel the bot is not in).

A reply that carries a secret (a new agent key) passes `secret=True`: its client logs through
a logger set to WARNING, so slack_sdk never formats the body into any log record.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack_identity import BotUser
from handlers.shared.blocks import Block
from handlers.shared.channels import CHANNEL_ERRORS, ChannelRefused

log = logging.getLogger(__name__)

# Its own level (not the root's) decides whether slack_sdk formats the request body at all.
_SECRET_SAFE = logging.getLogger("kibana_chatops.secret_replies")
_SECRET_SAFE.setLevel(logging.WARNING)

REPLY_TIMEOUT = 10  # seconds for a response_url post
# Whether the bot's posts unfurl their links: no (a preview of each rule or case link would fill the channel).
UNFURL_LINKS = False


class ReplyFailed(RuntimeError):
    """Slack did not accept a response_url post (expired, used too often, bad blocks)."""


@dataclass(frozen=True)
class Surface:
    """Where one person can be answered: the response_url they came with, their channel and thread."""

    user: str
    channel: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None


def slack_origin_allows(api_url: str, url: str) -> bool:
    """Whether `url` is on Slack's host, as derived from the Web API's base URL (SLACK_API_URL):
    that very host (scheme and port too), or an https subdomain of it (hooks.slack.com for
    slack.com). Nothing else is ever followed, whatever a request's `response_url` says."""
    try:
        api, given = urlsplit(api_url), urlsplit(url)
        api_port, given_port = api.port, given.port
    except ValueError:
        return False
    if not api.hostname or not given.hostname or given.username or given.password:
        return False
    if (given.scheme, given.hostname, given_port) == (api.scheme, api.hostname, api_port):
        return True
    return given.scheme == "https" and given_port in (None, 443) and given.hostname.endswith("." + api.hostname)


class Replies:
    def __init__(self, slack: AsyncWebClient, session: aiohttp.ClientSession | None, bot_user: BotUser) -> None:
        self.slack = slack
        self._session = session
        self._api_url = str(slack.base_url)
        self._bot_user = bot_user

    def follows(self, url: str) -> bool:
        """Whether a response_url is one the bot posts to (Slack's host only)."""
        return slack_origin_allows(self._api_url, url)

    async def to_response_url(
        self,
        url: str,
        text: str,
        *,
        blocks: list[Block] | None = None,
        public: bool = False,
        replace: bool = False,
        secret: bool = False,
    ) -> None:
        if not self.follows(url):
            log.warning("refused to follow a response_url that is not on Slack's host")
            raise ReplyFailed("the response_url is not on Slack's host")
        client = AsyncWebhookClient(
            url, session=self._session, timeout=REPLY_TIMEOUT, logger=_SECRET_SAFE if secret else None
        )
        response = await client.send(
            text=text,
            blocks=blocks,
            response_type="in_channel" if public else "ephemeral",
            replace_original=replace,
        )
        if response.status_code != 200:
            raise ReplyFailed(f"Slack answered {response.status_code} to a response_url post")

    @contextlib.contextmanager
    def _channel_errors(self) -> Iterator[None]:
        """An error Slack gives for the channel (CHANNEL_ERRORS) becomes `ChannelRefused`, naming the bot."""
        try:
            yield
        except SlackApiError as error:
            if str(error.response.get("error", "")) in CHANNEL_ERRORS:
                raise ChannelRefused(error, self._bot_user.name) from error
            raise

    async def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[Block] | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        """`metadata`: Slack's message metadata (`{"event_type": …, "event_payload": {…}}`)."""
        with self._channel_errors():
            return await self.slack.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=UNFURL_LINKS,
                metadata=metadata,
            )

    async def update(self, channel: str, ts: str, text: str, *, blocks: list[Block] | None = None) -> None:
        with self._channel_errors():
            await self.slack.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def ephemeral(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        blocks: list[Block] | None = None,
        thread_ts: str | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        with self._channel_errors():
            await self.slack.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks, **kwargs)

    async def privately(self, to: Surface, text: str, *, blocks: list[Block] | None = None) -> bool:
        """Only the person sees it: through the response_url, else an ephemeral message. False if neither took it."""
        if to.response_url and await self._try_response_url(to.response_url, text, blocks=blocks, public=False):
            return True
        if to.channel:
            try:
                await self.ephemeral(to.channel, to.user, text, blocks=blocks, thread_ts=to.thread_ts)
                return True
            except SlackApiError as error:
                log.info("could not tell %s in %s: %s", to.user, to.channel, error.response.get("error"))
        log.warning("could not tell %s privately; the message is lost", to.user)
        return False

    async def publicly(self, to: Surface, text: str, *, via_response_url: bool = False) -> bool:
        """Everyone sees it: in the channel (the thread, when there is one); when the bot may not post
        there, through the response_url in the channel if `via_response_url`, and failing that only
        the person is told."""
        if to.channel:
            try:
                await self.post(to.channel, text, thread_ts=to.thread_ts)
                return True
            except SlackApiError as error:
                log.info("could not post in %s: %s", to.channel, error.response.get("error"))
        if via_response_url and to.response_url and await self._try_response_url(to.response_url, text, public=True):
            return True
        return await self.privately(to, text)

    async def _try_response_url(self, url: str, text: str, *, blocks: list[Block] | None = None, public: bool) -> bool:
        try:
            await self.to_response_url(url, text, blocks=blocks, public=public)
        except Exception:  # an expired or unreachable response_url: the caller tries the next surface
            log.info("response_url did not take the message", exc_info=True)
            return False
        return True
