"""The one guard around every button, menu, message shortcut and modal submission.

Each action declares its spec once, next to its code — a `Click` for a button, a menu or a message
shortcut, a `Submission` for a modal — and registers the listener the guard makes of it. A click
goes: ack at once → track the task, so shutdown waits for it → parse the payload once
(`Interaction`) → refuse one that names two different channels → decode the value the bot packed
→ (open its form at once) → check access for what that value targets → run → turn any failure into
a sentence for the person. A forged value and a refused write are audited. Which action an element
performs is the catalog's to say (by its action id, or its modal's or shortcut's callback id).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from slack_bolt.async_app import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext

from bot.credentials import CredentialsKeyWrong
from bot.kibana.acting import KibanaNotLinked, PersonKeyRejected
from bot.services import Services
from bot.store.errors import StoreUnavailable, store_unreachable
from handlers.shared.audit import Subject, check_access, ensure_writable, record
from handlers.shared.blocks import clip
from handlers.shared.catalog import Action, Catalog
from handlers.shared.context import Actor
from handlers.shared.errors import Doing, describe
from handlers.shared.identity import NoKey, Unlinked, as_person, person_key, refuse_unlinked
from handlers.shared.interaction import Interaction
from handlers.shared.replies import Replies

log = logging.getLogger(__name__)

V = TypeVar("V")
F = TypeVar("F")

Told = Callable[[str], Awaitable[object]]
GuardedListener = Callable[..., Awaitable[None]]  # Bolt passes ack, body and context by name


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
    detail: str = ""  # said in the audit entry of a refusal


def packed(unpack: Callable[[str | None], V]) -> Callable[[Interaction], V]:
    """A decoder of the value the bot packed into the element, or into the modal's private_metadata
    (`unpack` is a `Packed` model's: it raises ForgedValue for anything the bot did not make)."""

    def decode(interaction: Interaction) -> V:
        return unpack(interaction.value)

    return decode


@dataclass(frozen=True)
class Click(Generic[V]):
    """A button, a menu or a message shortcut: what it acts on, and what it does."""

    decode: Callable[[Interaction], V]  # the value (ValueError, e.g. ForgedValue: not one the bot made)
    aim: Callable[[V], Aim]
    run: Callable[[V, Interaction], Awaitable[None]]
    # How the person is told a refusal or a failure; by default privately, where they clicked.
    tell: Callable[[V, Interaction, str], Awaitable[object]] | None = None
    # Decodes a value that needs the store (a short reference it resolves) instead of `decode`;
    # ValueError: not one the bot made, refused and audited as `decode`'s.
    resolve: Callable[[Interaction], Awaitable[V]] | None = None
    # Opens a modal at once, before the access check (the trigger id lives 3 s; the check may wait
    # for Slack's user groups); the value it returns is the one told through and run from then on.
    open_form: Callable[[V, Interaction], Awaitable[V]] | None = None


@dataclass(frozen=True)
class Submission(Generic[V, F]):
    """A modal's submission: a bad value, bad input or a refusal is shown in the form (the ack's
    errors, under `error_block`); then it is acknowledged — by `acknowledge(value, form, ack)` when
    given, which returns False when it answered with errors itself — and run."""

    decode: Callable[[Interaction], V]  # the modal's private_metadata (ValueError: not one the bot made)
    read: Callable[[V, dict[str, Any]], F | dict[str, str]]  # what was entered, or {block_id: what is wrong}
    aim: Callable[[V, F], Aim]
    run: Callable[[V, F, Interaction], Awaitable[None]]
    tell: Callable[[V, Interaction, str], Awaitable[object]]  # a failure after the modal closed
    error_block: str | Callable[[dict[str, Any]], str]  # the block a form-wide error is shown under
    acknowledge: Callable[[V, F, AsyncAck], Awaitable[bool]] | None = None


class Guard:
    def __init__(self, services: Services, replies: Replies, catalog: Catalog) -> None:
        self.services = services
        self.replies = replies
        self.catalog = catalog

    def _performed(self, interaction: Interaction) -> Action:
        """The catalog's action for the element used: a button's or menu's action id, else the callback
        id of the modal or the message shortcut."""
        if interaction.action_id is not None:
            return self.catalog.by_action_id[interaction.action_id]
        callback = interaction.callback_id or ""
        return self.catalog.by_view.get(callback) or self.catalog.by_shortcut[callback]

    def _doing(self, action: Action, aim: Aim) -> Doing:
        return Doing(
            explain=self.catalog.explain,
            action=action.name,
            read_only=action.read_only,
            space=aim.space,
            rule_id=aim.rule_id,
            alert_id=aim.alert_id,
            command=self.services.settings.slack_command,
            kibana_version=self.services.profile.current.info.version,
        )

    def click(self, spec: Click[V]) -> GuardedListener:
        """The listener of a button, a menu or a message shortcut."""

        async def on_click(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
            await ack()
            self.services.track_current_task()
            interaction = Interaction.parse(body, context)
            with as_person(self.services, interaction.actor, None):  # no call before the person's key is found
                await self._clicked(spec, interaction)

        return on_click

    def submission(self, spec: Submission[V, F]) -> GuardedListener:
        """The listener of a modal's submission (it answers Slack itself: with errors, or the ack)."""

        async def on_submit(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
            interaction = Interaction.parse(body, context)
            with as_person(self.services, interaction.actor, None):  # no call before the person's key is found
                await self._submitted(spec, ack, interaction)

        return on_submit

    async def _clicked(self, spec: Click[V], interaction: Interaction) -> None:
        action = self._performed(interaction)

        async def privately(text: str) -> object:
            return await self.replies.privately(interaction.surface, text)

        if interaction.conflict is not None:
            await self._refuse_forged(interaction.actor, action, interaction.value, interaction.conflict)
            await self._safely(privately, "This click names two different channels; nothing was done.", action)
            return
        try:
            value = await spec.resolve(interaction) if spec.resolve is not None else spec.decode(interaction)
        except ValueError as error:
            await self._refuse_forged(interaction.actor, action, interaction.value, str(error))
            await self._safely(privately, str(error), action)
            return
        except Exception as error:
            if not store_unreachable(error):
                raise
            # What the message shows is in the store (handlers/alerting/shown.py): unchecked, nothing is done.
            unavailable = StoreUnavailable("it could not check what the message shows")
            target = interaction.value or action.name
            await record(
                self.services,
                interaction.actor,
                action.name,
                target,
                result="refused",
                detail=f"store: {unavailable.why}",
            )
            await self._safely(privately, unavailable.sentence(), action)
            return
        aimed = spec.aim(value)

        def told(value: V) -> Told:
            tell = spec.tell
            return privately if tell is None else (lambda text: tell(value, interaction, text))

        try:
            if spec.open_form is not None:
                value = await spec.open_form(value, interaction)
            if not action.read_only:
                await ensure_writable(self.services, interaction.actor, action, aimed.target)
            refusal = await check_access(
                self.services, interaction.actor, action, aimed.target, space=aimed.space, detail=aimed.detail
            )
            if refusal is not None:
                await told(value)(refusal.message())
                return
            key = await person_key(self.services, interaction.actor, action)  # then Kibana's gate
            if isinstance(key, Unlinked):
                await self._unlinked(interaction, action, aimed, key)
                return
            with as_person(self.services, interaction.actor, key):
                await spec.run(value, interaction)
        except (KibanaNotLinked, PersonKeyRejected) as unlinked:
            await self._unlinked(interaction, action, aimed, unlinked)
        except NothingToDo as nothing:
            await self._safely(told(value), str(nothing), action)
        except Exception as error:
            await self._safely(told(value), describe(error, self._doing(action, aimed)), action)

    async def _submitted(self, spec: Submission[V, F], ack: AsyncAck, interaction: Interaction) -> None:
        action = self._performed(interaction)
        view = interaction.form
        error_block = spec.error_block if isinstance(spec.error_block, str) else spec.error_block(view)
        try:
            value = spec.decode(interaction)
        except ValueError as error:
            await ack(response_action="errors", errors={error_block: str(error)})
            await self._refuse_forged(interaction.actor, action, interaction.value, str(error))
            return
        form = spec.read(value, view)
        if isinstance(form, dict):
            await ack(response_action="errors", errors=form)
            return
        aimed = spec.aim(value, form)
        interaction = interaction.in_channel(aimed.channel)
        if not action.read_only:
            try:
                await ensure_writable(self.services, interaction.actor, action, aimed.target)
            except StoreUnavailable as unavailable:
                await ack(response_action="errors", errors={error_block: unavailable.sentence()})
                return
        refusal = await check_access(
            self.services, interaction.actor, action, aimed.target, space=aimed.space, detail=aimed.detail
        )
        if refusal is not None:
            await ack(response_action="errors", errors={error_block: refusal.message()})
            return
        try:
            key = await person_key(self.services, interaction.actor, action)  # then Kibana's gate
        except CredentialsKeyWrong as wrong:
            await ack(response_action="errors", errors={error_block: describe(wrong, self._doing(action, aimed))})
            return
        if isinstance(key, Unlinked):
            refused = key.sentence(self.services.settings.slack_command)
            await ack(response_action="errors", errors={error_block: refused})
            await self._unlinked(interaction, action, aimed, key)
            return
        with as_person(self.services, interaction.actor, key):
            if spec.acknowledge is None:
                await ack()
            elif not await spec.acknowledge(value, form, ack):
                return
        self.services.track_current_task()

        async def tell(text: str) -> object:
            return await spec.tell(value, interaction, text)

        try:
            with as_person(self.services, interaction.actor, key):
                await spec.run(value, form, interaction)
        except (KibanaNotLinked, PersonKeyRejected) as unlinked:
            await self._unlinked(interaction, action, aimed, unlinked)
        except NothingToDo as nothing:
            await self._safely(tell, str(nothing), action)
        except Exception as error:
            await self._safely(tell, describe(error, self._doing(action, aimed)), action)

    async def _unlinked(
        self,
        interaction: Interaction,
        action: Action,
        aimed: Aim,
        unlinked: NoKey,
    ) -> None:
        try:
            await refuse_unlinked(
                self.services,
                self.replies,
                interaction.surface,
                interaction.actor,
                action,
                aimed.target,
                unlinked,
                space=aimed.space,
            )
        except Exception:
            log.exception("could not tell the user that %s needs their Kibana key", action.name)

    async def _refuse_forged(self, actor: Actor, action: Action, raw: object, why: str) -> None:
        """A value the bot did not make (or a click that contradicts itself): a refused write is audited."""
        log.warning("refused a forged %s value from %s: %s", action.name, actor.user_id, why)
        if action.read_only:
            return
        shown = clip(raw if isinstance(raw, str) else "", 200)
        await record(self.services, actor, action.name, shown, result="refused", detail=f"forged value: {why}")

    async def _safely(self, say: Told, text: str, action: Action) -> None:
        try:
            await say(text)
        except Exception:
            log.exception("could not tell the user how %s ended", action.name)
