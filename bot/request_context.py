"""Per-request plumbing around Bolt: request ids, Slack request metrics and event de-duplication.

- `ChatOpsApp` is the Bolt `AsyncApp` with a timed `async_dispatch`: every Slack request, over
  HTTP or Socket Mode, is counted and its time to acknowledgement observed (Bolt returns from
  dispatch as soon as the listener acks), and Socket Mode requests get a request id (HTTP
  requests get theirs in the Starlette endpoint, before the body is even read).
- `install_event_dedupe` adds a global middleware (it runs after Bolt's signature check) that
  records every Events API `event_id` in the store and acknowledges a repeat without running
  any listener: Slack retries an event it thinks was missed (`X-Slack-Retry-Num` > 0 over
  HTTP, `retry_attempt` > 0 in Socket Mode) even when the first delivery was handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from starlette.requests import ClientDisconnect, Request

from bot import metrics
from bot.failure_log import FailureLog
from bot.logs import request_id
from bot.slack_client import LimitedWebClient
from bot.slack_identity import BotUser
from bot.slack_limits import reset_max_wait, set_max_wait

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)
_failures = FailureLog(log)

# Request kinds used as a metric label (a closed set, so the label cannot grow without bound).
KINDS = {
    "block_actions",
    "block_suggestion",
    "event_callback",
    "message_action",
    "shortcut",
    "ssl_check",
    "url_verification",
    "view_closed",
    "view_submission",
}


def new_request_id() -> str:
    """A short random id that ties together the log lines of one request."""
    return secrets.token_hex(4)


def start_request(given: str | None = None) -> contextvars.Token[str]:
    """Give the current task (and the tasks it starts) a request id; returns the token to reset it."""
    return request_id.set(given or new_request_id())


def request_kind(body: dict[str, Any]) -> str:
    if "command" in body and "type" not in body:
        return "slash_command"
    if body.get("ssl_check"):
        return "ssl_check"
    kind = body.get("type")
    return kind if isinstance(kind, str) and kind in KINDS else "other"


def mode_label(req: AsyncBoltRequest) -> str:
    return "socket" if req.mode == "socket_mode" else "http"


def retry_number(req: AsyncBoltRequest) -> int:
    """Slack's retry count: `X-Slack-Retry-Num` over HTTP; Bolt copies Socket Mode's retry_attempt there."""
    values = req.headers.get("x-slack-retry-num") or ["0"]
    value = str(values[0]).strip()
    return int(value) if value.isdigit() else 0


# What Bolt's AsyncApp reads from the environment when its constructor is not given it. The bot
# gives Bolt everything from its own settings, so Bolt must not configure itself behind their back:
# SLACK_BOT_TOKEN next to the bot's `client` made every start warn "As you gave client as well,
# token will be unused", and SLACK_CLIENT_ID with SLACK_CLIENT_SECRET would switch Bolt to OAuth
# installations, under which no request of this single-workspace bot is authorised.
BOLT_ENVIRONMENT = ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")


@contextlib.contextmanager
def hidden_environment(names: tuple[str, ...]) -> Iterator[None]:
    """`names` absent from os.environ inside the block (for a synchronous constructor), then restored."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class OneAuthTest(AsyncSingleTeamAuthorization):
    """Bolt's single-workspace authorization, with one `auth.test` however many requests arrive
    before Slack has answered it. Bolt's own calls `auth.test` for each of them, before their ack:
    after a restart, a burst of requests was a burst of `auth.test` calls, which the Slack limiter
    then refused ("Slack is rate limiting auth.test"), and those people got an error instead of an
    answer (25 of the first 50 commands in the `ack` benchmark). The others now wait for the one,
    asked through `bot_user` (bot/slack_identity.py), which keeps the answer for whoever names the bot."""

    def __init__(self, *, bot_user: BotUser, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bot_user = bot_user

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        if self.auth_test_result is None or self.bot_user.answer is None:
            # on failure Bolt's own attempt, below, asks again, logs it and tells the person
            with contextlib.suppress(SlackApiError):
                self.auth_test_result = await self.bot_user.ask(req.context.client)
        return await super().async_process(req=req, resp=resp, next=next)


class ChatOpsApp(AsyncApp):
    """Bolt's AsyncApp, with every dispatched request counted, timed and given a request id.

    Configured only by its arguments: Bolt's environment fallbacks (BOLT_ENVIRONMENT) are not read.
    """

    def __init__(self, *, reply_max_wait: float | None = None, bot_user: BotUser | None = None, **kwargs: Any) -> None:
        self.reply_max_wait = reply_max_wait
        with hidden_environment(BOLT_ENVIRONMENT):
            super().__init__(**kwargs)
        middleware = self._async_middleware_list
        for n, step in enumerate(middleware):
            if type(step) is AsyncSingleTeamAuthorization:
                middleware[n] = OneAuthTest(
                    bot_user=bot_user or BotUser(),
                    base_logger=self._base_logger,
                    user_facing_authorize_error_message=step.user_facing_authorize_error_message,
                )

    def _init_context(self, req: AsyncBoltRequest) -> None:
        """Bolt gives every request a new AsyncWebClient (`context.client`, behind `say` and the
        listeners' `client`); with the bot's LimitedWebClient, it is a copy sharing its limiter."""
        super()._init_context(req)
        client = self._async_client
        if isinstance(client, LimitedWebClient):
            req.context["client"] = client.sibling(token=req.context.get("token"), team_id=req.context.team_id)

    async def async_dispatch(self, req: AsyncBoltRequest) -> BoltResponse:
        token = start_request() if req.mode == "socket_mode" else None
        # Everything a Slack request starts answers a person: its Web API calls wait for Slack's
        # rate limit at most reply_max_wait, then say so (tasks started from here inherit it).
        wait_token = set_max_wait(self.reply_max_wait)
        started = time.perf_counter()
        mode, kind = mode_label(req), request_kind(req.body)
        status = "error"
        try:
            response = await super().async_dispatch(req)
            status = str(response.status)
            return response
        finally:
            metrics.SLACK_ACK_SECONDS.labels(mode, kind).observe(time.perf_counter() - started)
            metrics.SLACK_REQUESTS.labels(mode, kind, status).inc()
            reset_max_wait(wait_token)
            if token is not None:
                request_id.reset(token)


Next = Callable[[], Awaitable[None]]


def install_event_dedupe(app: AsyncApp, store: Store) -> None:
    """Acknowledge, and skip, an Events API delivery whose event_id was already handled.

    No listener handles an event today (the manifest subscribes to none). It stays for the first
    ones, which issue 29 adds: App Home (`app_home_opened`) and unfurls (`link_shared`)."""

    async def dedupe_events(
        body: dict[str, Any],
        request: AsyncBoltRequest,
        response: BoltResponse,
        next: Next,
    ) -> BoltResponse:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not isinstance(event_id, str) or not event_id:
            await next()
            return response
        retry = retry_number(request)
        try:
            seen = await store.seen_slack_event(event_id)
        except Exception as error:  # a store failure must not drop the event: handle it (maybe twice)
            _failures.failed("event check", "could not check Slack events for repeats; handling them", error=error)
            await next()
            return response
        if not seen:
            await next()
            return response
        log.info("Slack event %s already handled; skipping the repeat (retry %d)", event_id, retry)
        metrics.SLACK_EVENT_REPEATS.labels(mode_label(request)).inc()
        return BoltResponse(status=200, body="")

    app.middleware(dedupe_events)


class BodyNotReceived(Exception):
    """The client did not send the whole body: too slowly (408) or it went away (400)."""

    def __init__(self, reason: str, status: int, message: str) -> None:
        super().__init__(message)
        self.reason, self.status, self.message = reason, status, message


async def read_limited(request: Request, limit: int, *, deadline: float | None = None) -> bytes | None:
    """The body, or None when it is larger than `limit` bytes (with or without Content-Length).

    With `deadline`, the whole body must arrive within that many seconds; a slower one, or one the
    client abandons, raises BodyNotReceived and is logged as one line (never a traceback)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return None
                chunks.append(chunk)
    except TimeoutError:
        log.warning(
            "%s %s: the body did not arrive within %g s (%d bytes came)",
            request.method,
            request.url.path,
            deadline or 0,
            size,
        )
        raise BodyNotReceived("body_timeout", 408, "the request body did not arrive in time") from None
    except ClientDisconnect:
        log.info("%s %s: the client went away during the body (%d bytes came)", request.method, request.url.path, size)
        raise BodyNotReceived("body_aborted", 400, "the request body was not sent completely") from None
    return b"".join(chunks)
