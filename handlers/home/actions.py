"""The App Home's action: `home` (and opening the Home tab), its row of the catalog and its parser."""

from __future__ import annotations

from bot.access import Role, Scope
from handlers.shared.catalog import Action, Actions
from handlers.shared.grammar import Command, arity

HOME_LINK = "home_link"  # the Home tab's links into Kibana: performs no action, the client opens them
HOME = Action(
    "home",
    "home",
    Role.VIEWER,
    "see your App Home (`home`)",
    read_only=True,
    scope=Scope.BOT,
)


def _home(words: list[str]) -> Command:
    arity(words, HOME.name, 0, 0)
    return Command(HOME.name)


ACTIONS = Actions(rows=(HOME,), parsers={"home": _home})
