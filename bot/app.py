"""The composition root: builds the services and the Bolt app, owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.requests import Request
from starlette.responses import Response

from bot import aio
from bot.access import AccessControl, load_policy
from bot.kibana.client import KibanaClient
from bot.metrics import observe_kibana_call
from bot.request_context import ChatOpsApp, install_event_dedupe
from bot.services import Services
from bot.settings import ConfigError, Settings
from bot.slack_client import LimitedWebClient
from bot.slack_ledger import Ledger, LocalLedger, SharedLedger
from bot.slack_limits import Budget, SlackBudgets, SlackLimiter
from bot.slack_replays import checked
from bot.store import Store

if TYPE_CHECKING:
    from bot.people import PersonLinks
from handlers import FEATURES, build_catalog
from handlers.shared.commands import Commands
from handlers.shared.feature import Plumbing
from handlers.shared.last_resort import error_handler

log = logging.getLogger(__name__)

# How often the bot re-reads its Kibana's version and licence, so that an upgrade (or a new
# licence) is noticed without a restart.
PROFILE_REFRESH_SECONDS = 600.0

Endpoint = Callable[[Request], Awaitable[Response]]
P = TypeVar("P")
V = TypeVar("V")


@dataclass
class Runtime:
    """One replica's running parts."""

    settings: Settings
    services: Services
    app: AsyncApp
    routes: dict[str, Endpoint] = field(default_factory=dict)
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    parts: Sequence[Any] = ()  # the features' long-lived objects (a scheduler)

    def part(self, kind: type[P]) -> P:
        """The features' one long-lived object of type `kind` (LookupError when there is none)."""
        found = [p for p in self.parts if isinstance(p, kind)]
        if len(found) != 1:
            raise LookupError(f"{len(found)} parts of type {kind.__name__}")
        return found[0]

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


def slack_client(
    settings: Settings, session: aiohttp.ClientSession | None = None, store: Store | None = None
) -> LimitedWebClient:
    """The bot's Web API client: every call within Slack's rate limits (bot/slack_limits.py). With a
    shared `session`, calls reuse kept-alive connections (slack_sdk otherwise opens a new session,
    and a new TLS connection, for every call). On a PostgreSQL `store` the replicas share the budgets
    (bot/slack_ledger.py); otherwise this replica keeps them itself."""
    return LimitedWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=10,
        session=session,
        limiter=SlackLimiter(slack_budgets(settings), slack_ledger(settings, store)),
    )


def slack_ledger(settings: Settings, store: Store | None) -> Ledger:
    """Where the rate-limit tokens are kept: in the store the replicas share (PostgreSQL), each
    replica pacing itself at 1/SLACK_REPLICAS of every budget while the store does not answer; or
    in this process (SQLite, one replica)."""
    if store is not None and store.dialect == "postgresql" and settings.slack_pacing:
        return SharedLedger(store, share=1 / settings.slack_replicas)
    return LocalLedger()


def slack_budgets(settings: Settings) -> SlackBudgets:
    """Slack's documented budgets, with the workspace-wide chat.postMessage cap from the settings
    (SLACK_PACING=false: no pacing, for a Slack-compatible server without Slack's limits)."""
    if not settings.slack_pacing:
        return SlackBudgets.unpaced()
    return SlackBudgets(post_workspace=Budget.per_minute(settings.slack_posts_per_minute, 10))


