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
from slack_bolt.middleware.authorization.internals import _is_no_auth_required, _is_no_auth_test_call_required
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


# What a person is told when Slack did not answer the bot's `auth.test`, which Bolt asks before it
# handles any request. Bolt's own sentence ("your installation with this app is no longer available.
# Please reinstall this app") sent people to reinstall the app during a Slack outage.
SLACK_FAILING = (
    ":warning: Slack is failing right now: it did not answer the bot ({cause}), so nothing was done. "
    "Try again in a few minutes; https://slack-status.com says whether Slack knows."
)
# … and when Slack answered, refusing the bot's token: that one is for an admin.
CREDENTIAL_REFUSED = (
    ":warning: Slack refused the bot's token (`{cause}`), so nothing was done. An admin must check "
    "SLACK_BOT_TOKEN (`python -m bot check` says what is wrong); if the app was uninstalled, reinstall it."
)
# … and when Slack (or the bot's own pacing of Slack) says wait.
SLACK_LIMITING = ":hourglass: Slack is rate-limiting the bot right now, so nothing was done. Try again in a minute."
REFUSED_CREDENTIAL = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}


def authorize_failure(error: BaseException) -> str:
    """The sentence for a person whose request could not be authorized because `auth.test` failed."""
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error") or "")
        if code in REFUSED_CREDENTIAL:
            return CREDENTIAL_REFUSED.format(cause=code)
        if code == "ratelimited":
            return SLACK_LIMITING
        status = getattr(error.response, "status_code", None)
        cause = f"`{code}`" if code else "no answer"
        return SLACK_FAILING.format(cause=f"{cause}, HTTP {status}" if status and status != 200 else cause)
    return SLACK_FAILING.format(cause=f"no answer: {type(error).__name__}")


class OneAuthTest(AsyncSingleTeamAuthorization):
    """Bolt's single-workspace authorization, with one `auth.test` however many requests arrive
    before Slack has answered it. Bolt's own calls `auth.test` for each of them, before their ack:
    after a restart, a burst of requests was a burst of `auth.test` calls, which the Slack limiter
    then refused ("Slack is rate limiting auth.test"), and those people got an error instead of an
    answer (25 of the first 50 commands in the `ack` benchmark). The others now wait for the one,
    asked through `bot_user` (bot/slack_identity.py), which keeps the answer for whoever names the bot.

    When `auth.test` fails (Slack answers an error, or does not answer), the person is told in the
    bot's words (`authorize_failure`), not Bolt's: a slash command in its acknowledgement (which needs
    no Slack API), a click through its response_url, after the ack."""

    def __init__(self, *, bot_user: BotUser, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bot_user = bot_user
        self._telling: set[asyncio.Task[None]] = set()

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        needs_auth_test = not (_is_no_auth_required(req) or _is_no_auth_test_call_required(req))
        if needs_auth_test and (self.auth_test_result is None or self.bot_user.answer is None):
            try:
                self.auth_test_result = await self.bot_user.ask(req.context.client)
            except Exception as error:  # Slack's error, or no answer at all (a connection, a timeout)
                return self._refuse(req, error)
        return await super().async_process(req=req, resp=resp, next=next)

    def _refuse(self, req: AsyncBoltRequest, error: Exception) -> BoltResponse:
        sentence = authorize_failure(error)
        log.warning("Slack: auth.test failed (%s); a %s request was not handled", error, request_kind(req.body))
        if req.body.get("command") or not req.context.response_url:
            return BoltResponse(status=200, body=sentence)  # a command shows the ack's text to its person
        respond = req.context.respond
        if respond is not None:
            task = asyncio.get_running_loop().create_task(self._tell(respond, sentence))
            self._telling.add(task)
            task.add_done_callback(self._telling.discard)
        return BoltResponse(status=200, body="")

    @staticmethod
    async def _tell(respond: Callable[..., Awaitable[Any]], sentence: str) -> None:
        try:
            await respond(text=sentence, response_type="ephemeral", replace_original=False)
        except Exception as error:
            log.warning("Slack: could not tell a person that Slack is failing (%s)", type(error).__name__)


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
                    user_facing_authorize_error_message=SLACK_FAILING.format(cause="auth.test"),
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

    The events handled: App Home (`app_home_opened`) and unfurls (`link_shared`), issue 29."""

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
