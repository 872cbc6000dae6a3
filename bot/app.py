"""The composition root: builds the services and the Bolt app, owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

import handlers
from bot.access import AccessControl, load_policy
from bot.kibana.client import KibanaClient
from bot.metrics import observe_kibana_call
from bot.request_context import ChatOpsApp, install_event_dedupe
from bot.services import Services
from bot.settings import Settings
from bot.store import Store

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass
class Runtime:
    """One replica's running parts."""

    settings: Settings
    services: Services
    app: AsyncApp
    routes: dict[str, Endpoint] = field(default_factory=dict)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start_background(self) -> None:
        for start in self.background:
            await start()

    async def close(self, *, drain_seconds: float = 10.0) -> None:
        """Let in-flight listener work finish (bounded), then close everything."""
        await drain_tasks(self.services.inflight, drain_seconds)
        await close_all(self.closers)


async def close_all(closers: list[Callable[[], Awaitable[None]]]) -> None:
    """Run `closers` last to first; one that fails is logged and the others still run."""
    for closer in reversed(closers):
        try:
            await closer()
        except Exception:
            log.exception("error while shutting down")


def slack_client(settings: Settings, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    """The bot's Web API client. With a shared `session`, calls reuse kept-alive connections
    (slack_sdk otherwise opens a new session, and a new TLS connection, for every call)."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=10,
        session=session,
    )


async def create_runtime(settings: Settings, *, slack: AsyncWebClient | None = None) -> Runtime:
    """Open the store and the Kibana client, build the Bolt app and register the handlers.

    When a step fails (a bad HEALTH_SCHEDULE, say), what was already opened is closed again."""
    closers: list[Callable[[], Awaitable[None]]] = []
    try:
        return await _create_runtime(settings, slack, closers)
    except BaseException:
        await close_all(closers)
        raise


async def _create_runtime(
    settings: Settings, slack: AsyncWebClient | None, closers: list[Callable[[], Awaitable[None]]]
) -> Runtime:
    policy = load_policy(settings.access_policy)
    store = await Store.open(settings.database_url)
    closers.append(store.close)
    kibana = KibanaClient.from_settings(settings, observer=observe_kibana_call)
    closers.append(kibana.aclose)
    session = None
    if slack is None:
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        closers.append(session.close)
    client = slack or slack_client(settings, session)

    async def group_members(group_id: str) -> frozenset[str]:
        answer = await client.usergroups_users_list(usergroup=group_id)
        return frozenset(answer.get("users") or [])

    services = Services(
        settings=settings,
        kibana=kibana,
        store=store,
        access=AccessControl(policy, group_members),
        slack=client,
        replica=f"{socket.gethostname()}:{os.getpid()}",
    )
    signing_secret = settings.slack_signing_secret
    app = ChatOpsApp(
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else "socket-mode",
        request_verification_enabled=signing_secret is not None,
        process_before_response=False,
    )
    install_event_dedupe(app, store)
    runtime = Runtime(settings=settings, services=services, app=app, closers=closers)
    handlers.register(app, services, runtime)
    return runtime


async def drain_tasks(tasks: set[asyncio.Task[object]], seconds: float) -> None:
    """Wait (bounded) for listener work that continued after Slack's ack."""
    pending = {t for t in tasks if not t.done() and t is not asyncio.current_task()}
    if not pending:
        return
    log.info("waiting for %d in-flight request(s) to finish", len(pending))
    _, still = await asyncio.wait(pending, timeout=seconds)
    for task in still:
        log.warning("request still running after %.0f s at shutdown was cancelled", seconds)
        task.cancel()
