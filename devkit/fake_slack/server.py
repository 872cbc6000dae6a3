"""`FakeSlack`: the Web API, the response_url sink, file downloads and Socket Mode on
one aiohttp server on 127.0.0.1 (ephemeral port), inside the caller's event loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from types import TracebackType
from typing import Any

from aiohttp import web

from devkit.fake_slack import chat, directory, files, functions, response_urls, socket_mode, unfurls, views, web_api
from devkit.fake_slack.rate_limits import RateLimiter, RateLimits, RateLimitStats
from devkit.fake_slack.records import ApiCall, Fault, ResponseUrlPost
from devkit.fake_slack.scopes import APP_TOKEN_SCOPES, Grant, manifest_features, manifest_scopes
from devkit.fake_slack.workspace import Channel, Workspace


class FakeSlack:
    """A faithful stand-in for Slack. Pre-populated: bot user `bot_user_id` (named `bot_name`, as
    auth.test says), user `U0ALICE` ("alice") and public channel `C0ALERTS` ("alerts", bot is a member).

    The bot token has `scopes` (by default exactly the bot scopes of the repository's manifest.json);
    a method whose scope it lacks is answered `missing_scope` (scopes.py). `revoke_scopes(...)` and
    `grant_scopes(...)` change them, as reinstalling the app with another manifest would. Likewise the
    Home tab (`home_tab_enabled`) and the domains whose links the app unfurls (`unfurl_domains`) are
    the manifest's unless given."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a fake's test token
        app_token: str = "xapp-test-token",  # noqa: S107 - a fake's test token
        team_id: str = "T0001",
        bot_user_id: str = "U0BOT",
        bot_name: str = "kibana-chatops",
        bot_id: str = "B0BOT",
        team_domain: str = "acme",
        app_id: str = "A0001",
        rate_limits: RateLimits | bool = False,
        scopes: list[str] | None = None,
        home_tab_enabled: bool | None = None,
        unfurl_domains: list[str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.bot_scopes = Grant(manifest_scopes() if scopes is None else scopes)
        self.app_scopes = Grant(APP_TOKEN_SCOPES)
        manifest_home, manifest_domains = manifest_features()
        self.home_tab_enabled = manifest_home if home_tab_enabled is None else home_tab_enabled
        self.unfurl_domains = [d.lower() for d in (manifest_domains if unfurl_domains is None else unfurl_domains)]
        self.home_views: dict[str, dict[str, Any]] = {}  # user id → their published Home tab
        self.shared_links: dict[str, unfurls.SharedLinks] = {}  # unfurl_id → a message's links and unfurls
        self.workspace = Workspace(team_id, team_domain, bot_user_id, bot_id, app_id)
        self.workspace.add_user(bot_user_id, bot_name, real_name="Kibana ChatOps", is_bot=True)
        self.workspace.add_user("U0ALICE", "alice", real_name="Alice Example")
        self.workspace.add_channel("C0ALERTS", "alerts")
        self.calls: list[ApiCall] = []
        self.responses: list[ResponseUrlPost] = []
        self.response_targets: dict[str, response_urls.ResponseTarget] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.triggers: dict[str, views.Trigger] = {}
        self.trigger_ttl = views.TRIGGER_TTL
        self.files: dict[str, files.StoredFile] = {}
        self.downloads: list[dict[str, Any]] = []
        self.socket_mode = socket_mode.SocketMode(app_id)
        self.functions = functions.Functions()  # the manifest's Workflow Builder steps and their executions
        self.handlers: dict[str, web_api.Handler] = {
            **chat.METHODS,
            **views.METHODS,
            **directory.METHODS,
            **files.METHODS,
            **unfurls.METHODS,
            **socket_mode.METHODS,
            **functions.METHODS,
        }
        self._faults: dict[str, list[Fault]] = {}
        self.rate_limiter: RateLimiter | None = None
        if rate_limits:
            self.limit_rates(rate_limits if isinstance(rate_limits, RateLimits) else None)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def __repr__(self) -> str:
        return f"FakeSlack(base_url={self.base_url!r}, team_id={self.workspace.team_id!r})"

    # ---- lifecycle -------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 = ephemeral); returns the Web API base URL."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", partial(web_api.handle_call, self))
        app.router.add_get("/link/", self.socket_mode.websocket)
        app.router.add_post("/response/{name}", partial(response_urls.handle_post, self))
        app.router.add_get("/files-pri/{team_file}/download/{name}", partial(files.download, self))
        app.router.add_get("/files-pri/{team_file}/{name}", partial(files.download, self))
        app.router.add_get("/", files.login_page)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}/"
        return self.api_url

    async def stop(self) -> None:
        await self.socket_mode.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """Pass as `AsyncWebClient(base_url=…)` / `SLACK_API_URL`."""
        if not self.base_url:
            raise RuntimeError("FakeSlack is not started")
        return f"{self.base_url}api/"

    # ---- the workspace ---------------------------------------------------------------
    @property
    def messages(self) -> dict[str, dict[str, dict[str, Any]]]:
        return self.workspace.messages

    @property
    def ephemerals(self) -> list[dict[str, Any]]:
        return self.workspace.ephemerals

    @property
    def users(self) -> dict[str, dict[str, Any]]:
        return self.workspace.users

    @property
    def usergroups(self) -> dict[str, list[str]]:
        return self.workspace.usergroups

    @property
    def channels(self) -> dict[str, Channel]:
        return self.workspace.channels

    def add_user(self, user_id: str, name: str, **profile: Any) -> dict[str, Any]:
        return self.workspace.add_user(user_id, name, **profile)

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> list[str]:
        return self.workspace.add_usergroup(group_id, user_ids)

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False, is_member: bool = True) -> Channel:
        return self.workspace.add_channel(channel_id, name, is_private=is_private, is_member=is_member)

    def add_direct_message(self, channel_id: str, user: str = "U0ALICE", *, with_bot: bool = True) -> Channel:
        """A direct message: the bot's own with `user` (its App Home's Messages tab), or, `with_bot=False`,
        one between `user` and someone else, which the bot can neither see nor post in."""
        return self.workspace.add_direct_message(channel_id, user, with_bot=with_bot)

    def add_group_direct_message(self, channel_id: str, users: list[str], *, is_member: bool = True) -> Channel:
        """A group direct message between `users` (and the bot, when it `is_member`)."""
        return self.workspace.add_group_direct_message(channel_id, users, is_member=is_member)

    @property
    def scopes(self) -> list[str]:
        """The bot token's scopes."""
        return list(self.bot_scopes.scopes)

    def revoke_scopes(self, *scopes: str) -> None:
        self.bot_scopes.revoke(*scopes)

    def grant_scopes(self, *scopes: str) -> None:
        self.bot_scopes.grant(*scopes)

    def archive_channel(self, channel_id: str) -> None:
        self.workspace.channel(channel_id).is_archived = True

    def set_not_member(self, channel_id: str) -> None:
        self.workspace.channel(channel_id).is_member = False

    def post_as_user(
        self, channel: str, text: str, *, user: str = "U0ALICE", thread_ts: str | None = None
    ) -> dict[str, Any]:
        """A message a person wrote (e.g. the target of a message shortcut)."""
        blocks = [
            {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ]
        return self.workspace.post(
            channel,
            text=text,
            blocks=blocks,
            thread_ts=thread_ts,
            user=user,
            extra={"client_msg_id": f"{self.workspace.new_id('m')}-0000-4000-8000-000000000000"},
        )

    def set_members(self, channel_id: str, users: list[str]) -> None:
        """Who is in a channel besides the bot (conversations.members)."""
        self.workspace.channel(channel_id).members = list(users)

    def share_links(
        self, channel: str, text: str, *, user: str = "U0ALICE", composer: bool = False
    ) -> dict[str, Any] | None:
        """`user` posts `text` in `channel` (or only types it, `composer`); the `link_shared` event Slack
        sends the app for its links to `unfurl_domains`, or None when it has none (unfurls.py)."""
        return unfurls.share(self, channel, text, user=user, composer=composer)

    def unfurls_of(self, unfurl_id: str) -> dict[str, dict[str, Any]]:
        """What chat.unfurl set for the links of one `link_shared` event, by URL."""
        return self.shared_links[unfurl_id].unfurls

    def work_objects_of(self, unfurl_id: str) -> dict[str, dict[str, Any]]:
        """The Work Object entities chat.unfurl's `metadata` gave the links of one event, by URL."""
        return self.shared_links[unfurl_id].entities

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        return self.workspace.channel_messages(channel)

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        return self.workspace.thread(channel, ts)

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return self.workspace.messages.get(channel, {}).get(ts)

    def add_file(
        self, name: str, content: bytes, mimetype: str = "application/octet-stream", *, user: str = "U0ALICE"
    ) -> dict[str, Any]:
        """Store an uploaded file; returns its files.info `file` object."""
        return files.file_object(self, files.new_file(self, name, content, mimetype, user))

    # ---- interaction plumbing ----------------------------------------------------------
    def response_url(
        self,
        name: str | None = None,
        *,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
    ) -> str:
        """A fresh response_url on this server; POSTs to it are recorded in `responses`."""
        name = name or f"r{len(self.response_targets) + 1}"
        if name in self.response_targets:
            raise ValueError(f"response_url {name!r} was already handed out")
        self.response_targets[name] = response_urls.ResponseTarget(name, channel, message_ts, user)
        if not self.base_url:
            raise RuntimeError("FakeSlack is not started")
        return f"{self.base_url}response/{name}"

    def issue_trigger_id(self, view_id: str | None = None) -> str:
        """A trigger_id usable once within `trigger_ttl` seconds (view_id: the modal it came from)."""
        trigger_id = views.new_trigger_id()
        self.triggers[trigger_id] = views.Trigger(time.monotonic(), view_id)
        return trigger_id

    # ---- observing -------------------------------------------------------------------
    def start_step(self, callback_id: str, inputs: dict[str, Any]) -> functions.Execution:
        """A workflow reaches the app's step `callback_id` (send its `function_executed` event with the
        driver's `function_executed`); the execution records how it ends."""
        return self.functions.start(callback_id, inputs)

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method == method]

    async def wait_for(self, condition: Callable[[], Any] | str, timeout: float = 5.0, *, count: int = 1) -> Any:  # noqa: ASYNC109 - bounded poll helper
        """Poll until `condition()` is truthy (or, for a method name, until it was called
        `count` times) and return its value; TimeoutError after `timeout` seconds."""
        if isinstance(condition, str):
            method = condition

            def check() -> Any:
                found = self.calls_to(method)
                return found if len(found) >= count else None

        else:
            check = condition
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = check()
            if value:
                return value
            if asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(f"condition {condition!r} not met within {timeout} s")
            await asyncio.sleep(0.01)

    # ---- faults ----------------------------------------------------------------------
    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int | None = 1,
        status: int = 200,
        retry_after: int | None = None,
    ) -> None:
        """The next `times` calls (None: all) of `method` answer `{"ok": false, "error": error}`.
        `fail(m, "ratelimited", status=429, retry_after=1)` is Slack's rate limit."""
        self._faults.setdefault(method, []).append(Fault(error, times, status, retry_after))

    def clear_faults(self) -> None:
        self._faults.clear()

    def take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
        return fault

    # ---- rate limits (off unless turned on; see rate_limits.py) ---------------------------
    def limit_rates(self, limits: RateLimits | None = None) -> RateLimitStats:
        """Enforce Slack's rate limits from now on (`limits`: other budgets, e.g. small windows for a
        test); returns the (fresh) stats: calls and 429s by method, and the early calls."""
        self.rate_limiter = RateLimiter(limits or RateLimits())
        return self.rate_limiter.stats

    def unlimit_rates(self) -> None:
        self.rate_limiter = None

    @property
    def rate_limit_stats(self) -> RateLimitStats:
        """What the rate limits saw (empty stats while they are off)."""
        return self.rate_limiter.stats if self.rate_limiter is not None else RateLimitStats()

    # ---- Socket Mode -----------------------------------------------------------------
    @property
    def connected(self) -> asyncio.Event:
        return self.socket_mode.connected

    @property
    def acks(self) -> list[dict[str, Any]]:
        return self.socket_mode.acks

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        return self.socket_mode.envelopes

    async def deliver(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the ack wait is bounded by design
    ) -> dict[str, Any]:
        """Send an envelope to the connected app and return its ack."""
        return await self.socket_mode.deliver(
            envelope_type,
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            accepts_response_payload=accepts_response_payload,
            timeout=timeout,
        )

    async def send_disconnect(self, reason: str = "refresh_requested") -> None:
        await self.socket_mode.send_disconnect(reason)
