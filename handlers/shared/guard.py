"""The one guard around every button, menu and modal submission.

Each goes: (ack a click at once) → track the task, so shutdown waits for it → decode the value
the bot packed into the element → check access for what that value targets, auditing a refused
write → run → turn any failure into a sentence for the person. Which action an element performs
is the catalog's to say (by its action id or its modal's callback id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck

from bot.services import Services
from handlers.shared.audit import Subject, check_access, record
from handlers.shared.blocks import clip
from handlers.shared.catalog import Action, Catalog
from handlers.shared.context import Actor, interaction_channels
from handlers.shared.errors import Doing, describe
from handlers.shared.replies import Replies, Surface

log = logging.getLogger(__name__)

V = TypeVar("V")
F = TypeVar("F")


class NothingToDo(Exception):
    """The action would change nothing (unsnooze a rule that is not snoozed); the message says so."""


@dataclass(frozen=True)
class Aim:
    """What a decoded value acts on: for the access check, the audit trail and the wording of errors."""

    target: Subject | str
    space: str
    rule_id: str | None = None
    alert_id: str | None = None
    channel: str | None = None  # where a modal was opened from (its actor acts there)


def element_value(body: dict[str, Any]) -> str | None:
    """The value of the button or menu option that was used."""
    action = (body.get("actions") or [{}])[0]
    selected = action.get("selected_option")
    value = selected.get("value") if isinstance(selected, dict) else action.get("value")
    return value if isinstance(value, str) else None


def surface_of(body: dict[str, Any], actor: Actor) -> Surface:
    """Where the person who clicked can be answered privately."""
    response_url = body.get("response_url")
    if not response_url:
        urls = body.get("response_urls") or [{}]
        response_url = urls[0].get("response_url") if isinstance(urls[0], dict) else None
    return Surface(user=actor.user_id, channel=actor.channel_id, response_url=response_url or None)


class Guard:
    def __init__(self, services: Services, replies: Replies, catalog: Catalog) -> None:
        self.services = services
        self.replies = replies
        self.catalog = catalog

    def _doing(self, action: Action, aim: Aim | None) -> Doing:
        command = self.services.settings.slack_command
        version = self.services.profile.current.info.version
        if aim is None:
            return Doing(
                action=action.name,
                space=self.services.settings.kibana_space,
                command=command,
                kibana_version=version,
                read_only=action.read_only,
            )
        return Doing(
            action=action.name,
            read_only=action.read_only,
            space=aim.space,
            rule_id=aim.rule_id,
            alert_id=aim.alert_id,
            command=command,
            kibana_version=version,
        )

    async def click(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        *,
        decode: Callable[[str | None], V],
        aim: Callable[[V], Aim],
        run: Callable[[V, Actor], Awaitable[None]],
        tell: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        """A button or menu: acknowledged first, then guarded."""
        await ack()
        self.services.track_current_task()
        action_id = str((body.get("actions") or [{}])[0].get("action_id"))
        action = self.catalog.by_action_id[action_id]
        actor = Actor.from_interaction(body)
        surface = surface_of(body, actor)

        async def privately(text: str) -> object:
            return await self.replies.privately(surface, text)

        say = tell or privately
        named, contained = interaction_channels(body)
        if named and contained and named != contained:
            await self._refuse_forged(
                actor, action, str(element_value(body)), f"channel {named} ≠ container {contained}"
            )
            await self._safely(say, "This click names two different channels; nothing was done.", action)
            return
        raw = element_value(body)
        try:
            value = decode(raw)
        except ValueError as error:
            await self._refuse_forged(actor, action, raw, str(error))
            await self._safely(say, str(error), action)
            return
        aimed = aim(value)
        try:
            refusal = await check_access(self.services, actor, action, aimed.target, space=aimed.space)
            if refusal is not None:
                await say(refusal.message())
                return
            await run(value, actor)
        except NothingToDo as nothing:
            await self._safely(say, str(nothing), action)
        except Exception as error:
            await self._safely(say, describe(error, self._doing(action, aimed)), action)

    async def submission(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        view: dict[str, Any],
        *,
        decode: Callable[[str | None], V],
        aim: Callable[[V], Aim],
        read: Callable[[V, dict[str, Any]], F | dict[str, str]],
        run: Callable[[V, F, Actor], Awaitable[None]],
        tell: Callable[[V, Actor, str], Awaitable[object]],
        error_block: Callable[[dict[str, Any]], str],
        acknowledge: Callable[[F, AsyncAck], Awaitable[bool]] | None = None,
        refusal_detail: Callable[[V, F], str] | None = None,
        refusal_target: Callable[[V, F], Subject | str] | None = None,
    ) -> None:
        """A modal submission: a bad value, bad input or a refusal is shown in the form (the ack's
        errors); then it is acknowledged — by `acknowledge(form, ack)` when given, which returns False
        when it answered with errors itself — and guarded."""
        action = self.catalog.by_view[str(view.get("callback_id"))]
        try:
            value = decode(view.get("private_metadata"))
        except ValueError as error:
            await ack(response_action="errors", errors={error_block(view): str(error)})
            await self._refuse_forged(Actor.from_interaction(body), action, view.get("private_metadata"), str(error))
            return
        aimed = aim(value)
        form = read(value, view)
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        actor = Actor.from_interaction(body).in_channel(aimed.channel)
        target = refusal_target(value, form) if refusal_target else aimed.target
        detail = refusal_detail(value, form) if refusal_detail else ""
        refusal = await check_access(self.services, actor, action, target, space=aimed.space, detail=detail)
        if refusal is not None:
            await ack(response_action="errors", errors={error_block(view): refusal.message()})
            return
        if acknowledge is None:
            await ack()
        elif not await acknowledge(form, ack):
            return
        self.services.track_current_task()
        try:
            await run(value, form, actor)
        except NothingToDo as nothing:
            await self._safely(lambda text: tell(value, actor, text), str(nothing), action)
        except Exception as error:
            await self._safely(
                lambda text: tell(value, actor, text), describe(error, self._doing(action, aimed)), action
            )

    async def _refuse_forged(self, actor: Actor, action: Action, raw: object, why: str) -> None:
        """A value the bot did not make (or a click that contradicts itself): a refused write is audited."""
        log.warning("refused a forged %s value from %s: %s", action.name, actor.user_id, why)
        if action.read_only:
            return
        shown = clip(raw if isinstance(raw, str) else "", 200)
        await record(self.services, actor, action.name, shown, result="refused", detail=f"forged value: {why}")

    async def _safely(self, say: Callable[[str], Awaitable[object]], text: str, action: Action) -> None:
        try:
            await say(text)
        except Exception:
            log.exception("could not tell the user how %s ended", action.name)
