"""Acting as each person (KIBANA_IDENTITY=person): whose Kibana key a person's request carries.

The guard and the slash-command dispatcher ask `person_key` after the access policy said yes (the
bot's gate first, then Kibana's): an action that acts in Kibana needs the person's own linked key,
and without a usable one it is refused here, privately, with a *Connect Kibana* button, nothing
called and the refusal audited. Then the request runs `as_person`: every Kibana call made in it
carries that key (bot/kibana/acting.py), and a 401 to it marks the link stale. With
KIBANA_IDENTITY=bot, both do nothing and every call carries the bot's credential, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from bot.access import Scope
from bot.credentials import PersonKey
from bot.kibana.acting import KibanaNotLinked, PersonKeyRejected, acting_for
from bot.services import Services
from handlers.shared.audit import Subject, record
from handlers.shared.blocks import Block, actions, button, section
from handlers.shared.catalog import CONNECT, CONNECT_BUTTON, DISCONNECT, Action
from handlers.shared.codec import Packed
from handlers.shared.context import Actor
from handlers.shared.errors import key_rejected, not_connected
from handlers.shared.replies import Replies, Surface

__all__ = ["CONNECT_BUTTON", "ConnectButton", "NoKey", "Unlinked", "as_person", "person_key", "refuse_unlinked"]

NEEDS_NO_KEY = frozenset({CONNECT.name, DISCONNECT.name})  # link or unlink: no key needed (the form checks its own)


@dataclass(frozen=True)
class Unlinked:
    """The person has no usable key: none linked, or the linked one was refused by Kibana (stale)."""

    stale_key: str | None = None  # the stale key's id

    def sentence(self, command: str) -> str:
        if self.stale_key is not None:
            return key_rejected(self.stale_key, command, earlier=True)
        return not_connected(command)


NoKey = Unlinked | KibanaNotLinked | PersonKeyRejected  # why a person's request went without their key


class ConnectButton(Packed):
    """The *Connect Kibana* button's value: it carries nothing but that it is the bot's."""

    connect: Literal[1] = Field(1, alias="k")


def connect_blocks(text: str) -> list[Block]:
    connect = button("Connect Kibana", CONNECT_BUTTON, ConnectButton().pack(), style="primary")
    return [section(text), actions(connect, block_id=CONNECT_BUTTON)]


async def person_key(services: Services, actor: Actor, action: Action) -> PersonKey | Unlinked | None:
    """The person's usable key; Unlinked when the action needs one and there is none; None when
    the bot acts with its own credential (KIBANA_IDENTITY=bot), or the action needs no key and there is none."""
    people = services.people
    if people is None:
        return None
    link = await people.link_of(actor.team_id, actor.user_id)
    if link is not None and not link.stale:
        return link.key
    if action.scope is Scope.BOT or action.name in NEEDS_NO_KEY:
        return None
    return Unlinked(stale_key=link.key.key_id if link is not None else None)


@contextlib.contextmanager
def as_person(services: Services, actor: Actor, key: PersonKey | None) -> Iterator[None]:
    """Run a person's request: in person mode, every Kibana call in it carries `key` (None: the calls
    are refused before they are sent, KibanaNotLinked); in bot mode, nothing changes."""
    people = services.people
    if people is None:
        yield
        return
    with acting_for(actor.user_id, key, people.mark_stale):
        yield


async def refuse_unlinked(
    services: Services,
    replies: Replies,
    surface: Surface,
    actor: Actor,
    action: Action,
    target: Subject | str,
    unlinked: NoKey,
    *,
    space: str | None = None,
) -> None:
    """Tell the person privately, with a *Connect Kibana* button, and audit the refusal (a 401 in the
    middle of an action is audited by the write it failed)."""
    command = services.settings.slack_command
    if isinstance(unlinked, PersonKeyRejected):
        text = key_rejected(unlinked.key.key_id, command)
        await replies.privately(surface, text, blocks=connect_blocks(text))
        return
    if isinstance(unlinked, Unlinked) and unlinked.stale_key is not None:
        text, detail = unlinked.sentence(command), "the person's linked Kibana API key is stale (Kibana answered 401)"
    else:
        text = not_connected(command)
        detail = "no Kibana API key linked (KIBANA_IDENTITY=person); nothing was sent to Kibana"
    await record(services, actor, action.name, target, result="refused", detail=detail, space=space)
    await replies.privately(surface, text, blocks=connect_blocks(text))
