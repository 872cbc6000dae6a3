"""The `/kibana` slash command: parse, acknowledge, check access, then route.

Feature modules add their commands with `@command("name")`; every action of the
grammar must have a route (a test checks it).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers.audit import check_access
from handlers.context import Actor, Invocation
from handlers.errors import Doing, describe
from handlers.grammar import UsageError, parse

log = logging.getLogger(__name__)

Route = Callable[[Invocation], Awaitable[None]]
ROUTES: dict[str, Route] = {}


def command(*actions: str) -> Callable[[Route], Route]:
    def register(route: Route) -> Route:
        for action in actions:
            ROUTES[action] = route
        return route

    return register


def register(app: AsyncApp, services: Services) -> None:
    @app.command(services.settings.slack_command)
    async def on_command(
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        body: dict[str, Any],
    ) -> None:
        try:
            parsed = parse(command.get("text") or "")
        except UsageError as error:
            await ack(response_type="ephemeral", text=describe(error, _doing(services)))
            return
        await ack()
        services.track_current_task()
        invocation = Invocation(
            services=services,
            command=parsed,
            actor=Actor.from_command(command),
            respond=respond,
            client=client,
            body=body,
            trigger_id=command.get("trigger_id"),
        )
        await run(invocation)


def _doing(services: Services) -> Doing:

    return Doing(command=services.settings.slack_command, space=services.settings.kibana_space)


async def run(invocation: Invocation) -> None:
    """Check access, run the route, and turn any failure into a sentence."""
    action = invocation.command.action
    services = invocation.services
    try:
        refusal = await check_access(services, invocation.actor, action, _target(invocation), space=invocation.space)
        if refusal is not None:
            await invocation.reply(refusal.message())
            return
        route = ROUTES.get(action)
        if route is None:
            raise LookupError(f"no route for {action!r}")
        await route(invocation)
    except Exception as error:
        try:
            await invocation.reply(describe(error, invocation.doing()))
        except Exception:
            log.exception("could not tell the user about a failed %s", action)


def _target(invocation: Invocation) -> str:
    args = invocation.command.args
    for key in ("rule_id", "service", "name", "id"):
        value = args.get(key)
        if isinstance(value, str):
            return value
    return ""
