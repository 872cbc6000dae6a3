"""The `/kibana` slash command: parse, acknowledge, check access, then route.

The routes come from the features' contributions; `help` is answered here, from the catalog.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.kibana.acting import KibanaNotLinked, PersonKeyRejected
from handlers.shared.audit import check_access, ensure_writable
from handlers.shared.catalog import Action, Catalog
from handlers.shared.context import Actor, Invocation
from handlers.shared.errors import Doing, describe
from handlers.shared.feature import Plumbing, Route
from handlers.shared.grammar import HelpArgs, UsageError, parse
from handlers.shared.guard import NothingToDo
from handlers.shared.identity import NoKey, Unlinked, as_person, person_key, refuse_unlinked

log = logging.getLogger(__name__)


def help_route(catalog: Catalog) -> Route:
    """`help [<topic>]`: the usage of every command (starting with the topic), from the catalog."""

    async def show_help(inv: Invocation) -> None:
        topic = inv.args(HelpArgs).topic
        usage = catalog.usage
        lines = [f"`{inv.slash} {line}`" for name, line in usage.items() if name.startswith(topic)]
        if not lines:
            lines = [f"`{inv.slash} {line}`" for line in usage.values()]
        text = "*Kibana ChatOps* — act on Kibana alerting from Slack.\n" + "\n".join(lines)
        text += "\nEvery command takes `--space <id>` to act in another Kibana space."
        await inv.reply(text)

    return show_help


class Commands:
    """Dispatches every `/kibana …` to its route."""

    def __init__(self, plumbing: Plumbing, routes: Mapping[str, Route]) -> None:
        self.plumbing = plumbing
        self.catalog = plumbing.catalog
        self.routes = {"help": help_route(self.catalog), **routes}
        names = self.catalog.by_name
        missing = sorted(set(names) - set(self.routes))
        unknown = sorted(set(self.routes) - set(names))
        if missing or unknown:
            raise RuntimeError(f"commands without a route: {missing}; routes without a command: {unknown}")

    async def on_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        services = self.plumbing.services
        try:
            parsed = parse(command.get("text") or "", self.catalog)
        except UsageError as error:
            doing = Doing(
                command=services.settings.slack_command,
                explain=self.catalog.explain,
                space=services.settings.kibana_space,
            )
            await ack(response_type="ephemeral", text=describe(error, doing))
            return
        await ack()
        services.track_current_task()
        response_url = command.get("response_url")
        invocation = Invocation(
            services=services,
            replies=self.plumbing.replies,
            command=parsed,
            actor=Actor.from_command(command),
            respond=respond,
            client=client,
            response_url=response_url if isinstance(response_url, str) and response_url else None,
            trigger_id=command.get("trigger_id"),
        )
        with as_person(services, invocation.actor, None):  # no call before the person's key is found
            await self.run(invocation)

    async def run(self, invocation: Invocation) -> None:
        """Check access, run the route, and turn any failure into a sentence."""
        name = invocation.command.action
        action = self.catalog.action(name)
        try:
            if not action.read_only:
                await ensure_writable(invocation.services, invocation.actor, action, _target(invocation))
            refusal = await check_access(
                invocation.services, invocation.actor, action, _target(invocation), space=invocation.space
            )
            if refusal is not None:
                await invocation.reply(refusal.message())
                return
            key = await person_key(invocation.services, invocation.actor, action)  # then Kibana's gate
            if isinstance(key, Unlinked):
                await self._unlinked(invocation, action, key)
                return
            with as_person(invocation.services, invocation.actor, key):
                await self.routes[name](invocation)
        except (KibanaNotLinked, PersonKeyRejected) as unlinked:
            await self._unlinked(invocation, action, unlinked)
        except NothingToDo as nothing:
            await self._tell(invocation, str(nothing))
        except Exception as error:
            doing = replace(invocation.doing(self.catalog.explain), read_only=action.read_only)
            await self._tell(invocation, describe(error, doing))

    async def _unlinked(self, invocation: Invocation, action: Action, unlinked: NoKey) -> None:
        try:
            await refuse_unlinked(
                invocation.services,
                invocation.replies,
                invocation.surface,
                invocation.actor,
                action,
                _target(invocation),
                unlinked,
                space=invocation.space,
            )
        except Exception:
            log.exception("could not tell the user that %s needs their Kibana key", invocation.command.action)

    async def _tell(self, invocation: Invocation, text: str) -> None:
        try:
            await invocation.reply(text)
        except Exception:
            log.exception("could not tell the user about a failed %s", invocation.command.action)


def _target(invocation: Invocation) -> str:
    args = invocation.command.args
    for key in ("rule_id", "service", "name", "id"):
        value = getattr(args, key, None)
        if isinstance(value, str):
            return value
    return ""
