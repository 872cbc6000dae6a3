"""The App Home's action: `home` (and opening the Home tab), its row of the catalog and its parser."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.access import Role, Scope
from handlers.shared.catalog import Action, Actions
from handlers.shared.codec import Packed
from handlers.shared.grammar import Command, arity

HOME_LINK = "home_link"  # the Home tab's links into Kibana: performs no action, the client opens them
HOME_REFRESH = "home_refresh"  # the Home tab's *Refresh* button: draws it again
HOME = Action(
    "home",
    "home",
    Role.VIEWER,
    "see your App Home (`home`)",
    read_only=True,
    action_ids=(HOME_REFRESH,),
    scope=Scope.BOT,
)


class RefreshButton(Packed):
    """The *Refresh* button's value: it carries nothing but that it is the bot's."""

    refresh: Literal[1] = Field(1, alias="h")


def _home(words: list[str]) -> Command:
    arity(words, HOME.name, 0, 0)
    return Command(HOME.name)


ACTIONS = Actions(rows=(HOME,), parsers={"home": _home})