async def create_runtime(settings: Settings, *, slack: AsyncWebClient | None = None) -> Runtime:
    """Open the store and the Kibana client, build the Bolt app and merge every feature into it.

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
    session = None if slack is not None and slack.session is not None else _slack_session()
    if session is not None:
        closers.append(session.close)
    client = slack or slack_client(settings, session, store)

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
        people=await person_links(settings, store),
    )
    signing_secret = settings.slack_signing_secret
    app = ChatOpsApp(
        name="kibana-chatops",  # without it, Bolt names the app after its caller with inspect.stack() (~0.1 s)
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else "socket-mode",
        request_verification_enabled=signing_secret is not None,
        process_before_response=False,
        reply_max_wait=settings.slack_reply_max_wait,
        bot_user=services.bot_user,
    )
    install_event_dedupe(app, store)
    runtime = Runtime(settings=settings, services=services, app=app, closers=closers)
    _watch_kibana(runtime)
    _merge_features(runtime, Plumbing.build(services, session or client.session, build_catalog()))
    return runtime


async def person_links(settings: Settings, store: Store) -> PersonLinks | None:
    """People's links to their own Kibana keys (KIBANA_IDENTITY=person), checked at start-up: a
    CREDENTIALS_KEY that does not decrypt every stored link stops it (ConfigError: one line, exit 2).
    Links still under an older key of CREDENTIALS_KEY are re-encrypted under its first."""
    if not settings.acts_as_person or settings.credentials_key is None:
        return None
    from bot.credentials import Credentials
    from bot.people import PersonLinks

    links = PersonLinks(store, Credentials(settings.credentials_key))
    report = await links.report()
    if report.undecryptable:
        raise ConfigError(
            f"CREDENTIALS_KEY: expected the key(s) that encrypted the stored Kibana links "
            f"({report.undecryptable} of {report.total} do not decrypt; keep the old key after the new one "
            "to rotate it, or give the one used before)"
        )
    changed = await links.reencrypt()
    if changed:
        log.info("re-encrypted %d linked Kibana key(s) under the first CREDENTIALS_KEY", changed)
    return links


def _watch_kibana(runtime: Runtime) -> None:
    """Read the Kibana's version and licence once the server runs, then every
    PROFILE_REFRESH_SECONDS (a background job owned here, since every feature reads it).

    Starting it does not wait for the first read: an unreachable Kibana makes that read last its
    timeouts and retries, and until it lands the profile assumes everything works (Kibana's
    answers then decide). `KibanaProfile.first_read` is there for whoever must wait (the tests)."""
    services = runtime.services
    task: asyncio.Task[None] | None = None

    async def refresh() -> None:
        try:
            await services.profile.refresh(
                services.kibana, agent_key_credentials=services.settings.agent_key_auth is not None
            )
        except Exception:
            log.exception("Kibana: reading its version and licence failed")

    async def loop() -> None:
        while True:
            await refresh()
            await asyncio.sleep(PROFILE_REFRESH_SECONDS)

    async def start() -> None:
        nonlocal task
        task = asyncio.create_task(loop(), name="kibana-profile")

    async def stop() -> None:
        await aio.cancel(task)

    runtime.background.append(start)
    runtime.closers.append(stop)


def _slack_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))


def _merge_features(runtime: Runtime, plumbing: Plumbing) -> None:
    """Every feature's contribution, into Bolt, the HTTP server and the runtime."""
    app = runtime.app
    contributions = [register(plumbing) for _, register in FEATURES]
    commands = Commands(plumbing, _merged([c.commands for c in contributions], "command"))
    # A replayed request is acknowledged and does nothing (bot/slack_replays.py); a modal
    # submission checks access (and audits a refusal) before its ack, so it waits for the check first.
    app.command(runtime.settings.slack_command)(checked(commands.on_command))
    for action_id, listener in _merged([c.actions for c in contributions], "action id").items():
        app.action(action_id)(checked(listener))
    for callback_id, listener in _merged([c.views for c in contributions], "view").items():
        app.view(callback_id)(checked(listener, before_ack=True))
    for callback_id, listener in _merged([c.shortcuts for c in contributions], "shortcut").items():
        app.shortcut(callback_id)(checked(listener))
    for event_type, listener in _merged([c.events for c in contributions], "event").items():
        app.event(event_type)(listener)  # acknowledged by Bolt; a repeated event_id is skipped before
    app.error(error_handler(plumbing.replies, runtime.settings.slack_command, plumbing.catalog.explain))
    runtime.routes.update(_merged([c.routes for c in contributions], "route"))
    runtime.background.extend(job for c in contributions for job in c.background)
    runtime.closers.extend(job for c in contributions for job in c.closers)
    runtime.parts = tuple(part for c in contributions for part in c.parts)
    plumbing.outcomes.use_renderers(r for c in contributions for r in c.renderers)


def _merged(tables: list[Mapping[str, V]], what: str) -> dict[str, V]:
    merged: dict[str, V] = {}
    for table in tables:
        twice = sorted(set(merged) & set(table))
        if twice:
            raise RuntimeError(f"two features answer the same {what}: {', '.join(twice)}")
        merged.update(table)
    return merged


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
